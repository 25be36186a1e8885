"""Reads for scoring: the raw feature frame, training sets, active model versions, drift
inputs and run progress.

The raw frame is read straight from the cursor (no model instances) in three narrow
statements: the applications, their distinct customers, and those customers' history for
the prior-application counts. Reading each customer once per chunk instead of once per
application, and timestamps as integers computed by the database, is what lets batch
scoring read a million rows in seconds. Products come from their (small) table.
"""

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import QuerySet

from customers.models import Customer
from loans.models import ApplicationSnapshot, ApplicationStatus, LoanApplication, LoanProduct
from scoring.features import RAW_COLUMNS
from scoring.models import LoanOutcome, ModelKind, ModelVersion, Score, ScoringRun, TrainingRun

APPROVED_STATUSES = (ApplicationStatus.APPROVED, ApplicationStatus.DISBURSED, ApplicationStatus.CANCELLED)
REJECTED_STATUSES = (ApplicationStatus.REJECTED,)

# Extra columns next to RAW_COLUMNS: identity, product bounds and status.
FRAME_EXTRA = ["customer_id", "product_min_amount", "product_max_amount", "status"]

# The customer's inputs (read once per distinct customer of a frame): every raw input but
# those of the application itself and the prior counts computed here.
_FRAME_OWN_INPUTS = {"amount", "term_months", "product", "prior_applications", "prior_approved", "prior_rejected"}
CUSTOMER_INPUTS = [name for name in RAW_COLUMNS if name not in _FRAME_OWN_INPUTS]
_TEXT_INPUTS = ("industry",)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _in_list(values) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


def _int_list(values) -> str:
    """Integers read from the database, inlined (so no bound-parameter limit applies)."""
    return ", ".join(str(int(v)) for v in values)


def _created_text(alias: str) -> str:
    """``created_at`` as ISO text ("YYYY-MM-DD HH:MM:SS[.ffffff]", UTC): numpy parses a
    column of these in milliseconds, where datetime objects cost microseconds each."""
    if connection.vendor == "sqlite":
        return f"CAST({alias}.created_at AS TEXT)"
    return f"CAST({alias}.created_at AS CHAR)"


def _microseconds(texts) -> np.ndarray:
    """ISO timestamps (UTC) as integer microseconds since the epoch."""
    try:
        return np.array(texts, dtype="datetime64[us]").astype(np.int64)
    except ValueError:  # an offset or another spelling: the slower, more lenient parser
        parsed = pd.to_datetime(pd.Series(texts, dtype=object), utc=True, format="ISO8601")
        return parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[us]").astype(np.int64)


def _status_class(alias: str) -> str:
    """1 for an approved outcome, 2 for a rejection, 0 otherwise (as the database sees it)."""
    return (
        f"CASE WHEN {alias}.status IN ({_in_list(APPROVED_STATUSES)}) THEN 1 "
        f"WHEN {alias}.status IN ({_in_list(REJECTED_STATUSES)}) THEN 2 ELSE 0 END"
    )


def _columns(sql: str, params, width: int) -> list[tuple]:
    """Run ``sql`` and return its result column by column (tuples; empty ones if no row)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return list(zip(*rows, strict=True)) if rows else [() for _ in range(width)]


def _floats(values) -> np.ndarray:
    """Database numbers (int, float, Decimal or None) as float64, NaN where unknown."""
    return np.array(values, dtype="float64")


def _ints(values) -> np.ndarray:
    return np.array(values, dtype="int64")


def prior_counts(
    customer: np.ndarray, created_us: np.ndarray, history: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per application (``customer``, ``created_us``): how many applications the same
    customer made strictly earlier (any status), and how many of those were approved and
    rejected. ``history`` is (customer, created_us, status class) of every application of
    those customers. Sorted-key arithmetic, no per-row work: ties are not "earlier"."""
    n = len(customer)
    h_customer, h_created, h_class = history
    if n == 0 or len(h_customer) == 0:
        zeros = np.zeros(n, dtype=np.int64)
        return zeros, zeros.copy(), zeros.copy()
    # Times as ranks over both sides, then one sortable key per (customer, time).
    ranks = np.unique(np.concatenate([h_created, created_us]), return_inverse=True)[1].reshape(-1)
    span = int(ranks.max()) + 2
    h_key = h_customer * span + ranks[: len(h_customer)] + 1
    order = np.argsort(h_key, kind="stable")
    h_key, h_class = h_key[order], h_class[order]
    approved = np.concatenate([[0], np.cumsum(h_class == 1)])
    rejected = np.concatenate([[0], np.cumsum(h_class == 2)])
    first = np.searchsorted(h_key, customer * span, side="left")
    before = np.searchsorted(h_key, customer * span + ranks[len(h_customer) :] + 1, side="left")
    return before - first, approved[before] - approved[first], rejected[before] - rejected[first]


def _customer_history(customers: np.ndarray) -> dict[str, np.ndarray]:
    """Every application of ``customers``: id, customer, created (µs) and status class."""
    app = _q(LoanApplication._meta.db_table)
    ids, customer, created, klass = _columns(
        f"SELECT h.id, h.customer_id, {_created_text('h')}, {_status_class('h')} FROM {app} h "
        f"WHERE h.customer_id IN ({_int_list(customers)})",
        [],
        4,
    )
    return {"id": _ints(ids), "customer": _ints(customer), "created": _microseconds(created), "class": _ints(klass)}


def _customer_inputs(customers: np.ndarray) -> dict[str, np.ndarray]:
    """The inputs of each customer in ``customers`` (sorted, distinct), in that order
    (applications reference their customer, so every one of them is there)."""
    cust = _q(Customer._meta.db_table)
    cols = _columns(
        f"SELECT c.id, {', '.join('c.' + _q(c) for c in CUSTOMER_INPUTS)} FROM {cust} c "
        f"WHERE c.id IN ({_int_list(customers)})",
        [],
        len(CUSTOMER_INPUTS) + 1,
    )
    order = np.argsort(_ints(cols[0]))
    out = {}
    for name, values in zip(CUSTOMER_INPUTS, cols[1:], strict=True):
        array = np.array(values, dtype=object) if name in _TEXT_INPUTS else _floats(values)
        out[name] = array[order]
    return out


def _products() -> dict[int, tuple[str, float, float]]:
    return {
        pk: (code, float(lo), float(hi))
        for pk, code, lo, hi in LoanProduct.objects.values_list("id", "code", "min_amount", "max_amount")
    }


SNAPSHOT_INPUTS = [*CUSTOMER_INPUTS, "prior_applications", "prior_approved", "prior_rejected"]


def _live_inputs(customer: np.ndarray, ids: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Inputs of applications without a snapshot, read from their customers as they are now
    (and the prior counts from their history): ``(inputs, created_us)``."""
    customers = np.unique(customer)
    data: dict[str, np.ndarray] = {}
    created = np.zeros(len(ids), dtype=np.int64)
    if not len(customers):
        data.update(
            {name: np.array([], dtype=object if name in _TEXT_INPUTS else "float64") for name in CUSTOMER_INPUTS}
        )
        counts = (np.zeros(0, dtype=np.int64),) * 3
    else:
        inputs = _customer_inputs(customers)
        at = np.searchsorted(customers, customer)
        data.update({name: values[at] for name, values in inputs.items()})
        history = _customer_history(customers)
        # The applications themselves are in their customers' history: their times from there.
        by_id = np.argsort(history["id"])
        found = by_id[np.minimum(np.searchsorted(history["id"], ids, sorter=by_id), len(by_id) - 1)]
        created = np.where(history["id"][found] == ids, history["created"][found], 0)
        counts = prior_counts(customer, created, (history["customer"], history["created"], history["class"]))
    data["prior_applications"], data["prior_approved"], data["prior_rejected"] = counts
    return data, created


def application_frame(*, where: str = "", params=(), limit: int | None = None) -> pd.DataFrame:
    """Raw inputs of the applications matching ``where`` (SQL over alias ``a``), by id.

    Columns: :data:`scoring.features.RAW_COLUMNS` plus :data:`FRAME_EXTRA`; index
    ``application_id``. Numbers are floats (NaN where unknown), ready for the pipeline.
    Training, batch scoring and single scoring all read through here (no skew).

    The inputs come from each application's snapshot (``loans.ApplicationSnapshot``: what
    it was submitted with), so a later edit of the customer changes no score and no
    training set. Only an application without one (never submitted through the services,
    e.g. rows written in bulk) falls back to its customer's current record.
    """
    app = _q(LoanApplication._meta.db_table)
    snap = _q(ApplicationSnapshot._meta.db_table)
    snap_columns = ", ".join("s." + _q(c) for c in SNAPSHOT_INPUTS)
    sql = (
        f"SELECT a.id, a.customer_id, a.product_id, a.amount, a.term_months, a.status, "
        f"s.version, {snap_columns} "
        f"FROM {app} a LEFT JOIN {snap} s ON s.application_id = a.id WHERE {where or '1 = 1'} ORDER BY a.id"
    )
    args = list(params)
    if limit is not None:
        sql += " LIMIT %s"
        args.append(limit)
    head = 7
    cols = _columns(sql, args, head + len(SNAPSHOT_INPUTS))
    if None in cols[1]:
        # No customer yet (a public application whose identity is not verified): nothing to score.
        rows = [row for row in zip(*cols, strict=True) if row[1] is not None]
        cols = list(zip(*rows, strict=True)) if rows else [()] * len(cols)
    ids, customer, product, amount, term, status, snap_version = cols[:head]
    ids, customer = _ints(ids), _ints(customer)
    data: dict[str, np.ndarray] = {"amount": _floats(amount), "term_months": _floats(term)}
    for name, values in zip(SNAPSHOT_INPUTS, cols[head:], strict=True):
        data[name] = np.array(values, dtype=object) if name in _TEXT_INPUTS else _floats(values)
    live = np.isnan(_floats(snap_version))  # no snapshot
    if live.any():
        inputs, _created = _live_inputs(customer[live], ids[live])
        for name, values in inputs.items():
            if name in _TEXT_INPUTS:
                data[name][live] = values
            else:
                data[name][live] = np.asarray(values, dtype="float64")
    codes, product_ids = np.unique(_ints(product), return_inverse=True)
    products = _products()
    bounds = [products.get(int(p), (None, np.nan, np.nan)) for p in codes]
    data["product"] = np.array([b[0] for b in bounds], dtype=object)[product_ids.reshape(-1)]
    data["product_min_amount"] = _floats([b[1] for b in bounds])[product_ids.reshape(-1)]
    data["product_max_amount"] = _floats([b[2] for b in bounds])[product_ids.reshape(-1)]
    data["customer_id"], data["status"] = customer, np.array(status, dtype=object)
    frame = pd.DataFrame(data, index=pd.Index(ids, name="application_id"))
    return frame[[*RAW_COLUMNS, *FRAME_EXTRA]]


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
    return f"a.status <> '{ApplicationStatus.DRAFT}' AND a.customer_id IS NOT NULL"


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
    """Every model version's score of one application, newest first (without artifacts)."""
    return (
        Score.objects.filter(application_id=application_id)
        .select_related("model_version")
        .defer("model_version__artifact", "model_version__reference")
        .order_by("-id")
    )


def model_version_drift(*, version: ModelVersion, days: int = 90) -> dict:
    """PSI per feature and on the score: training population vs recent applications."""
    from scoring.features import features_build
    from scoring.metrics import drift_table
    from scoring.services.registry import model_version_artifact

    if version.kind == ModelKind.FILE_PD:  # its own columns: no application population to compare
        return {"rows": [], "recent": 0, "days": days}
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
