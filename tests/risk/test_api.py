"""``/api/v1/risk/``: scoring one and a batch, reading events, handling by role."""

import pytest
from rest_framework.test import APIClient

from loansite.roles import AUDITOR, CREDIT_APPROVER, LOAN_OFFICER, RISK_ANALYST
from risk.models import RiskEvent, Transaction
from tests.risk.factories import at

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def body(customer, **extra):
    return {"customer": customer.pk, "amount": "100.00", "occurred_at": at().isoformat(), **extra}


def test_post_scores_synchronously(analyst, customer):
    response = client_for(analyst).post(
        "/api/v1/risk/transactions/", body(customer, amount="10000.00", external_id="e-1"), format="json"
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["score"], data["level"], data["duplicate"]) == (50, "medium", False)
    assert data["rules_hit"] == [{"rule": "large_amount", "version": 1, "points": 50, "detail": "10000.00 ≥ 10000.00"}]
    assert data["event"] == RiskEvent.objects.get().pk
    again = client_for(analyst).post(
        "/api/v1/risk/transactions/", body(customer, amount="10000.00", external_id="e-1"), format="json"
    )
    assert again.status_code == 200 and again.json()["duplicate"] and again.json()["id"] == data["id"]


@pytest.mark.parametrize(
    "payload",
    [{}, {"amount": "x"}, [], "text", {"customer": 1, "amount": "1", "occurred_at": "2026-13-45"}],
)
def test_bad_bodies_are_400_with_a_message(analyst, customer, payload):
    response = client_for(analyst).post("/api/v1/risk/transactions/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["detail"]


def test_unknown_customer_is_400(analyst, customer):
    payload = {**body(customer), "customer": 99999}
    response = client_for(analyst).post("/api/v1/risk/transactions/", payload, format="json")
    assert response.status_code == 400 and "errors" in response.json()
    assert not Transaction.objects.exists()


def test_batch_up_to_a_thousand(analyst, customer):
    items = [body(customer, occurred_at=at(seconds=i).isoformat(), external_id=f"b-{i}") for i in range(6)]
    logins = [{"customer": customer.pk, "occurred_at": at(seconds=7).isoformat(), "city": "Hangzhou"}]
    response = client_for(analyst).post(
        "/api/v1/risk/transactions/batch/", {"transactions": items, "logins": logins}, format="json"
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert [r["score"] for r in data["transactions"]] == [0, 0, 0, 0, 30, 30]
    assert len(data["logins"]) == 1
    too_many = [body(customer)] * 1001
    response = client_for(analyst).post("/api/v1/risk/transactions/batch/", {"transactions": too_many}, format="json")
    assert response.status_code == 400
    assert Transaction.objects.count() == 6


def test_a_batch_with_one_bad_item_stores_nothing(analyst, customer):
    items = [body(customer), body(customer, amount="-5")]
    response = client_for(analyst).post("/api/v1/risk/transactions/batch/", {"transactions": items}, format="json")
    assert response.status_code == 400
    assert "transactions[1]" in response.json()["errors"]
    assert not Transaction.objects.exists()


@pytest.mark.parametrize("role", [LOAN_OFFICER, CREDIT_APPROVER, AUDITOR])
def test_only_the_risk_role_feeds_transactions(make_user, customer, role):
    user = make_user("someone", role=role)
    assert client_for(user).post("/api/v1/risk/transactions/", body(customer), format="json").status_code == 403
    response = client_for(user).post(
        "/api/v1/risk/transactions/batch/", {"transactions": [body(customer)]}, format="json"
    )
    assert response.status_code == 403


def _event(analyst, customer) -> int:
    response = client_for(analyst).post(
        "/api/v1/risk/transactions/", body(customer, amount="50000", city="Beijing"), format="json"
    )
    return response.json()["event"]


def test_handling_through_the_api(analyst, make_user, customer):
    event_id = _event(analyst, customer)
    api = client_for(analyst)
    assert (
        api.post(f"/api/v1/risk/events/{event_id}/assign/", {"assignee": "analyst"}, format="json").status_code == 200
    )
    assert api.post(f"/api/v1/risk/events/{event_id}/note/", {"text": "called"}, format="json").status_code == 200
    response = api.post(
        f"/api/v1/risk/events/{event_id}/resolve/", {"outcome": "no_issue", "note": "explained"}, format="json"
    )
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "resolved"
    assert [e["kind"] for e in data["timeline"]] == ["created", "assigned", "note", "resolved"]
    again = api.post(f"/api/v1/risk/events/{event_id}/escalate/", {"reason": "late"}, format="json")
    assert again.status_code == 409


@pytest.mark.parametrize("role", [CREDIT_APPROVER, AUDITOR])
def test_readers_read_events_but_cannot_handle_them(analyst, make_user, customer, role):
    event_id = _event(analyst, customer)
    reader = client_for(make_user("reader", role=role))
    assert reader.get(f"/api/v1/risk/events/{event_id}/").status_code == 200
    assert reader.get("/api/v1/risk/alerts/").status_code == 200
    assert reader.post(f"/api/v1/risk/events/{event_id}/note/", {"text": "x"}, format="json").status_code == 403


def test_loan_officers_do_not_read_risk_events(analyst, make_user, customer):
    _event(analyst, customer)
    officer = client_for(make_user("officer", role=LOAN_OFFICER))
    assert officer.get("/api/v1/risk/events/").status_code == 403


def test_alerts_acknowledge_and_close(analyst, customer):
    _event(analyst, customer)
    api = client_for(analyst)
    alert_id = api.get("/api/v1/risk/alerts/").json()["results"][0]["id"]
    assert api.post(f"/api/v1/risk/alerts/{alert_id}/acknowledge/").status_code == 200
    response = api.post(f"/api/v1/risk/alerts/{alert_id}/close/", {"text": "done"}, format="json")
    assert response.status_code == 200
    assert [a["kind"] for a in response.json()["actions"]] == ["raised", "acknowledged", "closed"]


def test_risk_analyst_role_name():
    assert RISK_ANALYST == "Risk analyst"
