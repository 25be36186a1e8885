"""The dashboard's history and portfolio figures, read from the daily portfolio snapshots
(``loans.models.portfolio``, written by the close): a few rows per day whatever the size of the
book, so a year of month ends costs a handful of small GROUP BYs. Only what moves during the
day (the matching effect's approval rates) is read live.

Each selector takes an optional ``owner`` (a loan officer's user id): then only the rows of the
customers they manage (``owner_id``). Month ends are the last day of each of the last N local
months that has a snapshot, plus the latest snapshot day (the month so far).
"""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import Avg, Count, Max, Q, Sum

from loansite.dashboard.periods import Period, month_starts
from loansite.names import person_name

ZERO = Decimal("0")
DISTRIBUTION_DIMENSIONS = ("city", "tier", "industry", "rating", "tag")
ROLL_FROM = ("current", "1-30", "31-60", "61-90", "91-180", "181-360")


def _owned(qs, owner: int | None):
    return qs if owner is None else qs.filter(owner_id=owner)


def _month_ends(months: int, now=None) -> list[dt.date]:
    starts = month_starts(months=months + 1, now=now)
    return [start - dt.timedelta(days=1) for start in starts[1:]]


def _history_dates(model, *, months: int, now=None) -> list[dt.date]:
    """The month ends of the last ``months`` months, then the latest date, that have rows."""
    latest = model.objects.aggregate(top=Max("date"))["top"]
    if latest is None:
        return []
    wanted = [d for d in _month_ends(months, now) if d < latest] + [latest]
    present = set(model.objects.filter(date__in=wanted).values_list("date", flat=True).distinct())
    return [d for d in wanted if d in present]


def latest_date(model) -> dt.date | None:
    return model.objects.aggregate(top=Max("date"))["top"]


def book_history(*, by: str, months: int = 12, owner: int | None = None, now=None) -> dict:
    """Outstanding and loans at each month end (and the latest day) by ``dpd_bucket`` or ``risk_class``."""
    from loans.models import PortfolioDay

    dates = _history_dates(PortfolioDay, months=months, now=now)
    rows = list(
        _owned(PortfolioDay.objects.filter(date__in=dates), owner)
        .values("date", by)
        .annotate(loans=Sum("loans"), outstanding=Sum("outstanding_principal"))
        .order_by("date", by)
    )
    return {"dates": dates, "rows": [{"date": r["date"], "key": r[by], **_pick(r)} for r in rows]}


def _pick(row: dict) -> dict:
    return {"loans": row["loans"] or 0, "outstanding": row["outstanding"] or ZERO}


def book_latest(*, owner: int | None = None) -> dict | None:
    """The book at the latest close by bucket and by class (None before any close)."""
    from loans.models import PortfolioDay

    day = latest_date(PortfolioDay)
    if day is None:
        return None
    qs = _owned(PortfolioDay.objects.filter(date=day), owner)
    out = {"date": day}
    for by in ("dpd_bucket", "risk_class"):
        out[by] = list(
            qs.values(by).annotate(count=Sum("loans"), outstanding=Sum("outstanding_principal")).order_by(by)
        )
    return out


def book_on(*, day: dt.date, owner: int | None = None) -> dict | None:
    """Outstanding, PAR30 and NPL at the end of ``day`` (None when that day has no snapshot)."""
    from loans.models import NPL_CLASSES, PortfolioDay

    par30 = ("31-60", "61-90", "91-180", "181-360", "360+")
    row = _owned(PortfolioDay.objects.filter(date=day), owner).aggregate(
        rows=Count("pk"),
        loans=Sum("loans"),
        outstanding=Sum("outstanding_principal"),
        par30=Sum("outstanding_principal", filter=Q(dpd_bucket__in=par30)),
        npl=Sum("outstanding_principal", filter=Q(risk_class__in=NPL_CLASSES)),
    )
    if not row["rows"]:
        return None
    total = row["outstanding"] or ZERO
    row["par30"] = row["par30"] or ZERO
    row["npl"] = row["npl"] or ZERO
    row["par30_ratio"] = row["par30"] / total if total else None
    row["npl_ratio"] = row["npl"] / total if total else None
    return row


def roll_rates(*, months: int = 6, owner: int | None = None, now=None) -> list[dict]:
    """Per month end: for each bucket a month before, the share of its outstanding principal that
    rolled to a worse bucket (paid-off loans count as not rolling)."""
    from loans.models import PortfolioRoll
    from loans.models.delinquency import DPD_BUCKET_ORDER

    ends = _month_ends(months, now)
    rows = (
        _owned(PortfolioRoll.objects.filter(date__in=ends), owner)
        .values("date", "from_bucket", "to_bucket")
        .annotate(loans=Sum("loans"), outstanding=Sum("outstanding_principal"))
    )
    table: dict = defaultdict(lambda: {"total": ZERO, "worse": ZERO, "loans": 0})
    for r in rows:
        cell = table[(r["date"], r["from_bucket"])]
        cell["total"] += r["outstanding"] or ZERO
        cell["loans"] += r["loans"] or 0
        if DPD_BUCKET_ORDER.get(r["to_bucket"], -1) > DPD_BUCKET_ORDER[r["from_bucket"]]:
            cell["worse"] += r["outstanding"] or ZERO
    out = []
    for end in sorted({key[0] for key in table}):
        rates = {}
        for bucket in ROLL_FROM:
            cell = table.get((end, bucket))
            rates[bucket] = (cell["worse"] / cell["total"]) if cell and cell["total"] else None
        out.append({"date": end, "rates": rates})
    return out


def _months_between(start: dt.date, end: dt.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def vintage_curves(*, cohorts: int = 8, owner: int | None = None, now=None) -> list[dict]:
    """Per disbursement month (the last ``cohorts``): principal disbursed and the cumulative
    default rate (principal defaulted / disbursed) at each month on book."""
    from loans.models import PortfolioVintage

    dates = _history_dates(PortfolioVintage, months=cohorts + 1, now=now)
    if not dates:
        return []
    first = month_starts(months=cohorts, now=now)[0]
    rows = (
        _owned(PortfolioVintage.objects.filter(date__in=dates, cohort__gte=first), owner)
        .values("date", "cohort")
        .annotate(
            loans=Sum("loans"),
            principal=Sum("principal"),
            defaulted_loans=Sum("defaulted_loans"),
            defaulted=Sum("defaulted_principal"),
        )
        .order_by("cohort", "date")
    )
    curves: dict = {}
    for r in rows:
        curve = curves.setdefault(r["cohort"], {"cohort": r["cohort"], "points": {}})
        # The latest figures of the cohort (later dates come last).
        curve.update(loans=r["loans"], principal=r["principal"] or ZERO, defaulted_loans=r["defaulted_loans"])
        rate = (r["defaulted"] or ZERO) / r["principal"] if r["principal"] else None
        curve["points"][_months_between(r["cohort"], r["date"])] = rate
    return [curves[key] for key in sorted(curves)]


def _latest_mix(dimension: str, owner: int | None):
    from loans.models import PortfolioMix

    day = PortfolioMix.objects.filter(dimension=dimension).aggregate(top=Max("date"))["top"]
    if day is None:
        return None, PortfolioMix.objects.none()
    return day, _owned(PortfolioMix.objects.filter(date=day, dimension=dimension), owner)


def grade_distribution(*, owner: int | None = None) -> list[dict]:
    """Loans by the model grade their application had, with the realised default rate."""
    _day, qs = _latest_mix("grade", owner)
    rows = list(qs.values("item").annotate(loans=Sum("loans"), defaulted=Sum("defaulted_loans")).order_by("item"))
    for r in rows:
        r["default_rate"] = Decimal(r["defaulted"]) / r["loans"] if r["loans"] else None
    # Graded first (A..E), then loans without a grade.
    return sorted(rows, key=lambda r: (r["item"] == "", r["item"]))


def customer_distribution(*, owner: int | None = None, limit: int = 12) -> dict:
    """Customers, live loans and outstanding by city, city tier, industry, rating and tag."""
    out = {}
    for dimension in DISTRIBUTION_DIMENSIONS:
        _day, qs = _latest_mix(dimension, owner)
        out[dimension] = list(
            qs.values("item")
            .annotate(customers=Sum("customers"), loans=Sum("loans"), outstanding=Sum("outstanding_principal"))
            .order_by("-customers", "item")[:limit]
        )
    return out


def risk_radar(*, owner: int | None = None) -> dict | None:
    """Good versus risky customers: each indicator's average per group, and normalised to 0-100
    of the larger of the two averages (so both groups share one scale per axis)."""
    from loans.services.portfolio import RADAR_INDICATORS

    _day, qs = _latest_mix("group", owner)
    groups = {"good": {"customers": 0, "sums": defaultdict(float), "counts": defaultdict(int)}}
    groups["risky"] = {"customers": 0, "sums": defaultdict(float), "counts": defaultdict(int)}
    for item, customers, measures in qs.values_list("item", "customers", "measures"):
        group = groups[item]
        group["customers"] += customers
        for name, (total, count) in (measures or {}).items():
            group["sums"][name] += total
            group["counts"][name] += count
    if not any(g["customers"] for g in groups.values()):
        return None
    averages = {
        key: {
            name: (g["sums"][name] / g["counts"][name]) if g["counts"][name] else None
            for name, _col in RADAR_INDICATORS
        }
        for key, g in groups.items()
    }
    normalised = {key: {} for key in groups}
    for name, _col in RADAR_INDICATORS:
        top = max((abs(averages[k][name]) for k in groups if averages[k][name] is not None), default=0)
        for key in groups:
            value = averages[key][name]
            normalised[key][name] = round(100 * value / top, 1) if value is not None and top else 0
    return {
        "indicators": [name for name, _col in RADAR_INDICATORS],
        "customers": {key: g["customers"] for key, g in groups.items()},
        "averages": averages,
        "normalised": normalised,
    }


def matching_effect(*, period: Period) -> dict:
    """Per active manager: book size (customers), utilisation of capacity, approval rate of their
    customers' applications decided in the period, delinquency (PAR30 share of outstanding at the
    latest close), average match score of current assignments; and each manager's book size and
    average match score just before and just after the latest finished matching run."""
    from customers.models import Assignment, Customer, MatchingRun, RelationshipManager
    from loans.models import LoanApplication, PortfolioDay

    managers = list(
        RelationshipManager.objects.filter(active=True)
        .select_related("user")
        .order_by("pk")
        .values("pk", "user_id", "capacity", "user__first_name", "user__last_name", "user__username")
    )
    if not managers:
        return {"managers": [], "run": None}
    book = dict(
        Customer.objects.filter(manager__isnull=False)
        .values("manager")
        .annotate(n=Count("pk"))
        .values_list("manager", "n")
    )
    scores = dict(
        Assignment.objects.filter(is_current=True)
        .values("manager")
        .annotate(s=Avg("score"))
        .values_list("manager", "s")
    )
    decided = Q(decided_at__gte=period.start, decided_at__lt=period.end)
    approvals = {
        r["customer__manager"]: r
        for r in LoanApplication.objects.filter(decided, customer__manager__isnull=False)
        .values("customer__manager")
        .annotate(
            decided=Count("pk", filter=Q(status__in=("approved", "disbursed", "cancelled", "rejected"))),
            approved=Count("pk", filter=Q(status__in=("approved", "disbursed", "cancelled"))),
        )
    }
    day = latest_date(PortfolioDay)
    late = {}
    if day is not None:
        for r in (
            PortfolioDay.objects.filter(date=day)
            .values("owner_id")
            .annotate(
                total=Sum("outstanding_principal"),
                par30=Sum(
                    "outstanding_principal", filter=Q(dpd_bucket__in=("31-60", "61-90", "91-180", "181-360", "360+"))
                ),
            )
        ):
            late[r["owner_id"]] = (r["par30"] or ZERO) / r["total"] if r["total"] else None
    run = (
        MatchingRun.objects.filter(status=MatchingRun.Status.DONE, finished_at__isnull=False)
        .order_by("-finished_at")
        .first()
    )
    before, after = {}, {}
    if run is not None:
        for table, moment in ((before, run.created_at), (after, run.finished_at)):
            held = Q(created_at__lte=moment) & (Q(ended_at__isnull=True) | Q(ended_at__gt=moment))
            for r in Assignment.objects.filter(held).values("manager").annotate(n=Count("pk"), s=Avg("score")):
                table[r["manager"]] = r
    rows = []
    for m in managers:
        name = person_name(m["user__first_name"], m["user__last_name"]) or m["user__username"]
        a = approvals.get(m["pk"]) or {}
        size = book.get(m["pk"], 0)
        rows.append(
            {
                "manager": name,
                "customers": size,
                "utilisation": Decimal(size) / m["capacity"] if m["capacity"] else None,
                "approval_rate": Decimal(a["approved"]) / a["decided"] if a.get("decided") else None,
                "delinquency": late.get(m["user_id"]),
                "match_score": scores.get(m["pk"]),
                "customers_before": (before.get(m["pk"]) or {}).get("n", 0) if run else None,
                "customers_after": (after.get(m["pk"]) or {}).get("n", 0) if run else None,
                "score_before": (before.get(m["pk"]) or {}).get("s") if run else None,
                "score_after": (after.get(m["pk"]) or {}).get("s") if run else None,
            }
        )
    return {"managers": rows, "run": {"id": run.pk, "finished_at": run.finished_at} if run else None}
