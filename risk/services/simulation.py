"""Rule simulation: before a change is saved, replay the last N days of stored events with
the rule changed and count what would change level (nothing is written)."""

import datetime
from collections import Counter
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _

from loansite.errors import ValidationFailed
from risk.engine import LEVEL_ORDER, LOGIN, TRANSACTION, Activity, counterparty_normalise
from risk.models import EVENT_RULE_KINDS, Device, DeviceCustomer, LoginEvent, RiskRule, Transaction, WatchListEntry
from risk.replay import Stored, replay_levels
from risk.selectors import ruleset_current
from risk.services.rules import rule_check

MAX_DAYS = 90


@dataclass
class SimulationResult:
    days: int
    replayed: int = 0
    events_changed: int = 0
    customers_changed: int = 0
    alerts_added: int = 0
    alerts_removed: int = 0
    transitions: list = field(default_factory=list)  # [(from, to, count)]
    levels: dict = field(default_factory=dict)  # {event key: (level now, level with the change)}


def _epoch(when) -> int:
    return int(when.timestamp())


def _stored_events(start, end) -> list[Stored]:
    events = []
    tx_fields = ("id", "customer_id", "occurred_at", "amount", "device_id", "ip", "city", "counterparty")
    for row in Transaction.objects.filter(occurred_at__gte=start, occurred_at__lte=end).values_list(*tx_fields):
        pk, customer, when, amount, device, ip, city, counterparty = row
        local = timezone.localtime(when)
        activity = Activity(
            TRANSACTION,
            _epoch(when),
            amount,
            str(device) if device else "",
            ip or "",
            city or "",
            counterparty or "",
            local.hour * 60 + local.minute,
        )
        events.append(Stored((TRANSACTION, pk), customer, activity, counterparty_normalise(counterparty)))
    login_fields = ("id", "customer_id", "occurred_at", "device_id", "ip", "city")
    logins = LoginEvent.objects.filter(occurred_at__gte=start, occurred_at__lte=end, customer_id__isnull=False)
    for pk, customer, when, device, ip, city in logins.values_list(*login_fields):
        local = timezone.localtime(when)
        activity = Activity(
            LOGIN,
            _epoch(when),
            None,
            str(device) if device else "",
            ip or "",
            city or "",
            "",
            local.hour * 60 + local.minute,
        )
        events.append(Stored((LOGIN, pk), customer, activity))
    return events


def rule_simulate(*, rule: RiskRule, params: dict, points: int, enabled: bool, days: int, now=None) -> SimulationResult:
    """Levels of the last ``days`` days of stored events under the rules in force, and with
    ``rule`` changed to ``params`` / ``points`` / ``enabled``; what differs."""
    if rule.kind not in EVENT_RULE_KINDS:
        raise ValidationFailed(_("Only rules scored on transactions and logins can be simulated."))
    if not 1 <= int(days) <= MAX_DAYS:
        raise ValidationFailed(_("Replay between 1 and %(n)s days.") % {"n": MAX_DAYS})
    rule_check(code=rule.code, kind=rule.kind, params=params, points=points)
    now = now or timezone.now()
    current = ruleset_current()
    proposed_rule = RiskRule(
        code=rule.code, kind=rule.kind, params=params, points=points, enabled=enabled, version=rule.version + 1
    )
    proposed = ruleset_current(overrides={rule.code: proposed_rule})
    score_from = now - datetime.timedelta(days=int(days))
    look_back = max(current.window, proposed.window)
    events = _stored_events(score_from - datetime.timedelta(seconds=look_back), now)
    flagged = frozenset(str(pk) for pk in Device.objects.filter(flagged=True).values_list("pk", flat=True))
    first_seen = {
        (str(device), customer): _epoch(first)
        for device, customer, first in DeviceCustomer.objects.values_list("device_id", "customer_id", "first_seen_at")
    }
    watched = WatchListEntry.objects.filter(active=True)
    customers = frozenset(
        int(v) for v in watched.filter(kind=WatchListEntry.Kind.CUSTOMER).values_list("value", flat=True)
    )
    counterparties = frozenset(watched.filter(kind=WatchListEntry.Kind.COUNTERPARTY).values_list("value", flat=True))
    scored = replay_levels(
        events,
        [current, proposed],
        score_from=_epoch(score_from),
        flagged_devices=flagged,
        device_first_seen=first_seen,
        watched_customers=customers,
        watched_counterparties=counterparties,
    )
    result = SimulationResult(days=int(days), replayed=len(scored))
    owner = {stored.key: stored.customer for stored in events}
    transitions = Counter()
    changed_customers = set()
    medium = LEVEL_ORDER["medium"]
    for key, ((_s1, before), (_s2, after)) in scored.items():
        result.levels[key] = (before, after)
        if before != after:
            transitions[(before, after)] += 1
            changed_customers.add(owner[key])
            if LEVEL_ORDER[before] < medium <= LEVEL_ORDER[after]:
                result.alerts_added += 1
            elif LEVEL_ORDER[after] < medium <= LEVEL_ORDER[before]:
                result.alerts_removed += 1
    result.events_changed = sum(transitions.values())
    result.customers_changed = len(changed_customers)
    result.transitions = sorted((a, b, n) for (a, b), n in transitions.items())
    return result
