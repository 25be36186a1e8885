"""The collections API: queue, assignment, contacts, promises, legal cases, write-off and recovery;
permissions by role, 4xx with a message on bad input (never a 500)."""

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from loans.models import CollectionCase, LedgerEntry, Loan, PromiseToPay, Recovery, WriteOff
from loans.selectors.ledger import ledger_problems
from loans.services import collections as svc
from tests.loans.servicing import disbursed_loan
from tests.loans.test_collections import make_overdue

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate
BASE = "/api/v1/loans/"


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def collector(make_user):
    return make_user("collector", role="Collector")


@pytest.fixture
def analyst(make_user):
    return make_user("analyst", role="Risk analyst")


@pytest.fixture
def overdue(officer, approver):
    return make_overdue(disbursed_loan(officer, approver), dpd=200, bucket="181-360", risk_class="doubtful")


def test_the_queue_lists_overdue_loans_with_their_collector(analyst, collector, overdue, officer, approver):
    disbursed_loan(officer, approver)  # active: not in the queue
    svc.collection_assign(actor=analyst, loan=overdue, collector=collector)
    response = api(collector).get(BASE + "collections/queue/", {"bucket": "181-360"})
    assert response.status_code == 200, response.content
    rows = response.json()["results"] if isinstance(response.json(), dict) else response.json()
    assert [(r["loan_number"], r["collector"], r["days_past_due"]) for r in rows] == [
        (overdue.loan_number, "collector", 200)
    ]
    unassigned = api(collector).get(BASE + "collections/queue/", {"unassigned": "true"}).json()
    assert (unassigned["results"] if isinstance(unassigned, dict) else unassigned) == []


def test_the_queue_refuses_a_bad_filter_with_400(collector):
    response = api(collector).get(BASE + "collections/queue/", {"bucket": "999"})
    assert response.status_code == 400


def test_batch_assignment_by_api(analyst, collector, overdue, officer, approver):
    other = make_overdue(disbursed_loan(officer, approver))
    response = api(analyst).post(
        BASE + "collections/assign/", {"loans": [overdue.pk, other.pk], "collector": collector.pk}, format="json"
    )
    assert response.status_code == 200, response.content
    assert sorted(response.json()["assigned"]) == sorted([overdue.pk, other.pk])
    assert CollectionCase.objects.filter(collector=collector).count() == 2


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"loans": [], "collector": 1},
        {"loans": ["x"], "collector": 1},
        {"loans": [999999], "collector": 1},
        {"loans": [1], "collector": "nobody"},
        {"loans": 5, "collector": 1},
    ],
)
def test_bad_assignments_are_400(analyst, overdue, body):
    response = api(analyst).post(BASE + "collections/assign/", body, format="json")
    assert response.status_code == 400
    assert response.json()


def test_assigning_to_someone_who_does_not_collect_is_400_with_a_message(analyst, overdue, auditor):
    response = api(analyst).post(
        BASE + "collections/assign/", {"loans": [overdue.pk], "collector": auditor.pk}, format="json"
    )
    assert response.status_code == 400
    assert "cannot collect" in response.json()["detail"]
    assert not CollectionCase.objects.filter(collector=auditor).exists()


@pytest.mark.parametrize("role", ["Collector", "Loan officer", "Auditor", "Credit approver"])
def test_lesser_roles_cannot_assign(make_user, role, collector, overdue):
    response = api(make_user("u", role=role)).post(
        BASE + "collections/assign/", {"loans": [overdue.pk], "collector": collector.pk}, format="json"
    )
    assert response.status_code == 403


def test_a_collector_logs_a_contact_and_a_promise_on_an_assigned_loan(analyst, collector, overdue):
    svc.collection_assign(actor=analyst, loan=overdue, collector=collector)
    day = (TODAY() + datetime.timedelta(days=7)).isoformat()
    response = api(collector).post(
        BASE + "collection-contacts/",
        {
            "loan": overdue.pk,
            "channel": "call",
            "outcome": "promised",
            "note": "pays next week",
            "promise_date": day,
            "promise_amount": "800.00",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["by"] == "collector"
    listed = api(collector).get(BASE + "promises/", {"loan": overdue.pk}).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [(r["promised_date"], r["amount"], r["status"]) for r in rows] == [(day, "800.00", "open")]
    response = api(collector).post(
        BASE + "promises/", {"loan": overdue.pk, "promised_date": day, "amount": "900"}, format="json"
    )
    assert response.status_code == 201
    assert PromiseToPay.objects.filter(status="cancelled").count() == 1


def test_a_collector_is_refused_on_a_loan_assigned_to_someone_else(analyst, collector, make_user, overdue):
    svc.collection_assign(actor=analyst, loan=overdue, collector=make_user("other", role="Collector"))
    response = api(collector).post(
        BASE + "collection-contacts/", {"loan": overdue.pk, "channel": "sms", "outcome": "no_answer"}, format="json"
    )
    assert response.status_code == 403
    assert "not assigned to you" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"channel": "fax", "outcome": "reached"},
        {"channel": "call", "outcome": "reached", "next_action_date": "yesterday"},
        {"channel": "call", "outcome": "reached", "next_action_date": "2000-01-01"},
        {"channel": "call", "outcome": "reached", "promise_date": "2099-01-01"},
        {"channel": "call", "outcome": "reached", "promise_amount": "10"},
        {"channel": "call", "outcome": "reached", "note": "x" * 5000},
        {"loan": "LN-1", "channel": "call", "outcome": "reached"},
    ],
)
def test_bad_contacts_are_400(analyst, collector, overdue, body):
    svc.collection_assign(actor=analyst, loan=overdue, collector=collector)
    response = api(collector).post(BASE + "collection-contacts/", {"loan": overdue.pk, **body}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()


@pytest.mark.parametrize(
    "body",
    [
        {"promised_date": "2000-01-01", "amount": "10"},
        {"promised_date": "soon", "amount": "10"},
        {"promised_date": "2030-01-01", "amount": "-1"},
        {"promised_date": "2030-01-01", "amount": "1e30"},
        {"promised_date": "2030-01-01"},
    ],
)
def test_bad_promises_are_400(analyst, collector, overdue, body):
    svc.collection_assign(actor=analyst, loan=overdue, collector=collector)
    response = api(collector).post(BASE + "promises/", {"loan": overdue.pk, **body}, format="json")
    assert response.status_code == 400, response.content


def test_legal_cases_by_api(approver, overdue, collector):
    response = api(approver).post(BASE + "legal-cases/", {"loan": overdue.pk, "court": "Court A"}, format="json")
    assert response.status_code == 201, response.content
    legal = response.json()
    assert legal["status"] == "prepared" and legal["events"][0]["status_to"] == "prepared"
    moved = api(approver).post(f"{BASE}legal-cases/{legal['id']}/move/", {"status": "filed"}, format="json")
    assert moved.status_code == 200 and moved.json()["status"] == "filed"
    illegal = api(approver).post(f"{BASE}legal-cases/{legal['id']}/move/", {"status": "prepared"}, format="json")
    assert illegal.status_code == 409
    bad = api(approver).post(f"{BASE}legal-cases/{legal['id']}/move/", {"status": "won"}, format="json")
    assert bad.status_code == 400
    again = api(approver).post(BASE + "legal-cases/", {"loan": overdue.pk}, format="json")
    assert again.status_code == 409
    assert api(collector).post(BASE + "legal-cases/", {"loan": overdue.pk}, format="json").status_code == 403
    assert api(collector).get(BASE + "legal-cases/").status_code == 200


def test_write_off_and_recovery_by_api(approver, officer, overdue):
    response = api(approver).post(BASE + "write-offs/", {"loan": overdue.pk, "reason": "insolvent"}, format="json")
    assert response.status_code == 201, response.content
    assert Loan.objects.get(pk=overdue.pk).status == "written_off"
    body = {"loan": overdue.pk, "amount": "250.00", "value_date": TODAY().isoformat(), "bank_reference": "RCV-1"}
    first = api(officer).post(BASE + "recoveries/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201, first.content
    again = api(officer).post(BASE + "recoveries/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    other = api(officer).post(BASE + "recoveries/", {**body, "amount": "300"}, format="json")
    assert other.status_code == 409
    assert Recovery.objects.count() == 1 and LedgerEntry.objects.filter(kind="recovery").count() == 1
    assert ledger_problems() == []
    listed = api(officer).get(BASE + "write-offs/", {"loan": overdue.pk}).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert rows[0]["recovered_principal"] == str(WriteOff.objects.get().recovered_principal)


def test_a_write_off_that_does_not_qualify_is_409_and_a_missing_reason_400(approver, officer):
    loan = make_overdue(disbursed_loan(officer, approver), dpd=10, risk_class="special_mention")
    response = api(approver).post(BASE + "write-offs/", {"loan": loan.pk, "reason": "x"}, format="json")
    assert response.status_code == 409 and "loss category" in response.json()["detail"]
    assert api(approver).post(BASE + "write-offs/", {"loan": loan.pk}, format="json").status_code == 400
    assert api(approver).post(BASE + "write-offs/", {"loan": "abc", "reason": "x"}, format="json").status_code == 400


@pytest.mark.parametrize("role", ["Loan officer", "Collector", "Risk analyst", "Auditor"])
def test_lesser_roles_cannot_write_off(make_user, role, overdue):
    response = api(make_user("u", role=role)).post(
        BASE + "write-offs/", {"loan": overdue.pk, "reason": "x"}, format="json"
    )
    assert response.status_code == 403
    assert Loan.objects.get(pk=overdue.pk).status == "overdue"


@pytest.mark.parametrize(
    "body",
    [
        {"amount": "0", "value_date": "2026-01-01", "bank_reference": "R"},
        {"amount": "abc", "value_date": "2026-01-01", "bank_reference": "R"},
        {"amount": "10", "value_date": "never", "bank_reference": "R"},
        {"amount": "10", "value_date": "2026-01-01"},
        {"amount": "10", "value_date": "2099-01-01", "bank_reference": "R"},
    ],
)
def test_bad_recoveries_are_400(approver, officer, overdue, body):
    api(approver).post(BASE + "write-offs/", {"loan": overdue.pk, "reason": "x"}, format="json")
    response = api(officer).post(BASE + "recoveries/", {"loan": overdue.pk, **body}, format="json")
    assert response.status_code == 400, response.content


def test_a_recovery_on_a_live_loan_is_409(officer, overdue):
    body = {"loan": overdue.pk, "amount": "10", "value_date": TODAY().isoformat(), "bank_reference": "R-9"}
    assert api(officer).post(BASE + "recoveries/", body, format="json").status_code == 409


@pytest.mark.parametrize(
    "url", ["collections/queue/", "collection-contacts/", "promises/", "legal-cases/", "write-offs/", "recoveries/"]
)
def test_staff_without_a_role_and_anonymous_are_refused(make_user, url):
    assert api(make_user("plain")).get(BASE + url).status_code == 403
    assert APIClient().get(BASE + url).status_code in (401, 403)


@pytest.mark.parametrize("endpoint", ["collection-contacts/", "promises/"])
def test_an_officer_cannot_reach_another_books_loan_by_its_id(make_user, overdue, endpoint):
    from tests.customers.factories import ManagerFactory

    other = ManagerFactory(user=make_user("rm-other", role="Loan officer"))
    overdue.customer.manager = other
    overdue.customer.save(update_fields=["manager"])
    outsider = make_user("rm-outsider", role="Loan officer")
    body = {"loan": overdue.pk, "channel": "call", "outcome": "reached"}
    if endpoint == "promises/":
        body = {"loan": overdue.pk, "promised_date": str(TODAY() + datetime.timedelta(days=3)), "amount": "100.00"}

    response = api(outsider).post(BASE + endpoint, body, format="json")

    # Answered like a loan that does not exist: neither its number nor that it exists leaks.
    assert response.status_code == 400
    assert f"No loan with id {overdue.pk}" in str(response.json())
    assert overdue.loan_number not in str(response.json())
