from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from audit.models import AuditAction, AuditEntry
from customers.models import Customer, MatchingRun
from tests.customers.factories import CustomerFactory, ManagerFactory, TagFactory

pytestmark = pytest.mark.django_db

NEW = {
    "kind": "enterprise",
    "name": "Chengdu Hotpot Co., Ltd.",
    "credit_code": "91350100M000100Y43",
    "phone": "+86 138 0013 8000",
    "city": "Chengdu",
    "city_tier": 2,
    "industry": "catering",
    "monthly_revenue": "70000.00",
    "monthly_cost": "50000.00",
    "total_assets": "1000000",
    "total_liabilities": "0",
    "tags": ["VIP"],
}


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def officer(make_user):
    return make_user("officer", role="Loan officer")


@pytest.mark.parametrize(
    ("role", "list_status", "create_status", "match_status", "reassign_status"),
    [
        ("Loan officer", 200, 201, 202, 400),  # officers run matching and reassign
        ("Credit approver", 200, 403, 403, 403),
        ("Risk analyst", 200, 403, 403, 403),
        ("Auditor", 200, 403, 403, 403),
        ("Model ops", 200, 403, 403, 403),
        ("Administrator", 200, 201, 202, 400),
        (None, 403, 403, 403, 403),
    ],
)
def test_permissions_by_role(make_user, role, list_status, create_status, match_status, reassign_status):
    TagFactory(name="VIP")
    client = client_for(make_user("someone", role=role))
    assert client.get("/api/v1/customers/").status_code == list_status
    assert client.post("/api/v1/customers/", NEW, format="json").status_code == create_status
    assert client.post("/api/v1/matching/run/", {}, format="json").status_code == match_status
    customer, manager = CustomerFactory(), ManagerFactory()
    payload = {"customer": customer.pk, "manager": manager.pk, "reason": ""}
    assert client.post("/api/v1/assignments/reassign/", payload, format="json").status_code == reassign_status


def test_anonymous_is_refused():
    assert APIClient().get("/api/v1/customers/").status_code == 401


def test_create_returns_ratios_and_normalised_phone(officer):
    TagFactory(name="VIP")
    response = client_for(officer).post("/api/v1/customers/", NEW, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["phone"] == "13800138000" and body["tags"] == ["VIP"]
    assert body["ratios"] == {"debt_ratio": "0.0000", "current_ratio": None, "net_margin": None}


def test_invalid_and_duplicate_customers_are_4xx(officer):
    client = client_for(officer)
    bad = client.post("/api/v1/customers/", {**NEW, "tags": [], "credit_code": "91350100M000100Y44"}, format="json")
    assert bad.status_code == 400 and "credit_code" in bad.json()["errors"]
    CustomerFactory(phone="13800138000")
    duplicate = client.post("/api/v1/customers/", {**NEW, "tags": []}, format="json")
    assert duplicate.status_code == 409
    assert Customer.objects.count() == 1


def test_update_through_the_service_is_audited(officer):
    customer = CustomerFactory()
    response = client_for(officer).patch(
        f"/api/v1/customers/{customer.pk}/", {"monthly_revenue": "1234.50"}, format="json"
    )
    assert response.status_code == 200, response.json()
    customer.refresh_from_db()
    assert customer.monthly_revenue == Decimal("1234.50")
    assert AuditEntry.objects.filter(action=AuditAction.UPDATE, target_id=str(customer.pk)).exists()
    assert client_for(officer).delete(f"/api/v1/customers/{customer.pk}/").status_code in (403, 405)


def test_filters(officer):
    vip = TagFactory(name="VIP")
    big = CustomerFactory(industry="wholesale", monthly_revenue=Decimal("500000"), city="Shanghai")
    big.tags.add(vip)
    CustomerFactory(industry="retail", monthly_revenue=Decimal("20000"))
    client = client_for(officer)

    def names(query):
        return [row["id"] for row in client.get(f"/api/v1/customers/?{query}").json()["results"]]

    assert names("industry=wholesale") == [big.pk]
    assert names("revenue_min=100000") == [big.pk]
    assert names("tag=VIP") == [big.pk]
    assert names("city=shanghai") == [big.pk]
    assert len(names("has_manager=false")) == 2
    assert names(f"search={big.credit_code}") == [big.pk]


def test_list_query_count_does_not_grow_with_rows(officer, django_assert_max_num_queries):
    manager = ManagerFactory()
    tag = TagFactory(name="VIP")
    for customer in CustomerFactory.create_batch(15, manager=manager):
        customer.tags.add(tag)
    client = client_for(officer)
    with django_assert_max_num_queries(12):
        assert client.get("/api/v1/customers/").status_code == 200


def test_reassign_and_history_via_api(make_user):
    boss = make_user("boss", role="Administrator")
    first, second = ManagerFactory(), ManagerFactory()
    customer = CustomerFactory(manager=first)
    client = client_for(boss)
    response = client.post(
        "/api/v1/assignments/reassign/",
        {"customer": customer.pk, "manager": second.pk, "reason": "Moved branch"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["components"]["industry"]["weight"] == 0.35
    history = client.get(f"/api/v1/assignments/?customer={customer.pk}").json()["results"]
    assert [row["manager"] for row in history] == [second.pk]
    assert client.get("/api/v1/managers/").json()["results"][0]["load"] in (0, 1)


def test_run_matching_returns_task_id_and_status(make_user, django_capture_on_commit_callbacks):
    boss = make_user("boss", role="Administrator")
    ManagerFactory()
    CustomerFactory()
    client = client_for(boss)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/matching/run/", {"scope": "unassigned"}, format="json")
    assert response.status_code == 202
    task_id = response.json()["task_id"]
    status = client.get(f"/api/v1/matching/tasks/{task_id}/").json()
    assert status["state"] == "SUCCESS"
    assert status["run"]["status"] == MatchingRun.Status.DONE and status["run"]["assigned"] == 1
    assert client.get("/api/v1/matching/tasks/nope/").status_code == 404


def test_tags_crud_is_audited(officer):
    client = client_for(officer)
    response = client.post("/api/v1/tags/", {"name": "seasonal", "colour": "#00ff00"}, format="json")
    assert response.status_code == 201
    assert AuditEntry.objects.filter(action=AuditAction.CREATE, target_type="customers.tag").exists()
    assert client.post("/api/v1/tags/", {"name": "bad", "colour": "green"}, format="json").status_code == 400


def test_detail_shows_credit_line_headroom_and_match_breakdown(make_user):
    from customers.services import assignment_run_matching
    from tests.customers.factories import CreditLineFactory

    officer = make_user("officer", role="Loan officer")
    ManagerFactory(user=officer)  # matched to the officer, so in the officer's book
    line = CreditLineFactory(limit=Decimal("5000.00"), used=Decimal("1200.00"))
    assignment_run_matching(actor=officer)
    body = client_for(officer).get(f"/api/v1/customers/{line.customer_id}/").json()
    assert body["credit_line"]["available"] == "3800.00"
    assert body["credit_line_headroom"] == "3800.00"
    assert body["assignment"]["components"]["industry"]["value"] == 1.0


def test_tag_write_and_its_audit_entry_commit_together(officer, monkeypatch):
    from customers.api import views
    from customers.models import Tag

    def failing_audit(**kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(views, "audit_record", failing_audit)
    client = client_for(officer)
    client.raise_request_exception = False
    response = client.post("/api/v1/tags/", {"name": "orphan", "colour": "#00ff00"}, format="json")
    assert response.status_code == 500
    assert not Tag.objects.filter(name="orphan").exists()


# -- protected fields and text limits --------------------------------------------------------------


@pytest.mark.parametrize(("field", "value"), [("credit_score", 820), ("rating", "A")])
def test_rating_and_bureau_score_need_the_rating_permission(make_user, officer, field, value):
    customer = CustomerFactory(credit_score=600)
    url = f"/api/v1/customers/{customer.pk}/"
    response = client_for(officer).patch(url, {field: value, "notes": "hello"}, format="json")
    assert response.status_code == 403
    assert field in response.json()["detail"] and response.json()["code"] == "NotAllowed"
    customer.refresh_from_db()
    assert (customer.credit_score, customer.rating, customer.notes) == (600, "", "")  # nothing half-written
    created = client_for(officer).post("/api/v1/customers/", {**NEW, "tags": [], field: value}, format="json")
    assert created.status_code == 403 and not Customer.objects.filter(phone="13800138000").exists()
    # A full update repeating the values on record is fine; a rater may change them.
    assert client_for(officer).patch(url, {"credit_score": 600}, format="json").status_code == 200
    analyst = make_user("analyst", role="Risk analyst")
    if field == "rating":
        # Not even a rater sets the internal rating as a field: /customers/<id>/rating/ with a reason.
        assert client_for(analyst).patch(url, {field: value}, format="json").status_code == 403
        customer.refresh_from_db()
        assert customer.rating == ""
        return
    assert client_for(analyst).patch(url, {field: value}, format="json").status_code == 200
    customer.refresh_from_db()
    assert getattr(customer, field) == value


def test_notes_are_bounded(officer):
    customer = CustomerFactory()
    url = f"/api/v1/customers/{customer.pk}/"
    response = client_for(officer).patch(url, {"notes": "x" * 2001}, format="json")
    assert response.status_code == 400 and "notes" in response.json()
    assert client_for(officer).patch(url, {"notes": "x" * 2000}, format="json").status_code == 200
