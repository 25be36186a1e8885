"""A batch scores and stores exactly what the same events sent one at a time would."""

import datetime
import random

import pytest
from django.db import transaction

from risk.inputs import login_input, transaction_input
from risk.models import Device, LoginEvent, RiskEvent, RiskRule, Transaction
from risk.selectors import ruleset_forget
from risk.services.ingest import events_ingest
from tests.risk.factories import CustomerFactory, at

pytestmark = pytest.mark.django_db

EVERY_WINDOWED_RULE = ("velocity_device", "velocity_ip", "new_device", "night_time")


def _stream(customers, seed: int) -> list[tuple[str, dict]]:
    """Eight hours of traffic in time order: bursts (velocity per customer, device and address),
    large amounts, city changes, logins, a flagged device, repeated and fresh devices."""
    rng = random.Random(seed)
    start = at() - datetime.timedelta(hours=8)
    events, second = [], 0
    for n in range(220):
        burst = 100 <= n < 125  # one device, one address, every customer, 3 seconds apart
        gap = 3 if burst else 700 if n % 37 == 0 else rng.choice([1, 5, 20, 40, 90, 300])
        second += gap  # some gaps longer than every window
        customer = customers[rng.randrange(len(customers))] if n % 9 else customers[0]
        raw = {
            "customer": customer.pk,
            "occurred_at": (start + datetime.timedelta(seconds=second)).isoformat(),
            "device": "fp-burst" if burst else rng.choice(["fp-a", "fp-b", "fp-stolen", f"fp-{n}", ""]),
            "ip": "10.9.9.9" if burst else rng.choice(["10.0.0.1", "10.0.0.2", "2408:8001::1", ""]),
            "city": rng.choice(["Hangzhou", "Hangzhou", "Hangzhou", "Urumqi", ""]),
        }
        if rng.random() < 0.2 and not burst:
            events.append(("login", {**raw, "success": rng.random() < 0.8}))
        else:
            amount = rng.choice(["120.00", "9999.99", "10000.00", "25000.00", "80.50"])
            events.append(("transaction", {**raw, "amount": amount, "external_id": f"eq-{seed}-{n}"}))
    return events


def _items(stream):
    items = []
    for kind, raw in stream:
        item, errors = (transaction_input if kind == "transaction" else login_input)(raw)
        assert not errors, errors
        items.append(item)
    return items


def _stored(customers) -> dict:
    """What was written, without database ids (they differ between the two runs)."""
    names = {c.pk: c.name for c in customers}
    fingerprints = dict(Device.objects.values_list("pk", "fingerprint"))
    event_customer = dict(RiskEvent.objects.values_list("pk", "customer_id"))
    rows = sorted(
        (
            model.__name__,
            names[r.customer_id],
            r.occurred_at,
            fingerprints.get(r.device_id),
            r.score,
            r.level,
            r.rules_hit,
            r.rule_versions,
            names.get(event_customer.get(r.event_id)),
        )
        for model in (Transaction, LoginEvent)
        for r in model.objects.all()
    )
    events = sorted(
        (names[e.customer_id], e.level, e.score, sorted(e.rules_hit), e.hits, e.status, e.source)
        for e in RiskEvent.objects.all()
    )
    devices = sorted(
        (
            d.fingerprint,
            d.first_seen_at,
            d.last_seen_at,
            sorted(names[c] for c in d.customers.values_list("pk", flat=True)),
        )
        for d in Device.objects.all()
    )
    return {"rows": rows, "events": events, "devices": devices}


@pytest.mark.parametrize("enabled", [(), EVERY_WINDOWED_RULE], ids=["default rules", "every windowed rule"])
@pytest.mark.parametrize("seed", [1, 2])
def test_a_batch_and_the_same_events_one_by_one_give_the_same_scores_hits_and_events(enabled, seed):
    RiskRule.objects.filter(code__in=enabled).update(enabled=True)
    ruleset_forget()
    customers = [CustomerFactory() for _ in range(4)]
    long_ago = at(minutes=-30 * 24 * 60)
    Device.objects.create(
        fingerprint="fp-stolen", flagged=True, flag_reason="stolen", first_seen_at=long_ago, last_seen_at=long_ago
    )
    stream = _stream(customers, seed)

    before = transaction.savepoint()
    one_by_one = [events_ingest(items=[item], source="api")[0] for item in _items(stream)]
    stored_one_by_one = _stored(customers)
    transaction.savepoint_rollback(before)

    batch = events_ingest(items=_items(stream), source="api")
    stored_batch = _stored(customers)

    def results(outcomes):
        return [(o.kind, o.score, o.level, o.rules_hit, o.duplicate) for o in outcomes]

    assert results(batch) == results(one_by_one)
    # Something to compare: every rule in force hit at least once, medium and high results.
    hit = {h["rule"] for o in batch for h in o.rules_hit}
    assert {"large_amount", "velocity_10min", "geo_velocity", "flagged_device", *enabled} - {"night_time"} <= hit
    assert {o.level for o in batch} == {"low", "medium", "high"}
    assert stored_batch == stored_one_by_one
