"""Reads of the risk app: the rules in force, cities of addresses, queues and profiles."""

import bisect
import ipaddress
import threading
import time

from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from risk.engine import RuleDef, RuleSet, Thresholds, rules_compile
from risk.models import EVENT_RULE_KINDS, LevelThreshold, RiskEvent, RiskRule


def thresholds_current() -> Thresholds:
    rows = dict(LevelThreshold.objects.values_list("level", "min_score"))
    return Thresholds(medium=rows.get("medium", 40), high=rows.get("high", 80))


def rule_defs(rules) -> list[RuleDef]:
    return [RuleDef(r.code, r.version, r.kind, r.params, r.points) for r in rules]


def ruleset_current(*, overrides: dict | None = None, thresholds: Thresholds | None = None) -> RuleSet:
    """The enabled event rules, compiled. ``overrides`` (``{code: RiskRule}``, unsaved) stands
    in for stored rules: a simulation of a change that is not saved yet."""
    rules = {rule.code: rule for rule in RiskRule.objects.filter(kind__in=EVENT_RULE_KINDS)}
    rules.update(overrides or {})
    enabled = [rule for rule in rules.values() if rule.enabled and rule.kind in EVENT_RULE_KINDS]
    return rules_compile(rule_defs(enabled), thresholds or thresholds_current())


# The rules in force, kept per process for a few seconds: each scoring call would otherwise
# read and compile them. A change through the rule services moves a stamp in the shared cache
# (every process sees it at its next call); an edit that bypasses the services is picked up
# within RULESET_TTL seconds.
RULESET_TTL = 5.0
RULES_STAMP_KEY = "risk:rules-stamp"
# The stamp itself is read at most once a second per process (on the embedded default's cache
# each read opens a file): a change reaches the other processes within a second, and the
# process that made it at once.
RULES_STAMP_EVERY = 1.0
_ruleset_lock = threading.Lock()
_ruleset_local: dict = {"stamp": None, "at": 0.0, "checked": 0.0, "ruleset": None}


def rules_changed() -> None:
    """Called by the rule services once a change is committed."""
    import uuid

    from django.core.cache import cache

    cache.set(RULES_STAMP_KEY, uuid.uuid4().hex, None)
    ruleset_forget()


def ruleset_forget() -> None:
    with _ruleset_lock:
        _ruleset_local.update(stamp=None, at=0.0, checked=0.0, ruleset=None)


def ruleset_cached() -> RuleSet:
    """:func:`ruleset_current`, kept per process while the rules' stamp stays the same."""
    import uuid

    from django.core.cache import cache

    now = time.monotonic()
    with _ruleset_lock:
        local = dict(_ruleset_local)
    fresh = local["ruleset"] is not None and now - local["at"] < RULESET_TTL
    if fresh and now - local["checked"] < RULES_STAMP_EVERY:
        return local["ruleset"]
    stamp = cache.get(RULES_STAMP_KEY)
    if stamp is None:
        cache.add(RULES_STAMP_KEY, uuid.uuid4().hex, None)
        stamp = cache.get(RULES_STAMP_KEY)
    if fresh and local["stamp"] == stamp:
        with _ruleset_lock:
            _ruleset_local["checked"] = now
        return local["ruleset"]
    ruleset = ruleset_current()
    with _ruleset_lock:
        _ruleset_local.update(stamp=stamp, at=now, checked=now, ruleset=ruleset)
    return ruleset


def rule_params(code: str) -> tuple[dict, int, int] | None:
    """``(params, points, version)`` of an enabled rule, or None."""
    rule = RiskRule.objects.filter(code=code, enabled=True).first()
    return (rule.params, rule.points, rule.version) if rule is not None else None


# --- cities of IP addresses (offline, from the configured ranges) ---------------------------

_RANGES_TTL = 60.0
_ranges_lock = threading.Lock()
_ranges: dict = {"at": 0.0, "v4": ([], []), "v6": ([], [])}


def ip_ranges_forget() -> None:
    """Drop this process's copy of the ranges (after a change; others refresh within a minute)."""
    with _ranges_lock:
        _ranges["at"] = 0.0


def _ranges_load() -> dict:
    from risk.models import IpRange

    tables = {4: [], 6: []}
    for network, city in IpRange.objects.values_list("network", "city"):
        try:
            net = ipaddress.ip_network(network, strict=False)
        except ValueError:
            continue
        tables[net.version].append((int(net.network_address), int(net.broadcast_address), city))
    loaded = {"at": time.monotonic()}
    for version, rows in tables.items():
        # Narrow ranges first at the same start, so the most specific network wins.
        rows.sort(key=lambda row: (row[0], row[1]))
        loaded[f"v{version}"] = ([row[0] for row in rows], rows)
    return loaded


def ip_city(ip: str) -> str:
    """The city of a configured range that holds ``ip`` (the narrowest one), or ""."""
    if not ip:
        return ""
    with _ranges_lock:
        if time.monotonic() - _ranges["at"] > _RANGES_TTL:
            _ranges.update(_ranges_load())
        tables = dict(_ranges)
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    starts, rows = tables[f"v{address.version}"]
    value = int(address)
    best = None
    last = bisect.bisect_right(starts, value) - 1
    # Ranges nest shallowly: the 64 nearest starts at or before the address are enough.
    for index in range(last, max(-1, last - 64), -1):
        start, end, city = rows[index]
        if value <= end and (best is None or end - start < best[1] - best[0]):
            best = (start, end, city)
    return best[2] if best else ""


# --- events --------------------------------------------------------------------------------


def risk_event_active_for(customer_id: int) -> RiskEvent | None:
    """The customer's active event for scored activity (early warnings have their own)."""
    return (
        RiskEvent.objects.filter(customer_id=customer_id, status__in=RiskEvent.ACTIVE, signal_key="")
        .order_by("-opened_at")
        .first()
    )


def risk_flags_by_customer(customer_ids) -> dict[int, list[dict]]:
    """Each customer's active events (level, rules hit, id), for the workbench's flags column."""
    flags: dict[int, list[dict]] = {}
    rows = (
        RiskEvent.objects.filter(customer_id__in=set(customer_ids), status__in=RiskEvent.ACTIVE)
        .order_by("-score")
        .values("id", "customer_id", "level", "score", "rules_hit", "status")
    )
    for row in rows:
        flags.setdefault(row["customer_id"], []).append(row)
    return flags


def risk_event_counts() -> dict:
    return RiskEvent.objects.aggregate(
        open=Count("id", filter=Q(status=RiskEvent.Status.OPEN)),
        investigating=Count("id", filter=Q(status=RiskEvent.Status.INVESTIGATING)),
        high=Count("id", filter=Q(status__in=RiskEvent.ACTIVE, level="high")),
    )


def risk_flags_prefetch(lookup: str = "customer__risk_events"):
    """A prefetch of the customers' active risk events (one query per page), read by
    :func:`risk_flag_labels`: the workbench's flags column and the application page."""
    from django.db.models import Prefetch

    return Prefetch(
        lookup,
        queryset=RiskEvent.objects.filter(status__in=RiskEvent.ACTIVE).order_by("-score", "-id"),
        to_attr="active_risk_events",
    )


# Short names of the rules the system installs (risk 0002), for flags and event lists in the
# reader's language; a rule an analyst adds is shown by its code.
RULE_LABELS = {
    "bucket_worse": _("worse overdue bucket"),
    "credit_line_use": _("credit line use"),
    "downgrade": _("classification downgraded"),
    "flagged_device": _("flagged device"),
    "geo_velocity": _("another city within an hour"),
    "large_amount": _("large amount"),
    "loan_overdue": _("loan overdue"),
    "new_device": _("new device"),
    "night_time": _("night-time activity"),
    "pd_rise": _("PD rise"),
    "revenue_drop": _("revenue drop"),
    "velocity_10min": _("burst of transactions"),
    "velocity_device": _("burst on one device"),
    "velocity_ip": _("burst from one address"),
    "watch_list": _("watch list"),
}


def risk_rule_label(code: str) -> str:
    """A rule code as shown to staff (``large_amount`` -> "large amount" / "大额交易")."""
    return str(RULE_LABELS.get(code, code))


def risk_rule_labels(codes) -> str:
    return ", ".join(risk_rule_label(code) for code in codes or [])


def risk_flag_labels(customer) -> list[tuple[str, str]]:
    """``[(level, "High: large amount, another city within an hour"), ...]`` for a customer's
    active events, the level and the rules in the reader's language."""
    if customer is None:
        return []
    events = getattr(customer, "active_risk_events", None)
    if events is None:
        events = list(RiskEvent.objects.filter(customer=customer, status__in=RiskEvent.ACTIVE).order_by("-score"))
    return [(event.level, f"{event.get_level_display()}: {risk_rule_labels(event.rules_hit)}") for event in events]


def customer_is_restricted(customer_id: int, kind: str) -> bool:
    """Whether an analyst froze the customer's portal account (``"portal"``) or new
    applications (``"applications"``).

    The application services ask ``"applications"`` (``loans.services.applications.
    application_customer_check``: create, submit, identity verification, the public form,
    imports). The customer portal, when it comes, must ask ``"portal"`` at every sign-in
    (and when it resumes a session) and refuse a frozen account with a message to contact
    the bank; lifting the freeze lets the customer in again."""
    from risk.models import CustomerRestriction

    return CustomerRestriction.objects.filter(customer_id=customer_id, kind=kind, active=True).exists()
