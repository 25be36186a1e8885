"""Scoring what arrives: windows from the database, versions recorded, events and alerts."""

import datetime
from decimal import Decimal

import pytest

from audit.models import AuditEntry
from loansite.errors import ValidationFailed
from risk.inputs import login_input, transaction_input
from risk.models import Alert, AlertAction, Device, IpRange, LoginEvent, RiskEvent, RiskRule, Transaction
from risk.services.ingest import events_ingest
from tests.risk.factories import CustomerFactory, at

pytestmark = pytest.mark.django_db


def tx(customer, when, amount="100.00", **extra):
    item, errors = transaction_input(
        {"customer": customer.pk, "amount": amount, "occurred_at": when.isoformat(), **extra}
    )
    assert not errors, errors
    return item


def login(customer, when, **extra):
    item, errors = login_input({"customer": customer.pk, "occurred_at": when.isoformat(), **extra})
    assert not errors, errors
    return item


def ingest(*items):
    return events_ingest(items=list(items), source="api")


def test_a_low_transaction_is_stored_with_its_score_and_the_versions_used(customer):
    [outcome] = ingest(tx(customer, at(), amount="9999.99"))
    row = Transaction.objects.get(pk=outcome.id)
    assert (row.score, row.level, row.rules_hit, row.event_id) == (0, "low", [], None)
    assert row.rule_versions == {
        "flagged_device": 1,
        "geo_velocity": 1,
        "large_amount": 1,
        "velocity_10min": 1,
        "_levels": [40, 80],
    }
    assert not RiskEvent.objects.exists()


def test_a_large_amount_opens_a_medium_event_with_an_alert_and_a_timeline(customer):
    [outcome] = ingest(tx(customer, at(), amount="10000.00"))
    assert (outcome.score, outcome.level) == (50, "medium")
    assert outcome.rules_hit[0]["rule"] == "large_amount" and outcome.rules_hit[0]["version"] == 1
    event = RiskEvent.objects.get()
    assert outcome.event_id == event.pk
    assert (event.customer, event.level, event.score, event.rules_hit, event.status) == (
        customer,
        "medium",
        50,
        ["large_amount"],
        "open",
    )
    assert [e.kind for e in event.entries.all()] == ["created"]
    assert event.entries.get().data["transactions"] == [outcome.id]
    alert = Alert.objects.get()
    assert (alert.event, alert.severity, alert.status) == (event, "medium", "new")
    assert list(AlertAction.objects.values_list("kind", flat=True)) == ["raised"]
    assert AuditEntry.objects.filter(target_type="risk.riskevent", target_id=str(event.pk), action="create").exists()


def test_a_later_hit_updates_the_open_event_and_a_higher_level_raises_another_alert(customer):
    ingest(tx(customer, at(), amount="10000.00"))
    ingest(login(customer, at(minutes=1), city="Hangzhou"))
    [third] = ingest(tx(customer, at(minutes=2), amount="20000.00", city="Urumqi"))
    assert (third.score, third.level) == (90, "high")
    event = RiskEvent.objects.get()
    assert (event.level, event.score, event.hits) == ("high", 90, 2)
    assert event.rules_hit == ["geo_velocity", "large_amount"]
    assert [e.kind for e in event.entries.order_by("created_at", "id")] == ["created", "linked"]
    assert list(Alert.objects.order_by("id").values_list("severity", flat=True)) == ["medium", "high"]


def test_velocity_from_stored_transactions_fifth_hits_fourth_does_not(customer):
    outcomes = [ingest(tx(customer, at(seconds=i * 10)))[0] for i in range(5)]
    assert [o.level for o in outcomes] == ["low"] * 4 + ["low"]
    assert [o.score for o in outcomes] == [0, 0, 0, 0, 30]
    assert outcomes[4].rules_hit[0]["rule"] == "velocity_10min"


@pytest.mark.parametrize(("gap", "hit"), [(600, True), (601, False)])
def test_velocity_window_edge_from_the_database(customer, gap, hit):
    ingest(tx(customer, at(seconds=-gap)), *[tx(customer, at(seconds=-i)) for i in (3, 2, 1)])
    [outcome] = ingest(tx(customer, at()))
    assert ("velocity_10min" in [h["rule"] for h in outcome.rules_hit]) is hit


def test_events_of_one_batch_see_each_other_in_time_order(customer):
    items = [tx(customer, at(seconds=50 - i * 10)) for i in range(5)]  # given newest first
    outcomes = ingest(*items)
    assert [o.score for o in outcomes] == [30, 0, 0, 0, 0]


def test_city_from_the_configured_ip_ranges_and_geo_velocity(customer):
    IpRange.objects.create(network="101.68.0.0/14", city="Hangzhou")
    IpRange.objects.create(network="101.68.10.0/24", city="Shaoxing")
    IpRange.objects.create(network="2408:8000::/20", city="Beijing")
    [first] = ingest(login(customer, at(), ip="101.69.1.1"))
    assert LoginEvent.objects.get(pk=first.id).city == "Hangzhou"
    [narrow] = ingest(login(customer, at(minutes=1), ip="101.68.10.7"))
    assert LoginEvent.objects.get(pk=narrow.id).city == "Shaoxing"
    assert narrow.score == 40 and narrow.rules_hit[0]["rule"] == "geo_velocity"
    [v6] = ingest(login(customer, at(minutes=2), ip="2408:8001::1"))
    assert LoginEvent.objects.get(pk=v6.id).city == "Beijing"


def test_devices_are_parsed_linked_and_flagged_devices_score(customer):
    ua = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
    )
    ingest(tx(customer, at(), device="fp-1", user_agent=ua))
    device = Device.objects.get(fingerprint="fp-1")
    assert (device.browser, device.os, device.device_family) == ("Mobile Safari", "iOS", "iPhone")
    assert list(device.customers.all()) == [customer]
    other = CustomerFactory()
    ingest(tx(other, at(minutes=1), device="fp-1"))
    assert set(device.customers.all()) == {customer, other}
    Device.objects.filter(pk=device.pk).update(flagged=True, flag_reason="stolen")
    [flagged] = ingest(tx(customer, at(minutes=2), device="fp-1"))
    assert flagged.score == 20 and flagged.rules_hit[0]["rule"] == "flagged_device"
    device.refresh_from_db()
    assert device.last_seen_at == at(minutes=2)


def test_a_new_device_rule_when_enabled(customer):
    RiskRule.objects.filter(code="new_device").update(enabled=True)
    [first] = ingest(tx(customer, at(), device="fp-a"))
    [again] = ingest(tx(customer, at(minutes=1), device="fp-a"))
    assert [h["rule"] for h in first.rules_hit] == ["new_device"]
    assert again.rules_hit == []
    assert Transaction.objects.get(pk=first.id).rule_versions["new_device"] == 1


def test_watch_list_rule_when_enabled(customer, analyst):
    from risk.services.events import watch_list_add

    RiskRule.objects.filter(code="watch_list").update(enabled=True)
    watch_list_add(actor=analyst, kind="counterparty", value="  Shell   TRADING ", reason="mule account")
    [hit] = ingest(tx(customer, at(), counterparty="shell trading"))
    [miss] = ingest(tx(customer, at(minutes=20), counterparty="Honest Foods"))
    assert hit.score == 60 and miss.score == 0


def test_the_same_external_id_is_stored_once(customer):
    [first] = ingest(tx(customer, at(), amount="10000", external_id="bank-1"))
    [again] = ingest(tx(customer, at(), amount="10000", external_id="bank-1"))
    assert again.duplicate and again.id == first.id and again.score == 50
    assert Transaction.objects.count() == 1
    assert RiskEvent.objects.get().hits == 1


def test_an_unknown_customer_stores_nothing(customer):
    good = tx(customer, at(), amount="10000")
    bad = tx(customer, at())
    bad.customer_id = 999_999
    with pytest.raises(ValidationFailed) as caught:
        ingest(good, bad)
    assert caught.value.extra["errors"] == {1: {"customer": "No such customer."}}
    assert not Transaction.objects.exists() and not RiskEvent.objects.exists()


def test_changing_a_rule_never_rewrites_past_scores(customer, analyst):
    from risk.services.rules import rule_update

    [before] = ingest(tx(customer, at(), amount="10000"))
    rule = RiskRule.objects.get(code="large_amount")
    rule_update(actor=analyst, rule=rule, params={"min_amount": "20000.00"}, points=50, enabled=True, reason="tune")
    [after] = ingest(tx(customer, at(minutes=30), amount="10000"))
    stored = Transaction.objects.get(pk=before.id)
    assert (stored.score, stored.rule_versions["large_amount"]) == (50, 1)
    assert after.score == 0
    assert Transaction.objects.get(pk=after.id).rule_versions["large_amount"] == 2


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", "-1"),
        ("amount", "1.001"),
        ("amount", 12.5),
        ("amount", "NaN"),
        ("occurred_at", "yesterday"),
        ("currency", "RMBX"),
        ("ip", "999.1.1.1"),
        ("channel", "pigeon"),
        ("customer", "abc"),
        ("counterparty", "x" * 201),
    ],
)
def test_bad_input_is_named(customer, field, value):
    raw = {"customer": customer.pk, "amount": "10.00", "occurred_at": at().isoformat(), field: value}
    item, errors = transaction_input(raw)
    assert item is None and field in errors


def test_a_time_in_the_future_is_refused(customer):
    when = at() + datetime.timedelta(days=1)
    _item, errors = transaction_input({"customer": customer.pk, "amount": "1", "occurred_at": when.isoformat()})
    assert "occurred_at" in errors


def test_amounts_stay_decimal(customer):
    [outcome] = ingest(tx(customer, at(), amount="10000.10"))
    assert Transaction.objects.get(pk=outcome.id).amount == Decimal("10000.10")


def test_a_concurrent_call_storing_the_same_external_id_first_gives_a_duplicate(customer, monkeypatch):
    """Reads come before the write transaction: another call may store the same external id in
    between; the unique constraint refuses the second insert and the call answers with the
    stored result (never a 500, never two rows)."""
    import copy

    from risk.services import ingest as module

    item = tx(customer, at(), amount="10000", external_id="race-1", device="fp-race")
    original = module._score_and_store
    raced = []

    def racing(items, outcomes, source, ruleset):
        if not raced:
            raced.append(True)
            events_ingest(items=[copy.copy(item)], source="api")  # the other request wins
        return original(items, outcomes, source, ruleset)

    monkeypatch.setattr(module, "_score_and_store", racing)
    [outcome] = ingest(item)
    assert outcome.duplicate and outcome.score == 50
    assert Transaction.objects.filter(external_id="race-1").count() == 1
    assert RiskEvent.objects.get().hits == 1
    assert Device.objects.filter(fingerprint="fp-race").count() == 1


def test_the_rules_are_kept_per_process_until_a_change(customer, analyst):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from risk.services.rules import rule_update

    ingest(tx(customer, at()))
    with CaptureQueriesContext(connection) as queries:
        ingest(tx(customer, at(minutes=1)))
    assert not [q for q in queries if "risk_riskrule" in q["sql"]]
    rule = RiskRule.objects.get(code="large_amount")
    rule_update(actor=analyst, rule=rule, params={"min_amount": "50.00"}, points=50, enabled=True, reason="test")
    [outcome] = ingest(tx(customer, at(minutes=2)))
    assert outcome.rules_hit[0]["version"] == 2 and outcome.score == 50


def test_one_batch_updates_several_customers_active_events_together(customer):
    other = CustomerFactory()
    ingest(tx(customer, at(), amount="10000.00", city="Hangzhou"), tx(other, at(), amount="10000.00"))
    first = {e.customer_id: e for e in RiskEvent.objects.all()}
    audits = AuditEntry.objects.count()
    ingest(
        tx(customer, at(minutes=1), amount="20000.00", city="Urumqi"),  # high: the level rises
        tx(customer, at(minutes=2), amount="12000.00", city="Urumqi"),
        tx(other, at(minutes=1), amount="11000.00"),  # medium again: no new alert
    )
    events = {e.customer_id: e for e in RiskEvent.objects.all()}
    assert set(events) == set(first) and all(events[c].pk == first[c].pk for c in events)
    assert (events[customer.pk].level, events[customer.pk].hits) == ("high", 3)
    assert (events[other.pk].level, events[other.pk].hits) == ("medium", 2)
    assert [e.kind for e in events[customer.pk].entries.order_by("created_at", "id")] == ["created", "linked"]
    assert list(Alert.objects.filter(customer=customer).values_list("severity", flat=True).order_by("id")) == [
        "medium",
        "high",
    ]
    assert Alert.objects.filter(customer=other).count() == 1
    rise = AuditEntry.objects.filter(target_id=str(events[customer.pk].pk)).order_by("-id").first()
    assert AuditEntry.objects.count() == audits + 1 and rise.changes["level"] == ["medium", "high"]
