"""Replaying stored events through the engine (pure): the simulation's core.

Events go in time order; each is scored against the events before it, exactly as
:func:`risk.services.ingest.events_ingest` scores them when they arrive in time order.
"""

from bisect import insort
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter

from risk.engine import Activity, Context, RuleSet, event_score

_AT = attrgetter("at")


@dataclass(frozen=True, slots=True)
class Stored:
    """One stored transaction or login, as the replay needs it."""

    key: tuple  # ("transaction", id) or ("login", id)
    customer: int
    activity: Activity
    counterparty_key: str = ""


def replay_levels(
    events: Iterable[Stored],
    rulesets: Sequence[RuleSet],
    *,
    score_from: int,
    flagged_devices: frozenset[str] = frozenset(),
    device_first_seen: dict | None = None,
    watched_customers: frozenset[int] = frozenset(),
    watched_counterparties: frozenset[str] = frozenset(),
) -> dict[tuple, list[tuple[int, str]]]:
    """``{event key: [(score, level) per ruleset]}`` for the events at or after ``score_from``
    (epoch seconds); earlier ones only fill the windows."""
    device_first_seen = device_first_seen or {}
    by_customer: dict[int, list[Activity]] = defaultdict(list)
    by_device: dict[str, list[Activity]] = defaultdict(list)
    by_ip: dict[str, list[Activity]] = defaultdict(list)
    out: dict[tuple, list[tuple[int, str]]] = {}
    for stored in sorted(events, key=lambda s: (s.activity.at, s.key[1], s.key[0])):
        activity = stored.activity
        if activity.at >= score_from:
            device = activity.device
            first = device_first_seen.get((device, stored.customer)) if device else None
            context = Context(
                by_customer[stored.customer],
                by_device[device] if device else (),
                by_ip[activity.ip] if activity.ip else (),
                device in flagged_devices if device else False,
                first is not None and first < activity.at,
                stored.customer in watched_customers,
                bool(stored.counterparty_key) and stored.counterparty_key in watched_counterparties,
            )
            results = []
            for ruleset in rulesets:
                result = event_score(activity, context, ruleset)
                results.append((result.score, result.level))
            out[stored.key] = results
        insort(by_customer[stored.customer], activity, key=_AT)
        if activity.device:
            insort(by_device[activity.device], activity, key=_AT)
        if activity.ip:
            insort(by_ip[activity.ip], activity, key=_AT)
    return out
