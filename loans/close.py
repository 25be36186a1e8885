"""The daily close (日终): what a day's end does to the loan book, set-wise in SQL.

``loan_close_day(date=D)`` closes every day from the one after the last closed day up to D, in
order, each exactly as a single close (catching up N days is N single closes). One close runs
the steps of :data:`CLOSE_STEPS` in order; each step is idempotent for its date, works on
chunks of loan ids, each chunk in its own transaction, and ``DayClose.step`` records the last
step finished, so a killed close resumes with the next step (a step cut short is run again:
its chunks already done change nothing the second time).

Conventions (the close of day D runs after D's end):
- an installment of the current schedule version is overdue when its pay date is on or before D
  and its principal or interest is not fully paid;
- days past due (DPD) = D − the oldest overdue pay date + 1 (the first day after a missed pay
  date is day 1), 0 without arrears; buckets current, 1-30, 31-60, 61-90, 91-180, 181-360, 360+;
- penalty interest (罚息) accrues one day per close on each overdue installment's unpaid
  principal at the product's daily penalty rate, and compound interest (复利) on its unpaid
  interest at the compound rate (the penalty rate if none) where the product says so; each is
  rounded half-up to the cent per installment and day, added to ``Installment.penalty`` (which
  repayments settle first, per the allocation order), to ``Loan.penalty_accrued`` and to the
  ledger as one ``PENALTY_ACCRUAL`` entry per loan and day (no cash; ``accrued``);
- classification: the worst of the DPD thresholds (data), the restructured floor during the
  observation period and the manual floor (a downgrade, or an approved upgrade);
- snapshot per live loan and day: DPD, bucket, class, balances, provision = outstanding
  principal × the class's rate (half-up to the cent), and expected loss PD × LGD × EAD.

Money in SQL is computed in integer cents (``_cents``) and rates in integer ten-thousandths,
so rounding is the same half-up as Python's ``Decimal`` on SQLite (floating point) and MariaDB.

COLLECTIONS and other apps add a step with one line in :data:`CLOSE_STEPS`:
``CloseStep("promises", "loans.services.collections.promises_close_day")``, where the function
takes ``(ctx: CloseContext)`` and returns a ``dict[str, int]`` of counts; it must be idempotent
for ``ctx.date`` (``ctx.chunks()`` gives the id ranges of live loans; ``ctx.sql`` the dialect).
"""

import datetime
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.module_loading import import_string

from audit.models import AuditAction
from audit.services import audit_record
from loans.models import (
    DPD_BUCKET_FROM,
    RISK_CLASS_ORDER,
    ClassificationChange,
    ClassificationThreshold,
    CloseSettings,
    Collateral,
    DayClose,
    DelinquencySignal,
    Installment,
    LedgerEntry,
    Loan,
    LoanDaySnapshot,
    LoanProduct,
    ProvisionRate,
    RiskClass,
    ScheduleVersion,
)
from loansite.errors import Conflict

logger = logging.getLogger("loans.close")

CHUNK = 50_000
LOCK_KEY = "loans:close_day:lock"
# The run's lock is renewed after every chunk: a killed run stops holding it within this time.
LOCK_SECONDS = 600
LIVE = ("active", "overdue")


@dataclass(frozen=True)
class CloseStep:
    name: str
    function: str  # dotted path of ``function(ctx) -> dict[str, int]``


# The steps of one close, in order (each idempotent for its date).
CLOSE_STEPS: tuple[CloseStep, ...] = (
    CloseStep("overdue", "loans.close.step_overdue"),
    CloseStep("accrual", "loans.close.step_accrual"),
    CloseStep("classification", "loans.close.step_classification"),
    CloseStep("snapshot", "loans.close.step_snapshot"),
    # The day's portfolio sums the dashboard reads (after the per-loan snapshots).
    CloseStep("portfolio", "loans.services.portfolio.portfolio_close_day"),
    # The day's application sums (and any earlier day an application changed on since).
    CloseStep("applications", "loans.services.application_days.application_days_close_day"),
    CloseStep("reminders", "loans.services.reminders.reminders_close_day"),
    CloseStep("promises", "loans.services.collections.promises_close_day"),
    # Last: the risk app turns the day's delinquency signals into risk events (queued on commit).
    CloseStep("risk_signals", "risk.services.delinquency.delinquency_signals_after_close"),
)


# ---------------------------------------------------------------------------
# SQL dialect (SQLite and MariaDB/MySQL)
# ---------------------------------------------------------------------------
class Sql:
    def __init__(self, vendor: str):
        self.mysql = vendor == "mysql"

    def cents(self, expr: str) -> str:
        """An amount of money as integer cents (exact: amounts are stored with two places)."""
        kind = "SIGNED" if self.mysql else "INTEGER"
        return f"CAST(ROUND(({expr}) * 100) AS {kind})"

    def idiv(self, a: str, b: str) -> str:
        return f"(({a}) DIV ({b}))" if self.mysql else f"(({a}) / ({b}))"

    def money(self, cents_expr: str) -> str:
        return f"CAST(({cents_expr}) / 100 AS DECIMAL(16, 2))" if self.mysql else f"ROUND(({cents_expr}) / 100.0, 2)"

    def half_up(self, cents_expr: str, rate_units: int | str) -> str:
        """cents × rate (in ten-thousandths), rounded half-up to the cent (non-negative amounts)."""
        return self.idiv(f"({cents_expr}) * ({rate_units}) + 5000", "10000")

    def days(self, later: str, earlier: str) -> str:
        if self.mysql:
            return f"DATEDIFF({later}, {earlier})"
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"

    def greatest(self, *exprs: str) -> str:
        return f"{'GREATEST' if self.mysql else 'MAX'}({', '.join(exprs)})"

    def least(self, *exprs: str) -> str:
        return f"{'LEAST' if self.mysql else 'MIN'}({', '.join(exprs)})"

    def index(self, name: str, *, update: bool = False) -> str:
        """Which index a statement reads the installments by (the planners otherwise take the
        foreign-key index and read every installment of the chunk's loans)."""
        if self.mysql:
            return "" if update else f"FORCE INDEX ({name})"
        return f"INDEXED BY {name}"

    def insert_ignore(self) -> str:
        """SQLite skips a row its unique index already holds; MariaDB checks with NOT EXISTS."""
        return "INSERT INTO" if self.mysql else "INSERT OR IGNORE INTO"

    def date_minus(self, day: str, days: str) -> str:
        if self.mysql:
            return f"DATE_SUB({day}, INTERVAL ({days}) DAY)"
        return f"date({day}, '-' || ({days}) || ' days')"

    def json(self, pairs: dict[str, str]) -> str:
        args = ", ".join(f"'{key}', {value}" for key, value in pairs.items())
        return f"JSON_OBJECT({args})"


def rate_units(rate: Decimal) -> int:
    """A rate with four places as an integer of ten-thousandths (0.0005 -> 5)."""
    return int((rate * 10000).to_integral_value())


def penalty_for_day(unpaid: Decimal, rate: Decimal) -> Decimal:
    """One day's penalty on an unpaid amount, as the close computes it (half-up to the cent)."""
    from decimal import ROUND_HALF_UP

    return (unpaid * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# ---------------------------------------------------------------------------
# Context
# ---------------------------------------------------------------------------
T_LOAN = Loan._meta.db_table
T_INST = Installment._meta.db_table
BY_STATUS_LOAN = "installment_status_loan_idx"
BY_STATUS_DUE = "installment_status_due_idx"
T_LEDGER = LedgerEntry._meta.db_table
T_SNAP = LoanDaySnapshot._meta.db_table
T_CHANGE = ClassificationChange._meta.db_table
T_SIGNAL = DelinquencySignal._meta.db_table
T_VERSION = ScheduleVersion._meta.db_table
T_COLLATERAL = Collateral._meta.db_table


@dataclass
class CloseContext:
    date: datetime.date
    day_close: DayClose
    sql: Sql
    settings: CloseSettings
    chunk: int = CHUNK
    counts: dict = field(default_factory=dict)
    _bounds: tuple[int, int] | None = None

    @property
    def d(self) -> str:
        return self.date.isoformat()

    def chunks(self) -> Iterator[tuple[int, int]]:
        """Inclusive id ranges covering every live loan."""
        if self._bounds is None:
            agg = Loan.objects.filter(status__in=LIVE).aggregate(lo=Min("id"), hi=Max("id"))
            self._bounds = (agg["lo"] or 0, agg["hi"] or -1)
        lo, hi = self._bounds
        start = lo
        while start <= hi:
            yield start, min(start + self.chunk - 1, hi)
            start += self.chunk
            cache.set(LOCK_KEY, timezone.now().isoformat(), LOCK_SECONDS)


def _execute(sql: str, params=()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


# The unpaid condition of an installment row aliased ``i`` of loan ``l`` (current version).
_UNPAID = "(i.principal_paid < i.principal OR i.interest_paid < i.interest)"
_OPEN_STATUSES = "('future', 'due', 'partly_paid', 'overdue')"


def _bucket_case(sql_dpd: str) -> str:
    whens = " ".join(f"WHEN {sql_dpd} >= {days} THEN '{bucket.value}'" for bucket, days in reversed(DPD_BUCKET_FROM))
    return f"(CASE {whens} ELSE 'current' END)"


def _bucket_rank(sql_bucket: str) -> str:
    whens = " ".join(f"WHEN '{bucket.value}' THEN {rank}" for rank, (bucket, _d) in enumerate(DPD_BUCKET_FROM))
    return f"(CASE {sql_bucket} {whens} ELSE 0 END)"


def _class_rank(sql_class: str) -> str:
    whens = " ".join(f"WHEN '{value}' THEN {rank}" for value, rank in RISK_CLASS_ORDER.items())
    return f"(CASE {sql_class} {whens} ELSE 0 END)"


def _class_of_rank(sql_rank: str) -> str:
    whens = " ".join(f"WHEN {rank} THEN '{value}'" for value, rank in RISK_CLASS_ORDER.items())
    return f"(CASE {sql_rank} {whens} ELSE 'normal' END)"


# ---------------------------------------------------------------------------
# Step 1: overdue installments, days past due, buckets, active <-> overdue, signals
# ---------------------------------------------------------------------------
def step_overdue(ctx: CloseContext) -> dict[str, int]:
    sql, d = ctx.sql, ctx.d
    counts = {"installments_overdue": 0, "loans_in_arrears": 0, "loans_cured": 0, "signals": 0}
    current = f"i.schedule_version = (SELECT v.schedule_version FROM {T_LOAN} v WHERE v.id = i.loan_id)"
    # Loans in arrears on D: an overdue installment of the current version (read by status and
    # loan: only the chunk's overdue rows).
    arrears = (
        f"l.id IN (SELECT i.loan_id FROM {T_INST} i {sql.index(BY_STATUS_LOAN)} WHERE i.status = 'overdue'"
        f" AND i.loan_id BETWEEN %s AND %s AND i.due_date <= %s AND i.pay_date <= %s AND {_UNPAID} AND {current})"
    )
    oldest = (
        f"(SELECT MIN(i.pay_date) FROM {T_INST} i WHERE i.loan_id = l.id AND i.schedule_version = l.schedule_version"
        f" AND i.status = 'overdue' AND i.pay_date <= %s AND {_UNPAID})"
    )
    live = "l.id BETWEEN %s AND %s AND l.status IN ('active', 'overdue')"
    signal_cols = f"INSERT INTO {T_SIGNAL} (loan_id, customer_id, date, kind, detail, created_at, consumed_at)"
    now = timezone.now()
    for lo, hi in ctx.chunks():
        arrears_params = [lo, hi, d, d]
        with transaction.atomic():
            counts["installments_overdue"] += _execute(
                f"UPDATE {T_INST} AS i {sql.index(BY_STATUS_DUE, update=True)} SET status = 'overdue'"
                f" WHERE i.status IN ('future', 'due', 'partly_paid') AND i.due_date <= %s AND i.pay_date <= %s"
                f" AND +i.loan_id BETWEEN %s AND %s AND {_UNPAID}"
                f" AND i.schedule_version = (SELECT v.schedule_version FROM {T_LOAN} v WHERE v.id = i.loan_id"
                f" AND v.status IN ('active', 'overdue'))",
                [d, d, lo, hi],
            )
            counts["loans_in_arrears"] += _execute(
                f"UPDATE {T_LOAN} AS l SET days_past_due = {sql.days('%s', oldest)} + 1 WHERE {live} AND {arrears}",
                [d, d, lo, hi, *arrears_params],
            )
            counts["loans_cured"] += _execute(
                f"UPDATE {T_LOAN} AS l SET days_past_due = 0, dpd_bucket = 'current', overdue_since = NULL,"
                f" status = 'active' WHERE {live} AND (l.days_past_due > 0 OR l.status = 'overdue'"
                f" OR l.overdue_since IS NOT NULL) AND NOT {arrears}",
                [lo, hi, *arrears_params],
            )
            # Signals from the state before this close (the status and bucket are not moved yet).
            counts["signals"] += _execute(
                f"{signal_cols} SELECT l.id, l.customer_id, %s, 'loan_overdue',"
                f" {sql.json({'days_past_due': 'l.days_past_due'})}, %s, NULL FROM {T_LOAN} l"
                f" WHERE {live} AND l.days_past_due > 0 AND l.status = 'active' AND NOT EXISTS (SELECT 1"
                f" FROM {T_SIGNAL} s WHERE s.loan_id = l.id AND s.date = %s AND s.kind = 'loan_overdue')",
                [d, now, lo, hi, d],
            )
            new_bucket = _bucket_case("l.days_past_due")
            since = sql.date_minus("%s", "l.days_past_due - 1")
            counts["signals"] += _execute(
                f"{signal_cols} SELECT l.id, l.customer_id, %s, 'bucket_worse',"
                f" {sql.json({'from': 'l.dpd_bucket', 'to': new_bucket, 'days_past_due': 'l.days_past_due'})},"
                f" %s, NULL FROM {T_LOAN} l WHERE {live} AND l.days_past_due > 0 AND l.status = 'overdue'"
                f" AND {_bucket_rank(new_bucket)} > {_bucket_rank('l.dpd_bucket')} AND NOT EXISTS (SELECT 1"
                f" FROM {T_SIGNAL} s WHERE s.loan_id = l.id AND s.date = %s AND s.kind = 'bucket_worse')",
                [d, now, lo, hi, d],
            )
            _execute(
                f"UPDATE {T_LOAN} AS l SET dpd_bucket = {new_bucket}, status = 'overdue', overdue_since = {since}"
                f" WHERE {live} AND l.days_past_due > 0 AND (l.status <> 'overdue' OR l.overdue_since IS NULL"
                f" OR l.overdue_since <> {since} OR l.dpd_bucket <> {new_bucket})",
                [d, lo, hi, d],
            )
    return counts


# ---------------------------------------------------------------------------
# Step 2: penalty and compound interest
# ---------------------------------------------------------------------------
def _accrual_expr(sql: Sql, penalty_units: int, compound_units: int) -> str:
    expr = sql.half_up(sql.cents("i.principal - i.principal_paid"), penalty_units)
    if compound_units:
        expr = f"{expr} + {sql.half_up(sql.cents('i.interest - i.interest_paid'), compound_units)}"
    return f"({expr})"


def step_accrual(ctx: CloseContext) -> dict[str, int]:
    sql, d = ctx.sql, ctx.d
    counts = {"loans_accrued": 0, "installments_accrued": 0}
    products = list(LoanProduct.objects.values_list("id", "penalty_rate", "compound_interest", "compound_rate"))
    now = timezone.now()
    for lo, hi in ctx.chunks():
        with transaction.atomic():
            for product_id, penalty_rate, compound, compound_rate in products:
                p_units = rate_units(penalty_rate or Decimal("0"))
                c_units = rate_units(compound_rate if compound_rate is not None else penalty_rate) if compound else 0
                if not p_units and not c_units:
                    continue
                due = (
                    "l.id BETWEEN %s AND %s AND l.product_id = %s AND l.status IN ('active', 'overdue')"
                    " AND l.days_past_due > 0 AND (l.penalty_through IS NULL OR l.penalty_through < %s)"
                )
                due_params = [lo, hi, product_id, d]
                rows = (
                    f"i.loan_id = l.id AND i.schedule_version = l.schedule_version AND i.status = 'overdue'"
                    f" AND i.pay_date <= %s AND {_UNPAID}"
                )
                accrual = _accrual_expr(sql, p_units, c_units)
                # The ledger: one entry per loan and day with what the installments get below.
                _execute(
                    f"INSERT INTO {T_LEDGER} (loan_id, kind, value_date, amount, principal, interest, penalty, fee,"
                    f" credit, accrued, balance_after, note, created_at)"
                    f" SELECT l.id, 'penalty_accrual', %s, 0, 0, 0, 0, 0, 0, {sql.money('a.cents')},"
                    f" l.outstanding_principal, '', %s FROM {T_LOAN} l JOIN (SELECT i.loan_id AS loan_id,"
                    f" SUM({accrual}) AS cents FROM {T_INST} i {sql.index(BY_STATUS_LOAN)} JOIN {T_LOAN} l ON {rows}"
                    f" WHERE i.status = 'overdue' AND i.loan_id BETWEEN %s AND %s AND {due}"
                    f" GROUP BY i.loan_id) a ON a.loan_id = l.id WHERE a.cents > 0",
                    [d, now, d, lo, hi, *due_params],
                )
                new_penalty = sql.money(f"{sql.cents('i.penalty')} + {accrual}")
                counts["installments_accrued"] += _execute(
                    f"UPDATE {T_INST} AS i {sql.index(BY_STATUS_LOAN, update=True)} SET penalty = {new_penalty}"
                    f" WHERE i.status = 'overdue' AND i.loan_id BETWEEN %s AND %s AND i.pay_date <= %s AND {_UNPAID}"
                    f" AND EXISTS (SELECT 1 FROM {T_LOAN} l"
                    f" WHERE l.id = i.loan_id AND i.schedule_version = l.schedule_version AND {due})",
                    [lo, hi, d, *due_params],
                )
                # The same sum as the ledger's (the installments' paid parts did not change).
                today = f"COALESCE((SELECT SUM({accrual}) FROM {T_INST} i WHERE {rows}), 0)"
                total = sql.money(sql.cents("l.penalty_accrued") + " + " + today)
                counts["loans_accrued"] += _execute(
                    f"UPDATE {T_LOAN} AS l SET penalty_accrued = {total}, penalty_through = %s WHERE {due}",
                    [d, d, *due_params],
                )
    return counts


# ---------------------------------------------------------------------------
# Step 3: five-category classification
# ---------------------------------------------------------------------------
def _classification_expr(ctx: CloseContext) -> tuple[str, list]:
    sql = ctx.sql
    thresholds = sorted(
        ClassificationThreshold.objects.values_list("risk_class", "min_days_past_due"), key=lambda t: -t[1]
    )
    whens = " ".join(
        f"WHEN l.days_past_due >= {int(days)} THEN {RISK_CLASS_ORDER[rc]}" for rc, days in thresholds if days > 0
    )
    by_dpd = f"(CASE {whens} ELSE 0 END)" if whens else "0"
    cutoff = _months_before(ctx.date, ctx.settings.observation_months)
    floor = RISK_CLASS_ORDER[ctx.settings.restructured_class]
    restructured = (
        f"(CASE WHEN l.restructured AND EXISTS (SELECT 1 FROM {T_VERSION} v WHERE v.loan_id = l.id"
        f" AND v.reason = 'restructure' AND v.effective_date > %s) THEN {floor} ELSE 0 END)"
    )
    manual = f"(CASE WHEN l.risk_class_manual = '' THEN 0 ELSE {_class_rank('l.risk_class_manual')} END)"
    return sql.greatest(by_dpd, restructured, manual), [cutoff.isoformat()]


def _months_before(day: datetime.date, months: int) -> datetime.date:
    import calendar

    month = day.month - months
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def step_classification(ctx: CloseContext) -> dict[str, int]:
    sql, d = ctx.sql, ctx.d
    counts = {"reclassified": 0, "downgraded": 0}
    rank, rank_params = _classification_expr(ctx)
    new_class = _class_of_rank(rank)
    now = timezone.now()
    candidates = (
        "l.id BETWEEN %s AND %s AND l.status IN ('active', 'overdue') AND (l.days_past_due > 0 OR l.restructured"
        " OR l.risk_class_manual <> '' OR l.risk_class <> 'normal')"
    )
    for lo, hi in ctx.chunks():
        cand = [lo, hi]
        with transaction.atomic():
            counts["downgraded"] += _execute(
                f"INSERT INTO {T_SIGNAL} (loan_id, customer_id, date, kind, detail, created_at, consumed_at)"
                f" SELECT l.id, l.customer_id, %s, 'downgrade', {sql.json({'from': 'l.risk_class', 'to': new_class})},"
                f" %s, NULL FROM {T_LOAN} l WHERE {candidates} AND {rank} > {_class_rank('l.risk_class')}"
                f" AND NOT EXISTS (SELECT 1 FROM {T_SIGNAL} s WHERE s.loan_id = l.id AND s.date = %s"
                f" AND s.kind = 'downgrade')",
                [d, *rank_params, now, *cand, *rank_params, d],
            )
            counts["reclassified"] += _execute(
                f"INSERT INTO {T_CHANGE} (loan_id, date, from_class, to_class, source, status, reason, days_past_due,"
                f" decision_note, created_at) SELECT l.id, %s, l.risk_class, {new_class}, 'close', 'applied', '',"
                f" l.days_past_due, '', %s FROM {T_LOAN} l WHERE {candidates}"
                f" AND {rank} <> {_class_rank('l.risk_class')}",
                [d, *rank_params, now, *cand, *rank_params],
            )
            _execute(
                f"UPDATE {T_LOAN} AS l SET risk_class = {new_class}"
                f" WHERE {candidates} AND {rank} <> {_class_rank('l.risk_class')}",
                [*rank_params, *cand, *rank_params],
            )
    return counts


# ---------------------------------------------------------------------------
# Step 4: snapshot with provisions and expected loss
# ---------------------------------------------------------------------------
def _active_pd_model_id() -> int | None:
    from scoring.models import ModelKind, ModelVersion

    return (
        ModelVersion.objects.filter(kind=ModelKind.PD, status=ModelVersion.Status.ACTIVE)
        .values_list("id", flat=True)
        .first()
    )


def step_snapshot(ctx: CloseContext) -> dict[str, int]:
    from scoring.models import Score

    sql, d = ctx.sql, ctx.d
    rates = dict(ProvisionRate.objects.values_list("risk_class", "rate"))
    rate_case = " ".join(f"WHEN '{rc}' THEN {rate_units(rates.get(rc, Decimal(0)))}" for rc in RiskClass.values)
    provision = sql.money(
        sql.half_up(sql.cents("l.outstanding_principal"), f"(CASE l.risk_class {rate_case} ELSE 0 END)")
    )
    # Per chunk, two small aggregates joined to the loans: the overdue and partly paid
    # installments of the current version (read by status and loan), and collateral held.
    parts = (
        f"(SELECT i.loan_id AS loan_id,"
        f" SUM(CASE WHEN i.status = 'overdue' THEN i.principal - i.principal_paid ELSE 0 END) AS op,"
        f" SUM(CASE WHEN i.status = 'overdue' THEN i.interest - i.interest_paid ELSE 0 END) AS oi,"
        f" SUM(i.penalty - i.penalty_paid) AS pu FROM {T_INST} i {sql.index(BY_STATUS_LOAN)}"
        f" JOIN {T_LOAN} v ON v.id = i.loan_id AND v.schedule_version = i.schedule_version"
        f" WHERE i.status IN ('overdue', 'partly_paid') AND i.loan_id BETWEEN %s AND %s GROUP BY i.loan_id) o"
    )
    held = (
        f"(SELECT c.loan_id AS loan_id, SUM(c.appraised_value * (1 - c.haircut)) AS s FROM {T_COLLATERAL} c"
        f" WHERE c.status <> 'released' AND c.loan_id BETWEEN %s AND %s GROUP BY c.loan_id) c"
    )
    o_principal, o_interest, p_unpaid = "COALESCE(o.op, 0)", "COALESCE(o.oi, 0)", "COALESCE(o.pu, 0)"
    ead = f"(l.outstanding_principal + {o_interest} + {p_unpaid})"
    secured = "COALESCE(c.s, 0)"
    pd_model = _active_pd_model_id()
    npl = "('substandard', 'doubtful', 'loss')"
    if pd_model is not None:
        score = (
            f"(SELECT s.probability FROM {Score._meta.db_table} s WHERE s.application_id = l.application_id"
            f" AND s.model_version_id = {int(pd_model)})"
        )
        pd = f"(CASE WHEN l.risk_class IN {npl} THEN 1 ELSE COALESCE({score}, %s) END)"
    else:
        pd = f"(CASE WHEN l.risk_class IN {npl} THEN 1 ELSE %s END)"
    default_pd = float(ctx.settings.default_pd)
    default_lgd = float(ctx.settings.default_lgd)
    unsecured = f"{sql.greatest('0', f'{ead} - {secured}')}"
    lgd = f"(CASE WHEN {ead} > 0 THEN %s * {unsecured} / {ead} ELSE 0 END)"
    expected = f"ROUND({pd} * %s * {unsecured}, 2)"
    cols = (
        "loan_id, date, status, days_past_due, dpd_bucket, risk_class, outstanding_principal, overdue_principal,"
        " overdue_interest, penalty_accrued, penalty_unpaid, provision, pd, lgd, ead, expected_loss"
    )
    total = 0
    for lo, hi in ctx.chunks():
        with transaction.atomic():
            not_yet = [] if not sql.mysql else [d]
            total += _execute(
                f"{sql.insert_ignore()} {T_SNAP} ({cols}) SELECT l.id, %s, l.status, l.days_past_due, l.dpd_bucket,"
                f" l.risk_class, l.outstanding_principal, {o_principal}, {o_interest}, l.penalty_accrued, {p_unpaid},"
                f" {provision}, ROUND({pd}, 6), ROUND({lgd}, 6), {ead}, {expected} FROM {T_LOAN} l"
                f" LEFT JOIN {parts} ON o.loan_id = l.id LEFT JOIN {held} ON c.loan_id = l.id"
                f" WHERE l.id BETWEEN %s AND %s AND l.status IN ('active', 'overdue')"
                + (
                    f" AND NOT EXISTS (SELECT 1 FROM {T_SNAP} x WHERE x.loan_id = l.id AND x.date = %s)"
                    if sql.mysql
                    else ""
                ),
                [d, default_pd, default_lgd, default_pd, default_lgd, lo, hi, lo, hi, lo, hi, *not_yet],
            )
    return {"snapshots": total}


# ---------------------------------------------------------------------------
# Running a close
# ---------------------------------------------------------------------------
def _settings() -> CloseSettings:
    return CloseSettings.objects.first() or CloseSettings()


def _run_one(day: datetime.date, *, steps=None, stop_after: str | None = None, chunk: int = CHUNK) -> DayClose:
    steps = steps if steps is not None else CLOSE_STEPS
    close, _created = DayClose.objects.get_or_create(date=day)
    if close.status == DayClose.Status.DONE:
        return close
    names = [step.name for step in steps]
    start = names.index(close.step) + 1 if close.step in names else 0
    DayClose.objects.filter(pk=close.pk).update(
        status=DayClose.Status.RUNNING, runs=close.runs + 1, error="", started_at=close.started_at or timezone.now()
    )
    close.refresh_from_db()
    ctx = CloseContext(date=day, day_close=close, sql=Sql(connection.vendor), settings=_settings(), chunk=chunk)
    counts = dict(close.counts or {})
    for step in steps[start:]:
        try:
            result = import_string(step.function)(ctx) or {}
        except Exception as exc:
            DayClose.objects.filter(pk=close.pk).update(status=DayClose.Status.FAILED, error=repr(exc)[:2000])
            logger.exception("close of %s failed in step %s", day, step.name)
            raise
        counts[step.name] = result
        DayClose.objects.filter(pk=close.pk).update(step=step.name, counts=counts)
        logger.info("close of %s: %s %s", day, step.name, result)
        if stop_after == step.name:
            close.refresh_from_db()
            return close
    with transaction.atomic():
        DayClose.objects.filter(pk=close.pk).update(
            status=DayClose.Status.DONE, finished_at=timezone.now(), counts=counts
        )
        close.refresh_from_db()
        audit_record(
            action=AuditAction.SYSTEM,
            target=close,
            changes={"close": str(day), "counts": counts, "runs": close.runs},
            reason="daily close",
        )
    return close


def close_dates(until: datetime.date, since: datetime.date | None = None) -> list[datetime.date]:
    """The dates a close up to ``until`` runs, in order: every day after the last one closed
    (or after ``since`` - 1), resuming an unfinished one."""
    last = DayClose.objects.filter(status=DayClose.Status.DONE).aggregate(top=Max("date"))["top"]
    unfinished = (
        DayClose.objects.exclude(status=DayClose.Status.DONE).filter(date__lte=until).aggregate(low=Min("date"))["low"]
    )
    if since is not None:
        first = since
    elif last is not None:
        first = last + datetime.timedelta(days=1)
    else:
        first = until
    if unfinished is not None:
        first = min(first, unfinished)
    days = []
    day = first
    while day <= until:
        days.append(day)
        day += datetime.timedelta(days=1)
    return days


def loan_close_day(
    *,
    date: datetime.date,
    since: datetime.date | None = None,
    stop_after: str | None = None,
    chunk: int | None = None,
    progress: Callable[[DayClose], None] | None = None,
) -> list[DayClose]:
    """Close ``date`` and every missed day before it, in order (one close each)."""
    chunk = chunk or getattr(settings, "LOANS_CLOSE_CHUNK", CHUNK)
    if not cache.add(LOCK_KEY, timezone.now().isoformat(), LOCK_SECONDS):
        raise Conflict("A daily close is running already.")
    try:
        done = []
        for day in close_dates(date, since):
            close = _run_one(day, stop_after=stop_after, chunk=chunk)
            done.append(close)
            if progress:
                progress(close)
            if close.status != DayClose.Status.DONE:
                break
        return done
    finally:
        cache.delete(LOCK_KEY)
