"""Early warnings: signals from the rest of the system become risk events.

``risk_signal_record`` is the entry point other apps call (the delinquency issue's daily
close: loan overdue, worse bucket, downgrade). The scan (a beat task) looks for PD rising
between two scorings, credit lines used above a share and revenue dropping between
financials. The thresholds and points are rules (``RiskRule`` of the early-warning kinds),
so analysts tune them like any other rule; the points map to a level by the thresholds.
"""

from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from risk.engine import RuleError

SIGNAL_KINDS = ("pd_rise", "credit_line_use", "revenue_drop", "loan_overdue", "bucket_worse", "downgrade")
PARAMS = {"pd_rise": "points", "credit_line_use": "percent", "revenue_drop": "percent"}


def early_warning_params_check(kind: str, params, points) -> None:
    if kind not in SIGNAL_KINDS:
        raise RuleError({"kind": _("unknown kind %(kind)s") % {"kind": kind}})
    if not isinstance(params, dict):
        raise RuleError({"params": _("a JSON object is needed")})
    if isinstance(points, bool) or not isinstance(points, int) or not 0 <= points <= 1000:
        raise RuleError({"points": _("a whole number from 0 to 1000")})
    name = PARAMS.get(kind)
    if name:
        try:
            value = Decimal(str(params.get(name)))
        except (InvalidOperation, ValueError):
            raise RuleError({name: _("a number above 0 is needed")})
        if not value.is_finite() or value <= 0 or (kind != "pd_rise" and value > 100):
            raise RuleError({name: _("a number above 0 (a share at most 100) is needed")})


# --- recording a signal ------------------------------------------------------------------


def risk_signal_record(*, customer_id: int, kind: str, reference: str, detail: dict | None = None, at=None):
    """Record an early-warning signal about a customer: a risk event of the rule's level (the
    active event of the same signal is updated instead). Returns the event, or None when the
    kind's rule is switched off or its points stay below medium.

    The delinquency close calls it with ``kind`` ``loan_overdue``, ``bucket_worse`` or
    ``downgrade`` and ``reference`` the loan (e.g. ``"loan:123"``); detail such as
    ``{"dpd": 31, "bucket": "31-60"}`` lands in the event's timeline.
    """
    from django.utils.translation import gettext as _

    from loansite.errors import ValidationFailed
    from risk.engine import level_of
    from risk.models import EventSource, RiskRule
    from risk.selectors import thresholds_current
    from risk.services.events import risk_event_raise

    if kind not in SIGNAL_KINDS:
        raise ValidationFailed(_("Unknown early-warning signal."))
    rule = RiskRule.objects.filter(kind=kind, enabled=True).order_by("code").first()
    if rule is None:
        return None
    level = level_of(rule.points, thresholds_current())
    if level == "low":
        return None
    return risk_event_raise(
        customer_id=customer_id,
        level=level,
        score=rule.points,
        rules=[rule.code],
        source=EventSource.EARLY_WARNING,
        reference={"signal": kind, "reference": reference, "rule_version": rule.version, **(detail or {})},
        signal_key=f"{kind}:{reference}"[:100],
        at=at,
    )


# --- the scan ------------------------------------------------------------------------------


def _rule_value(kind: str) -> Decimal | None:
    from risk.models import RiskRule

    rule = RiskRule.objects.filter(kind=kind, enabled=True).order_by("code").first()
    if rule is None:
        return None
    return Decimal(str(rule.params.get(PARAMS[kind])))


def early_warnings_pd_rise(*, since) -> int:
    """Customers whose PD rose by more than the rule's points (percentage points of the
    probability of default) between their last two PD scorings."""
    from scoring.models import Score

    threshold = _rule_value("pd_rise")
    if threshold is None:
        return 0
    recent = (
        Score.objects.filter(model_version__kind="pd", created_at__gte=since, application__customer_id__isnull=False)
        .values_list("application__customer_id", flat=True)
        .distinct()
    )
    rows = (
        Score.objects.filter(model_version__kind="pd", application__customer_id__in=list(recent))
        .order_by("application__customer_id", "-created_at", "-id")
        .values_list("application__customer_id", "id", "probability", "created_at")
    )
    latest: dict[int, list] = {}
    for customer_id, score_id, probability, created_at in rows:
        pair = latest.setdefault(customer_id, [])
        if len(pair) < 2 and probability is not None:
            pair.append((score_id, Decimal(str(probability)), created_at))
    raised = 0
    for customer_id, pair in latest.items():
        if len(pair) < 2:
            continue
        (new_id, new_pd, _new_at), (old_id, old_pd, _old_at) = pair
        rise = (new_pd - old_pd) * 100
        if rise > threshold:
            detail = {
                "pd_before": str(old_pd.quantize(Decimal("0.0001"))),
                "pd_after": str(new_pd.quantize(Decimal("0.0001"))),
                "rise_points": str(rise.quantize(Decimal("0.01"))),
            }
            if risk_signal_record(customer_id=customer_id, kind="pd_rise", reference=f"score:{new_id}", detail=detail):
                raised += 1
    return raised


def early_warnings_credit_line_use() -> int:
    from django.db.models import F

    from customers.models import CreditLine

    percent = _rule_value("credit_line_use")
    if percent is None:
        return 0
    lines = CreditLine.objects.filter(status=CreditLine.Status.ACTIVE, limit__gt=0).filter(
        used__gt=F("limit") * percent / 100
    )
    raised = 0
    for line in lines.only("id", "customer_id", "used", "limit"):
        share = (line.used / line.limit * 100).quantize(Decimal("0.1"))
        if risk_signal_record(
            customer_id=line.customer_id,
            kind="credit_line_use",
            reference=f"line:{line.pk}",
            detail={"used": str(line.used), "limit": str(line.limit), "percent": str(share)},
        ):
            raised += 1
    return raised


def early_warnings_revenue_drop() -> int:
    """Monthly revenue against the value the last scan saw (financials change by imports and
    edits): a drop by more than the rule's percentage is a signal; the baseline moves on."""
    from django.utils import timezone

    from customers.models import Customer
    from risk.models import WatchBaseline

    percent = _rule_value("revenue_drop")
    metric = "monthly_revenue"
    baselines = {b.customer_id: b for b in WatchBaseline.objects.filter(metric=metric)}
    now = timezone.now()
    new, moved, raised = [], [], 0
    for customer_id, revenue in Customer.objects.values_list("pk", "monthly_revenue").iterator(chunk_size=5000):
        revenue = revenue or Decimal("0")
        baseline = baselines.get(customer_id)
        if baseline is None:
            new.append(WatchBaseline(customer_id=customer_id, metric=metric, value=revenue, recorded_at=now))
            continue
        if baseline.value == revenue:
            continue
        if percent is not None and baseline.value > 0:
            drop = (baseline.value - revenue) / baseline.value * 100
            if drop > percent and risk_signal_record(
                customer_id=customer_id,
                kind="revenue_drop",
                reference=f"revenue:{now:%Y%m%d%H%M}",
                detail={
                    "before": str(baseline.value.quantize(Decimal("0.01"))),
                    "after": str(revenue),
                    "drop_percent": str(drop.quantize(Decimal("0.1"))),
                },
            ):
                raised += 1
        baseline.value, baseline.recorded_at = revenue, now
        moved.append(baseline)
    WatchBaseline.objects.bulk_create(new, batch_size=2000)
    WatchBaseline.objects.bulk_update(moved, ["value", "recorded_at"], batch_size=500)
    return raised


def early_warnings_overdue_loans() -> int:
    """Live loans whose next installment is past due, for a system whose daily close has
    never run (the close's delinquency signals say it otherwise, with the same signal key)."""
    from django.apps import apps
    from django.utils import timezone

    try:
        Loan = apps.get_model("loans", "Loan")
    except LookupError:
        return 0
    today = timezone.localdate()
    raised = 0
    overdue = Loan.objects.filter(status__in=["active", "overdue"], next_due_date__lt=today)
    for loan_id, customer_id, due in overdue.values_list("pk", "customer_id", "next_due_date"):
        if risk_signal_record(
            customer_id=customer_id,
            kind="loan_overdue",
            reference=f"loan:{loan_id}",
            detail={"dpd": (today - due).days, "due_date": due.isoformat()},
        ):
            raised += 1
    return raised


def early_warnings_scan(*, since_days: int = 2) -> dict:
    """The nightly scan (beat): each kind on its own, counting the signals that opened or
    updated events."""
    import datetime

    from django.utils import timezone

    since = timezone.now() - datetime.timedelta(days=since_days)
    return {
        "pd_rise": early_warnings_pd_rise(since=since),
        "credit_line_use": early_warnings_credit_line_use(),
        "revenue_drop": early_warnings_revenue_drop(),
        # Once the daily close runs, its delinquency signals say this (risk.services.delinquency).
        "loan_overdue": 0 if _daily_close_runs() else early_warnings_overdue_loans(),
    }


def _daily_close_runs() -> bool:
    from loans.models import DayClose

    return DayClose.objects.filter(status=DayClose.Status.DONE).exists()
