"""The reports' figures (报表): aggregate queries only, one GROUP BY per table, no loop over rows.

- ``portfolio_report``: loans by product, industry, city, relationship manager or month of
  disbursement: count, amount disbursed, outstanding principal, PAR30 and NPL (ratios of the
  outstanding), provisions (outstanding x the class's provision rate, as the daily close computes).
- ``funnel_report``: applications submitted in the period (by local month) and how far they got:
  reviewed, approved, disbursed, with the rate of each step and overall.
- ``flows_report``: per month and product, disbursed (authorised disbursements by value date),
  scheduled (principal + interest of the current schedule falling due), repaid (posted repayments
  by value date), installments due paid on time and late (paid after the pay date, or unpaid past it).
- ``overdue_report``: the loans past due by bucket (count, outstanding, overdue amount) and the
  list of them (customer, manager, DPD, bucket, overdue amount), a query a page can slice.
- ``risk_class_report``: the five categories now (count, balance, provision) against the previous
  month-end from the daily close's snapshots, and the movement between them (from x to).

Every report takes ``ReportFilters``: the period (local dates, or all dates), product, city,
industry, relationship manager, five-category class and, for a loan officer, ``owner`` (their user
id: then their own customers and the applications they created only, as on the dashboard).
Months of date-times are cut at Asia/Shanghai midnight in the database (``TruncMonth`` with the
zone), so SQLite and MySQL agree; dates (disbursement, due, value dates) are local already.
"""

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from loansite.dashboard.periods import LocalDate, Period, local_zone

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
MONEY_FIELD = DecimalField(max_digits=20, decimal_places=2)
LIVE = ("active", "overdue")
APPROVED = ("approved", "disbursed", "cancelled")
# Statuses an application reaches only after a reviewer took it up.
REVIEWED = ("under_review", "returned_for_info", "approved", "rejected", "cancelled", "disbursed")
NPL = ("substandard", "doubtful", "loss")
DIMENSIONS = ("product", "industry", "city", "manager", "month")
REPORTS = ("portfolio", "funnel", "flows", "overdue", "risk_class")


@dataclass(frozen=True)
class ReportFilters:
    period: Period | None = None  # None: all dates
    product: int | None = None
    city: str = ""
    industry: str = ""
    manager: int | None = None  # a RelationshipManager id
    risk_class: str = ""
    owner: int | None = None  # a loan officer's user id: their own book only
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def cache_key(self) -> str:
        period = self.period.cache_key if self.period else "all"
        return f"{period}:{self.product}:{self.city}:{self.industry}:{self.manager}:{self.risk_class}:{self.owner}"

    def as_json(self) -> dict:
        """Plain values (what a report file keeps of the filters it was made with)."""
        data = {
            name: getattr(self, name)
            for name in ("product", "city", "industry", "manager", "risk_class", "owner")
            if getattr(self, name) not in (None, "")
        }
        if self.period:
            data["start"] = self.period.first_day.isoformat()
            data["end"] = self.period.last_day.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict) -> "ReportFilters":
        from loansite.dashboard.periods import period_from

        period = None
        if data.get("start") and data.get("end"):
            period = period_from(
                "custom", start=dt.date.fromisoformat(data["start"]), end=dt.date.fromisoformat(data["end"])
            )
        return cls(
            period=period,
            product=data.get("product"),
            city=data.get("city", ""),
            industry=data.get("industry", ""),
            manager=data.get("manager"),
            risk_class=data.get("risk_class", ""),
            owner=data.get("owner"),
        )


def _money_sum(expression, **kwargs):
    return Coalesce(Sum(expression, **kwargs), Value(ZERO), output_field=MONEY_FIELD)


def _ratio(part, whole):
    return (Decimal(part) / Decimal(whole)) if whole else None


def _scope(qs, filters: ReportFilters, *, loan: str = "", customer: str = "customer__", product: str = "product_id"):
    """Filter ``qs`` by product, customer's city, industry and manager, and the owner's book.
    ``loan``: the path to a loan's own fields (class), or None when the rows have no loan."""
    if filters.product:
        qs = qs.filter(**{product: filters.product})
    if filters.city:
        qs = qs.filter(**{f"{customer}city": filters.city})
    if filters.industry:
        qs = qs.filter(**{f"{customer}industry": filters.industry})
    if filters.manager:
        qs = qs.filter(**{f"{customer}manager_id": filters.manager})
    if filters.risk_class and loan is not None:
        qs = qs.filter(**{f"{loan}risk_class": filters.risk_class})
    if filters.owner is not None:
        qs = qs.filter(**{f"{customer}manager__user_id": filters.owner})
    return qs


def _dates(field_name: str, period: Period | None) -> Q:
    if period is None:
        return Q()
    return Q(**{f"{field_name}__gte": period.first_day, f"{field_name}__lte": period.last_day})


def _times(field_name: str, period: Period | None) -> Q:
    if period is None:
        return Q(**{f"{field_name}__isnull": False})
    return Q(**{f"{field_name}__gte": period.start, f"{field_name}__lt": period.end})


def provision_rates() -> dict[str, Decimal]:
    from loans.models import ProvisionRate

    return dict(ProvisionRate.objects.values_list("risk_class", "rate"))


def _provision(rates: dict, prefix: str = ""):
    """Outstanding principal x the provision rate of the loan's class, per row."""
    outstanding = F(f"{prefix}outstanding_principal")
    return Case(
        *[
            When(
                **{f"{prefix}risk_class": risk_class},
                then=ExpressionWrapper(outstanding * Value(rate), output_field=MONEY_FIELD),
            )
            for risk_class, rate in rates.items()
        ],
        default=Value(ZERO),
        output_field=MONEY_FIELD,
    )


def _cents(value) -> Decimal:
    return (value or ZERO).quantize(CENT, rounding=ROUND_HALF_UP)


# --- portfolio ---------------------------------------------------------------------------------


def _loans(filters: ReportFilters):
    from loans.models import Loan

    qs = _scope(Loan.objects.all(), filters)
    return qs.filter(_dates("disbursement_date", filters.period))


def _portfolio_aggregates(rates: dict) -> dict:
    live = Q(status__in=LIVE)
    return {
        "loans": Count("pk"),
        "live_loans": Count("pk", filter=live),
        "amount": _money_sum("principal"),
        "outstanding": _money_sum("outstanding_principal", filter=live),
        "par30": _money_sum("outstanding_principal", filter=live & Q(days_past_due__gt=30)),
        "npl": _money_sum("outstanding_principal", filter=live & Q(risk_class__in=NPL)),
        "provisions": _money_sum(_provision(rates), filter=live),
    }


def _portfolio_row(row: dict) -> dict:
    row["provisions"] = _cents(row["provisions"])
    row["par30_ratio"] = _ratio(row["par30"], row["outstanding"])
    row["npl_ratio"] = _ratio(row["npl"], row["outstanding"])
    return row


def portfolio_report(*, filters: ReportFilters, by: str = "product") -> dict:
    """``{"rows": [...], "total": {...}}``: one row per value of ``by`` (its ``key`` and ``label``)."""
    if by not in DIMENSIONS:
        raise ValueError(by)
    rates = provision_rates()
    key = {
        "product": F("product_id"),
        "industry": F("customer__industry"),
        "city": F("customer__city"),
        "manager": F("customer__manager_id"),
        "month": TruncMonth("disbursement_date"),
    }[by]
    loans = _loans(filters)
    rows = [
        _portfolio_row(row) for row in loans.values(key=key).annotate(**_portfolio_aggregates(rates)).order_by("key")
    ]
    labels = dimension_labels(by, [row["key"] for row in rows])
    for row in rows:
        row["label"] = labels.get(row["key"], row["key"])
    if by != "month":
        rows.sort(key=lambda r: (-r["outstanding"], -r["amount"], str(r["label"])))
    total = _portfolio_row(loans.aggregate(**_portfolio_aggregates(rates)))
    return {"rows": rows, "total": total if total["loans"] else None}


def dimension_labels(by: str, keys) -> dict:
    """Names in the reader's language for the keys of a dimension (one query per dimension)."""
    from django.utils import translation

    keys = [k for k in keys if k not in (None, "")]
    chinese = (translation.get_language() or "").lower().startswith("zh")
    out: dict = {None: "—", "": "—"}
    if by == "product":
        from loans.models import LoanProduct

        for pk, name, name_zh in LoanProduct.objects.filter(pk__in=keys).values_list("pk", "name", "name_zh"):
            out[pk] = (name_zh if chinese and name_zh else name) or str(pk)
    elif by == "industry":
        from customers.models import Industry

        for code, name, name_en in Industry.objects.filter(code__in=keys).values_list("code", "name", "name_en"):
            out[code] = (name if chinese else name_en) or code
    elif by == "city":
        from customers.models import City

        for name_en, short in City.objects.filter(name_en__in=keys).values_list("name_en", "short_name"):
            out[name_en] = short if chinese else name_en
    elif by == "manager":
        from customers.models import RelationshipManager
        from loansite.names import person_name

        for pk, first, last, username in RelationshipManager.objects.filter(pk__in=keys).values_list(
            "pk", "user__first_name", "user__last_name", "user__username"
        ):
            out[pk] = person_name(first, last) or username
    elif by == "month":
        for key in keys:
            out[key] = f"{key:%Y-%m}"
    return out


# --- approval funnel ---------------------------------------------------------------------------


def _applications(filters: ReportFilters):
    from loans.models import LoanApplication

    qs = LoanApplication.objects.all()
    if filters.owner is not None:
        qs = qs.filter(Q(created_by_id=filters.owner) | Q(customer__manager__user_id=filters.owner))
        filters = replace(filters, owner=None)
    return _scope(qs, filters, loan=None).filter(_times("submitted_at", filters.period))


def _funnel_aggregates() -> dict:
    approved = Q(status__in=APPROVED)
    return {
        "submitted": Count("pk"),
        "reviewed": Count("pk", filter=Q(status__in=REVIEWED) | Q(reviewer__isnull=False)),
        "approved": Count("pk", filter=approved),
        "rejected": Count("pk", filter=Q(status="rejected")),
        "disbursed": Count("pk", filter=Q(status="disbursed")),
        "amount_submitted": _money_sum("amount"),
        "amount_approved": _money_sum(Coalesce("approved_amount", "amount"), filter=approved),
    }


def _funnel_row(row: dict) -> dict:
    row["review_rate"] = _ratio(row["reviewed"], row["submitted"])
    row["approval_rate"] = _ratio(row["approved"], row["reviewed"])
    row["disbursement_rate"] = _ratio(row["disbursed"], row["approved"])
    row["overall_rate"] = _ratio(row["disbursed"], row["submitted"])
    return row


def funnel_report(*, filters: ReportFilters) -> dict:
    """Applications submitted in the period: each step's count and rate, per local month and in all."""
    apps = _applications(filters)
    # The local month in the database; on MySQL/MariaDB by the zone's fixed offset (no zone tables).
    window = (
        (filters.period.start, filters.period.end)
        if filters.period
        else (dt.datetime(2000, 1, 1, tzinfo=local_zone()), timezone.now())
    )
    rows = [
        _funnel_row(row)
        for row in apps.annotate(month=TruncMonth(LocalDate("submitted_at", window=window)))
        .values("month")
        .annotate(**_funnel_aggregates())
        .order_by("month")
    ]
    for row in rows:
        month = row["month"]
        row["month"] = month.astimezone(local_zone()).date() if isinstance(month, dt.datetime) else month
    total = _funnel_row(apps.aggregate(**_funnel_aggregates()))
    return {"rows": rows, "total": total if total["submitted"] else None}


# --- disbursement and repayment ----------------------------------------------------------------


def flows_report(*, filters: ReportFilters, today: dt.date | None = None) -> dict:
    """Per (month, product): disbursed, scheduled, repaid, installments paid on time and late."""
    from loans.models import Disbursement, Installment, Repayment

    today = today or timezone.localdate()
    disbursed = _scope(
        Disbursement.objects.filter(status="authorised", loan__isnull=False),
        filters,
        loan="loan__",
        customer="loan__customer__",
        product="loan__product_id",
    ).filter(_dates("value_date", filters.period))
    due = _scope(
        Installment.objects.filter(schedule_version=F("loan__schedule_version")),
        filters,
        loan="loan__",
        customer="loan__customer__",
        product="loan__product_id",
    ).filter(_dates("due_date", filters.period))
    repaid = _scope(
        Repayment.objects.filter(status="posted"),
        filters,
        loan="loan__",
        customer="loan__customer__",
        product="loan__product_id",
    ).filter(_dates("value_date", filters.period))
    paid = Q(status="paid")
    on_time = paid & Q(paid_on__lte=F("pay_date"))
    late = (paid & Q(paid_on__gt=F("pay_date"))) | (~paid & Q(pay_date__lt=today))
    tables = (
        disbursed.annotate(month=TruncMonth("value_date"), product=F("loan__product_id"))
        .values("month", "product")
        .annotate(disbursed=_money_sum("amount"), disbursements=Count("pk")),
        due.annotate(month=TruncMonth("due_date"), product=F("loan__product_id"))
        .values("month", "product")
        .annotate(
            scheduled=_money_sum(F("principal") + F("interest")),
            installments=Count("pk"),
            on_time=Count("pk", filter=on_time),
            late=Count("pk", filter=late),
        ),
        repaid.annotate(month=TruncMonth("value_date"), product=F("loan__product_id"))
        .values("month", "product")
        .annotate(repaid=_money_sum("amount"), repaid_principal=_money_sum("allocated_principal")),
    )
    blank = {
        "disbursed": ZERO,
        "disbursements": 0,
        "scheduled": ZERO,
        "installments": 0,
        "on_time": 0,
        "late": 0,
        "repaid": ZERO,
        "repaid_principal": ZERO,
    }
    merged: dict = {}
    for table in tables:
        for row in table.order_by():
            key = (row.pop("month"), row.pop("product"))
            merged.setdefault(key, dict(blank)).update(row)
    labels = dimension_labels("product", {product for _month, product in merged})
    rows = []
    total = dict(blank)
    for (month, product), row in sorted(merged.items(), key=lambda item: (item[0][0], str(labels.get(item[0][1])))):
        row.update(month=month, product=product, product_label=labels.get(product, product))
        row["on_time_rate"] = _ratio(row["on_time"], row["on_time"] + row["late"])
        rows.append(row)
        for name in blank:
            total[name] += row[name]
    total["on_time_rate"] = _ratio(total["on_time"], total["on_time"] + total["late"])
    return {"rows": rows, "total": total if rows else None}


# --- overdue list -------------------------------------------------------------------------------


def _overdue_amount():
    """The unpaid principal, interest and penalty of a loan's overdue installments (current schedule)."""
    from loans.models import Installment

    unpaid = (
        F("principal") - F("principal_paid") + F("interest") - F("interest_paid") + F("penalty") - F("penalty_paid")
    )
    return Coalesce(
        Subquery(
            Installment.objects.filter(
                loan_id=OuterRef("pk"), status="overdue", schedule_version=OuterRef("schedule_version")
            )
            .order_by()
            .values("loan_id")
            .annotate(total=Sum(unpaid, output_field=MONEY_FIELD))
            .values("total")[:1],
            output_field=MONEY_FIELD,
        ),
        Value(ZERO),
        output_field=MONEY_FIELD,
    )


def overdue_loans(*, filters: ReportFilters, bucket: str = ""):
    """The live loans past due, worst first: a queryset of dicts a page slices (``list_page``)."""
    from loans.models import Loan

    qs = _scope(Loan.objects.filter(status__in=LIVE, days_past_due__gt=0), filters)
    if filters.period is not None:
        qs = qs.filter(overdue_since__gte=filters.period.first_day, overdue_since__lte=filters.period.last_day)
    if bucket:
        qs = qs.filter(dpd_bucket=bucket)
    return (
        qs.annotate(overdue_amount=_overdue_amount())
        .values(
            "pk",
            "loan_number",
            "customer__name",
            "customer__manager_id",
            "customer__manager__user__first_name",
            "customer__manager__user__last_name",
            "customer__manager__user__username",
            "product_id",
            "days_past_due",
            "dpd_bucket",
            "risk_class",
            "overdue_since",
            "outstanding_principal",
            "overdue_amount",
        )
        .order_by("-days_past_due", "loan_number")
    )


def overdue_report(*, filters: ReportFilters) -> dict:
    """The loans past due by bucket: loans, outstanding principal and overdue amount."""
    from loans.models import Installment, Loan
    from loans.models.delinquency import DPD_BUCKET_ORDER

    loans = _scope(Loan.objects.filter(status__in=LIVE, days_past_due__gt=0), filters)
    installments = _scope(
        Installment.objects.filter(
            status="overdue",
            schedule_version=F("loan__schedule_version"),
            loan__status__in=LIVE,
            loan__days_past_due__gt=0,
        ),
        filters,
        loan="loan__",
        customer="loan__customer__",
        product="loan__product_id",
    )
    if filters.period is not None:
        loans = loans.filter(overdue_since__gte=filters.period.first_day, overdue_since__lte=filters.period.last_day)
        installments = installments.filter(
            loan__overdue_since__gte=filters.period.first_day, loan__overdue_since__lte=filters.period.last_day
        )
    by_bucket = {
        row["dpd_bucket"]: row
        for row in loans.values("dpd_bucket")
        .annotate(loans=Count("pk"), outstanding=_money_sum("outstanding_principal"))
        .order_by()
    }
    unpaid = (
        F("principal") - F("principal_paid") + F("interest") - F("interest_paid") + F("penalty") - F("penalty_paid")
    )
    for row in installments.values(bucket=F("loan__dpd_bucket")).annotate(overdue=_money_sum(unpaid)).order_by():
        if row["bucket"] in by_bucket:
            by_bucket[row["bucket"]]["overdue_amount"] = row["overdue"]
    rows = sorted(by_bucket.values(), key=lambda r: DPD_BUCKET_ORDER.get(r["dpd_bucket"], 99))
    total = {"loans": 0, "outstanding": ZERO, "overdue_amount": ZERO}
    for row in rows:
        row.setdefault("overdue_amount", ZERO)
        for name in total:
            total[name] += row[name]
    return {"rows": rows, "total": total if rows else None}


# --- five-category ------------------------------------------------------------------------------


def previous_month_end(day: dt.date) -> dt.date:
    return day.replace(day=1) - dt.timedelta(days=1)


def risk_class_report(*, filters: ReportFilters, as_of: dt.date | None = None, today: dt.date | None = None) -> dict:
    """The five categories at ``as_of`` (None: the live book now; a date: the daily close's
    snapshots of that date) against the month-end before it, and the movement between the two
    (previous class -> class now; "new" for loans not in the book then, "exited" for loans that
    left it)."""
    from loans.models import Loan, LoanDaySnapshot
    from loans.models.delinquency import RISK_CLASS_ORDER

    today = today or timezone.localdate()
    rates = provision_rates()
    snapshot_filters = {"loan": "loan__", "customer": "loan__customer__", "product": "loan__product_id"}
    if as_of is None:
        current_qs = _scope(Loan.objects.filter(status__in=LIVE), filters)
        current = {
            row["risk_class"]: row
            for row in current_qs.values("risk_class")
            .annotate(
                loans=Count("pk"), balance=_money_sum("outstanding_principal"), provision=_money_sum(_provision(rates))
            )
            .order_by()
        }
        previous_end = previous_month_end(today)
    else:
        current_qs = _scope(LoanDaySnapshot.objects.filter(date=as_of), filters, **snapshot_filters)
        current = {
            row["risk_class"]: row
            for row in current_qs.values("risk_class")
            .annotate(loans=Count("pk"), balance=_money_sum("outstanding_principal"), provision=_money_sum("provision"))
            .order_by()
        }
        previous_end = previous_month_end(as_of)
    # The month-end before: what the daily close kept that day (the classes as they were).
    before_qs = _scope(LoanDaySnapshot.objects.filter(date=previous_end), filters, **snapshot_filters)
    before = {
        row["risk_class"]: row
        for row in before_qs.values("risk_class")
        .annotate(loans=Count("pk"), balance=_money_sum("outstanding_principal"), provision=_money_sum("provision"))
        .order_by()
    }
    has_before = bool(before) or LoanDaySnapshot.objects.filter(date=previous_end).exists()
    rows = []
    for risk_class in sorted(set(current) | set(before) | set(rates), key=lambda c: RISK_CLASS_ORDER.get(c, 99)):
        now = current.get(risk_class) or {"loans": 0, "balance": ZERO, "provision": ZERO}
        then = before.get(risk_class) if has_before else None
        then = then or ({"loans": 0, "balance": ZERO, "provision": ZERO} if has_before else None)
        rows.append(
            {
                "risk_class": risk_class,
                "loans": now["loans"],
                "balance": now["balance"],
                "provision": _cents(now["provision"]),
                "loans_before": then["loans"] if then else None,
                "balance_before": then["balance"] if then else None,
                "provision_before": then["provision"] if then else None,
                "balance_change": (now["balance"] - then["balance"]) if then else None,
            }
        )
    total_balance = sum((r["balance"] for r in rows), ZERO)
    for row in rows:
        row["share"] = _ratio(row["balance"], total_balance)
    # Movement: each loan's class at the month-end before -> its class now.
    movement = []
    if has_before:
        if as_of is None:
            to_class = Case(When(loan__status__in=LIVE, then=F("loan__risk_class")), default=Value("exited"))
            moved = before_qs.annotate(to_class=to_class)
            new_qs = current_qs.exclude(snapshots__date=previous_end)
            balance_now = Case(When(loan__status__in=LIVE, then=F("loan__outstanding_principal")), default=Value(ZERO))
        else:
            later = LoanDaySnapshot.objects.filter(loan_id=OuterRef("loan_id"), date=as_of)
            moved = before_qs.annotate(
                to_class=Coalesce(Subquery(later.values("risk_class")[:1]), Value("exited")),
            )
            new_qs = current_qs.exclude(loan_id__in=LoanDaySnapshot.objects.filter(date=previous_end).values("loan_id"))
            balance_now = Coalesce(
                Subquery(later.values("outstanding_principal")[:1], output_field=MONEY_FIELD),
                Value(ZERO),
                output_field=MONEY_FIELD,
            )
        for row in (
            moved.values("risk_class", "to_class")
            .annotate(
                loans=Count("pk"), balance_before=_money_sum("outstanding_principal"), balance=_money_sum(balance_now)
            )
            .order_by()
        ):
            movement.append({"from_class": row["risk_class"], **row})
        for row in (
            new_qs.values("risk_class")
            .annotate(loans=Count("pk"), balance=_money_sum("outstanding_principal"))
            .order_by()
        ):
            movement.append(
                {
                    "from_class": "new",
                    "to_class": row["risk_class"],
                    "loans": row["loans"],
                    "balance_before": ZERO,
                    "balance": row["balance"],
                }
            )
        order = {**RISK_CLASS_ORDER, "new": -1, "exited": 99}
        movement.sort(key=lambda m: (order.get(m["from_class"], 98), order.get(m["to_class"], 98)))
        for row in movement:
            row.pop("risk_class", None)
    has_rows = any(r["loans"] for r in rows) or any(r["loans_before"] for r in rows if r["loans_before"] is not None)
    total = None
    if has_rows:
        total = {
            "loans": sum(r["loans"] for r in rows),
            "balance": total_balance,
            "provision": sum((r["provision"] for r in rows), ZERO),
            "loans_before": sum(r["loans_before"] for r in rows) if has_before else None,
            "balance_before": sum((r["balance_before"] for r in rows), ZERO) if has_before else None,
            "provision_before": sum((r["provision_before"] for r in rows), ZERO) if has_before else None,
        }
        total["balance_change"] = (total["balance"] - total["balance_before"]) if has_before else None
    return {
        "rows": rows if has_rows else [],
        "total": total,
        "as_of": as_of or today,
        "previous_end": previous_end,
        "has_before": has_before,
        "movement": movement,
    }
