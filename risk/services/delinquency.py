"""The daily close's delinquency signals become risk events, set-wise.

The close (``loans.close``) writes ``DelinquencySignal`` rows (loan overdue, worse bucket,
downgrade) and, as its last step, queues :func:`delinquency_signals_consume`; the beat runs it
too as a catch-up. Each chunk of unconsumed signals is one transaction: the signals of a loan
and kind open one early-warning event (signal key ``<kind>:loan:<id>``, as
``risk_signal_record`` would) or add to the active one, with the timeline entries, alerts and
audit entries written in bulk, and the signals are marked consumed. A kind whose rule is
switched off or scores below medium consumes its signals without an event. What one signal at
a time through ``risk_signal_record`` gives, for 100,000 signals at once.
"""

import json
from collections import defaultdict

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record_many, jsonable
from risk.engine import level_of
from risk.models import EventSource, RiskEvent, RiskEventEntry, RiskRule
from risk.services.events import risk_events_alerts_bulk as _alerts
from risk.services.events import risk_events_update_many as _update

CHUNK = 2000
SIGNAL_KINDS = ("loan_overdue", "bucket_worse", "downgrade")


def _rules() -> dict[str, tuple[str, int, int, str]]:
    """``{kind: (code, version, points, level)}`` of the enabled rules scoring medium or more."""
    from risk.selectors import thresholds_current

    thresholds = thresholds_current()
    found = {}
    for rule in RiskRule.objects.filter(kind__in=SIGNAL_KINDS, enabled=True).order_by("code"):
        level = level_of(rule.points, thresholds)
        if rule.kind not in found and level != "low":
            found[rule.kind] = (rule.code, rule.version, rule.points, level)
    return found


def _signal_rows(chunk: int) -> list[tuple]:
    from loans.models import DelinquencySignal

    query = DelinquencySignal.objects.filter(consumed_at__isnull=True).order_by("id")
    if connection.features.has_select_for_update_skip_locked:
        # Two consumers at once (after a close and the beat's catch-up) take different rows.
        query = query.select_for_update(skip_locked=True)
    return list(query.values_list("id", "loan_id", "customer_id", "date", "kind", "detail")[:chunk])


def delinquency_signals_consume(*, chunk: int = CHUNK, limit: int | None = None) -> dict[str, int]:
    """Turn every unconsumed delinquency signal into risk events (see the module); returns
    counts: signals consumed, events opened, events updated."""
    counts = {"signals": 0, "opened": 0, "updated": 0}
    rules = _rules()
    while limit is None or counts["signals"] < limit:
        with transaction.atomic():
            rows = _signal_rows(chunk if limit is None else min(chunk, limit - counts["signals"]))
            if not rows:
                break
            opened, updated = _consume_chunk(rows, rules)
            from loans.models import DelinquencySignal

            DelinquencySignal.objects.filter(id__in=[row[0] for row in rows], consumed_at__isnull=True).update(
                consumed_at=timezone.now()
            )
        counts["signals"] += len(rows)
        counts["opened"] += opened
        counts["updated"] += updated
    return counts


def _consume_chunk(rows: list[tuple], rules: dict) -> tuple[int, int]:
    # One event per (customer, kind, loan): the signals of the chunk in date order.
    groups: dict[tuple[int, str], list[tuple]] = defaultdict(list)
    for _id, loan_id, customer_id, day, kind, detail in rows:
        if kind in rules:
            groups[(customer_id, f"{kind}:loan:{loan_id}")].append((day, kind, loan_id, detail))
    if not groups:
        return 0, 0
    now = timezone.now()
    specs = {}
    for key, signals in groups.items():
        signals.sort(key=lambda s: s[0])
        day, kind, loan_id, detail = signals[-1]
        code, version, points, level = rules[kind]
        if isinstance(detail, str):
            detail = json.loads(detail or "{}")
        specs[key] = {
            "level": level,
            "score": points,
            "rules": [code],
            "count": len(signals),
            "reference": jsonable(
                {
                    "signal": kind,
                    "reference": f"loan:{loan_id}",
                    "rule_version": version,
                    "date": day.isoformat(),
                    "signals": len(signals),
                    **(detail or {}),
                }
            ),
        }
    active = {
        (event.customer_id, event.signal_key): event
        for event in RiskEvent.objects.filter(
            signal_key__in=sorted({key[1] for key in specs}), status__in=RiskEvent.ACTIVE
        ).only("id", "customer_id", "signal_key", "level", "score", "rules_hit", "hits")
    }
    fresh = [key for key in specs if key not in active]
    _open(fresh, specs, now)
    _update([(active[key], specs[key]) for key in specs if key in active], now)
    return len(fresh), len(specs) - len(fresh)


def _open(keys: list, specs: dict, now) -> None:
    if not keys:
        return
    if not connection.features.can_return_rows_from_bulk_insert:
        from risk.services.events import risk_event_raise

        for customer_id, signal_key in keys:
            spec = specs[(customer_id, signal_key)]
            risk_event_raise(
                customer_id=customer_id,
                level=spec["level"],
                score=spec["score"],
                rules=spec["rules"],
                source=EventSource.EARLY_WARNING,
                reference=spec["reference"],
                signal_key=signal_key,
                count=spec["count"],
                at=now,
            )
        return
    events = [
        RiskEvent(
            customer_id=customer_id,
            level=specs[(customer_id, signal_key)]["level"],
            score=specs[(customer_id, signal_key)]["score"],
            rules_hit=specs[(customer_id, signal_key)]["rules"],
            source=EventSource.EARLY_WARNING,
            signal_key=signal_key,
            hits=specs[(customer_id, signal_key)]["count"],
            opened_at=now,
            last_seen_at=now,
        )
        for customer_id, signal_key in keys
    ]
    RiskEvent.objects.bulk_create(events, batch_size=500)
    pairs = list(zip(events, [specs[key] for key in keys], strict=True))
    RiskEventEntry.objects.bulk_create(
        [
            RiskEventEntry(
                event=event,
                kind=RiskEventEntry.Kind.CREATED,
                data={"score": spec["score"], "level": spec["level"], **spec["reference"]},
                created_at=now,
            )
            for event, spec in pairs
        ],
        batch_size=500,
    )
    _alerts(events, now)
    audit_record_many(
        action=AuditAction.CREATE,
        items=[
            (
                event,
                {
                    "level": event.level,
                    "score": event.score,
                    "rules": event.rules_hit,
                    "source": event.source,
                    **spec["reference"],
                },
            )
            for event, spec in pairs
        ],
        reason=str(_("Risk event opened")),
    )


def delinquency_signals_after_close(ctx) -> dict[str, int]:
    """The daily close's last step (``loans.close.CLOSE_STEPS``): queue the consumer once what
    the close wrote is committed (a broker outage only delays it to the beat's catch-up)."""
    from risk.tasks import delinquency_signals_consume_task

    with transaction.atomic():
        transaction.on_commit(delinquency_signals_consume_task.delay, robust=True)
    return {"queued": 1}
