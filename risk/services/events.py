"""Risk events and alerts: opening and updating them from scores and signals, and their
handling (assign, note, escalate, resolve, actions on the customer), each audited.

Changes to an event are conditional updates on ``(status, version)``: of two analysts
acting at once exactly one wins, the other gets a conflict, on SQLite and MariaDB alike.
"""

import json

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record, audit_record_many
from loansite.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from risk.engine import LEVEL_ORDER, level_max
from risk.models import Alert, AlertAction, CustomerRestriction, RiskEvent, RiskEventEntry, WatchListEntry

PERM_HANDLE = "risk.handle_riskevent"
PERM_ALERT = "risk.handle_alert"
NOTE_MAX = 2000

SEVERITY_OF_LEVEL = {"medium": Alert.Severity.MEDIUM, "high": Alert.Severity.HIGH}


def _require(actor, perm: str) -> None:
    if actor is None or not actor.is_active or not actor.has_perm(perm):
        raise NotAllowed(_("You do not have the role needed for this action."))


def _text(value: str, *, required: bool, what: str) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(_("%(what)s is needed.") % {"what": what})
    if len(value) > NOTE_MAX:
        raise ValidationFailed(_("At most %(n)s characters.") % {"n": NOTE_MAX})
    return value


def _entry(event: RiskEvent, kind: str, *, actor=None, text: str = "", data: dict | None = None, at=None):
    return RiskEventEntry.objects.create(
        event=event, kind=kind, actor=actor, text=text, data=data or {}, created_at=at or timezone.now()
    )


def alert_raise(*, event: RiskEvent | None, customer_id, severity: str, title: str, source: str) -> Alert:
    alert = Alert.objects.create(
        event=event, customer_id=customer_id, severity=severity, title=title[:200], source=source
    )
    AlertAction.objects.create(alert=alert, kind=AlertAction.Kind.RAISED, text=title[:500])
    return alert


def _title(level: str, rules: list[str]) -> str:
    """The alert's title: the level and the rules by name (High risk: large amount), in the
    language of whoever raised it (a worker writes the default language)."""
    from risk.models import Level
    from risk.selectors import risk_rule_labels

    return _("%(level)s risk: %(rules)s") % {
        "level": dict(Level.choices).get(level, level.capitalize()),
        "rules": risk_rule_labels(rules) or "-",
    }


def risk_event_raise(
    *,
    customer_id: int,
    level: str,
    score: int,
    rules: list[str],
    source: str,
    reference: dict,
    signal_key: str = "",
    at=None,
    count: int = 1,
) -> RiskEvent:
    """Open an event for a medium or high result, or add the result to the customer's
    active one (its level and score only go up; an alert is raised on opening and again
    when the level rises). ``reference`` names what was scored (e.g. a transaction id)."""
    if LEVEL_ORDER[level] < LEVEL_ORDER["medium"]:
        raise ValueError("Only medium and high results open events.")
    now = at or timezone.now()
    with transaction.atomic():
        event = (
            RiskEvent.objects.select_for_update()
            .filter(customer_id=customer_id, status__in=RiskEvent.ACTIVE, signal_key=signal_key)
            .order_by("-opened_at")
            .first()
        )
        if event is None:
            event = RiskEvent.objects.create(
                customer_id=customer_id,
                level=level,
                score=score,
                rules_hit=sorted(set(rules)),
                source=source,
                signal_key=signal_key,
                hits=count,
                opened_at=now,
                last_seen_at=now,
            )
            _entry(event, RiskEventEntry.Kind.CREATED, data={"score": score, "level": level, **reference}, at=now)
            alert_raise(
                event=event,
                customer_id=customer_id,
                severity=SEVERITY_OF_LEVEL[level],
                title=_title(level, event.rules_hit),
                source=source,
            )
            audit_record(
                action=AuditAction.CREATE,
                target=event,
                changes={"level": level, "score": score, "rules": event.rules_hit, "source": source, **reference},
                reason=_("Risk event opened"),
            )
            return event
        new_level = level_max(event.level, level)
        rules_hit = sorted(set(event.rules_hit) | set(rules))
        RiskEvent.objects.filter(pk=event.pk).update(
            level=new_level,
            score=max(event.score, score),
            rules_hit=rules_hit,
            hits=F("hits") + count,
            last_seen_at=now,
            version=F("version") + 1,
        )
        _entry(event, RiskEventEntry.Kind.LINKED, data={"score": score, "level": level, **reference}, at=now)
        if new_level != event.level:
            alert_raise(
                event=event,
                customer_id=customer_id,
                severity=SEVERITY_OF_LEVEL[new_level],
                title=_title(new_level, rules_hit),
                source=source,
            )
            audit_record(
                action=AuditAction.UPDATE,
                target=event,
                changes={"level": [event.level, new_level], "score": [event.score, max(event.score, score)]},
                reason=_("Risk event level rose"),
            )
        event.refresh_from_db()
        return event


def risk_events_raise_many(*, specs: list[dict]) -> dict[int, RiskEvent]:
    """:func:`risk_event_raise` for many customers at once (a batch's results): the events of
    customers without an active one are opened together (events, timeline entries, alerts and
    audit entries each written in bulk), the active ones updated together. ``specs`` are
    ``risk_event_raise`` keyword arguments, one per customer. Returns ``{customer id: event}``."""
    from audit.services import audit_record_many, jsonable

    if not connection.features.can_return_rows_from_bulk_insert:
        return {spec["customer_id"]: risk_event_raise(**spec) for spec in specs}
    out: dict[int, RiskEvent] = {}
    with transaction.atomic():
        customer_ids = [spec["customer_id"] for spec in specs]
        query = RiskEvent.objects.filter(
            customer_id__in=customer_ids, status__in=RiskEvent.ACTIVE, signal_key=""
        ).order_by("customer_id", "-opened_at", "-id")
        if connection.features.has_select_for_update:
            query = query.select_for_update()
        active: dict[int, RiskEvent] = {}
        for event in query.only("id", "customer_id", "level", "score", "rules_hit", "hits", "opened_at", "source"):
            active.setdefault(event.customer_id, event)  # the latest, as risk_event_raise takes
        now = timezone.now()
        # The customers' active events take the results together (as risk_event_raise would).
        risk_events_update_many([(active[s["customer_id"]], s) for s in specs if s["customer_id"] in active], now)
        out.update((customer_id, event) for customer_id, event in active.items())
        fresh = [spec for spec in specs if spec["customer_id"] not in active]
        if not fresh:
            return out
        events = [
            RiskEvent(
                customer_id=spec["customer_id"],
                level=spec["level"],
                score=spec["score"],
                rules_hit=sorted(set(spec["rules"])),
                source=spec["source"],
                hits=spec.get("count", 1),
                opened_at=spec.get("at") or now,
                last_seen_at=spec.get("at") or now,
            )
            for spec in fresh
        ]
        RiskEvent.objects.bulk_create(events)
        RiskEventEntry.objects.bulk_create(
            [
                RiskEventEntry(
                    event=event,
                    kind=RiskEventEntry.Kind.CREATED,
                    data=jsonable({"score": spec["score"], "level": spec["level"], **spec["reference"]}),
                    created_at=event.opened_at,
                )
                for event, spec in zip(events, fresh, strict=True)
            ]
        )
        alerts = [
            Alert(
                event=event,
                customer_id=event.customer_id,
                severity=SEVERITY_OF_LEVEL[event.level],
                title=_title(event.level, event.rules_hit)[:200],
                source=event.source,
            )
            for event in events
        ]
        Alert.objects.bulk_create(alerts)
        AlertAction.objects.bulk_create(
            [AlertAction(alert=alert, kind=AlertAction.Kind.RAISED, text=alert.title[:500]) for alert in alerts]
        )
        audit_record_many(
            action=AuditAction.CREATE,
            items=[
                (
                    event,
                    jsonable(
                        {
                            "level": event.level,
                            "score": event.score,
                            "rules": event.rules_hit,
                            "source": event.source,
                            **spec["reference"],
                        }
                    ),
                )
                for event, spec in zip(events, fresh, strict=True)
            ],
            reason=str(_("Risk event opened")),
        )
        out.update((event.customer_id, event) for event in events)
    return out


def risk_events_alerts_bulk(events: list[RiskEvent], now) -> None:
    """One alert (with its raised action) per event, at its level, in bulk."""
    alerts = [
        Alert(
            event=event,
            customer_id=event.customer_id,
            severity=SEVERITY_OF_LEVEL[event.level],
            title=_title(event.level, event.rules_hit)[:200],
            source=event.source,
            created_at=now,
        )
        for event in events
    ]
    Alert.objects.bulk_create(alerts, batch_size=500)
    AlertAction.objects.bulk_create(
        [AlertAction(alert=alert, kind=AlertAction.Kind.RAISED, text=alert.title[:500]) for alert in alerts],
        batch_size=500,
    )


def risk_events_update_many(pairs: list[tuple[RiskEvent, dict]], now) -> None:
    """The active events of these signals: level and score only rise, one timeline entry each;
    a level that rose raises an alert and is audited (as ``risk_event_raise`` does)."""
    if not pairs:
        return
    rows, risen, befores = [], [], {}
    for event, spec in pairs:
        level = level_max(event.level, spec["level"])
        rules_hit = sorted(set(event.rules_hit) | set(spec["rules"]))
        score = max(event.score, spec["score"])
        rows.append((level, score, json.dumps(rules_hit), spec["count"], now, event.pk))
        if LEVEL_ORDER[level] > LEVEL_ORDER[event.level]:
            befores[event.pk] = (event.level, event.score)
            event.level, event.score, event.rules_hit = level, score, rules_hit
            risen.append(event)
    table = connection.ops.quote_name(RiskEvent._meta.db_table)
    field = RiskEvent._meta.get_field("last_seen_at")
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET level = %s, score = %s, rules_hit = %s, hits = hits + %s, last_seen_at = %s,"
            f" version = version + 1 WHERE id = %s",
            [(*row[:4], field.get_db_prep_save(row[4], connection), row[5]) for row in rows],
        )
    RiskEventEntry.objects.bulk_create(
        [
            RiskEventEntry(
                event_id=event.pk,
                kind=RiskEventEntry.Kind.LINKED,
                data={"score": spec["score"], "level": spec["level"], **spec["reference"]},
                created_at=now,
            )
            for event, spec in pairs
        ],
        batch_size=500,
    )
    if risen:
        risk_events_alerts_bulk(risen, now)
        audit_record_many(
            action=AuditAction.UPDATE,
            items=[
                (
                    event,
                    {
                        "level": [befores[event.pk][0], event.level],
                        "score": [befores[event.pk][1], event.score],
                    },
                )
                for event in risen
            ],
            reason=str(_("Risk event level rose")),
        )


# --- handling ------------------------------------------------------------------------------


def _event_update(event: RiskEvent, *, expect_status=None, **values) -> RiskEvent:
    query = RiskEvent.objects.filter(pk=event.pk, version=event.version)
    if expect_status is not None:
        query = query.filter(status=expect_status)
    if query.update(**values, version=F("version") + 1) != 1:
        raise Conflict()
    event.refresh_from_db()
    return event


def _active(event: RiskEvent) -> None:
    if not event.is_active:
        raise InvalidTransition(
            _("Risk event %(event)s is %(status)s; it cannot be changed.")
            % {"event": event, "status": event.get_status_display()}
        )


@transaction.atomic
def risk_event_assign(*, actor, event: RiskEvent, assignee) -> RiskEvent:
    """Give the event to an analyst; an open event moves to investigating."""
    _require(actor, PERM_HANDLE)
    _active(event)
    if assignee is None or not assignee.is_active or not assignee.has_perm(PERM_HANDLE):
        raise ValidationFailed(_("Risk events can only be assigned to someone who may handle them."))
    before = event.assignee_id
    status_before = event.status
    event = _event_update(event, expect_status=event.status, assignee=assignee, status=RiskEvent.Status.INVESTIGATING)
    _entry(event, RiskEventEntry.Kind.ASSIGNED, actor=actor, text=assignee.get_username())
    audit_record(
        action=AuditAction.ASSIGN,
        actor=actor,
        target=event,
        changes={"assignee": [before, assignee.pk], "status": [status_before, event.status]},
        reason=_("Risk event assigned"),
    )
    return event


@transaction.atomic
def risk_event_note(*, actor, event: RiskEvent, text: str) -> RiskEventEntry:
    _require(actor, PERM_HANDLE)
    text = _text(text, required=True, what=_("A note"))
    entry = _entry(event, RiskEventEntry.Kind.NOTE, actor=actor, text=text)
    audit_record(
        action=AuditAction.UPDATE, actor=actor, target=event, changes={"note": entry.pk}, reason=_("Risk event note")
    )
    return entry


@transaction.atomic
def risk_event_escalate(*, actor, event: RiskEvent, reason: str) -> RiskEvent:
    """Escalate: the level becomes high and a critical alert is raised."""
    _require(actor, PERM_HANDLE)
    _active(event)
    reason = _text(reason, required=True, what=_("A reason"))
    level_before = event.level
    event = _event_update(event, expect_status=event.status, escalated=True, level="high")
    _entry(event, RiskEventEntry.Kind.ESCALATED, actor=actor, text=reason)
    alert_raise(
        event=event,
        customer_id=event.customer_id,
        severity=Alert.Severity.CRITICAL,
        title=_("Escalated: %(reason)s") % {"reason": reason[:150]},
        source=event.source,
    )
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        target=event,
        changes={"escalated": [False, True], "level": [level_before, "high"]},
        reason=reason,
    )
    return event


@transaction.atomic
def risk_event_resolve(*, actor, event: RiskEvent, outcome: str, note: str, false_positive: bool = False) -> RiskEvent:
    """Close the event with an outcome; its open alerts close with it."""
    _require(actor, PERM_HANDLE)
    to_status = RiskEvent.Status.FALSE_POSITIVE if false_positive else RiskEvent.Status.RESOLVED
    if to_status not in RiskEvent.TRANSITIONS.get(event.status, ()):
        _active(event)
    if outcome not in RiskEvent.Outcome.values:
        raise ValidationFailed(_("Choose an outcome."))
    note = _text(note, required=True, what=_("A resolution note"))
    now = timezone.now()
    status_before = event.status
    event = _event_update(event, expect_status=event.status, status=to_status, outcome=outcome, resolved_at=now)
    _entry(event, RiskEventEntry.Kind.RESOLVED, actor=actor, text=note, data={"outcome": outcome, "status": to_status})
    for alert in event.alerts.exclude(status=Alert.Status.CLOSED):
        Alert.objects.filter(pk=alert.pk).update(status=Alert.Status.CLOSED, closed_at=now, version=F("version") + 1)
        AlertAction.objects.create(alert=alert, kind=AlertAction.Kind.CLOSED, actor=actor, text=_("Event resolved"))
    audit_record(
        action=AuditAction.TRANSITION,
        actor=actor,
        target=event,
        changes={"status": [status_before, to_status], "outcome": outcome},
        reason=note,
    )
    return event


# --- actions on the customer ----------------------------------------------------------------


@transaction.atomic
def customer_restrict(*, actor, customer, kind: str, reason: str, event: RiskEvent | None = None):
    """Freeze the customer's portal account or new applications (risk.selectors answer
    ``customer_is_restricted`` for the portal and the application services)."""
    _require(actor, "risk.add_customerrestriction")
    if kind not in CustomerRestriction.Kind.values:
        raise ValidationFailed(_("Unknown restriction."))
    reason = _text(reason, required=True, what=_("A reason"))
    if CustomerRestriction.objects.filter(customer=customer, kind=kind, active=True).exists():
        raise Conflict(_("This restriction is already in place."))
    restriction = CustomerRestriction.objects.create(
        customer=customer, kind=kind, reason=reason, event=event, created_by=actor
    )
    if event is not None:
        _entry(event, RiskEventEntry.Kind.ACTION, actor=actor, text=reason, data={"action": f"restrict:{kind}"})
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        target=restriction,
        changes={"customer": customer.pk, "kind": kind, "event": event.pk if event else None},
        reason=reason,
    )
    return restriction


@transaction.atomic
def customer_restriction_lift(*, actor, restriction: CustomerRestriction, reason: str):
    _require(actor, "risk.change_customerrestriction")
    reason = _text(reason, required=True, what=_("A reason"))
    if not CustomerRestriction.objects.filter(pk=restriction.pk, active=True).update(
        active=False, lifted_at=timezone.now()
    ):
        raise Conflict(_("This restriction was already lifted."))
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        target=restriction,
        changes={"active": [True, False]},
        reason=reason,
    )


@transaction.atomic
def watch_list_add(*, actor, kind: str, value: str, reason: str, customer=None, event: RiskEvent | None = None):
    from risk.engine import counterparty_normalise

    _require(actor, "risk.add_watchlistentry")
    if kind not in WatchListEntry.Kind.values:
        raise ValidationFailed(_("Unknown watch-list kind."))
    reason = _text(reason, required=True, what=_("A reason"))
    if kind == WatchListEntry.Kind.CUSTOMER:
        if customer is None:
            raise ValidationFailed(_("Choose the customer."))
        value = str(customer.pk)
    elif kind == WatchListEntry.Kind.COUNTERPARTY:
        value = counterparty_normalise(value)
    else:
        value = (value or "").strip()
    if not value or len(value) > 200:
        raise ValidationFailed(_("A value of at most 200 characters is needed."))
    if WatchListEntry.objects.filter(kind=kind, value=value, active=True).exists():
        raise Conflict(_("This is on the watch list already."))
    entry = WatchListEntry.objects.create(kind=kind, value=value, customer=customer, reason=reason, added_by=actor)
    if event is not None:
        _entry(event, RiskEventEntry.Kind.ACTION, actor=actor, text=reason, data={"action": f"watch:{kind}"})
    audit_record(
        action=AuditAction.CREATE, actor=actor, target=entry, changes={"kind": kind, "value": value}, reason=reason
    )
    return entry


@transaction.atomic
def watch_list_remove(*, actor, entry: WatchListEntry, reason: str) -> None:
    _require(actor, "risk.change_watchlistentry")
    reason = _text(reason, required=True, what=_("A reason"))
    if not WatchListEntry.objects.filter(pk=entry.pk, active=True).update(active=False, removed_at=timezone.now()):
        raise Conflict(_("This entry was already removed."))
    audit_record(action=AuditAction.UPDATE, actor=actor, target=entry, changes={"active": [True, False]}, reason=reason)


# --- alerts --------------------------------------------------------------------------------


def _alert_move(alert: Alert, to_status: str, **values) -> Alert:
    if to_status not in Alert.TRANSITIONS.get(alert.status, ()):
        raise InvalidTransition(
            _("Alert %(alert)s is %(status)s.") % {"alert": alert.pk, "status": alert.get_status_display()}
        )
    if not Alert.objects.filter(pk=alert.pk, version=alert.version, status=alert.status).update(
        status=to_status, version=F("version") + 1, **values
    ):
        raise Conflict()
    alert.refresh_from_db()
    return alert


@transaction.atomic
def alert_acknowledge(*, actor, alert: Alert) -> Alert:
    _require(actor, PERM_ALERT)
    before = alert.status
    alert = _alert_move(alert, Alert.Status.ACKNOWLEDGED, assignee=actor)
    AlertAction.objects.create(alert=alert, kind=AlertAction.Kind.ACKNOWLEDGED, actor=actor)
    audit_record(action=AuditAction.TRANSITION, actor=actor, target=alert, changes={"status": [before, alert.status]})
    return alert


@transaction.atomic
def alert_note(*, actor, alert: Alert, text: str) -> AlertAction:
    _require(actor, PERM_ALERT)
    text = _text(text, required=True, what=_("A note"))
    action = AlertAction.objects.create(alert=alert, kind=AlertAction.Kind.NOTE, actor=actor, text=text)
    audit_record(action=AuditAction.UPDATE, actor=actor, target=alert, changes={"note": action.pk})
    return action


@transaction.atomic
def alert_close(*, actor, alert: Alert, note: str) -> Alert:
    _require(actor, PERM_ALERT)
    note = _text(note, required=True, what=_("A note"))
    before = alert.status
    alert = _alert_move(alert, Alert.Status.CLOSED, closed_at=timezone.now())
    AlertAction.objects.create(alert=alert, kind=AlertAction.Kind.CLOSED, actor=actor, text=note)
    audit_record(
        action=AuditAction.TRANSITION,
        actor=actor,
        target=alert,
        changes={"status": [before, alert.status]},
        reason=note,
    )
    return alert


# --- devices -------------------------------------------------------------------------------


@transaction.atomic
def device_flag(*, actor, device, reason: str, event: RiskEvent | None = None):
    """Flag a device: every later event on it hits the flagged-device rule."""
    from risk.models import Device

    _require(actor, "risk.flag_device")
    reason = _text(reason, required=True, what=_("A reason"))[:500]
    if not Device.objects.filter(pk=device.pk, flagged=False).update(
        flagged=True, flag_reason=reason, flagged_by=actor, flagged_at=timezone.now()
    ):
        raise Conflict(_("This device is flagged already."))
    if event is not None:
        _entry(
            event,
            RiskEventEntry.Kind.ACTION,
            actor=actor,
            text=reason,
            data={"action": "flag_device", "device": device.pk},
        )
    audit_record(
        action=AuditAction.UPDATE, actor=actor, target=device, changes={"flagged": [False, True]}, reason=reason
    )
    device.refresh_from_db()
    return device


@transaction.atomic
def device_unflag(*, actor, device, reason: str):
    from risk.models import Device

    _require(actor, "risk.flag_device")
    reason = _text(reason, required=True, what=_("A reason"))[:500]
    if not Device.objects.filter(pk=device.pk, flagged=True).update(flagged=False, flagged_by=actor):
        raise Conflict(_("This device is not flagged."))
    audit_record(
        action=AuditAction.UPDATE, actor=actor, target=device, changes={"flagged": [True, False]}, reason=reason
    )
