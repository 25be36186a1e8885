"""The monitoring board (reads only): events by level and status, the trend by day, rule hit
rates, time to resolve, data sources and the system's status."""

import datetime
import shutil
import statistics
import time
from collections import Counter, defaultdict

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Min
from django.db.models.functions import TruncDate
from django.utils import timezone

from risk.models import DataQualityResult, DataSource, LoginEvent, RiskEvent, Transaction


def risk_events_summary(*, days: int = 30) -> dict:
    since = timezone.now() - datetime.timedelta(days=days)
    by_level_status = Counter()
    for level, status, n in (
        RiskEvent.objects.filter(opened_at__gte=since).values_list("level", "status").annotate(n=Count("id"))
    ):
        by_level_status[(level, status)] = n
    levels = ["medium", "high"]
    statuses = [value for value, _label in RiskEvent.Status.choices]
    table = [{"level": level, **{status: by_level_status[(level, status)] for status in statuses}} for level in levels]
    # Rule hit rates over what was scored in the period.
    scored = 0
    hits = Counter()
    for model in (Transaction, LoginEvent):
        queryset = model.objects.filter(occurred_at__gte=since)
        scored += queryset.count()
        for rules_hit in queryset.exclude(score=0).values_list("rules_hit", flat=True).iterator(chunk_size=5000):
            for hit in rules_hit:
                hits[hit.get("rule")] += 1
    rates = [
        {"rule": rule, "hits": n, "rate": round(n / scored * 100, 3) if scored else 0.0}
        for rule, n in sorted(hits.items(), key=lambda item: -item[1])
    ]
    resolved = list(
        RiskEvent.objects.filter(resolved_at__isnull=False, resolved_at__gte=since).values_list(
            "opened_at", "resolved_at"
        )
    )
    hours = [(done - opened).total_seconds() / 3600 for opened, done in resolved]
    return {
        "days": days,
        "by_level_status": table,
        "statuses": statuses,
        "open": RiskEvent.objects.filter(status__in=RiskEvent.ACTIVE).count(),
        "scored": scored,
        "rule_hit_rates": rates,
        "time_to_resolve_hours": {
            "resolved": len(hours),
            "mean": round(statistics.fmean(hours), 2) if hours else None,
            "median": round(statistics.median(hours), 2) if hours else None,
        },
    }


def risk_trend(*, days: int = 30) -> list[dict]:
    """Per day: events opened by level, and transactions scored with the share above low."""
    since = timezone.now() - datetime.timedelta(days=days)
    rows: dict = defaultdict(lambda: {"medium": 0, "high": 0, "transactions": 0, "flagged": 0})
    for day, level, n in (
        RiskEvent.objects.filter(opened_at__gte=since)
        .annotate(day=TruncDate("opened_at"))
        .values_list("day", "level")
        .annotate(n=Count("id"))
    ):
        rows[day][level] = n
    for day, level, n in (
        Transaction.objects.filter(occurred_at__gte=since)
        .annotate(day=TruncDate("occurred_at"))
        .values_list("day", "level")
        .annotate(n=Count("id"))
    ):
        rows[day]["transactions"] += n
        if level != "low":
            rows[day]["flagged"] += n
    return [{"day": day.isoformat(), **values} for day, values in sorted(rows.items())]


def data_sources_overview() -> list[dict]:
    day_ago = timezone.now() - datetime.timedelta(days=1)
    stats: dict = defaultdict(lambda: {"total": 0, "last_day": 0, "last_received": None})
    for model in (Transaction, LoginEvent):
        for source, total, last in model.objects.values_list("source").annotate(n=Count("id"), last=Max("received_at")):
            entry = stats[source]
            entry["total"] += total
            entry["last_received"] = max(filter(None, [entry["last_received"], last]), default=None)
        for source, n in model.objects.filter(received_at__gte=day_ago).values_list("source").annotate(n=Count("id")):
            stats[source]["last_day"] += n
    out = []
    now = timezone.now()
    for source in DataSource.objects.all():
        entry = stats.get(source.code, {"total": 0, "last_day": 0, "last_received": None})
        last = entry["last_received"]
        fresh = last is not None and now - last <= datetime.timedelta(hours=source.expected_every_hours)
        out.append({"code": source.code, "name": source.name, "active": source.active, "fresh": fresh, **entry})
    return out


def quality_latest() -> list[DataQualityResult]:
    latest_ids = DataQualityResult.objects.values("check_def").annotate(last=Max("id")).values_list("last", flat=True)
    return list(
        DataQualityResult.objects.filter(id__in=list(latest_ids))
        .select_related("check_def")
        .order_by("check_def__code")
    )


# --- system status ------------------------------------------------------------------------


def _database() -> dict:
    start = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - the board reports any failure as "down"
        return {"ok": False, "detail": str(exc)[:200]}
    return {"ok": True, "vendor": connection.vendor, "ms": round((time.perf_counter() - start) * 1000, 2)}


def _broker() -> dict:
    """Reachability and queue length: Redis answers PING and LLEN; the embedded filesystem
    broker is a folder whose files are the queued messages."""
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        from pathlib import Path

        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        if not folder.is_dir():
            return {"ok": False, "kind": "filesystem", "detail": "queue folder missing", "queue_length": None}
        return {"ok": True, "kind": "filesystem", "queue_length": sum(1 for p in folder.iterdir() if p.is_file())}
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        queue = getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")
        return {"ok": True, "kind": "redis", "queue_length": client.llen(queue)}
    except Exception as exc:  # noqa: BLE001 - reported as down, never raised to the board
        return {"ok": False, "kind": "redis", "detail": str(exc)[:200], "queue_length": None}


def system_status() -> dict:
    from django_celery_beat.models import PeriodicTask
    from django_celery_results.models import TaskResult

    from scoring.models import TrainingRun

    last_task = TaskResult.objects.aggregate(last=Max("date_done"))["last"]
    last_beat = PeriodicTask.objects.aggregate(last=Max("last_run_at"))["last"]
    last_training = TrainingRun.objects.filter(finished_at__isnull=False).aggregate(last=Max("finished_at"))["last"]
    daily_close = PeriodicTask.objects.filter(task__contains="daily_close").aggregate(
        last=Max("last_run_at"), first=Min("id")
    )
    disk = shutil.disk_usage(settings.VAR_DIR if hasattr(settings, "VAR_DIR") else settings.BASE_DIR)
    now = timezone.now()
    worker_ok = last_task is not None and now - last_task < datetime.timedelta(hours=1)
    return {
        "time": now.isoformat(),
        "database": _database(),
        "broker": _broker(),
        "worker": {"ok": worker_ok, "last_task_done": last_task.isoformat() if last_task else None},
        "beat": {"last_run": last_beat.isoformat() if last_beat else None},
        "last_training": last_training.isoformat() if last_training else None,
        "last_daily_close": (
            daily_close["last"].isoformat() if daily_close["last"] else ("never" if daily_close["first"] else None)
        ),
        "disk": {
            "ok": disk.free / disk.total > 0.05,
            "total_gb": round(disk.total / 2**30, 1),
            "free_gb": round(disk.free / 2**30, 1),
            "free_percent": round(disk.free / disk.total * 100, 1),
        },
    }
