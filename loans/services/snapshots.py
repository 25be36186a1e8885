"""Point-in-time snapshots of applications (what each was judged on).

``application_snapshot_take`` runs inside every submission service (create submitted,
submit, resubmit after a return, identity verified, history import): it copies the
customer's inputs as they are at that moment, the financial ratios, the prior-application
counts (applications of the same customer created strictly earlier) and the internal
rating into the application's ``ApplicationSnapshot``. A resubmission takes it again (the
applicant was asked for more information). Nothing else writes a snapshot.
"""

from decimal import Decimal

from django.utils import timezone

from customers.financials import financial_ratios
from loans.models import SNAPSHOT_CUSTOMER_FIELDS, SNAPSHOT_VERSION, ApplicationSnapshot, LoanApplication

APPROVED = ("approved", "disbursed", "cancelled")
REJECTED = ("rejected",)
RATIO_PLACES = Decimal("0.0001")


def application_prior_counts(*, application: LoanApplication) -> tuple[int, int, int]:
    """The customer's applications created strictly before this one: all, approved, rejected."""
    earlier = list(
        LoanApplication.objects.filter(customer_id=application.customer_id, created_at__lt=application.created_at)
        .exclude(pk=application.pk)
        .values_list("status", flat=True)
    )
    return (
        len(earlier),
        sum(1 for s in earlier if s in APPROVED),
        sum(1 for s in earlier if s in REJECTED),
    )


def _operating_margin(revenue, cost) -> Decimal | None:
    if revenue is None or cost is None or Decimal(revenue) <= 0:
        return None
    return ((Decimal(revenue) - Decimal(cost)) / Decimal(revenue)).quantize(RATIO_PLACES)


def snapshot_values(*, customer, application: LoanApplication) -> dict:
    """The snapshot's columns for ``application`` of ``customer`` as they are now."""
    values = {name: getattr(customer, name) for name in SNAPSHOT_CUSTOMER_FIELDS}
    values["industry"] = values["industry"] or ""
    values["city"] = values["city"] or ""
    values["rating"] = values["rating"] or ""
    values["rating_source"] = values["rating_source"] or ""
    ratios = financial_ratios(
        total_assets=customer.total_assets,
        total_liabilities=customer.total_liabilities,
        current_assets=customer.current_assets,
        current_liabilities=customer.current_liabilities,
        net_profit=customer.net_profit,
        annual_revenue=customer.annual_revenue,
    )
    values.update(
        debt_ratio=ratios.debt_ratio,
        current_ratio=ratios.current_ratio,
        net_margin=ratios.net_margin,
        operating_margin=_operating_margin(customer.monthly_revenue, customer.monthly_cost),
        grade=application.score_grade or "",
    )
    values["prior_applications"], values["prior_approved"], values["prior_rejected"] = application_prior_counts(
        application=application
    )
    return values


def application_snapshot_take(
    *, application: LoanApplication, backfilled: bool = False, customer=None, first: bool = False
) -> ApplicationSnapshot | None:
    """Copy what ``application`` is judged on now into its snapshot (replacing an earlier
    one). ``None`` for an application without a customer (identity not verified yet).
    Called inside the submitting service's transaction, so both commit or neither.

    ``customer``: the application's customer as the caller read it in this transaction
    (it is not read again); ``first``: the application was created in this transaction,
    so it has no snapshot to replace (one INSERT)."""
    if application.customer_id is None:
        return None
    if customer is None or customer.pk != application.customer_id:
        from customers.models import Customer

        customer = Customer.objects.get(pk=application.customer_id)
    values = snapshot_values(customer=customer, application=application)
    values.update(version=SNAPSHOT_VERSION, taken_at=timezone.now(), backfilled=backfilled)
    if first:
        return ApplicationSnapshot.objects.create(application=application, **values)
    snapshot, _created = ApplicationSnapshot.objects.update_or_create(application=application, defaults=values)
    return snapshot


# ---------------------------------------------------------------------------------
# Set-wise backfill (data migration, bulk-made demo and benchmark worlds)
# ---------------------------------------------------------------------------------
def snapshot_backfill_sql(
    *, quote, app_table: str, customer_table: str, snapshot_table: str, where: str = "", backfilled: bool = True
) -> str:
    """One ``INSERT ... SELECT`` giving every submitted application (not a draft, with a
    customer) that has no snapshot one from its customer's current record, the prior counts
    from the applications created before it, marked ``backfilled``. Parameter: the time."""
    money = [
        "years_in_business",
        "employees",
        "area_m2",
        "monthly_revenue",
        "monthly_cost",
        "monthly_foot_traffic",
        "credit_score",
        "total_assets",
        "total_liabilities",
        "current_assets",
        "current_liabilities",
        "net_profit",
        "annual_revenue",
        "city_tier",
        "rating_date",
    ]
    text = ["industry", "city", "rating", "rating_source"]

    def ratio(num: str, den: str) -> str:
        return (
            f"CASE WHEN c.{quote(num)} IS NULL OR c.{quote(den)} IS NULL OR c.{quote(den)} = 0 THEN NULL "
            f"ELSE ROUND(c.{quote(num)} * 1.0 / c.{quote(den)}, 4) END"
        )

    operating = (
        f"CASE WHEN c.{quote('monthly_revenue')} IS NULL OR c.{quote('monthly_cost')} IS NULL "
        f"OR c.{quote('monthly_revenue')} <= 0 THEN NULL ELSE "
        f"ROUND((c.{quote('monthly_revenue')} - c.{quote('monthly_cost')}) * 1.0 / c.{quote('monthly_revenue')}, 4) END"
    )

    def prior(statuses: tuple[str, ...] | None) -> str:
        condition = ""
        if statuses:
            condition = " AND h.status IN (" + ", ".join(f"'{s}'" for s in statuses) + ")"
        return (
            f"(SELECT COUNT(*) FROM {app_table} h WHERE h.customer_id = a.customer_id "
            f"AND h.created_at < a.created_at{condition})"
        )

    columns = [
        "application_id",
        "version",
        "taken_at",
        "backfilled",
        *money,
        *text,
        "debt_ratio",
        "current_ratio",
        "net_margin",
        "operating_margin",
        "prior_applications",
        "prior_approved",
        "prior_rejected",
        "grade",
    ]
    values = [
        "a.id",
        str(SNAPSHOT_VERSION),
        "%s",
        "1" if backfilled else "0",
        *(f"c.{quote(name)}" for name in money),
        *(f"COALESCE(c.{quote(name)}, '')" for name in text),
        ratio("total_liabilities", "total_assets"),
        ratio("current_assets", "current_liabilities"),
        ratio("net_profit", "annual_revenue"),
        operating,
        prior(None),
        prior(APPROVED),
        prior(REJECTED),
        "COALESCE(a.score_grade, '')",
    ]
    return (
        f"INSERT INTO {snapshot_table} ({', '.join(quote(c) for c in columns)}) "
        f"SELECT {', '.join(values)} FROM {app_table} a JOIN {customer_table} c ON c.id = a.customer_id "
        f"WHERE a.status <> 'draft' AND NOT EXISTS "
        f"(SELECT 1 FROM {snapshot_table} s WHERE s.application_id = a.id){' AND ' + where if where else ''}"
    )


def applications_snapshot_backfill(*, where: str = "", backfilled: bool = True) -> int:
    """Give every submitted application without a snapshot one (see :func:`snapshot_backfill_sql`);
    ``where`` narrows it (SQL over alias ``a``). Returns how many were written."""
    from django.db import connection

    from customers.models import Customer

    q = connection.ops.quote_name
    sql = snapshot_backfill_sql(
        quote=q,
        app_table=q(LoanApplication._meta.db_table),
        customer_table=q(Customer._meta.db_table),
        snapshot_table=q(ApplicationSnapshot._meta.db_table),
        where=where,
        backfilled=backfilled,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [connection.ops.adapt_datetimefield_value(timezone.now())])
        return cursor.rowcount
