"""The daily portfolio snapshots (``loans.models.portfolio``): set-wise SQL, idempotent per date.

``portfolio_snapshot_take(date=D)`` replaces D's rows of every portfolio table with sums read
from the close's per-loan snapshots of D (``LoanDaySnapshot``), the loans and the customers,
each table with one ``INSERT ... SELECT ... GROUP BY`` (the good/risky groups: one GROUP BY
whose few rows are written as they come back). Running it twice for a date writes the same
rows. It runs as the daily close's ``portfolio`` step (after ``snapshot``) and from
``manage.py portfolio_backfill``.

A loan counts as defaulted by D when an applied classification change moved it to a
non-performing class on or before D; for the latest close (``current``) also when it is
non-performing now or written off (loans that arrived non-performing by import have no change).
Customers and the vintages are kept for month ends and the latest date only (the rows of an
earlier day of the same month are removed when a later one is written).
"""

import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import Max

from customers.models import Customer, RelationshipManager
from loans.models import (
    NPL_CLASSES,
    ClassificationChange,
    DayClose,
    Loan,
    LoanApplication,
    LoanDaySnapshot,
    PortfolioDay,
    PortfolioMix,
    PortfolioRoll,
    PortfolioVintage,
)
from loans.models.portfolio import ROLL_CLOSED

T_SNAP = LoanDaySnapshot._meta.db_table
T_LOAN = Loan._meta.db_table
T_APP = LoanApplication._meta.db_table
T_CUSTOMER = Customer._meta.db_table
T_MANAGER = RelationshipManager._meta.db_table
T_CHANGE = ClassificationChange._meta.db_table
T_TAGS = Customer.tags.through._meta.db_table
T_TAG = Customer.tags.field.related_model._meta.db_table
LIVE = "('active', 'overdue')"
NPL = "(" + ", ".join(f"'{value}'" for value in NPL_CLASSES) + ")"
OWNER = "COALESCE(m.user_id, 0)"
# The indicators of the good-versus-risky radar: (name, customer column).
RADAR_INDICATORS = (
    ("credit_score", "c.credit_score"),
    ("years_in_business", "c.years_in_business"),
    ("monthly_revenue", "c.monthly_revenue"),
    (
        "margin",
        "(CASE WHEN c.monthly_revenue > 0 THEN (c.monthly_revenue - c.monthly_cost) * 1.0 / c.monthly_revenue END)",
    ),
    ("monthly_foot_traffic", "c.monthly_foot_traffic"),
    ("employees", "c.employees"),
)


def month_end(day: datetime.date) -> bool:
    return (day + datetime.timedelta(days=1)).day == 1


def previous_month_end(day: datetime.date) -> datetime.date:
    return day.replace(day=1) - datetime.timedelta(days=1)


def _execute(sql: str, params=()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def _fetch(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _cohort(column: str) -> str:
    """The first day of a date column's month (a date, no time zone involved)."""
    if connection.vendor == "mysql":
        return f"CAST(DATE_FORMAT({column}, '%%Y-%%m-01') AS DATE)"
    return f"strftime('%%Y-%%m-01', {column})"


TMP_DEFAULTED = "portfolio_defaulted_tmp"


def _defaulted_collect(d: str) -> None:
    """The loans an applied change made non-performing by D, once, in a keyed temporary table:
    a derived table in the join was read again for every loan where the planner put it inside
    the loop (hours at a million loans with a hundred thousand changes)."""
    _tmp_drop(TMP_DEFAULTED)
    _execute(f"CREATE TEMPORARY TABLE {TMP_DEFAULTED} (loan_id BIGINT NOT NULL PRIMARY KEY)")
    _execute(
        f"INSERT INTO {TMP_DEFAULTED} (loan_id) SELECT DISTINCT h.loan_id FROM {T_CHANGE} h"
        f" WHERE h.to_class IN {NPL} AND h.status = 'applied' AND h.date <= %s",
        [d],
    )


def _tmp_drop(name: str) -> None:
    mysql = connection.vendor == "mysql"
    _execute(f"DROP TEMPORARY TABLE IF EXISTS {name}" if mysql else f"DROP TABLE IF EXISTS temp.{name}")


def _defaulted(*, current: bool) -> tuple[str, str]:
    """A join giving the loans that an applied change made non-performing by D (from
    ``_defaulted_collect``; alias ``dd``), and the SQL true when loan ``l`` had defaulted by D."""
    join = f"LEFT JOIN {TMP_DEFAULTED} dd ON dd.loan_id = l.id"
    if current:
        return join, f"(dd.loan_id IS NOT NULL OR l.risk_class IN {NPL} OR l.status = 'written_off')"
    return join, "(dd.loan_id IS NOT NULL)"


def _customers_joined(on: str = "") -> str:
    """The customers (``c``) with their manager (``m``), joined ``on`` a condition when given."""
    join = f" ON {on}" if on else ""
    return f"{T_CUSTOMER} c{join} LEFT JOIN {T_MANAGER} m ON m.id = c.manager_id"


def _portfolio_day(d: str) -> int:
    return _execute(
        f"INSERT INTO {PortfolioDay._meta.db_table} (date, owner_id, dpd_bucket, risk_class, loans,"
        f" outstanding_principal, overdue_principal, provision, expected_loss)"
        f" SELECT %s, {OWNER}, s.dpd_bucket, s.risk_class, COUNT(*), SUM(s.outstanding_principal),"
        f" SUM(s.overdue_principal), SUM(s.provision), SUM(s.expected_loss)"
        f" FROM {T_SNAP} s JOIN {T_LOAN} l ON l.id = s.loan_id JOIN {_customers_joined('c.id = l.customer_id')}"
        f" WHERE s.date = %s GROUP BY {OWNER}, s.dpd_bucket, s.risk_class",
        [d, d],
    )


def _portfolio_vintage(d: str, *, current: bool) -> int:
    join, defaulted = _defaulted(current=current)
    cohort = _cohort("l.disbursement_date")
    return _execute(
        f"INSERT INTO {PortfolioVintage._meta.db_table} (date, cohort, owner_id, loans, principal,"
        f" defaulted_loans, defaulted_principal)"
        f" SELECT %s, {cohort}, {OWNER}, COUNT(*), SUM(l.principal),"
        f" SUM(CASE WHEN {defaulted} THEN 1 ELSE 0 END), SUM(CASE WHEN {defaulted} THEN l.principal ELSE 0 END)"
        f" FROM {T_LOAN} l {join} JOIN {_customers_joined('c.id = l.customer_id')}"
        f" WHERE l.disbursement_date <= %s GROUP BY {cohort}, {OWNER}",
        [d, d],
    )


def _portfolio_roll(day: datetime.date) -> int:
    """At a month end: where the loans of each bucket at the previous month end are now."""
    before = previous_month_end(day)
    if not LoanDaySnapshot.objects.filter(date=before).exists():
        return 0
    to_bucket = f"COALESCE(s.dpd_bucket, '{ROLL_CLOSED}')"
    return _execute(
        f"INSERT INTO {PortfolioRoll._meta.db_table} (date, owner_id, from_bucket, to_bucket, loans,"
        f" outstanding_principal)"
        f" SELECT %s, {OWNER}, p.dpd_bucket, {to_bucket}, COUNT(*), SUM(p.outstanding_principal)"
        f" FROM {T_SNAP} p LEFT JOIN {T_SNAP} s ON s.loan_id = p.loan_id AND s.date = %s"
        f" JOIN {T_LOAN} l ON l.id = p.loan_id JOIN {_customers_joined('c.id = l.customer_id')}"
        f" WHERE p.date = %s GROUP BY {OWNER}, p.dpd_bucket, {to_bucket}",
        [day.isoformat(), day.isoformat(), before.isoformat()],
    )


TMP_CUSTOMER = "portfolio_customer_tmp"
CENT = Decimal("0.01")


def _portfolio_mix(d: str, *, current: bool) -> int:
    table = PortfolioMix._meta.db_table
    cols = f"INSERT INTO {table} (date, owner_id, dimension, item, customers, loans, outstanding_principal,"
    cols += " defaulted_loans, measures)"
    join, defaulted = _defaulted(current=current)
    # Each customer's live loans, outstanding, defaulted loans (by D) and loans over 30 days
    # past due, once, in a temporary table the queries below join.
    _tmp_drop(TMP_CUSTOMER)
    _execute(
        f"CREATE TEMPORARY TABLE {TMP_CUSTOMER} AS SELECT l.customer_id AS customer_id,"
        f" SUM(CASE WHEN l.status IN {LIVE} THEN 1 ELSE 0 END) AS n,"
        f" SUM(CASE WHEN l.status IN {LIVE} THEN l.outstanding_principal ELSE 0 END) AS o,"
        f" SUM(CASE WHEN {defaulted} THEN 1 ELSE 0 END) AS bad,"
        f" SUM(CASE WHEN l.status IN {LIVE} AND l.days_past_due > 30 THEN 1 ELSE 0 END) AS late"
        f" FROM {T_LOAN} l {join} WHERE l.disbursement_date <= %s GROUP BY l.customer_id",
        [d],
    )
    per_customer = f"{TMP_CUSTOMER} x"
    sums = "COUNT(*), COALESCE(SUM(x.n), 0), COALESCE(SUM(x.o), 0), COALESCE(SUM(x.bad), 0), '{}'"
    total = 0
    keys = {
        PortfolioMix.Dimension.CITY: "c.city",
        PortfolioMix.Dimension.TIER: "CAST(c.city_tier AS CHAR)" if connection.vendor == "mysql" else "c.city_tier",
        PortfolioMix.Dimension.INDUSTRY: "c.industry",
        PortfolioMix.Dimension.RATING: "c.rating",
    }
    for dimension, key in keys.items():
        total += _execute(
            f"{cols} SELECT %s, {OWNER}, %s, {key}, {sums} FROM {_customers_joined()}"
            f" LEFT JOIN {per_customer} ON x.customer_id = c.id GROUP BY {OWNER}, {key}",
            [d, dimension.value],
        )
    total += _execute(
        f"{cols} SELECT %s, {OWNER}, %s, t.name, {sums} FROM {_customers_joined()}"
        f" JOIN {T_TAGS} ct ON ct.customer_id = c.id JOIN {T_TAG} t ON t.id = ct.tag_id"
        f" LEFT JOIN {per_customer} ON x.customer_id = c.id GROUP BY {OWNER}, t.name",
        [d, PortfolioMix.Dimension.TAG.value],
    )
    # Every loan disbursed by D by its application's model grade: defaulted ones give the realised rate.
    grade = "COALESCE(a.score_grade, '')"
    total += _execute(
        f"{cols} SELECT %s, {OWNER}, %s, {grade}, COUNT(DISTINCT l.customer_id), COUNT(*),"
        f" SUM(CASE WHEN l.status IN {LIVE} THEN l.outstanding_principal ELSE 0 END),"
        f" SUM(CASE WHEN {defaulted} THEN 1 ELSE 0 END), '{{}}'"
        f" FROM {T_LOAN} l {join} JOIN {T_APP} a ON a.id = l.application_id"
        f" JOIN {_customers_joined('c.id = l.customer_id')}"
        f" WHERE l.disbursement_date <= %s GROUP BY {OWNER}, {grade}",
        [d, PortfolioMix.Dimension.GRADE.value, d],
    )
    # Good and risky customers (risky: a loan defaulted, or more than 30 days past due now).
    risky = "(x.bad > 0 OR x.late > 0)"
    measures = ", ".join(f"SUM({col}), COUNT({col})" for _name, col in RADAR_INDICATORS)
    rows = _fetch(
        f"SELECT {OWNER}, {risky}, COUNT(*), SUM(x.n), SUM(x.o), SUM(x.bad), {measures}"
        f" FROM {_customers_joined()} JOIN {per_customer} ON x.customer_id = c.id GROUP BY {OWNER}, {risky}"
    )
    _tmp_drop(TMP_CUSTOMER)
    objs = []
    for owner, is_risky, customers, loans, outstanding, bad, *values in rows:
        measures_json = {
            name: [float(values[2 * i] or 0), int(values[2 * i + 1] or 0)]
            for i, (name, _col) in enumerate(RADAR_INDICATORS)
        }
        objs.append(
            PortfolioMix(
                date=d,
                owner_id=owner,
                dimension=PortfolioMix.Dimension.GROUP,
                item="risky" if is_risky else "good",
                customers=customers,
                loans=loans or 0,
                outstanding_principal=Decimal(str(outstanding or 0)).quantize(CENT, rounding=ROUND_HALF_UP),
                defaulted_loans=bad or 0,
                measures=measures_json,
            )
        )
    PortfolioMix.objects.bulk_create(objs)
    return total + len(objs)


def _drop_superseded(model, day: datetime.date) -> None:
    """Remove the rows of earlier days of D's month that are not a month end (D's replace them)."""
    model.objects.filter(date__gte=day.replace(day=1), date__lt=day).delete()


def portfolio_last_date() -> datetime.date | None:
    return PortfolioDay.objects.aggregate(top=Max("date"))["top"]


@transaction.atomic
def portfolio_snapshot_take(*, date: datetime.date, current: bool = True, full: bool = True) -> dict[str, int]:
    """Write D's portfolio rows (replacing any): per day, month-end roll, and unless ``full`` is
    false (a backfilled day in the middle of a month) the vintages and the mix."""
    d = date.isoformat()
    for model in (PortfolioDay, PortfolioVintage, PortfolioRoll, PortfolioMix):
        model.objects.filter(date=date).delete()
    counts = {"days": _portfolio_day(d), "rolls": _portfolio_roll(date) if month_end(date) else 0}
    if full:
        for model in (PortfolioVintage, PortfolioMix):
            _drop_superseded(model, date)
        _defaulted_collect(d)
        counts["vintages"] = _portfolio_vintage(d, current=current)
        counts["mix"] = _portfolio_mix(d, current=current)
        _tmp_drop(TMP_DEFAULTED)
    return counts


def portfolio_close_day(ctx) -> dict[str, int]:
    """The daily close's ``portfolio`` step (after ``snapshot``)."""
    return portfolio_snapshot_take(date=ctx.date, current=True)


def portfolio_backfill(*, since: datetime.date | None = None, until: datetime.date | None = None, progress=None):
    """Portfolio rows for every date that has per-loan snapshots (closed days), oldest first;
    customers and vintages are written for month ends and the last date only."""
    dates = LoanDaySnapshot.objects.order_by("date").values_list("date", flat=True).distinct()
    closed = set(DayClose.objects.values_list("date", flat=True))
    if since:
        dates = dates.filter(date__gte=since)
    if until:
        dates = dates.filter(date__lte=until)
    dates = list(dates)
    done = []
    for day in dates:
        last = day == dates[-1]
        counts = portfolio_snapshot_take(date=day, current=last, full=last or month_end(day))
        done.append((day, counts))
        if progress:
            progress(day, counts, day in closed)
    return done
