"""The account endpoints of the portal API: profile, change requests, messages, password."""

import pytest

from customers.models import PortalChangeRequest
from tests.customers.factories import CustomerFactory, NeedFactory
from tests.customers.portal.factories import PORTAL_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def bearer(client, account):
    response = client.post(
        "/api/v1/portal/auth/token/",
        {"login": account.phone, "password": PORTAL_PASSWORD},
        content_type="application/json",
    )
    return {"HTTP_AUTHORIZATION": f"Bearer {response.json()['access']}"}


def test_profile_reads_masked_and_patches_contact_needs_consent(client, bearer, customer):
    need = NeedFactory(code="working-capital-x")
    data = client.get("/api/v1/portal/profile/", **bearer).json()
    assert data["id"] == customer.pk and "*" in data["phone"] and customer.phone not in str(data)
    response = client.patch(
        "/api/v1/portal/profile/",
        {"email": "owner@shop.example", "needs": [need.code], "marketing_consent": True},
        content_type="application/json",
        **bearer,
    )
    assert response.status_code == 200, response.content
    assert response.json()["needs"] == [need.code] and response.json()["marketing_consent"] is True
    customer.refresh_from_db()
    assert customer.email == "owner@shop.example"
    bad = client.patch("/api/v1/portal/profile/", {"needs": ["no-such"]}, content_type="application/json", **bearer)
    assert bad.status_code == 400


def test_another_customers_id_answers_404_on_every_account_endpoint(client, bearer):
    stranger = {"HTTP_X_CUSTOMER_ID": str(CustomerFactory().pk), **bearer}
    assert client.get("/api/v1/portal/profile/", **stranger).status_code == 404
    assert client.patch("/api/v1/portal/profile/", {}, content_type="application/json", **stranger).status_code == 404
    assert client.get("/api/v1/portal/messages/", **stranger).status_code == 404
    response = client.post(
        "/api/v1/portal/profile/change-requests/", {"name": "X Ltd"}, content_type="application/json", **stranger
    )
    assert response.status_code == 404
    assert not PortalChangeRequest.objects.exists()


def test_change_request_by_api_is_pending_until_an_officer_decides(client, bearer, customer):
    name = customer.name
    response = client.post(
        "/api/v1/portal/profile/change-requests/", {"name": "New Name Ltd"}, content_type="application/json", **bearer
    )
    assert response.status_code == 201
    assert PortalChangeRequest.objects.get(pk=response.json()["id"]).status == "pending"
    customer.refresh_from_db()
    assert customer.name == name
    empty = client.post("/api/v1/portal/profile/change-requests/", {}, content_type="application/json", **bearer)
    assert empty.status_code == 400


def test_messages_answer_a_list(client, bearer):
    response = client.get("/api/v1/portal/messages/", **bearer)
    assert response.status_code == 200 and response.json() == []


def test_password_change_by_api_ends_old_tokens_and_gives_new_ones(client, bearer):
    wrong = client.post(
        "/api/v1/portal/auth/password/",
        {"old_password": "nope-nope-nope", "new_password": "Another-long-pass-9"},
        content_type="application/json",
        **bearer,
    )
    assert wrong.status_code == 400
    response = client.post(
        "/api/v1/portal/auth/password/",
        {"old_password": PORTAL_PASSWORD, "new_password": "Another-long-pass-9"},
        content_type="application/json",
        **bearer,
    )
    assert response.status_code == 200
    assert client.get("/api/v1/portal/profile/", **bearer).status_code == 401
    fresh = {"HTTP_AUTHORIZATION": f"Bearer {response.json()['access']}"}
    assert client.get("/api/v1/portal/profile/", **fresh).status_code == 200


def test_staff_token_is_refused_on_the_account_endpoints(client, make_user):
    make_user("officer-acc", role="Loan officer")
    login = client.post(
        "/api/v1/auth/login/",
        {"username": "officer-acc", "password": "s3cure-Passw0rd!"},
        content_type="application/json",
    )
    staff = {"HTTP_AUTHORIZATION": f"Bearer {login.json()['access']}"}
    for url in ("/api/v1/portal/profile/", "/api/v1/portal/messages/"):
        assert client.get(url, **staff).status_code == 401


def test_messages_say_which_are_new_until_marked_seen(client, bearer, customer, account):
    import datetime

    from django.utils import timezone

    now = timezone.now()
    for days in (2, 1):
        PortalChangeRequest.objects.create(
            customer=customer,
            account=account,
            changes={},
            status="approved",
            decided_at=now - datetime.timedelta(days=days),
        )
    items = client.get("/api/v1/portal/messages/", **bearer).json()
    assert [item["new"] for item in items] == [True, True]
    # Seen up to the older one: the newer stays new.
    older = items[1]["at"]
    response = client.post("/api/v1/portal/messages/seen/", {"up_to": older}, content_type="application/json", **bearer)
    assert response.status_code == 204
    assert [item["new"] for item in client.get("/api/v1/portal/messages/", **bearer).json()] == [True, False]
    # A time in the future counts as now; a bad time is refused.
    later = (now + datetime.timedelta(days=365)).isoformat()
    assert (
        client.post(
            "/api/v1/portal/messages/seen/", {"up_to": later}, content_type="application/json", **bearer
        ).status_code
        == 204
    )
    assert not any(item["new"] for item in client.get("/api/v1/portal/messages/", **bearer).json())
    bad = client.post("/api/v1/portal/messages/seen/", {"up_to": "soon"}, content_type="application/json", **bearer)
    assert bad.status_code == 400
    stranger = {"HTTP_X_CUSTOMER_ID": str(CustomerFactory().pk), **bearer}
    assert (
        client.post(
            "/api/v1/portal/messages/seen/", {"up_to": older}, content_type="application/json", **stranger
        ).status_code
        == 404
    )
