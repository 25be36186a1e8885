"""Rating governance: the internal rating changes only through the rating service (expert or
statistical, with inputs and version) or an analyst with a reason; an upgrade of more than
one notch waits for an approver; officers cannot set it through the form, import or API."""

from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEntry
from customers.models import CustomerRating
from customers.services import (
    customer_rate_by_model,
    customer_rating_approve,
    customer_rating_change,
    customer_rating_refuse,
)
from customers.services.ratings import rating_notches_up
from loansite.errors import InvalidTransition, NotAllowed, ValidationFailed
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(make_user):
    return make_user("officer", role="Loan officer")


@pytest.fixture
def analyst(make_user):
    return make_user("analyst", role="Risk analyst")


@pytest.fixture
def analyst2(make_user):
    return make_user("analyst2", role="Risk analyst")


@pytest.fixture
def approver(make_user):
    return make_user("approver", role="Credit approver")


def seed_financials(**extra):
    """Debt ratio 60 %, current ratio 1.5, net margin 8 %: the seed's example (3.0, medium, C)."""
    values = {
        "total_assets": Decimal("1000000"),
        "total_liabilities": Decimal("600000"),
        "current_assets": Decimal("300000"),
        "current_liabilities": Decimal("200000"),
        "net_profit": Decimal("80000"),
        "annual_revenue": Decimal("1000000"),
    }
    return CustomerFactory(**{**values, **extra})


def test_notches():
    assert rating_notches_up("C", "B") == 1
    assert rating_notches_up("D", "B") == 2
    assert rating_notches_up("B", "E") == -3
    assert rating_notches_up("", "A") == 0


def test_analyst_needs_a_reason_and_one_notch_applies_at_once(analyst):
    customer = CustomerFactory(rating="C")
    with pytest.raises(ValidationFailed):
        customer_rating_change(actor=analyst, customer=customer, rating="B", reason="  ")
    change = customer_rating_change(actor=analyst, customer=customer, rating="B", reason="new audited accounts")
    customer.refresh_from_db()
    assert customer.rating == "B" and change.status == CustomerRating.Status.APPLIED
    assert (change.previous, change.source, change.reason) == ("C", "analyst", "new audited accounts")
    # Downgrades of any size apply at once too.
    customer_rating_change(actor=analyst, customer=customer, rating="E", reason="fraud suspected")
    customer.refresh_from_db()
    assert customer.rating == "E"
    assert list(customer.rating_history.values_list("rating", flat=True)) == ["E", "B"]


def test_upgrade_by_more_than_one_notch_needs_another_approver(analyst, analyst2, approver):
    customer = CustomerFactory(rating="D")
    request = customer_rating_change(actor=analyst, customer=customer, rating="B", reason="turnaround")
    customer.refresh_from_db()
    assert request.status == CustomerRating.Status.PENDING and customer.rating == "D"
    assert AuditEntry.objects.filter(target_id=str(customer.pk), changes__needs_approval=True).exists()
    # Another change waits until this one is decided.
    with pytest.raises(InvalidTransition):
        customer_rating_change(actor=analyst2, customer=customer, rating="C", reason="x")
    # Analysts cannot approve (not approvers); approvers cannot approve what they asked for.
    with pytest.raises(NotAllowed):
        customer_rating_approve(actor=analyst2, request=request)
    customer_rating_approve(actor=approver, request=request, note="checked the accounts")
    customer.refresh_from_db()
    request.refresh_from_db()
    assert customer.rating == "B" and request.status == CustomerRating.Status.APPLIED
    assert request.decided_by == approver
    with pytest.raises(InvalidTransition):
        customer_rating_approve(actor=approver, request=request)


def test_an_approver_cannot_approve_their_own_request(make_user):
    both = make_user("both", role="Risk analyst")
    from django.contrib.auth.models import Group

    from loansite.accounts import privileges_recorded_here

    with privileges_recorded_here():
        both.groups.add(Group.objects.get(name="Credit approver"))
    both = type(both).objects.get(pk=both.pk)
    customer = CustomerFactory(rating="E")
    request = customer_rating_change(actor=both, customer=customer, rating="A", reason="x")
    with pytest.raises(NotAllowed):
        customer_rating_approve(actor=both, request=request)


def test_refusal_needs_a_note_and_keeps_the_rating(analyst, approver):
    customer = CustomerFactory(rating="E")
    request = customer_rating_change(actor=analyst, customer=customer, rating="B", reason="x")
    with pytest.raises(ValidationFailed):
        customer_rating_refuse(actor=approver, request=request, note="")
    customer_rating_refuse(actor=approver, request=request, note="no evidence")
    customer.refresh_from_db()
    request.refresh_from_db()
    assert customer.rating == "E" and request.status == CustomerRating.Status.REFUSED


def test_officers_cannot_rate(officer):
    customer = CustomerFactory(rating="C")
    with pytest.raises(NotAllowed):
        customer_rating_change(actor=officer, customer=customer, rating="A", reason="good client")
    with pytest.raises(NotAllowed):
        customer_rate_by_model(actor=officer, customer=customer)
    customer.refresh_from_db()
    assert customer.rating == "C" and not CustomerRating.objects.exists()


def test_rating_service_uses_the_expert_scorecard_without_an_active_model(analyst):
    customer = seed_financials(rating="D")
    change = customer_rate_by_model(customer=customer, actor=analyst)
    customer.refresh_from_db()
    assert (customer.rating, change.source, change.status) == ("C", "expert", "applied")
    assert change.model_version.startswith("expert-") and change.inputs["score"] == "3.00"
    assert customer.rating_source == change.model_version


def test_rating_service_prefers_the_active_statistical_model(analyst):
    from scoring.models import ModelKind, ModelVersion, Score
    from tests.loans.factories import ApplicationFactory
    from tests.scoring.factories import ModelVersionFactory

    customer = seed_financials(rating="C")
    version = ModelVersionFactory(kind=ModelKind.PD, status=ModelVersion.Status.ACTIVE)
    app = ApplicationFactory(customer=customer, status="submitted")
    Score.objects.create(application=app, model_version=version, probability=0.04, points=700, grade="B")
    change = customer_rate_by_model(customer=customer, actor=analyst)
    assert (change.rating, change.source, change.model_version) == ("B", "statistical", version.label)
    assert change.inputs["application"] == app.reference and change.inputs["grade"] == "B"


def test_the_system_rating_service_also_waits_for_an_approver_on_big_upgrades():
    customer = seed_financials(rating="E")
    change = customer_rate_by_model(customer=customer)  # the scheduled run: no person
    customer.refresh_from_db()
    assert change.status == CustomerRating.Status.PENDING and customer.rating == "E"


# -- entry points -------------------------------------------------------------------------------


def test_officer_form_post_cannot_set_the_rating(client, officer, analyst):
    customer = CustomerFactory(rating="C", credit_score=600)
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    for user in (officer, analyst):
        client.force_login(user)
        form = client.get(url).context["adminform"].form
        assert "rating" not in form.fields  # read-only for everyone: "Change rating" instead
    client.force_login(officer)
    page = client.get(url)
    form = page.context["adminform"].form
    data = {
        **{k: v for k, v in form.initial.items() if k in form.fields and v is not None},
        "tags": [],
        "needs": [],
        "interests": [],
        "rating": "A",
        "credit_lines-TOTAL_FORMS": 0,
        "credit_lines-INITIAL_FORMS": 0,
        "assignments-TOTAL_FORMS": 0,
        "assignments-INITIAL_FORMS": 0,
    }
    client.post(url, data)
    customer.refresh_from_db()
    assert customer.rating == "C"
    # The rating page itself refuses officers.
    assert client.get(reverse("admin:customers_customer_rating", args=[customer.pk])).status_code == 403
    response = client.post(
        reverse("admin:customers_customer_rating", args=[customer.pk]), {"rating": "A", "reason": "x"}
    )
    assert response.status_code == 403
    customer.refresh_from_db()
    assert customer.rating == "C"


def test_analyst_changes_the_rating_on_its_page_and_an_approver_approves(client, analyst, approver):
    customer = CustomerFactory(rating="D")
    client.force_login(analyst)
    url = reverse("admin:customers_customer_rating", args=[customer.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"rating": "B", "reason": ""}).status_code == 200  # form error: reason
    assert client.post(url, {"rating": "B", "reason": "restructured"}).status_code == 302
    request = CustomerRating.objects.get(customer=customer)
    assert request.status == "pending"
    client.force_login(approver)
    approve = reverse("admin:customers_customerrating_approve", args=[request.pk])
    assert client.post(approve, {"note": "ok"}).status_code == 302
    customer.refresh_from_db()
    assert customer.rating == "B"


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_api_refuses_officers_and_takes_analysts_with_a_reason(officer, analyst, approver):
    customer = CustomerFactory(rating="C")
    # Through the customer endpoint the rating is no field anyone sets.
    patch = _api(officer).patch(f"/api/v1/customers/{customer.pk}/", {"rating": "A"}, format="json")
    assert patch.status_code == 403
    assert _api(analyst).patch(f"/api/v1/customers/{customer.pk}/", {"rating": "A"}, format="json").status_code == 403
    url = f"/api/v1/customers/{customer.pk}/rating/"
    assert _api(officer).post(url, {"rating": "B", "reason": "x"}, format="json").status_code == 403
    assert _api(analyst).post(url, {"rating": "B"}, format="json").status_code == 400
    response = _api(analyst).post(url, {"rating": "A", "reason": "two notches"}, format="json")
    assert response.status_code == 201 and response.json()["status"] == "pending"
    pk = response.json()["id"]
    assert _api(analyst).post(f"/api/v1/rating-changes/{pk}/approve/", {}, format="json").status_code == 403
    assert _api(approver).post(f"/api/v1/rating-changes/{pk}/approve/", {}, format="json").status_code == 200
    customer.refresh_from_db()
    assert customer.rating == "A"
    history = _api(officer).get(f"/api/v1/rating-changes/?customer={customer.pk}").json()["results"]
    assert [row["rating"] for row in history] == ["A"]
