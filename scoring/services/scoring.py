"""Scoring applications: batch runs (chunked, idempotent, resumable), one application on
submit, and the prediction page / API for indicators typed in by hand.

Score rows are inserts keyed by (application, model version): a conflicting insert is
ignored, so a re-run or a resumed run never duplicates a row. The "latest score" fields of
the applications still awaiting a decision are then copied from the PD model's rows with
one UPDATE per chunk; a decided application keeps the score it was decided with.
"""

import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import Max, Min, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from loans.models import LoanApplication
from loansite.errors import Conflict, NotFound, ValidationFailed
from loansite.money import money
from scoring.features import features_build, raw_columns_from_input
from scoring.models import ModelKind, ModelVersion, RunStatus, Score, ScoringRun
from scoring.prefetch import collector_paused, prefetch_possible, prefetched
from scoring.reasons import ReasonEncoder, reason_dict
from scoring.selectors import active_versions, application_frame_by_ids, scope_chunk, scope_count
from scoring.services.registry import model_version_artifact, model_versions_active
from scoring.training import openmp_limited

logger = logging.getLogger(__name__)

# PD first: "unscored" is checked against the first version of a run.
KIND_ORDER = [ModelKind.PD, ModelKind.APPROVAL, ModelKind.LIMIT]


def _ordered(versions: dict[str, ModelVersion]) -> list[ModelVersion]:
    return [versions[k] for k in KIND_ORDER if k in versions]


def frame_predict(raw: pd.DataFrame, versions: list[ModelVersion], *, reasons: bool | str = True) -> dict[int, dict]:
    """Every version's outputs over one raw frame (one pipeline pass shared by all)."""
    features = features_build(raw)
    out = {}
    with openmp_limited():
        for mv in versions:
            artifact = model_version_artifact(version=mv)
            if mv.kind == ModelKind.PD:
                out[mv.pk] = artifact.predict(features, raw, reasons=reasons)
            else:
                out[mv.pk] = artifact.predict(features, raw)
    return out


def _insert_sql(columns: list[str]) -> str:
    table = connection.ops.quote_name(Score._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    if connection.vendor == "mysql":
        return f"INSERT IGNORE INTO {table} ({cols}) VALUES ({marks})"
    if connection.vendor == "sqlite":
        return f"INSERT OR IGNORE INTO {table} ({cols}) VALUES ({marks})"
    return f"INSERT INTO {table} ({cols}) VALUES ({marks}) ON CONFLICT DO NOTHING"


_COLUMNS = ["application_id", "model_version_id", "probability", "points", "grade", "value", "reasons", "created_at"]


# Columns a model may leave out, with what its rows then hold.
_OPTIONAL = {"probability": None, "points": None, "grade": "", "value": None, "reasons": "[]"}


def _version_columns(out: dict, encoder: ReasonEncoder) -> dict[str, list]:
    """The Score columns one version's outputs fill, as plain Python lists converted
    array-wise (no per-row dicts or json.dumps): probability and points, grade and reasons
    (scorecard), value (limit)."""
    columns: dict[str, list] = {}
    if out.get("probability") is not None:
        columns["probability"] = np.round(np.asarray(out["probability"], dtype="float64"), 6).tolist()
    if out.get("points") is not None:
        columns["points"] = np.asarray(out["points"]).astype(np.int64).tolist()
    if "grade" in out:
        columns["grade"] = np.asarray(out["grade"]).astype(str).tolist()
    if out.get("value") is not None:
        columns["value"] = np.char.mod("%.2f", np.asarray(out["value"], dtype="float64")).tolist()
    if "reason_index" in out:
        columns["reasons"] = encoder.dumps_arrays(out["reason_names"], out["reason_index"], out["reason_lost"])
    elif "reasons" in out:
        columns["reasons"] = [encoder.dumps(r) for r in out["reasons"]]
    return columns


@dataclass(frozen=True)
class VersionRows:
    """One version's Score rows of one chunk, ready for :func:`scores_insert`.

    On SQLite ``rows`` is one JSON array of ``[application_id, *columns]`` that a single
    ``INSERT ... SELECT ... FROM json_each()`` expands without Python work per row (so the
    next chunk is read and predicted on the other thread meanwhile), with the version, the
    time and the columns the model does not fill as parameters. Elsewhere ``rows`` are
    whole tuples for ``executemany`` (mysqlclient sends them as multi-row INSERTs)."""

    version_id: int
    created_at: str
    columns: tuple[str, ...]
    rows: str | list[tuple]
    count: int


def version_rows(ids, version: ModelVersion, out: dict, *, now, encoder: ReasonEncoder) -> VersionRows:
    n = len(ids)
    id_list = np.asarray(ids, dtype=np.int64).tolist()
    created = connection.ops.adapt_datetimefield_value(now)
    columns = _version_columns(out, encoder)
    if connection.vendor == "sqlite":
        rows = json.dumps(list(zip(id_list, *columns.values(), strict=True)), ensure_ascii=False, allow_nan=False)
    else:
        full = [columns.get(name, [default] * n) for name, default in _OPTIONAL.items()]
        rows = list(zip(id_list, [version.pk] * n, *full, [created] * n, strict=True))
    return VersionRows(version.pk, created, tuple(columns), rows, n)


def _insert_json_sql(batch: VersionRows) -> tuple[str, list]:
    q = connection.ops.quote_name
    missing = [name for name in _OPTIONAL if name not in batch.columns]
    names = ["application_id", *batch.columns, "model_version_id", "created_at", *missing]
    values = [f"json_extract(r.value, '$[{i}]')" for i in range(len(batch.columns) + 1)]
    values += ["%s"] * (2 + len(missing))
    sql = (
        f"INSERT OR IGNORE INTO {q(Score._meta.db_table)} ({', '.join(q(c) for c in names)}) "
        f"SELECT {', '.join(values)} FROM json_each(%s) r"
    )
    return sql, [batch.version_id, batch.created_at, *(_OPTIONAL[name] for name in missing), batch.rows]


def scores_insert(batches: list[VersionRows]) -> int:
    """Insert Score rows, one statement per version and chunk; existing (application,
    version) pairs are left alone (INSERT OR IGNORE / INSERT IGNORE). Returns how many
    were written."""
    written = 0
    with connection.cursor() as cursor:
        for batch in batches:
            if not batch.count:
                continue
            if isinstance(batch.rows, str):
                cursor.execute(*_insert_json_sql(batch))
            else:
                cursor.executemany(_insert_sql(_COLUMNS), batch.rows)
            written += cursor.rowcount if cursor.rowcount is not None and cursor.rowcount >= 0 else batch.count
    return written


def applications_update_latest(*, ids, pd_version: ModelVersion, now) -> int:
    """Copy the PD version's score rows into the latest-score fields of the chunk's
    applications that still await a decision, with one set-wise UPDATE over the chunk's
    id range (a join, never a per-row save).

    A decided application keeps the score it was decided with: re-scoring the portfolio
    with a new model adds Score rows (its history) but does not rewrite what the approver
    saw."""
    ids = np.asarray(ids)
    if len(ids) == 0:
        return 0
    return _latest_copy(pd_version=pd_version, now=now, lo=int(ids.min()), hi=int(ids.max()), only="pending")


def _latest_copy(*, pd_version: ModelVersion, now, lo: int, hi: int, only: str) -> int:
    """The latest-score fields of the applications with ids in ``lo..hi`` that are pending
    (``only="pending"``) or were never scored (``"unscored"``), from the version's rows."""
    q = connection.ops.quote_name
    app, score = q(LoanApplication._meta.db_table), q(Score._meta.db_table)
    if only == "pending":
        condition = f"status IN ({', '.join(chr(39) + str(st) + chr(39) for st in LoanApplication.PENDING)})"
    else:
        condition = "scored_at IS NULL"
    columns = (
        "score_probability = ROUND(s.probability, 4), score_points = s.points, score_grade = s.grade, "
        "score_reasons = s.reasons, score_model_version = %s, scored_at = %s"
    )
    stamp = connection.ops.adapt_datetimefield_value(now)
    if connection.vendor == "mysql":
        sql = (
            f"UPDATE {app} a JOIN {score} s ON s.application_id = a.id "
            f"SET {columns.replace('score_', 'a.score_').replace('scored_at', 'a.scored_at')} "
            f"WHERE s.model_version_id = %s AND a.id BETWEEN %s AND %s AND a.{condition}"
        )
        params = [pd_version.label, stamp, pd_version.pk, lo, hi]
    elif connection.vendor == "sqlite" and sqlite3.sqlite_version_info < (3, 33):
        return _latest_copy_subqueries(pd_version=pd_version, now=now, lo=lo, hi=hi, only=only)
    else:
        # "+s.model_version_id" keeps SQLite off the (model_version, created_at) index: that
        # plan walks every row of the version written so far (quadratic over a run); this
        # one walks the chunk's id range through the (application, model_version) key.
        plus = "+" if connection.vendor == "sqlite" else ""
        sql = (
            f"UPDATE {app} SET {columns} FROM {score} s "
            f"WHERE s.application_id = {app}.id AND {plus}s.model_version_id = %s "
            f"AND s.application_id BETWEEN %s AND %s AND {app}.id BETWEEN %s AND %s AND {app}.{condition}"
        )
        params = [pd_version.label, stamp, pd_version.pk, lo, hi, lo, hi]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _latest_copy_subqueries(*, pd_version: ModelVersion, now, lo: int, hi: int, only: str) -> int:
    rows = Score.objects.filter(application_id=OuterRef("pk"), model_version_id=pd_version.pk)
    apps = LoanApplication.objects.filter(pk__gte=lo, pk__lte=hi, scores__model_version_id=pd_version.pk)
    apps = apps.filter(status__in=LoanApplication.PENDING) if only == "pending" else apps.filter(scored_at=None)
    return apps.update(
        score_probability=Subquery(rows.values("probability")[:1]),
        score_points=Subquery(rows.values("points")[:1]),
        score_grade=Subquery(rows.values("grade")[:1]),
        score_reasons=Subquery(rows.values("reasons")[:1]),
        score_model_version=pd_version.label,
        scored_at=now,
    )


def _chunk_prepare(raw: pd.DataFrame, versions: list[ModelVersion]) -> tuple[np.ndarray, list[VersionRows]]:
    """Predict one chunk with every version: its ids and its Score rows, packed to write."""
    outputs = frame_predict(raw, versions, reasons="arrays")
    ids = raw.index.to_numpy()
    encoder, now = ReasonEncoder(), timezone.now()
    return ids, [version_rows(ids, mv, outputs[mv.pk], now=now, encoder=encoder) for mv in versions]


def _chunk_write(ids: np.ndarray, batches: list[VersionRows], versions: list[ModelVersion]) -> int:
    """Write one chunk's Score rows and latest fields in one transaction."""
    with transaction.atomic():
        written = scores_insert(batches)
        pd_version = next((mv for mv in versions if mv.kind == ModelKind.PD), None)
        if pd_version is not None:
            applications_update_latest(ids=ids, pd_version=pd_version, now=timezone.now())
    return written


# ---------------------------------------------------------------------------------
# One application (on submit)
# ---------------------------------------------------------------------------------
def application_score(*, application_id: int) -> str | None:
    """Score one application with the active models. ``None`` when none is active (or the
    application is gone); otherwise the label of the version that filled the latest fields."""
    versions = _ordered(active_versions())
    if not versions:
        return None
    raw = application_frame_by_ids([application_id])
    if raw.empty:
        logger.info("scoring: application %s not found", application_id)
        return None
    _chunk_write(*_chunk_prepare(raw, versions), versions)
    return versions[0].label


# ---------------------------------------------------------------------------------
# Batch runs
# ---------------------------------------------------------------------------------
# Rows per chunk (one transaction each): 50,000 measured faster than 20,000 or 100,000 on
# SQLite; a chunk's frame, history and Score tuples stay well under 100 MB.
BATCH_CHUNK_SIZE = 50_000


def scoring_run_create(
    *, scope: str, actor=None, chunk_size: int = BATCH_CHUNK_SIZE, skip_empty: bool = False
) -> ScoringRun | None:
    """A queued run over ``scope`` with the versions active now (fixed for the whole run).

    With ``skip_empty`` (the five-minute beat) nothing is created when no application of
    the scope waits for these versions, so an idle queue leaves no runs or audit entries."""
    if scope not in ScoringRun.Scope.values:
        raise ValidationFailed(_("Unknown scoring scope: %(scope)s") % {"scope": scope})
    versions = _ordered(active_versions())
    if not versions:
        raise Conflict(_("No active model: train and activate a model version first."))
    if skip_empty and scope_count(scope=scope, version_ids=[mv.pk for mv in versions]) == 0:
        return None
    with transaction.atomic():
        run = ScoringRun.objects.create(
            scope=scope, requested_by=actor, chunk_size=chunk_size, model_version_ids=[mv.pk for mv in versions]
        )
        audit_record(
            action=AuditAction.SCORE,
            actor=actor,
            target=run,
            changes={"scope": scope, "versions": [mv.label for mv in versions], "queued": True},
        )
    return run


# SQLite during a batch: a bigger page cache (KiB; the default is 2 MiB), so a chunk's
# index and table pages stay in memory between its insert and its UPDATE; and no automatic
# checkpoint after every chunk's commit: one checkpoint at the end of the run copies each
# changed page into the database once. Both are this connection's settings, restored after.
SQLITE_BATCH_PRAGMAS = {"cache_size": -128 * 1024, "wal_autocheckpoint": 0}


def _sqlite_pragmas(values: dict[str, int] | None) -> dict[str, int] | None:
    """Set SQLite pragmas on this connection and return their previous values. Nothing on
    other databases (or with ``None``)."""
    if connection.vendor != "sqlite" or values is None:
        return None
    previous = {}
    with connection.cursor() as cursor:
        for name, value in values.items():
            cursor.execute(f"PRAGMA {name}")
            previous[name] = int(cursor.fetchone()[0])
            cursor.execute(f"PRAGMA {name} = {int(value)}")
    return previous


def _sqlite_checkpoint() -> None:
    """Copy the write-ahead log into the database now (as far as readers allow); not inside
    a transaction, nor on an in-memory database (no log there)."""
    if connection.vendor == "sqlite" and not connection.in_atomic_block and not connection.is_in_memory_db():
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")


def _run_chunks(run: ScoringRun, versions: list[ModelVersion]) -> Iterator[tuple[np.ndarray, list[VersionRows]]]:
    """The run's chunks after its cursor, read and predicted: ``(ids, packed score rows)`` each.
    Keyset order, so the next chunk can be read before this one is written."""
    version_ids = [mv.pk for mv in versions]
    after = run.cursor
    while True:
        raw = scope_chunk(scope=run.scope, version_ids=version_ids, after_id=after, limit=run.chunk_size)
        if raw.empty:
            return
        after = int(raw.index.max())
        yield _chunk_prepare(raw, versions)


def scoring_run_execute(*, run: ScoringRun, on_progress: Callable[[ScoringRun], None] | None = None) -> ScoringRun:
    """Run (or resume) a batch: chunk after chunk from ``run.cursor``; each chunk commits its
    Score rows, latest fields and the new cursor together, so a kill loses at most the
    chunk in flight and a re-run continues where the last commit left off.

    Outside a transaction the next chunk is read and predicted on a second thread while
    this one writes (:mod:`scoring.prefetch`); the writes stay in order on this thread."""
    run = ScoringRun.objects.get(pk=run.pk)
    if run.status == RunStatus.SUCCEEDED:
        return run
    versions = list(ModelVersion.objects.filter(pk__in=run.model_version_ids).defer("artifact"))
    versions.sort(key=lambda mv: run.model_version_ids.index(mv.pk))
    if len(versions) != len(run.model_version_ids) or not versions:
        message = _("A model version of this run no longer exists.")
        ScoringRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, error=message)
        raise NotFound(message)
    version_ids = [mv.pk for mv in versions]
    remaining = scope_count(scope=run.scope, version_ids=version_ids, after_id=run.cursor)
    run.total = run.done + remaining
    run.status = RunStatus.RUNNING
    run.started_at = run.started_at or timezone.now()
    run.error = ""
    run.save(update_fields=["total", "status", "started_at", "error"])
    chunks = _run_chunks(run, versions)
    previous_pragmas = _sqlite_pragmas(SQLITE_BATCH_PRAGMAS)
    try:
        source = prefetched(chunks) if prefetch_possible() else chunks
        # closing(): on an error the read-ahead thread stops now, not when the traceback goes.
        with collector_paused(), closing(source):
            for ids, batches in source:
                with transaction.atomic():
                    written = _chunk_write(ids, batches, versions)
                    run.cursor = int(ids.max())
                    run.done += len(ids)
                    run.written += written
                    ScoringRun.objects.filter(pk=run.pk).update(cursor=run.cursor, done=run.done, written=run.written)
                if on_progress:
                    on_progress(run)
    except Exception as exc:
        ScoringRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, error=str(exc)[:4000])
        raise
    finally:
        _sqlite_pragmas(previous_pragmas)
        _sqlite_checkpoint()
    run.status, run.finished_at, run.total = RunStatus.SUCCEEDED, timezone.now(), run.done
    with transaction.atomic():
        run.save(update_fields=["status", "finished_at", "total"])
        audit_record(
            action=AuditAction.SCORE,
            target=run,
            actor=run.requested_by,
            changes={"scope": run.scope, "rows": run.done, "written": run.written},
        )
    return run


@transaction.atomic
def applications_backfill_latest(*, pd_version: ModelVersion, actor=None, step: int = BATCH_CHUNK_SIZE) -> int:
    """Give every application that was never scored its first score: the latest-score
    fields from the PD version's Score rows, whatever its status. For applications that
    arrive already decided (the demo's history, an import of past loans): as if each had
    been scored when it was submitted. Those that were scored keep their score."""
    bounds = LoanApplication.objects.filter(scored_at=None).aggregate(lo=Min("pk"), hi=Max("pk"))
    if bounds["lo"] is None:
        return 0
    now, filled = timezone.now(), 0
    for lo in range(bounds["lo"], bounds["hi"] + 1, step):
        filled += _latest_copy(
            pd_version=pd_version, now=now, lo=lo, hi=min(lo + step - 1, bounds["hi"]), only="unscored"
        )
    audit_record(
        action=AuditAction.SCORE,
        actor=actor,
        target=pd_version,
        changes={"backfilled_latest_scores": filled},
    )
    return filled


# ---------------------------------------------------------------------------------
# Prediction from typed-in indicators
# ---------------------------------------------------------------------------------
def prediction_make(*, inputs: dict) -> dict:
    """Probability, points, grade and reasons (plus approval probability and recommended
    limit where those models are active) for one set of indicators. Nothing is stored.

    The same pipeline and models as batch scoring (:func:`frame_predict`), on one row held
    as numpy columns instead of a DataFrame; the active versions and the product's bounds
    are read with one statement on every call."""
    values = dict(inputs)
    product_code = values.get("product")
    active, bounds = model_versions_active(product_code=product_code or None)
    versions = _ordered(active)
    if not versions:
        raise Conflict(_("No active model: train and activate a model version first."))
    if product_code:
        if bounds is None:
            raise NotFound(_("Unknown loan product: %(code)s") % {"code": product_code})
        values["product_min_amount"], values["product_max_amount"] = bounds
    bound_keys = ("product_min_amount", "product_max_amount")
    raw = raw_columns_from_input(values, extra={key: values.get(key, np.nan) for key in bound_keys})
    outputs = frame_predict(raw, versions)
    result: dict = {"model_versions": {mv.kind: mv.label for mv in versions}}
    for mv in versions:
        out = outputs[mv.pk]
        if mv.kind == ModelKind.PD:
            result["probability_of_default"] = Decimal(str(round(float(out["probability"][0]), 4)))
            result["points"] = int(out["points"][0])
            result["grade"] = str(out["grade"][0])
            result["reasons"] = [reason_dict(f, p) for f, p in out["reasons"][0]]
        elif mv.kind == ModelKind.APPROVAL:
            result["approval_probability"] = Decimal(str(round(float(out["probability"][0]), 4)))
        elif mv.kind == ModelKind.LIMIT:
            result["recommended_limit"] = money(float(out["value"][0]))
    return result
