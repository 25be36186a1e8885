"""The risk engine: pure functions over plain values, no database, no clock.

One event (a transaction or a login) and what the customer, the device and the address
did just before it go in; a score, a level and the rules hit come out::

    rules = rules_compile([RuleDef("large", 3, "amount_threshold", {"min_amount": "10000"}, 50), ...])
    result = event_score(event, context, rules, Thresholds(medium=40, high=80))

Rules come from the database (``RiskRule``) through :func:`rule_compile`, which also checks
their parameters (the admin form shows its errors). Each result records the version of every
rule that ran, so a stored score can be explained after the rules change. Windows are
inclusive to the second: an event exactly ``window_seconds`` before the current one is
inside the window, one a second earlier is not. (Only the parameter checks' messages use
Django's translations.)
"""

from __future__ import annotations

import ipaddress
import re
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from operator import attrgetter

from django.utils.translation import gettext as _

TRANSACTION = "transaction"
LOGIN = "login"
EVENT_KINDS = (TRANSACTION, LOGIN)

LOW, MEDIUM, HIGH = "low", "medium", "high"
LEVEL_ORDER = {LOW: 0, MEDIUM: 1, HIGH: 2}


@dataclass(slots=True)
class Activity:
    """One event as the engine sees it. ``at`` is in epoch seconds; ``local_minute`` is the
    minute of the local day (0-1439), worked out by the caller in the bank's time zone.
    Not frozen: a frozen dataclass sets each field through ``object.__setattr__`` and took
    eight times as long to build (a batch builds one per event and per windowed row); the
    engine never changes one."""

    kind: str
    at: int
    amount: Decimal | None = None
    device: str = ""
    ip: str = ""
    city: str = ""
    counterparty: str = ""
    local_minute: int = 0


@dataclass(slots=True)
class Context:
    """What happened before the event: earlier activity of the same customer, on the same
    device and from the same address (each in time order, the event itself excluded), and
    what is known about the device, the customer and the counterparty."""

    customer_events: Sequence[Activity] = ()
    device_events: Sequence[Activity] = ()
    ip_events: Sequence[Activity] = ()
    device_flagged: bool = False
    device_known: bool = True
    customer_watched: bool = False
    counterparty_watched: bool = False


@dataclass(frozen=True, slots=True)
class Thresholds:
    medium: int = 40
    high: int = 80

    def __post_init__(self):
        if not 0 < self.medium < self.high:
            raise ValueError("Level thresholds must satisfy 0 < medium < high.")


@dataclass(frozen=True, slots=True)
class RuleDef:
    """A rule as stored: what :func:`rule_compile` takes."""

    code: str
    version: int
    kind: str
    params: dict
    points: int


@dataclass(frozen=True, slots=True)
class Hit:
    code: str
    version: int
    points: int
    detail: str = ""

    def as_dict(self) -> dict:
        return {"rule": self.code, "version": self.version, "points": self.points, "detail": self.detail}


@dataclass(slots=True)
class Result:
    score: int
    level: str
    hits: tuple[Hit, ...]
    versions: dict = field(default_factory=dict)

    @property
    def codes(self) -> list[str]:
        return [hit.code for hit in self.hits]


class RuleError(ValueError):
    """A rule whose parameters the engine cannot use (field name -> message)."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


@dataclass(frozen=True, slots=True)
class CompiledRule:
    code: str
    version: int
    kind: str
    points: int
    check: Callable[[Activity, Context], str | None]
    window: int = 0  # seconds of history the rule looks at
    per: str = ""  # velocity rules: whose events they count (customer, device, ip)


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[CompiledRule, ...]
    thresholds: Thresholds
    versions: dict

    @property
    def window(self) -> int:
        """The longest look-back of any rule (what the caller must load)."""
        return max((rule.window for rule in self.rules), default=0)

    @property
    def needs(self) -> frozenset[str]:
        """The rule kinds in force, and ``per:device`` / ``per:ip`` when a velocity rule counts
        a device's or an address's events (the caller then loads those windows too)."""
        return frozenset(rule.kind for rule in self.rules) | {f"per:{rule.per}" for rule in self.rules if rule.per}


_AT = attrgetter("at")


def _since(events: Sequence[Activity], start: int) -> int:
    """Index of the first event at or after ``start`` (inclusive window edge)."""
    return bisect_left(events, start, key=_AT)


# --- the rule kinds ----------------------------------------------------------------------


def _int(params: dict, name: str, default: int | None, *, minimum: int, maximum: int) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or value is None:
        raise RuleError(
            {name: _("a whole number from %(min)s to %(max)s is needed") % {"min": minimum, "max": maximum}}
        )
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise RuleError(
            {name: _("a whole number from %(min)s to %(max)s is needed") % {"min": minimum, "max": maximum}}
        )
    if number != value and str(number) != str(value) or not minimum <= number <= maximum:
        raise RuleError(
            {name: _("a whole number from %(min)s to %(max)s is needed") % {"min": minimum, "max": maximum}}
        )
    return number


def _kinds(params: dict, default: Sequence[str]) -> frozenset[str]:
    kinds = params.get("event_kinds", list(default))
    if not isinstance(kinds, list | tuple) or not kinds or any(k not in EVENT_KINDS for k in kinds):
        raise RuleError({"event_kinds": _("a list of %(kinds)s") % {"kinds": ", ".join(EVENT_KINDS)}})
    return frozenset(kinds)


def _amount_threshold(params: dict):
    raw = params.get("min_amount")
    try:
        limit = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        raise RuleError({"min_amount": _("an amount such as 10000.00 is needed")})
    if raw is None or isinstance(raw, bool) or not limit.is_finite() or limit <= 0:
        raise RuleError({"min_amount": _("an amount such as 10000.00 is needed")})

    def check(event: Activity, ctx: Context):
        if event.kind == TRANSACTION and event.amount is not None and event.amount >= limit:
            return f"{event.amount} ≥ {limit}"
        return None

    return check, 0


_PER = {"customer": "customer_events", "device": "device_events", "ip": "ip_events"}


def _velocity(params: dict):
    count = _int(params, "count", None, minimum=2, maximum=100_000)
    window = _int(params, "window_seconds", None, minimum=1, maximum=31 * 86400)
    per = params.get("per", "customer")
    if per not in _PER:
        raise RuleError({"per": _("customer, device or ip")})
    kinds = _kinds(params, [TRANSACTION])
    events_of = attrgetter(_PER[per])
    key_of = {"customer": None, "device": attrgetter("device"), "ip": attrgetter("ip")}[per]

    def check(event: Activity, ctx: Context):
        if event.kind not in kinds or (key_of is not None and not key_of(event)):
            return None
        events = events_of(ctx)
        start = _since(events, event.at - window)
        seen = 1  # the event itself
        for index in range(start, len(events)):
            if events[index].kind in kinds:
                seen += 1
        if seen >= count:
            return f"{seen} in {window}s per {per}"
        return None

    return check, window


def _flagged_device(params: dict):
    def check(event: Activity, ctx: Context):
        return "flagged device" if event.device and ctx.device_flagged else None

    return check, 0


def _new_device(params: dict):
    def check(event: Activity, ctx: Context):
        return "first use by this customer" if event.device and not ctx.device_known else None

    return check, 0


def _geo_velocity(params: dict):
    window = _int(params, "window_seconds", 3600, minimum=1, maximum=7 * 86400)
    kinds = _kinds(params, EVENT_KINDS)

    def check(event: Activity, ctx: Context):
        city = event.city
        if not city or event.kind not in kinds:
            return None
        events = ctx.customer_events
        for index in range(_since(events, event.at - window), len(events)):
            other = events[index].city
            if other and other != city:
                return f"{other} → {city} within {window}s"
        return None

    return check, window


def _watch_list(params: dict):
    match = params.get("match", ["customer", "counterparty"])
    if not isinstance(match, list | tuple) or not match or any(m not in ("customer", "counterparty") for m in match):
        raise RuleError({"match": _("a list of customer, counterparty")})
    customers, counterparties = "customer" in match, "counterparty" in match

    def check(event: Activity, ctx: Context):
        if customers and ctx.customer_watched:
            return "customer on the watch list"
        if counterparties and ctx.counterparty_watched:
            return "counterparty on the watch list"
        return None

    return check, 0


def _minute(params: dict, name: str, default: str) -> int:
    value = params.get(name, default)
    try:
        hours, minutes = (int(part) for part in str(value).split(":"))
    except ValueError:
        raise RuleError({name: _("a time such as 23:30")})
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise RuleError({name: _("a time such as 23:30")})
    return hours * 60 + minutes


def _night_time(params: dict):
    start, end = _minute(params, "start", "00:00"), _minute(params, "end", "05:00")
    kinds = _kinds(params, EVENT_KINDS)
    if start == end:
        raise RuleError({"end": _("the night must not be empty")})

    def check(event: Activity, ctx: Context):
        if event.kind not in kinds:
            return None
        minute = event.local_minute
        inside = start <= minute < end if start < end else (minute >= start or minute < end)
        return f"at {minute // 60:02d}:{minute % 60:02d}" if inside else None

    return check, 0


COMPILERS = {
    "amount_threshold": _amount_threshold,
    "velocity": _velocity,
    "flagged_device": _flagged_device,
    "new_device": _new_device,
    "geo_velocity": _geo_velocity,
    "watch_list": _watch_list,
    "night_time": _night_time,
}


def rule_compile(rule: RuleDef) -> CompiledRule:
    """Check a rule's parameters and make it runnable; :class:`RuleError` names bad ones."""
    compiler = COMPILERS.get(rule.kind)
    if compiler is None:
        raise RuleError({"kind": _("%(kind)s is not scored on events") % {"kind": rule.kind}})
    if not isinstance(rule.params, dict):
        raise RuleError({"params": _("a JSON object is needed")})
    if isinstance(rule.points, bool) or not isinstance(rule.points, int) or not 0 <= rule.points <= 1000:
        raise RuleError({"points": _("a whole number from 0 to 1000")})
    check, window = compiler(rule.params)
    per = rule.params.get("per", "customer") if rule.kind == "velocity" else ""
    return CompiledRule(rule.code, rule.version, rule.kind, rule.points, check, window, per)


def rules_compile(rules: Sequence[RuleDef], thresholds: Thresholds = Thresholds()) -> RuleSet:
    """The enabled rules, compiled, with the versions each score will record."""
    compiled = tuple(rule_compile(rule) for rule in sorted(rules, key=attrgetter("code")))
    versions = {rule.code: rule.version for rule in compiled}
    versions["_levels"] = [thresholds.medium, thresholds.high]
    return RuleSet(compiled, thresholds, versions)


def level_of(score: int, thresholds: Thresholds) -> str:
    if score >= thresholds.high:
        return HIGH
    if score >= thresholds.medium:
        return MEDIUM
    return LOW


def event_score(event: Activity, context: Context, ruleset: RuleSet) -> Result:
    hits = []
    score = 0
    for rule in ruleset.rules:
        detail = rule.check(event, context)
        if detail is not None:
            hits.append(Hit(rule.code, rule.version, rule.points, detail))
            score += rule.points
    return Result(score, level_of(score, ruleset.thresholds), tuple(hits), ruleset.versions)


def level_max(*levels: str) -> str:
    return max(levels, key=LEVEL_ORDER.__getitem__)


# --- helpers shared by the services (still pure) -------------------------------------------


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# Dotted IPv4 as ``ipaddress`` writes it (no leading zeros): already canonical.
_IPV4_CANONICAL = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def ip_normalise(value: str) -> str:
    """A valid address in its canonical text, or "" (never raises)."""
    text = str(value).strip()
    if _IPV4_CANONICAL.fullmatch(text):
        return text  # what ipaddress would give, at a tenth of the cost (batches carry thousands)
    return _ip_parse(text)


@lru_cache(maxsize=4096)
def _ip_parse(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return ""


def counterparty_normalise(value: str) -> str:
    """Counterparties compare by name without case and inner spacing."""
    return " ".join(str(value or "").split()).casefold()
