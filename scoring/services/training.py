"""Training a model version from the database (the task calls this)."""

import logging
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from loansite.errors import ValidationFailed
from scoring import training
from scoring.features import raw_frame_hash
from scoring.models import ModelKind, ModelVersion, RunStatus, TrainingRun
from scoring.selectors import training_set
from scoring.services.registry import artifact_dumps, model_version_activate

logger = logging.getLogger(__name__)

MIN_ROWS = 50


def training_run_create(*, kind: str, actor=None, params: dict | None = None) -> TrainingRun:
    if kind not in ModelKind.values:
        raise ValidationFailed(_("Unknown model kind: %(kind)s") % {"kind": kind})
    with transaction.atomic():
        run = TrainingRun.objects.create(kind=kind, requested_by=actor, params=params or {})
        audit_record(action=AuditAction.TRAIN, actor=actor, target=run, changes={"kind": kind, "queued": True})
    return run


def _progress(run: TrainingRun | None, percent: int, stage: str, **extra) -> None:
    if run is None:
        return
    run.percent, run.stage = percent, stage
    for key, value in extra.items():
        setattr(run, key, value)
    TrainingRun.objects.filter(pk=run.pk).update(percent=percent, stage=stage, **extra)


def _new_version(kind: str, actor) -> ModelVersion:
    for _attempt in range(5):
        try:
            with transaction.atomic():
                last = ModelVersion.objects.filter(kind=kind).aggregate(v=Max("version"))["v"] or 0
                return ModelVersion.objects.create(kind=kind, version=last + 1, trained_by=actor)
        except IntegrityError:  # another training of the same kind took the number
            continue
    raise ValidationFailed(_("Could not allocate a version number; try again."))


def _data_hash(kind: str, raw, params: dict) -> str:
    """The training data's digest: an uploaded file's SHA-256, else the snapshot rows' hash."""
    if kind != ModelKind.FILE_PD:
        return raw_frame_hash(raw)
    if (params.get("dataset") or {}).get("sha256"):
        return params["dataset"]["sha256"]
    import hashlib

    import pandas as pd

    hashed = pd.util.hash_pandas_object(raw.astype(str), index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()


def _train(kind: str, raw, labels, params: dict):
    with training.openmp_limited():
        if kind == ModelKind.APPROVAL:
            return training.train_approval(raw, labels, **params)
        if kind == ModelKind.PD:
            return training.train_pd(raw, labels, **params)
        if kind == ModelKind.FILE_PD:
            return training.train_file_pd(raw, labels, **params)
        return training.train_limit(raw, labels, **params)


def model_train(
    *,
    kind: str,
    actor=None,
    run: TrainingRun | None = None,
    params: dict | None = None,
    activate: bool = False,
    dataset: Callable | None = None,
) -> ModelVersion:
    """Train a new version of ``kind`` on the current data; it ends ``ready`` (or ``active``
    with ``activate``). A failure leaves a ``failed`` version with the error, never a half one.

    ``dataset`` (for benchmarks) replaces the database read: ``() -> (raw, labels)``.
    """
    if kind not in ModelKind.values:
        raise ValidationFailed(_("Unknown model kind: %(kind)s") % {"kind": kind})
    params = dict(params if params is not None else (run.params if run else {}))
    if run is not None:
        TrainingRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, started_at=timezone.now())
    _progress(run, 5, _("Reading training data"))
    if kind == ModelKind.FILE_PD and dataset is None:
        from scoring.services.datasets import training_dataset_load

        try:
            raw, labels, schema, info = training_dataset_load(dataset_id=params.pop("dataset_id", None))
        except ValidationFailed as exc:
            if run is not None:
                TrainingRun.objects.filter(pk=run.pk).update(
                    status=RunStatus.FAILED, error=str(exc.message), finished_at=timezone.now()
                )
            raise
        params.update(schema=schema, dataset=info)
    else:
        raw, labels = dataset() if dataset else training_set(kind=kind)
    _progress(run, 20, _("Checking training data"), rows=len(raw))
    if len(raw) < MIN_ROWS or (kind != ModelKind.LIMIT and len(set(labels.tolist())) < 2):
        message = _("Not enough labelled data to train (%(rows)s rows; at least %(min)s with both outcomes).") % {
            "rows": len(raw),
            "min": MIN_ROWS,
        }
        if run is not None:
            TrainingRun.objects.filter(pk=run.pk).update(
                status=RunStatus.FAILED, error=message, finished_at=timezone.now()
            )
        raise ValidationFailed(message)

    version = _new_version(kind, actor)
    if run is not None:
        TrainingRun.objects.filter(pk=run.pk).update(model_version=version)
    try:
        _progress(run, 30, _("Training and validating"))
        result = _train(kind, raw, labels, params)
        _progress(run, 85, _("Saving the artifact"))
        blob = artifact_dumps(result.artifact)
        with transaction.atomic():
            ModelVersion.objects.filter(pk=version.pk).update(
                status=ModelVersion.Status.READY,
                algorithm=result.algorithm,
                params=result.params,
                features=result.features,
                training_rows=result.rows,
                data_hash=_data_hash(kind, raw, params),
                metrics=result.metrics,
                reference=result.reference,
                library_versions=training.library_versions(),
                artifact=blob,
                artifact_size=len(blob),
                trained_at=timezone.now(),
            )
            version.refresh_from_db()
            holdout = result.metrics.get("holdout", {})
            audit_record(
                action=AuditAction.TRAIN,
                actor=actor,
                target=version,
                changes={
                    "kind": kind,
                    "algorithm": result.algorithm,
                    "rows": result.rows,
                    "data_hash": version.data_hash,
                    "metrics": {k: holdout.get(k) for k in ("auc", "ks", "gini", "mae", "r2") if k in holdout},
                },
            )
            if activate:
                version = model_version_activate(version=version, actor=actor, reason=_("Activated after training"))
    except Exception as exc:
        logger.exception("training %s failed", kind)
        ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.FAILED, error=str(exc)[:4000])
        if run is not None:
            TrainingRun.objects.filter(pk=run.pk).update(
                status=RunStatus.FAILED, error=str(exc)[:4000], finished_at=timezone.now()
            )
        raise
    if run is not None:
        TrainingRun.objects.filter(pk=run.pk).update(
            status=RunStatus.SUCCEEDED, percent=100, stage=_("Done"), finished_at=timezone.now()
        )
    return version
