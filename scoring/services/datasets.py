"""Train from a file: upload a historical data set with its schema, train a PD scorecard on
it through the usual worker and registry, predict with the same columns.

Files go through ``loansite.tabular`` (content-typed, size, zip-expansion, column and row
limits, CSV in UTF-8 or GB18030, XLSX read-only), as the other imports do; every problem is a
``ValidationFailed`` with a message for the person who uploaded the file.
"""

import hashlib

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from loansite.errors import NotAllowed, ValidationFailed
from loansite.tabular import tabular_read
from scoring.models import ModelKind, ModelVersion, TrainingDataset, TrainingRun
from scoring.schema import DataSchema, SchemaError, schema_detect, schema_target

TRAIN_PERMISSION = "scoring.train_model"
PREDICT_PERMISSION = "scoring.view_score"


def training_file_max_rows() -> int:
    return int(getattr(settings, "TRAINING_FILE_MAX_ROWS", 200_000))


def predict_file_max_rows() -> int:
    return int(getattr(settings, "PREDICT_FILE_MAX_ROWS", 100_000))


def _require(actor, perm: str) -> None:
    if actor is None or not actor.is_active or not actor.has_perm(perm):
        raise NotAllowed(_("You do not have the role needed for this action."))


def table_frame(data: bytes, *, max_rows: int) -> tuple[pd.DataFrame, str]:
    """A CSV/XLSX upload as a DataFrame of its cells (text or the workbook's values) and its format."""
    table = tabular_read(data, max_rows=max_rows)
    headers = [str(h).strip() if h is not None else "" for h in table.headers]
    if any(not h for h in headers):
        raise ValidationFailed(_("Every column needs a header."))
    duplicated = sorted({h for h in headers if headers.count(h) > 1})
    if duplicated:
        raise ValidationFailed(_("Columns named twice: %(c)s.") % {"c": ", ".join(duplicated)})
    rows = [list(r) + [None] * (len(headers) - len(r)) for r in table.rows]
    return pd.DataFrame(rows, columns=headers, dtype=object), table.file_format


def _schema(data, *, target: str, frame: pd.DataFrame) -> DataSchema:
    try:
        if data:
            schema = DataSchema.from_json(data)
            if target and schema.target != target:
                schema.target = target
        else:
            schema = schema_detect(frame, target=target)
        schema_target(frame, schema)
        missing = [c.name for c in schema.used if c.name not in frame.columns]
        if missing:
            raise SchemaError(_("The file lacks the schema's columns: %(c)s.") % {"c": ", ".join(missing)})
    except SchemaError as exc:
        raise ValidationFailed(str(exc)) from exc
    if not schema.used:
        raise ValidationFailed(_("The schema uses no column besides the target."))
    return schema


@transaction.atomic
def training_dataset_upload(*, actor, data: bytes, file_name: str, target: str, schema=None) -> TrainingDataset:
    """Keep an uploaded data set with its schema (given, or detected for the analyst to edit)."""
    _require(actor, TRAIN_PERMISSION)
    frame, file_format = table_frame(data, max_rows=training_file_max_rows())
    target = (target or (schema or {}).get("target") or "").strip()
    if not target:
        raise ValidationFailed(_("Name the target column."), extra={"field": "target"})
    parsed = _schema(schema, target=target, frame=frame)
    dataset = TrainingDataset.objects.create(
        file_name=file_name[:255],
        file_format=file_format,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content=data,
        rows=len(frame),
        target=parsed.target,
        schema=parsed.as_json(),
        uploaded_by=actor,
    )
    audit_record(
        action=AuditAction.IMPORT,
        actor=actor,
        target=dataset,
        changes={"file": dataset.file_name, "sha256": dataset.sha256, "rows": dataset.rows, "target": target},
    )
    return dataset


@transaction.atomic
def training_dataset_set_schema(*, actor, dataset: TrainingDataset, schema: dict) -> TrainingDataset:
    _require(actor, TRAIN_PERMISSION)
    frame, _format = training_dataset_frame(dataset)
    parsed = _schema(schema, target=dataset.target, frame=frame)
    before = dataset.schema
    TrainingDataset.objects.filter(pk=dataset.pk).update(schema=parsed.as_json(), target=parsed.target)
    dataset.schema, dataset.target = parsed.as_json(), parsed.target
    audit_record(action=AuditAction.UPDATE, actor=actor, target=dataset, changes={"schema": [before, dataset.schema]})
    return dataset


def training_dataset_frame(dataset: TrainingDataset) -> tuple[pd.DataFrame, DataSchema]:
    frame, _format = table_frame(bytes(dataset.content), max_rows=training_file_max_rows())
    return frame, DataSchema.from_json(dataset.schema)


def training_dataset_load(*, dataset_id) -> tuple[pd.DataFrame, np.ndarray, DataSchema, dict]:
    """What the worker trains on: the table, the 0/1 target, the schema and the data set's identity."""
    dataset = TrainingDataset.objects.filter(pk=dataset_id).first()
    if dataset is None:
        raise ValidationFailed(_("The training data set is gone."))
    frame, schema = training_dataset_frame(dataset)
    try:
        y = schema_target(frame, schema)
    except SchemaError as exc:
        raise ValidationFailed(str(exc)) from exc
    info = {"id": dataset.pk, "file": dataset.file_name, "sha256": dataset.sha256, "rows": dataset.rows}
    return frame, y, schema, info


def file_model_train_queue(*, actor, dataset: TrainingDataset) -> TrainingRun:
    from scoring.services.queueing import model_train_queue

    return model_train_queue(kind=ModelKind.FILE_PD, actor=actor, params={"dataset_id": dataset.pk})


def file_model_predict(*, actor, version: ModelVersion, frame: pd.DataFrame) -> list[dict]:
    """Probability of default, points, grade and reasons for each row of ``frame`` (the columns
    the model was trained with); nothing is stored."""
    from scoring.reasons import reason_dict
    from scoring.services.registry import model_version_artifact

    _require(actor, PREDICT_PERMISSION)
    if version.kind != ModelKind.FILE_PD or version.status not in (
        ModelVersion.Status.READY,
        ModelVersion.Status.ACTIVE,
    ):
        raise ValidationFailed(_("Only a ready or active scorecard trained from a file predicts from rows."))
    artifact = model_version_artifact(version=version)
    try:
        out = artifact.predict_frame(frame)
    except SchemaError as exc:
        raise ValidationFailed(str(exc)) from exc
    return [
        {
            "probability_of_default": round(float(p), 4),
            "points": int(pts),
            "grade": str(g),
            "reasons": [reason_dict(name, lost) for name, lost in rs],
        }
        for p, pts, g, rs in zip(out["probability"], out["points"], out["grade"], out["reasons"], strict=True)
    ]


def file_predictions_csv(frame: pd.DataFrame, results: list[dict], *, name: str):
    """The scored rows as a CSV download (UTF-8 with BOM): the row's columns, then probability
    of default, points, grade and the reasons in the reader's language (formulas escaped)."""
    import csv
    import io

    from django.http import HttpResponse

    from loansite.exports import formula_escape
    from scoring.reasons import reason_text

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*frame.columns, _("probability of default"), _("points"), _("grade"), _("reasons")])
    for row, result in zip(frame.itertuples(index=False), results, strict=True):
        reasons = "; ".join(reason_text(r) for r in result["reasons"])
        writer.writerow(
            [formula_escape(v) for v in row]
            + [result["probability_of_default"], result["points"], result["grade"], formula_escape(reasons)]
        )
    response = HttpResponse(("\ufeff" + buffer.getvalue()).encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
