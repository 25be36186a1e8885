"""Reads for scoring: the raw feature frame (two SQL statements per chunk), training sets,
active model versions, drift inputs and run progress.

The raw frame is read with one statement straight from the cursor (no model instances):
batch scoring reads a million rows this way. Prior applications and their outcomes are
counted per chunk from one read of its customers' applications (``created_at`` strictly before).
"""

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import QuerySet

from customers.models import Customer
from loans.models import ApplicationStatus, LoanApplication, LoanProduct
from scoring.features import RAW_COLUMNS
from scoring.models import LoanOutcome, ModelKind, ModelVersion, Score, ScoringRun, TrainingRun

APPROVED_STATUSES = (ApplicationStatus.APPROVED, ApplicationStatus.DISBURSED, ApplicationStatus.CANCELLED)
REJECTED_STATUSES = (ApplicationStatus.REJECTED,)

# Extra columns next to RAW_COLUMNS: identity, product bounds, status, time.
FRAME_EXTRA = ["customer_id", "product_min_amount", "product_max_amount", "status", "created_at"]


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _in_list(values) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


def _created(alias: str) -> str:
    """``created_at`` as the database compares it: raw text on SQLite (skips Django's
    per-value datetime converter; ISO text orders like the timestamps), else the column."""
    if connection.vendor == "sqlite":
        return f"CAST({alias}.created_at AS TEXT)"
    return f"{alias}.created_at"


def _frame_sql(where: str, *, limit: bool) -> str:
    """One statement: the applications with their customer and product (keyset order)."""
    app, cust, prod = _q(LoanApplication._meta.db_table), _q(Customer._meta.db_table), _q(LoanProduct._meta.db_table)
    sql = f"""
        SELECT a.id, a.customer_id, a.amount, a.term_months, pr.code, pr.min_amount, pr.max_amount,
               c.credit_score, c.years_in_business, c.monthly_revenue, c.monthly_cost, c.monthly_foot_traffic,
               c.employees, c.area_m2, c.total_assets, c.total_liabilities, c.current_assets,
               c.current_liabilities, c.net_profit, c.annual_revenue, c.industry, c.city_tier,
               a.status, {_created("a")}
        FROM {app} a
        JOIN {cust} c ON c.id = a.customer_id
        JOIN {prod} pr ON pr.id = a.product_id
        WHERE {where or "1 = 1"}
        ORDER BY a.id
    """
    return sql + (" LIMIT %s" if limit else "")


_SELECT_COLUMNS = [
    "application_id",
    "customer_id",
    "amount",
    "term_months",
    "product",
    "product_min_amount",
    "product_max_amount",
    "credit_score",
    "years_in_business",
    "monthly_revenue",
    "monthly_cost",
    "monthly_foot_traffic",
    "employees",
    "area_m2",
    "total_assets",
    "total_liabilities",
    "current_assets",
    "current_liabilities",
    "net_profit",
    "annual_revenue",
    "industry",
    "city_tier",
    "status",
    "created_at",
]


def prior_counts(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of ``frame`` (``customer_id``, ``created_at``): how many applications the same
    customer made strictly earlier (any status), and how many of those were approved and
    rejected. One read of the frame's customers' applications, then sorted-key arithmetic:
    no per-row join, so a chunk costs one indexed read of its customers' history."""
    n = len(frame)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    customers = np.unique(frame["customer_id"].to_numpy(dtype=np.int64))
    app = _q(LoanApplication._meta.db_table)
    with connection.cursor() as cursor:
        # The ids are integers read from the database: inlined, so no parameter limit applies.
        cursor.execute(
            f"SELECT h.customer_id, {_created('h')}, h.status FROM {app} h "
            f"WHERE h.customer_id IN ({', '.join(str(int(c)) for c in customers)})"
        )
        history = cursor.fetchall()
    h_customer = np.fromiter((r[0] for r in history), dtype=np.int64, count=len(history))
    h_created = [r[1] for r in history]
    h_status = np.array([r[2] for r in history], dtype=object)
    # Timestamps as ranks over both sides (strings on SQLite, datetimes on MySQL: the
    # database's own ordering either way), then one sortable key per (customer, time).
    times, _ = pd.factorize(pd.Series([*h_created, *frame["created_at"].tolist()], dtype=object), sort=True)
    span = int(times.max()) + 2
    h_key = h_customer * span + times[: len(history)] + 1
    order = np.argsort(h_key, kind="stable")
    h_key = h_key[order]
    approved = np.concatenate([[0], np.cumsum(np.isin(h_status[order], [str(s) for s in APPROVED_STATUSES]))])
    rejected = np.concatenate([[0], np.cumsum(np.isin(h_status[order], [str(s) for s in REJECTED_STATUSES]))])
    customer = frame["customer_id"].to_numpy(dtype=np.int64)
    first = np.searchsorted(h_key, customer * span, side="left")
    before = np.searchsorted(h_key, customer * span + times[len(history) :] + 1, side="left")
    return before - first, approved[before] - approved[first], rejected[before] - rejected[first]


def application_frame(*, where: str = "", params=(), limit: int | None = None) -> pd.DataFrame:
    """Raw inputs of the applications matching ``where`` (SQL over alias ``a``), by id.

    Columns: :data:`scoring.features.RAW_COLUMNS` plus :data:`FRAME_EXTRA`; index
    ``application_id``. Numbers are floats (NaN where unknown), ready for the pipeline.
    Training, batch scoring and single scoring all read through here (no skew).
    """
    sql = _frame_sql(where, limit=limit is not None)
    args = [*params, limit] if limit is not None else list(params)
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        rows = cursor.fetchall()
    frame = pd.DataFrame.from_records(rows, columns=_SELECT_COLUMNS)
    for col in frame.columns:
        if col not in ("product", "industry", "status", "created_at") and frame[col].dtype == object:
            frame[col] = pd.to_numeric(frame[col], errors="coerce")
    frame["prior_applications"], frame["prior_approved"], frame["prior_rejected"] = prior_counts(frame)
    return frame.set_index("application_id")[[*RAW_COLUMNS, *FRAME_EXTRA]]


def application_frame_by_ids(ids) -> pd.DataFrame:
    ids = [int(i) for i in ids]
    if not ids:
        return application_frame(where="1 = 0")
    marks = ", ".join(["%s"] * len(ids))
    return application_frame(where=f"a.id IN ({marks})", params=ids)


# ---------------------------------------------------------------------------------
# Batch scoring scopes
# ---------------------------------------------------------------------------------
def _scope_where(scope: str) -> str:
    if scope == ScoringRun.Scope.PENDING:
        return f"a.status IN ({_in_list(LoanApplication.PENDING)})"
    return f"a.status <> '{ApplicationStatus.DRAFT}'"


def _unscored(version_ids) -> str:
    """No Score row yet for the first of ``version_ids`` (all are written together per chunk)."""
    score = _q(Score._meta.db_table)
    return f"NOT EXISTS (SELECT 1 FROM {score} s WHERE s.application_id = a.id AND s.model_version_id = %s)"


def scope_chunk(*, scope: str, version_ids: list[int], after_id: int, limit: int) -> pd.DataFrame:
    """The next ``limit`` applications of ``scope`` after ``after_id`` not yet scored by the run's versions."""
    where = f"a.id > %s AND {_scope_where(scope)} AND {_unscored(version_ids)}"
    return application_frame(where=where, params=[after_id, version_ids[0]], limit=limit)


def scope_count(*, scope: str, version_ids: list[int], after_id: int = 0) -> int:
    app = _q(LoanApplication._meta.db_table)
    sql = f"SELECT COUNT(*) FROM {app} a WHERE a.id > %s AND {_scope_where(scope)} AND {_unscored(version_ids)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [after_id, version_ids[0]])
        return int(cursor.fetchone()[0])


# ---------------------------------------------------------------------------------
# Training sets
# ---------------------------------------------------------------------------------
def training_set(*, kind: str) -> tuple[pd.DataFrame, np.ndarray]:
    """``(raw frame, label)`` for ``kind``: approval = officers' decisions (approved 1,
    rejected 0); pd = observed outcomes of approved loans (default 1); limit = amount of
    loans that were repaid (approved ones when no outcome is known yet)."""
    outcome = _q(LoanOutcome._meta.db_table)
    if kind == ModelKind.APPROVAL:
        frame = application_frame(where=f"a.status IN ({_in_list(APPROVED_STATUSES + REJECTED_STATUSES)})")
        return frame, frame["status"].isin([str(s) for s in APPROVED_STATUSES]).to_numpy().astype(int)
    if kind == ModelKind.PD:
        frame = application_frame(where=f"a.id IN (SELECT o.application_id FROM {outcome} o)")
        labels = dict(LoanOutcome.objects.values_list("application_id", "defaulted"))
        return frame, np.array([int(labels[i]) for i in frame.index], dtype=int)
    if LoanOutcome.objects.exists():
        frame = application_frame(
            where=f"a.id IN (SELECT o.application_id FROM {outcome} o WHERE o.defaulted = %s)", params=[False]
        )
    else:
        frame = application_frame(where=f"a.status IN ({_in_list(APPROVED_STATUSES)})")
    return frame, frame["amount"].to_numpy(dtype=float)


# ---------------------------------------------------------------------------------
# Registry and runs
# ---------------------------------------------------------------------------------
def active_versions() -> dict[str, ModelVersion]:
    """The active version of each kind (without the artifact bytes)."""
    qs = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).only("id", "kind", "version", "status")
    return {mv.kind: mv for mv in qs}


def model_version_history(*, kind: str) -> QuerySet:
    return ModelVersion.objects.filter(kind=kind).defer("artifact").order_by("-version")


def rollback_target(*, kind: str) -> ModelVersion | None:
    """The version that was active before the current one: the last retired after activation."""
    return (
        ModelVersion.objects.filter(kind=kind, status=ModelVersion.Status.RETIRED, activated_at__isnull=False)
        .defer("artifact")
        .order_by("-retired_at", "-version")
        .first()
    )


def recent_application_frame(*, days: int = 90, limit: int = 20000) -> pd.DataFrame:
    """Recent submitted applications (newest first, capped) for drift against training."""
    from datetime import timedelta

    from django.utils import timezone

    since = timezone.now() - timedelta(days=days)
    app = _q(LoanApplication._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {app} WHERE created_at >= %s AND status <> %s ORDER BY id DESC LIMIT %s",
            [since, ApplicationStatus.DRAFT, limit],
        )
        ids = [r[0] for r in cursor.fetchall()]
    return application_frame_by_ids(ids)


def training_runs_recent(limit: int = 20) -> QuerySet:
    return TrainingRun.objects.select_related("model_version", "requested_by")[:limit]


def scoring_runs_recent(limit: int = 20) -> QuerySet:
    return ScoringRun.objects.select_related("requested_by")[:limit]


def application_scores(*, application_id: int) -> QuerySet:
    return Score.objects.filter(application_id=application_id).select_related("model_version").order_by("-id")


def model_version_drift(*, version: ModelVersion, days: int = 90) -> dict:
    """PSI per feature and on the score: training population vs recent applications."""
    from scoring.features import features_build
    from scoring.metrics import drift_table
    from scoring.services.registry import model_version_artifact

    raw = recent_application_frame(days=days)
    if raw.empty or not version.reference:
        return {"rows": [], "recent": len(raw), "days": days}
    features = features_build(raw)
    artifact = model_version_artifact(version=version)
    if version.kind == ModelKind.PD:
        score = artifact.predict(features, raw, reasons=False)["points"]
    else:
        out = artifact.predict(features, raw)
        score = out.get("probability", out.get("value"))
    return {"rows": drift_table(version.reference, features, score), "recent": len(raw), "days": days}
