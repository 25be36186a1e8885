"""Rule simulation equals re-scoring: replaying stored events with a changed rule gives the
levels that scoring the same events with the rule saved gives."""

import pytest

from risk.inputs import login_input, transaction_input
from risk.models import LoginEvent, RiskEvent, RiskRule, Transaction
from risk.services.ingest import events_ingest
from risk.services.rules import rule_update
from risk.services.simulation import rule_simulate
from tests.risk.factories import CustomerFactory, at

pytestmark = pytest.mark.django_db


def stream(customers):
    """A varied stream: bursts, large amounts, city changes, shared devices."""
    raws = []
    for n, customer in enumerate(customers):
        for i in range(8):
            amount = ["50.00", "8000.00", "12000.00", "9999.99"][(i + n) % 4]
            city = ["Hangzhou", "Hangzhou", "Ningbo", ""][(i * n) % 4]
            raws.append(
                (
                    "tx",
                    {
                        "customer": customer.pk,
                        "amount": amount,
                        "occurred_at": at(minutes=n * 3 + i * 1.5).isoformat(),
                        "city": city,
                        "device": f"dev-{(n + i) % 3}",
                    },
                )
            )
        raws.append(
            ("login", {"customer": customer.pk, "occurred_at": at(minutes=n * 3 + 4).isoformat(), "city": "Wuhan"})
        )
    raws.sort(key=lambda pair: pair[1]["occurred_at"])
    return raws


def ingest_all(raws):
    for kind, raw in raws:
        item, errors = (transaction_input if kind == "tx" else login_input)(raw)
        assert not errors
        events_ingest(items=[item], source="api")


def identity_levels() -> dict:
    """{(kind, time, customer): level} of what is stored now (unique in these streams)."""
    rows = {("transaction", t.occurred_at, t.customer_id): t.level for t in Transaction.objects.all()}
    rows.update({("login", e.occurred_at, e.customer_id): e.level for e in LoginEvent.objects.all()})
    return rows


def identities() -> dict:
    rows = {("transaction", t.pk): ("transaction", t.occurred_at, t.customer_id) for t in Transaction.objects.all()}
    rows.update({("login", e.pk): ("login", e.occurred_at, e.customer_id) for e in LoginEvent.objects.all()})
    return rows


@pytest.mark.parametrize(
    ("code", "params", "points", "enabled"),
    [
        ("large_amount", {"min_amount": "8000.00"}, 50, True),
        ("velocity_10min", {"count": 3, "window_seconds": 300, "per": "customer"}, 45, True),
        ("geo_velocity", {"window_seconds": 3600}, 40, False),
        ("new_device", {}, 35, True),
    ],
)
def test_simulation_equals_rescoring(analyst, code, params, points, enabled):
    customers = CustomerFactory.create_batch(4)
    raws = stream(customers)
    ingest_all(raws)
    stored = identity_levels()
    ids = identities()
    rule = RiskRule.objects.get(code=code)

    # With the rule unchanged, the replay gives exactly the stored levels.
    unchanged = rule_simulate(rule=rule, params=rule.params, points=rule.points, enabled=rule.enabled, days=1)
    assert unchanged.events_changed == 0
    assert {ids[key]: before for key, (before, _after) in unchanged.levels.items()} == stored

    simulated = rule_simulate(rule=rule, params=params, points=points, enabled=enabled, days=1)
    assert simulated.replayed == len(raws)
    predicted = {ids[key]: after for key, (_before, after) in simulated.levels.items()}
    assert predicted != stored  # the change matters in this stream

    # Save the change, then score the same events again from scratch.
    rule_update(actor=analyst, rule=rule, params=params, points=points, enabled=enabled, reason="test")
    Transaction.objects.all().delete()
    LoginEvent.objects.all().delete()
    RiskEvent.objects.all().delete()
    ingest_all(raws)
    assert identity_levels() == predicted
    changed = {ids[key][2] for key, (before, after) in simulated.levels.items() if before != after}
    assert simulated.customers_changed == len(changed)


def test_simulation_counts_customers_and_alerts(analyst):
    customers = CustomerFactory.create_batch(3)
    for n, customer in enumerate(customers):
        item, _ = transaction_input(
            {"customer": customer.pk, "amount": "9000.00", "occurred_at": at(minutes=n).isoformat()}
        )
        events_ingest(items=[item], source="api")
    rule = RiskRule.objects.get(code="large_amount")
    result = rule_simulate(rule=rule, params={"min_amount": "8500.00"}, points=50, enabled=True, days=1)
    assert (result.replayed, result.events_changed, result.customers_changed) == (3, 3, 3)
    assert (result.alerts_added, result.alerts_removed) == (3, 0)
    assert result.transitions == [("low", "medium", 3)]
    assert not RiskEvent.objects.exists()  # nothing written
    assert RiskRule.objects.get(code="large_amount").version == 1


def test_simulating_bad_parameters_is_refused(analyst):
    from loansite.errors import ValidationFailed

    rule = RiskRule.objects.get(code="large_amount")
    with pytest.raises(ValidationFailed):
        rule_simulate(rule=rule, params={"min_amount": "lots"}, points=50, enabled=True, days=1)


def test_the_simulation_page(analyst):
    from django.test import Client

    client = Client()
    client.force_login(analyst)
    rule = RiskRule.objects.get(code="large_amount")
    url = f"/admin/risk/riskrule/{rule.pk}/simulate/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"params": '{"min_amount": "5000"}', "points": 50, "enabled": "on", "days": 7})
    assert response.status_code == 200 and 'id="simulation-result"' in response.content.decode()
    response = client.post(url, {"params": '{"min_amount": "x"}', "points": 50, "days": 7})
    assert response.status_code == 200 and response.context["form"].errors
