"""The dashboard's figures: aggregate queries only (one GROUP BY per series, no loop over rows).

Every selector takes a ``Period`` and an optional ``owner`` (a loan officer's user id: then only
the applications they created or whose customer they manage, and the loans of the customers they
manage). Months and days are cut at local (Asia/Shanghai) midnight in the database
(``periods.LocalDate``: on MySQL/MariaDB the zone's offset added to the UTC column, so no time
zone tables are needed; on SQLite Django's conversion), so MySQL and SQLite agree. ``dashboard_data``
caches the whole set briefly under a version that writes bump (``loansite.dashboard.signals``).
"""

import datetime as dt
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Avg, Count, DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce

from loansite.dashboard import history
from loansite.dashboard.periods import LocalDate, Period, local_zone, month_starts

ZERO = Decimal("0")
CACHE_SECONDS = 60
VERSION_KEY = "dashboard:version"
APPROVED = ("approved", "disbursed", "cancelled")
LIVE_LOANS = ("active", "overdue")


def _money_sum(field: str, **kwargs):
    return Coalesce(Sum(field, **kwargs), Value(ZERO), output_field=DecimalField(max_digits=20, decimal_places=2))


def _applications(owner: int | None):
    from loans.models import LoanApplication

    qs = LoanApplication.objects.all()
    if owner is not None:
        qs = qs.filter(Q(created_by_id=owner) | Q(customer__manager__user_id=owner))
    return qs


def _loans(owner: int | None):
    from loans.models import Loan

    qs = Loan.objects.all()
    if owner is not None:
        qs = qs.filter(customer__manager__user_id=owner)
    return qs


def _in(field: str, period: Period) -> Q:
    return Q(**{f"{field}__gte": period.start, f"{field}__lt": period.end})


def _application_aggregates(period: Period, prefix: str = "") -> dict:
    from loans.services.application_days import grade_points

    submitted = _in("submitted_at", period)
    decided = _in("decided_at", period)
    approved = decided & Q(status__in=APPROVED)
    return {
        f"{prefix}applications": Count("pk", filter=submitted),
        f"{prefix}decided": Count("pk", filter=decided & Q(status__in=(*APPROVED, "rejected"))),
        f"{prefix}approved": Count("pk", filter=approved),
        f"{prefix}amount_approved": _money_sum(Coalesce("approved_amount", "amount"), filter=approved),
        f"{prefix}credit_score": Avg("customer__credit_score", filter=submitted),
        f"{prefix}grade_points": Avg(grade_points(), filter=submitted),
    }


def _application_row(row: dict, prefix: str = "") -> dict:
    out = {key[len(prefix) :]: value for key, value in row.items() if key.startswith(prefix)}
    out["approval_rate"] = (Decimal(out["approved"]) / out["decided"]) if out["decided"] else None
    return out


# --- the daily application sums (whole bank): closed days from the table, later days live ----------


def _summed_through(owner: int | None) -> dt.date | None:
    """The last day the daily application sums cover, for the whole bank's view (None: an
    officer's own book, which is aggregated live, or nothing summed yet)."""
    if owner is not None:
        return None
    from loans.services.application_days import application_days_summed

    state = application_days_summed()
    return state.through if state else None


def _day_sums(first: dt.date, last: dt.date, *, by: tuple[str, ...], through: dt.date) -> dict[tuple, dict]:
    """The daily application sums over local days ``first`` … ``last`` grouped by ``by`` (of
    date, industry, has_customer, status): the table's rows for the days up to ``through``
    (one GROUP BY over a few rows per day), the days after it computed live."""
    from loans.models import ApplicationDay
    from loans.services.application_days import COUNTERS, application_day_rows

    out: dict[tuple, dict] = {}

    def add(key: tuple, row: dict) -> None:
        into = out.setdefault(key, dict.fromkeys(COUNTERS, 0))
        for counter in COUNTERS:
            into[counter] += row[counter] or 0

    if first <= through:
        for row in (
            ApplicationDay.objects.filter(date__gte=first, date__lte=min(last, through))
            .values(*by)
            .order_by()
            .annotate(**{counter: Sum(counter) for counter in COUNTERS})
        ):
            add(tuple(row[key] for key in by), row)
    if last > through:
        names = ("date", "industry", "has_customer", "status")
        for key, row in application_day_rows(max(first, through + dt.timedelta(days=1)), last).items():
            values = dict(zip(names, key, strict=True))
            add(tuple(values[name] for name in by), row)
    return out


def _average(total, count) -> float | None:
    return float(total) / count if count else None


def _summed_application_row(sums: dict[tuple, dict]) -> dict:
    """``_application_row``'s figures from sums grouped by status."""
    decided = {"approved": 0, "rejected": 0}
    amount_approved = ZERO
    total = dict.fromkeys(("submitted", "score_sum", "score_count", "grade_sum", "grade_count"), 0)
    for (status,), row in sums.items():
        for key in total:
            total[key] += row[key]
        if status in APPROVED:
            decided["approved"] += row["decided"]
            amount_approved += row["decided_amount"]
        elif status == "rejected":
            decided["rejected"] += row["decided"]
    out = {
        "applications": total["submitted"],
        "decided": decided["approved"] + decided["rejected"],
        "approved": decided["approved"],
        "amount_approved": Decimal(amount_approved),
        "credit_score": _average(total["score_sum"], total["score_count"]),
        "grade_points": _average(total["grade_sum"], total["grade_count"]),
        "disbursed": Decimal(sum((row["disbursed_amount"] for row in sums.values()), ZERO)),
    }
    out["approval_rate"] = (Decimal(out["approved"]) / out["decided"]) if out["decided"] else None
    return out


def application_figures(*, period: Period, owner: int | None = None) -> dict:
    """Applications submitted, decided and approved in the period, in one query."""
    return _application_row(_applications(owner).aggregate(**_application_aggregates(period)))


def _disbursed_in(period: Period):
    return _money_sum(
        "principal", filter=Q(disbursement_date__gte=period.first_day, disbursement_date__lte=period.last_day)
    )


def loan_figures(
    *, period: Period, owner: int | None = None, latest: dict | None = None, disbursed: tuple | None = None
) -> dict:
    """Disbursed in the period (``disbursed``: this and the previous period's, when the caller
    has them from the daily sums), and the book: outstanding, PAR30 and NPL ratios, at the
    latest close (``latest``: the daily portfolio sums, a few rows) or live before any close."""
    from loans.models.delinquency import NPL_CLASSES

    if latest is not None:
        if disbursed is not None:
            row = {"disbursed": disbursed[0], "disbursed_before": disbursed[1]}
        else:
            row = (
                _loans(owner)
                .filter(disbursement_date__gte=period.previous.first_day, disbursement_date__lte=period.last_day)
                .aggregate(disbursed=_disbursed_in(period), disbursed_before=_disbursed_in(period.previous))
            )
        book = history.book_on(day=latest["date"], owner=owner)
        keys = ("outstanding", "par30", "npl", "par30_ratio", "npl_ratio")
        row.update({key: book[key] for key in keys} if book else dict.fromkeys(keys))
        row["live_loans"] = book["loans"] if book else 0
        return row
    live = Q(status__in=LIVE_LOANS)
    row = _loans(owner).aggregate(
        disbursed=_disbursed_in(period),
        disbursed_before=_disbursed_in(period.previous),
        outstanding=_money_sum("outstanding_principal", filter=live),
        par30=_money_sum("outstanding_principal", filter=live & Q(days_past_due__gt=30)),
        npl=_money_sum("outstanding_principal", filter=live & Q(risk_class__in=NPL_CLASSES)),
        live_loans=Count("pk", filter=live),
    )
    total = row["outstanding"]
    row["par30_ratio"] = row["par30"] / total if total else None
    row["npl_ratio"] = row["npl"] / total if total else None
    return row


def book_at(*, day: dt.date, owner: int | None = None) -> dict | None:
    """The book at the end of ``day`` from the daily close's portfolio sums, or its per-loan
    snapshots for a day closed before the portfolio step existed (None before any close)."""
    from loans.models.delinquency import NPL_CLASSES, LoanDaySnapshot

    summed = history.book_on(day=day, owner=owner)
    if summed is not None:
        return summed

    qs = LoanDaySnapshot.objects.filter(date=day)
    if owner is not None:
        qs = qs.filter(loan__customer__manager__user_id=owner)
    row = qs.aggregate(
        rows=Count("pk"),
        outstanding=_money_sum("outstanding_principal"),
        par30=_money_sum("outstanding_principal", filter=Q(days_past_due__gt=30)),
        npl=_money_sum("outstanding_principal", filter=Q(risk_class__in=NPL_CLASSES)),
    )
    if not row["rows"]:
        return None
    total = row["outstanding"]
    row["par30_ratio"] = row["par30"] / total if total else None
    row["npl_ratio"] = row["npl"] / total if total else None
    return row


def risk_event_figures(*, period: Period) -> dict:
    from risk.models import RiskEvent

    return RiskEvent.objects.aggregate(
        open_high=Count("pk", filter=Q(level="high", status__in=RiskEvent.ACTIVE)),
        opened_high=Count("pk", filter=Q(level="high") & _in("opened_at", period)),
    )


def _training_auc(metrics) -> float | None:
    """The hold-out AUC training recorded (``metrics["holdout"]["auc"]``; older versions kept it at the top)."""
    metrics = metrics or {}
    holdout = metrics.get("holdout")
    if isinstance(holdout, dict) and holdout.get("auc") is not None:
        return holdout["auc"]
    return metrics.get("auc")


def model_figures() -> list[dict]:
    """Each kind's active model: its training AUC and its last backtest's AUC and PSI."""
    from scoring.models import ModelVersion
    from scoring.models_decision import Backtest

    active = list(
        ModelVersion.objects.filter(status="active").order_by("kind").values("id", "kind", "version", "metrics")
    )
    backtests = {}
    for row in (
        Backtest.objects.filter(model_version_id__in=[m["id"] for m in active])
        .order_by("model_version_id", "-created_at")
        .values("model_version_id", "auc", "psi", "as_of")
    ):
        backtests.setdefault(row["model_version_id"], row)  # at most one per active model kept
    out = []
    for model in active:
        last = backtests.get(model["id"]) or {}
        out.append(
            {
                "kind": model["kind"],
                "version": model["version"],
                "auc": last.get("auc") if last.get("auc") is not None else _training_auc(model["metrics"]),
                "psi": last.get("psi"),
                "as_of": last.get("as_of"),
            }
        )
    return out


def _change(now, before):
    if now is None or before is None:
        return None
    return now - before


def kpis(*, period: Period, owner: int | None = None, latest: dict | None = None) -> dict:
    """The KPI cards, each with its value for the previous period of equal length."""
    previous = period.previous
    through = _summed_through(owner)
    if through is not None:
        apps_now, apps_before = (
            _summed_application_row(_day_sums(p.first_day, p.last_day, by=("status",), through=through))
            for p in (period, previous)
        )
        disbursed = (apps_now["disbursed"], apps_before["disbursed"])
    else:
        # One pass over the applications of both periods (submitted or decided in them).
        both = Q(submitted_at__gte=previous.start, submitted_at__lt=period.end) | Q(
            decided_at__gte=previous.start, decided_at__lt=period.end
        )
        row = (
            _applications(owner)
            .filter(both)
            .aggregate(**_application_aggregates(period, "now_"), **_application_aggregates(previous, "before_"))
        )
        apps_now, apps_before = _application_row(row, "now_"), _application_row(row, "before_")
        disbursed = None
    loans_now = loan_figures(period=period, owner=owner, latest=latest, disbursed=disbursed)
    loans_before = {"disbursed": loans_now["disbursed_before"]}
    book_before = book_at(day=previous.last_day, owner=owner)
    events_now, events_before = risk_event_figures(period=period), risk_event_figures(period=previous)

    def card(key, now, before, kind):
        return {"key": key, "value": now, "previous": before, "change": _change(now, before), "kind": kind}

    return {
        "applications": card("applications", apps_now["applications"], apps_before["applications"], "number"),
        "approval_rate": card("approval_rate", apps_now["approval_rate"], apps_before["approval_rate"], "percent"),
        "amount_approved": card(
            "amount_approved", apps_now["amount_approved"], apps_before["amount_approved"], "money"
        ),
        "amount_disbursed": card("amount_disbursed", loans_now["disbursed"], loans_before["disbursed"], "money"),
        "outstanding": card(
            "outstanding",
            loans_now["outstanding"] if loans_now["live_loans"] else None,
            book_before and book_before["outstanding"],
            "money",
        ),
        "credit_score": card("credit_score", apps_now["credit_score"], apps_before["credit_score"], "score"),
        "model_grade": card("model_grade", apps_now["grade_points"], apps_before["grade_points"], "grade"),
        "par30": card("par30", loans_now["par30_ratio"], book_before and book_before["par30_ratio"], "percent"),
        "npl": card("npl", loans_now["npl_ratio"], book_before and book_before["npl_ratio"], "percent"),
        "open_high_risk": card("open_high_risk", events_now["open_high"], None, "number"),
        "opened_high_risk": card("opened_high_risk", events_now["opened_high"], events_before["opened_high"], "number"),
    }


# --- chart series ------------------------------------------------------------------------------


def growth_series(*, months: int = 12, owner: int | None = None, now=None) -> list[dict]:
    """Per local month: applications submitted, approvals decided, amount disbursed.

    Each month is a range of aware date-times worked out here (local midnight on its first day
    to the next month's), counted with conditional aggregates in one pass over the rows since
    the first month: exact for any zone, no time zone conversion in the database."""
    starts = month_starts(months=months, now=now)
    nxt = starts[-1].replace(day=28) + dt.timedelta(days=4)
    through = _summed_through(owner)
    if through is not None:
        sums = _day_sums(starts[0], nxt.replace(day=1) - dt.timedelta(days=1), by=("date", "status"), through=through)
        months_out = {month: {"month": month, "applications": 0, "approvals": 0, "disbursed": ZERO} for month in starts}
        for (day, status), row in sums.items():
            out = months_out[day.replace(day=1)]
            out["applications"] += row["submitted"]
            out["approvals"] += row["decided"] if status in APPROVED else 0
            out["disbursed"] += row["disbursed_amount"]
        return list(months_out.values())
    zone = local_zone()
    bounds = [dt.datetime.combine(day, dt.time.min, tzinfo=zone) for day in starts]
    bounds.append(dt.datetime.combine(nxt.replace(day=1), dt.time.min, tzinfo=zone))
    apps = _applications(owner)
    counts = {}
    for i in range(len(starts)):
        submitted = Q(submitted_at__gte=bounds[i], submitted_at__lt=bounds[i + 1])
        decided = Q(decided_at__gte=bounds[i], decided_at__lt=bounds[i + 1], status__in=APPROVED)
        counts[f"s{i}"] = Count("pk", filter=submitted)
        counts[f"a{i}"] = Count("pk", filter=decided)
    submitted_rows = apps.filter(submitted_at__gte=bounds[0], submitted_at__lt=bounds[-1]).aggregate(
        **{k: v for k, v in counts.items() if k.startswith("s")}
    )
    approved_rows = apps.filter(decided_at__gte=bounds[0], decided_at__lt=bounds[-1], status__in=APPROVED).aggregate(
        **{k: v for k, v in counts.items() if k.startswith("a")}
    )
    days = [*starts, nxt.replace(day=1)]
    disbursed = (
        _loans(owner)
        .filter(disbursement_date__gte=days[0], disbursement_date__lt=days[-1])
        .aggregate(
            **{
                f"d{i}": Sum("principal", filter=Q(disbursement_date__gte=days[i], disbursement_date__lt=days[i + 1]))
                for i in range(len(starts))
            }
        )
    )
    return [
        {
            "month": month,
            "applications": submitted_rows[f"s{i}"] or 0,
            "approvals": approved_rows[f"a{i}"] or 0,
            "disbursed": disbursed[f"d{i}"] or ZERO,
        }
        for i, month in enumerate(starts)
    ]


def industry_series(*, period: Period, owner: int | None = None, limit: int = 12) -> list[dict]:
    """Applications submitted in the period by the customer's industry: count, amount, average score."""
    through = _summed_through(owner)
    if through is not None:
        sums = _day_sums(period.first_day, period.last_day, by=("industry", "has_customer"), through=through)
        rows = [
            {
                "industry": industry,
                "count": row["submitted"],
                "amount": Decimal(row["submitted_amount"]),
                "credit_score": _average(row["score_sum"], row["score_count"]),
            }
            for (industry, has_customer), row in sums.items()
            if has_customer and row["submitted"]
        ]
        return sorted(rows, key=lambda row: (-row["amount"], row["industry"]))[:limit]
    return list(
        _applications(owner)
        .filter(_in("submitted_at", period), customer__isnull=False)
        .values(industry=F("customer__industry"))
        .annotate(count=Count("pk"), amount=Sum("amount"), credit_score=Avg("customer__credit_score"))
        .order_by("-amount", "industry")[:limit]
    )


def status_series(*, period: Period, owner: int | None = None) -> list[dict]:
    """Applications created in the period by status: count and amount."""
    through = _summed_through(owner)
    if through is not None:
        sums = _day_sums(period.first_day, period.last_day, by=("status",), through=through)
        rows = [
            {"status": status, "count": row["created"], "amount": Decimal(row["created_amount"])}
            for (status,), row in sums.items()
            if row["created"]
        ]
        return sorted(rows, key=lambda row: (-row["count"], row["status"]))
    return list(
        _applications(owner)
        .filter(_in("created_at", period))
        .values("status")
        .annotate(count=Count("pk"), amount=Sum("amount"))
        .order_by("-count", "status")
    )


def dpd_series(*, owner: int | None = None, latest: dict | None = None) -> list[dict]:
    """The book by days-past-due bucket: loans and outstanding principal, at the latest close
    (``latest``, from ``history.book_latest``) or live before any."""
    from loans.models.delinquency import DPD_BUCKET_ORDER

    if latest is not None:
        return sorted(latest["dpd_bucket"], key=lambda r: DPD_BUCKET_ORDER.get(r["dpd_bucket"], 99))
    rows = list(
        _loans(owner)
        .filter(status__in=LIVE_LOANS)
        .values("dpd_bucket")
        .annotate(count=Count("pk"), outstanding=Sum("outstanding_principal"))
    )
    return sorted(rows, key=lambda r: DPD_BUCKET_ORDER.get(r["dpd_bucket"], 99))


def risk_class_series(*, owner: int | None = None, latest: dict | None = None) -> list[dict]:
    """The book by five-category class, at the latest close or live before any."""
    from loans.models.delinquency import RISK_CLASS_ORDER

    if latest is not None:
        return sorted(latest["risk_class"], key=lambda r: RISK_CLASS_ORDER.get(r["risk_class"], 99))
    rows = list(
        _loans(owner)
        .filter(status__in=LIVE_LOANS)
        .values("risk_class")
        .annotate(count=Count("pk"), outstanding=Sum("outstanding_principal"))
    )
    return sorted(rows, key=lambda r: RISK_CLASS_ORDER.get(r["risk_class"], 99))


def risk_event_series(*, period: Period) -> list[dict]:
    """Risk events opened per local day and level."""
    from risk.models import RiskEvent

    return list(
        RiskEvent.objects.filter(_in("opened_at", period))
        .annotate(day=LocalDate("opened_at", window=(period.start, period.end)))
        .values("day", "level")
        .annotate(count=Count("pk"))
        .order_by("day", "level")
    )


def decision_queue(*, now=None) -> dict:
    """The approvers' queue (submitted or under review) by age since submission (SLA buckets)."""
    from django.utils import timezone

    from loans.models import LoanApplication

    now = now or timezone.now()
    day = dt.timedelta(days=1)
    pending = LoanApplication.objects.filter(status__in=LoanApplication.PENDING)
    return pending.aggregate(
        total=Count("pk"),
        under_1d=Count("pk", filter=Q(submitted_at__gt=now - day)),
        d1_3=Count("pk", filter=Q(submitted_at__lte=now - day, submitted_at__gt=now - 3 * day)),
        d3_7=Count("pk", filter=Q(submitted_at__lte=now - 3 * day, submitted_at__gt=now - 7 * day)),
        over_7d=Count("pk", filter=Q(submitted_at__lte=now - 7 * day) | Q(submitted_at__isnull=True)),
    )


def officer_queue(*, owner: int) -> dict:
    """A loan officer's own work: drafts, returned, waiting for a decision; customers managed."""
    from customers.models import Customer

    row = _applications(owner).aggregate(
        drafts=Count("pk", filter=Q(status="draft")),
        returned=Count("pk", filter=Q(status="returned_for_info")),
        pending=Count("pk", filter=Q(status__in=("submitted", "under_review"))),
        approved=Count("pk", filter=Q(status="approved")),
    )
    row["customers"] = Customer.objects.filter(manager__user_id=owner).count()
    return row


def job_health(*, period: Period) -> dict:
    """Training and scoring runs in the period: succeeded and failed."""
    from scoring.models import ScoringRun, TrainingRun

    out = {}
    for name, model in (("training", TrainingRun), ("scoring", ScoringRun)):
        out[name] = model.objects.filter(_in("created_at", period)).aggregate(
            total=Count("pk"),
            succeeded=Count("pk", filter=Q(status="succeeded")),
            failed=Count("pk", filter=Q(status="failed")),
        )
    return out


def audit_series(*, period: Period) -> list[dict]:
    """Audit entries per local day in the period."""
    from audit.models import AuditEntry

    return list(
        AuditEntry.objects.filter(_in("created_at", period))
        .annotate(day=LocalDate("created_at", window=(period.start, period.end)))
        .values("day")
        .annotate(count=Count("pk"))
        .order_by("day")
    )


def audit_actions(*, period: Period, limit: int = 10) -> list[dict]:
    from audit.models import AuditEntry

    return list(
        AuditEntry.objects.filter(_in("created_at", period))
        .values("action")
        .annotate(count=Count("pk"))
        .order_by("-count", "action")[:limit]
    )


# --- the cached set ------------------------------------------------------------------------------


def dashboard_version() -> int:
    return cache.get_or_set(VERSION_KEY, 1, None)


def dashboard_invalidate() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, 2, None)


SECTIONS = (
    "kpis",
    "growth",
    "industry",
    "status",
    "dpd",
    "risk_class",
    "risk_events",
    "models",
    "decision_queue",
    "officer_queue",
    "jobs",
    "audit",
    "aging_trend",
    "class_trend",
    "roll_rates",
    "vintage",
    "grades",
    "distribution",
    "radar",
    "matching",
)


def dashboard_data(*, period: Period, sections: frozenset[str], owner: int | None = None) -> dict:
    """The figures of the given sections, cached for ``CACHE_SECONDS`` under the write version."""
    key = f"dashboard:{dashboard_version()}:{period.cache_key}:{owner}:{','.join(sorted(sections))}"
    data = cache.get(key)
    if data is None:
        data = dashboard_compute(period=period, sections=sections, owner=owner)
        cache.set(key, data, CACHE_SECONDS)
    return data


def dashboard_compute(*, period: Period, sections: frozenset[str], owner: int | None = None) -> dict:
    latest = history.book_latest(owner=owner) if sections & {"kpis", "dpd", "risk_class"} else None
    builders = {
        "kpis": lambda: kpis(period=period, owner=owner, latest=latest),
        "growth": lambda: growth_series(owner=owner),
        "industry": lambda: industry_series(period=period, owner=owner),
        "status": lambda: status_series(period=period, owner=owner),
        "dpd": lambda: dpd_series(owner=owner, latest=latest),
        "risk_class": lambda: risk_class_series(owner=owner, latest=latest),
        "risk_events": lambda: risk_event_series(period=period),
        "models": model_figures,
        "decision_queue": decision_queue,
        "officer_queue": lambda: officer_queue(owner=owner) if owner is not None else None,
        "jobs": lambda: job_health(period=period),
        "audit": lambda: audit_series(period=period),
        "aging_trend": lambda: history.book_history(by="dpd_bucket", owner=owner),
        "class_trend": lambda: history.book_history(by="risk_class", owner=owner),
        "roll_rates": lambda: history.roll_rates(owner=owner),
        "vintage": lambda: history.vintage_curves(owner=owner),
        "grades": lambda: history.grade_distribution(owner=owner),
        "distribution": lambda: history.customer_distribution(owner=owner),
        "radar": lambda: history.risk_radar(owner=owner),
        "matching": lambda: history.matching_effect(period=period),
    }
    data = {name: builders[name]() for name in SECTIONS if name in sections}
    data["book_date"] = latest["date"] if latest else None
    return data
