"""Data-quality checks (a beat task): completeness, validity, freshness, duplicates and value
drift over customers, transactions and imports. Each run stores its result with the first
failing rows; a failing check raises an alert (one open alert per check)."""

import datetime
from collections.abc import Callable
from decimal import Decimal

from django.db import transaction
from django.db.models import Avg, Count, F, Q
from django.db.models.functions import TruncSecond
from django.utils import timezone
from django.utils.translation import gettext as _

from risk.models import Alert, AlertAction, DataQualityCheck, DataQualityResult, EventSource, Transaction

ROWS_KEPT = 50
RECENT_DAYS = 7


def _rows(queryset, problem: Callable, limit: int = ROWS_KEPT) -> list[dict]:
    return [{"id": row.pk, "problem": problem(row)} for row in queryset[:limit]]


def _customers_complete(check, now):
    from customers.models import Customer

    missing = Customer.objects.filter(Q(city="") | Q(industry="") | Q(phone_hash__isnull=True) | Q(phone_hash=""))

    def problem(customer):
        gaps = [name for name in ("city", "industry") if not getattr(customer, name)]
        if not customer.phone_hash:
            gaps.append("phone")
        return _("missing: %(fields)s") % {"fields": ", ".join(gaps)}

    return Customer.objects.count(), missing.count(), _rows(missing.order_by("pk"), problem), None


def _customers_valid(check, now):
    from customers.models import Customer

    bad = Customer.objects.filter(
        Q(monthly_cost__gt=F("monthly_revenue") * 10, monthly_revenue__gt=0)
        | Q(monthly_revenue=0, monthly_cost__gt=0)
        | Q(years_in_business__gt=100)
    )

    def problem(c):
        return _("revenue %(revenue)s, cost %(cost)s, years %(years)s") % {
            "revenue": c.monthly_revenue,
            "cost": c.monthly_cost,
            "years": c.years_in_business,
        }

    return Customer.objects.count(), bad.count(), _rows(bad.order_by("pk"), problem), None


def _customers_duplicates(check, now):
    from customers.models import Customer

    groups = list(
        Customer.objects.values("name", "city").annotate(n=Count("id")).filter(n__gt=1).order_by("-n")[:ROWS_KEPT]
    )
    rows = []
    failing = 0
    for group in groups:
        ids = list(Customer.objects.filter(name=group["name"], city=group["city"]).values_list("pk", flat=True))
        failing += len(ids)
        rows += [{"id": pk, "problem": _("same name and city as %(ids)s") % {"ids": ids}} for pk in ids]
    return Customer.objects.count(), failing, rows[:ROWS_KEPT], None


def _recent_transactions(now):
    return Transaction.objects.filter(received_at__gte=now - datetime.timedelta(days=RECENT_DAYS))


def _transactions_complete(check, now):
    recent = _recent_transactions(now)
    missing = recent.filter(channel__in=["mobile", "web"]).filter(Q(device__isnull=True) | Q(ip__isnull=True))

    def problem(tx):
        gaps = [name for name, value in (("device", tx.device_id), ("ip", tx.ip)) if not value]
        return _("%(channel)s without %(fields)s") % {"channel": tx.channel, "fields": ", ".join(gaps)}

    return recent.count(), missing.count(), _rows(missing.order_by("-pk"), problem), None


def _transactions_valid(check, now):
    currencies = check.params.get("currencies") or ["CNY"]
    recent = _recent_transactions(now)
    bad = recent.filter(
        Q(amount__lte=0) | ~Q(currency__in=currencies) | Q(occurred_at__gt=now + datetime.timedelta(minutes=5))
    )

    def problem(tx):
        if tx.amount <= 0:
            return _("amount %(amount)s") % {"amount": tx.amount}
        if tx.currency not in currencies:
            return _("currency %(currency)s") % {"currency": tx.currency}
        return _("time in the future: %(time)s") % {"time": tx.occurred_at.isoformat()}

    return recent.count(), bad.count(), _rows(bad.order_by("-pk"), problem), None


def _transactions_duplicates(check, now):
    recent = _recent_transactions(now)
    groups = list(
        recent.annotate(second=TruncSecond("occurred_at"))
        .values("customer_id", "amount", "counterparty", "second")
        .annotate(n=Count("id"))
        .filter(n__gt=1)[:ROWS_KEPT]
    )
    rows, failing = [], 0
    for group in groups:
        ids = list(
            recent.filter(
                customer_id=group["customer_id"],
                amount=group["amount"],
                counterparty=group["counterparty"],
                occurred_at__gte=group["second"],
                occurred_at__lt=group["second"] + datetime.timedelta(seconds=1),
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        failing += len(ids)
        rows += [{"id": pk, "problem": _("repeated: %(ids)s") % {"ids": ids}} for pk in ids]
    return recent.count(), failing, rows[:ROWS_KEPT], None


def _transactions_fresh(check, now):
    from risk.monitoring import data_sources_overview

    sources = [s for s in data_sources_overview() if s["active"]]
    stale = [s for s in sources if not s["fresh"]]
    rows = [
        {
            "id": s["code"],
            "problem": _("last received %(when)s")
            % {"when": s["last_received"].isoformat() if s["last_received"] else "-"},
        }
        for s in stale
    ]
    return len(sources), len(stale), rows, None


def _transactions_drift(check, now):
    factor = Decimal(str(check.params.get("factor", 3)))
    day = Transaction.objects.filter(occurred_at__gte=now - datetime.timedelta(days=1), occurred_at__lte=now)
    before = Transaction.objects.filter(
        occurred_at__gte=now - datetime.timedelta(days=31), occurred_at__lt=now - datetime.timedelta(days=1)
    )
    recent = day.aggregate(mean=Avg("amount"), n=Count("id"))
    base = before.aggregate(mean=Avg("amount"), n=Count("id"))
    if recent["n"] < 10 or base["n"] < 10 or not base["mean"]:
        return recent["n"], 0, [], None
    ratio = Decimal(str(recent["mean"])) / Decimal(str(base["mean"]))
    drifted = ratio > factor or ratio < 1 / factor
    rows = []
    if drifted:
        rows = [
            {
                "id": "mean_amount",
                "problem": _("mean amount %(recent)s vs %(base)s before")
                % {
                    "recent": round(recent["mean"], 2),
                    "base": round(base["mean"], 2),
                },
            }
        ]
    return recent["n"], 1 if drifted else 0, rows, float(round(ratio, 4))


def _imports_failed(check, now):
    from customers.models import ImportJob

    days = int(check.params.get("days", 7))
    recent = ImportJob.objects.filter(created_at__gte=now - datetime.timedelta(days=days))
    failed = recent.filter(Q(status=ImportJob.Status.FAILED) | Q(invalid_rows__gt=0))

    def problem(job):
        if job.status == ImportJob.Status.FAILED:
            return _("%(file)s failed: %(error)s") % {
                "file": job.file_name,
                "error": str(job.report.get("error", ""))[:200],
            }
        return _("%(file)s: %(n)s rows with errors") % {"file": job.file_name, "n": job.invalid_rows}

    return recent.count(), failed.count(), _rows(failed.order_by("-pk"), problem), None


HANDLERS = {
    ("customers", "completeness"): _customers_complete,
    ("customers", "validity"): _customers_valid,
    ("customers", "duplicates"): _customers_duplicates,
    ("transactions", "completeness"): _transactions_complete,
    ("transactions", "validity"): _transactions_valid,
    ("transactions", "duplicates"): _transactions_duplicates,
    ("transactions", "freshness"): _transactions_fresh,
    ("transactions", "drift"): _transactions_drift,
    ("imports", "validity"): _imports_failed,
}


def quality_check_run(check: DataQualityCheck, *, now=None) -> DataQualityResult:
    now = now or timezone.now()
    handler = HANDLERS.get((check.dataset, check.kind))
    if handler is None:
        return DataQualityResult.objects.create(
            check_def=check, ran_at=now, passed=False, detail=_("No such check for this data.")
        )
    checked, failing, rows, measured = handler(check, now)
    with transaction.atomic():
        result = DataQualityResult.objects.create(
            check_def=check,
            ran_at=now,
            passed=failing == 0,
            checked=checked,
            failing=failing,
            failing_rows=[{"id": str(row["id"]), "problem": str(row["problem"])} for row in rows],
            measured=measured,
        )
        if failing:
            _alert(check, result)
    return result


def _alert(check: DataQualityCheck, result: DataQualityResult) -> None:
    title = (_("Data quality: %(check)s (%(n)s rows)") % {"check": check.name, "n": result.failing})[:200]
    open_alert = (
        Alert.objects.filter(source=EventSource.DATA_QUALITY, title__startswith=f"[{check.code}]")
        .exclude(status=Alert.Status.CLOSED)
        .first()
    )
    if open_alert is not None:
        AlertAction.objects.create(alert=open_alert, kind=AlertAction.Kind.NOTE, text=title)
        return
    from risk.services.events import alert_raise

    alert_raise(
        event=None,
        customer_id=None,
        severity=Alert.Severity.MEDIUM,
        title=f"[{check.code}] {title}"[:200],
        source=EventSource.DATA_QUALITY,
    )


def quality_checks_run(*, now=None) -> dict:
    """Every enabled check; ``{code: passed}``."""
    return {
        check.code: quality_check_run(check, now=now).passed for check in DataQualityCheck.objects.filter(enabled=True)
    }
