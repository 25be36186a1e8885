"""Event analysis on a crafted graph: who is linked to whom, through what, to depth 2."""

from decimal import Decimal

import pytest
from django.utils import timezone

from risk.analysis import customer_risk_profile, related_customers, suggested_handling
from risk.models import Device, DeviceCustomer, RiskEvent, Transaction
from tests.risk.factories import CustomerFactory, at

pytestmark = pytest.mark.django_db


def device_of(fingerprint, *customers):
    device = Device.objects.create(fingerprint=fingerprint)
    for customer in customers:
        DeviceCustomer.objects.create(device=device, customer=customer, first_seen_at=timezone.now())
    return device


def tx(customer, **extra):
    return Transaction.objects.create(customer=customer, amount=Decimal("10.00"), occurred_at=at(), **extra)


@pytest.fixture
def ring():
    """A-B device, B-C address, A-D counterparty, C-E device (depth 3), A-G phone, F guarantees A,
    and an address shared by 25 customers (too common to link anyone)."""
    from loans.models import Guarantee
    from tests.loans.factories import ApplicationFactory

    a, b, c, d, e, f, g = (CustomerFactory(name=name) for name in "ABCDEFG")
    device_of("dev-ab", a, b)
    device_of("dev-ce", c, e)
    tx(b, ip="10.1.1.1")
    tx(c, ip="10.1.1.1")
    tx(a, counterparty="Shell Trading")
    tx(d, counterparty="Shell Trading")
    ApplicationFactory(customer=g, contact_phone=a.phone)
    application = ApplicationFactory(customer=a)
    Guarantee.objects.create(
        application=application, guarantor_customer=f, guarantor_name="F", guaranteed_amount=Decimal("1000.00")
    )
    crowd = CustomerFactory.create_batch(25)
    for member in [a, *crowd]:
        tx(member, ip="10.9.9.9")
    return dict(zip("ABCDEFG", (a, b, c, d, e, f, g), strict=True))


def test_related_customers_to_depth_two_with_named_links(ring):
    a = ring["A"]
    graph = related_customers(a.pk)
    names = {pk: node["name"] for pk, node in graph.nodes.items()}
    depths = {names[pk]: node["depth"] for pk, node in graph.nodes.items()}
    assert depths == {"A": 0, "B": 1, "D": 1, "F": 1, "G": 1, "C": 2}
    found = {(names[link.a], names[link.b], link.kind) for link in graph.links}
    assert {
        ("A", "B", "device"),
        ("A", "D", "counterparty"),
        ("A", "G", "phone"),
        ("A", "F", "guarantor"),
        ("B", "C", "ip"),
    } <= found
    assert all(link.kind != "ip" or "10.9.9.9" not in link.via for link in graph.links)
    device_link = next(link for link in graph.links if link.kind == "device")
    assert device_link.via == "dev-ab" and str(device_link.label) == "shared device"


def test_depth_one_stops_at_the_first_ring(ring):
    graph = related_customers(ring["A"].pk, depth=1)
    assert ring["C"].pk not in graph.nodes and ring["B"].pk in graph.nodes


def test_a_customer_with_no_links_is_alone(ring):
    lonely = CustomerFactory()
    graph = related_customers(lonely.pk)
    assert list(graph.nodes) == [lonely.pk] and graph.links == []


def test_profile_and_suggestions(ring):
    from tests.loans.factories import CreditLineFactory

    a = ring["A"]
    CreditLineFactory(customer=a, limit=Decimal("200000.00"), used=Decimal("150000.00"))
    event = RiskEvent.objects.create(
        customer=a, level="high", score=90, rules_hit=["large_amount", "geo_velocity"], source="transaction"
    )
    profile = customer_risk_profile(a.pk)
    assert profile["events_total"] == 1 and profile["events_by_month"][0]["high"] == 1
    assert profile["credit_line"]["percent"] == Decimal("75.0")
    suggestions = suggested_handling(event)
    assert any("confirm the payment" in line for line in suggestions)
    assert any("sign-in" in line for line in suggestions)
    assert "High level" in suggestions[-1]
