"""Scoping as an attacker: a loan officer tries to reach another officer's book through the
admin pages that hang off applications (scores, outcomes), where a row names the application
(its reference and customer) without being filtered by the book."""

import pytest
from django.urls import reverse

from loans.models import LoanApplication
from scoring.models import LoanOutcome, Score
from tests.customers.factories import ManagerFactory
from tests.loans.factories import ApplicationFactory, CustomerFactory
from tests.scoring.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(make_user):
    mine_user = make_user("officer_a", role="Loan officer")
    other_user = make_user("officer_b", role="Loan officer")
    mine = CustomerFactory(name="Mine Co", manager=ManagerFactory(user=mine_user))
    other = CustomerFactory(name="Other Co", manager=ManagerFactory(user=other_user))
    version = ModelVersionFactory()
    data = {"officer": mine_user}
    for key, customer in (("mine", mine), ("other", other)):
        app = ApplicationFactory(customer=customer, status=LoanApplication.Status.SUBMITTED)
        data[f"{key}_app"] = app
        data[f"{key}_score"] = Score.objects.create(application=app, model_version=version, probability=0.3, grade="B")
        data[f"{key}_outcome"] = LoanOutcome.objects.create(application=app, defaulted=False)
    return data


def test_officer_score_list_and_pages_hold_only_their_book(client, book):
    client.force_login(book["officer"])
    response = client.get(reverse("admin:scoring_score_changelist"))
    assert response.status_code == 200
    assert {s.pk for s in response.context["cl"].result_list} == {book["mine_score"].pk}
    assert book["other_app"].reference not in response.content.decode()
    other = client.get(reverse("admin:scoring_score_change", args=[book["other_score"].pk]))
    assert other.status_code == 404
    history = client.get(reverse("admin:scoring_score_history", args=[book["other_score"].pk]))
    assert history.status_code == 404
    assert client.get(reverse("admin:scoring_score_change", args=[book["mine_score"].pk])).status_code == 200


def test_officer_score_search_by_reference_finds_no_other_book(client, book):
    client.force_login(book["officer"])
    url = reverse("admin:scoring_score_changelist")
    response = client.get(url, {"q": book["other_app"].reference})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


def test_officer_outcome_list_and_pages_hold_only_their_book(client, book):
    client.force_login(book["officer"])
    response = client.get(reverse("admin:scoring_loanoutcome_changelist"))
    assert response.status_code == 200
    assert {o.pk for o in response.context["cl"].result_list} == {book["mine_outcome"].pk}
    other = client.get(reverse("admin:scoring_loanoutcome_change", args=[book["other_outcome"].pk]))
    assert other.status_code == 404


def test_see_all_roles_still_see_every_score(client, make_user, book):
    client.force_login(make_user("approver", role="Credit approver"))
    response = client.get(reverse("admin:scoring_score_changelist"))
    assert response.status_code == 200
    assert {s.pk for s in response.context["cl"].result_list} >= {book["mine_score"].pk, book["other_score"].pk}
