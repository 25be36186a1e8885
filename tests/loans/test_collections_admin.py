"""Collections in the admin: the delinquency list (columns, filters, constant queries, batch
assignment with confirmation), the workbench, the loan page's collections section and the
write-off confirmation; lesser roles refused."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from loans.models import CollectionCase, CollectionContact, Loan, PromiseToPay, WriteOff
from loans.services import collections as svc
from tests.loans.servicing import disbursed_loan
from tests.loans.test_collections import make_overdue

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate
LIST = "/admin/loans/delinquentloan/"
WORKBENCH = "/admin/loans/delinquentloan/workbench/"


def action_url(loan, action):
    return reverse("admin:loans_delinquentloan_collections", args=[loan.pk, action])


@pytest.fixture
def collector(make_user):
    return make_user("collector", role="Collector")


@pytest.fixture
def analyst(make_user):
    return make_user("analyst", role="Risk analyst")


@pytest.fixture
def overdue(officer, approver):
    return make_overdue(disbursed_loan(officer, approver), dpd=200, bucket="181-360", risk_class="doubtful")


def test_the_delinquency_list_shows_dpd_bucket_class_collector_contact_and_promise(client, analyst, collector, overdue):
    svc.collection_assign(actor=analyst, loan=overdue, collector=collector)
    svc.collection_contact_log(
        actor=collector,
        loan=overdue,
        channel="call",
        outcome="promised",
        promise_date=TODAY() + datetime.timedelta(days=3),
        promise_amount="1234.5",
    )
    Loan.objects.filter(pk=overdue.pk).update(penalty_accrued="56.78")
    client.force_login(collector)
    response = client.get(LIST)
    assert response.status_code == 200
    text = response.content.decode()
    for expected in (overdue.loan_number, "181-360", "Doubtful", "56.78", "collector", "Promised to pay", "1,234.50"):
        assert expected in text, expected


def test_the_list_filters_by_bucket_class_and_collector(client, analyst, collector, overdue, officer, approver):
    other = make_overdue(disbursed_loan(officer, approver), dpd=20, bucket="1-30", risk_class="special_mention")
    svc.collection_assign(actor=analyst, loan=overdue, collector=collector)
    client.force_login(collector)
    for query, shown, hidden in (
        ("dpd_bucket=1-30", other, overdue),
        ("risk_class=doubtful", overdue, other),
        ("collector=me", overdue, other),
        ("collector=none", other, overdue),
        (f"collector={collector.pk}", overdue, other),
    ):
        text = client.get(f"{LIST}?{query}").content.decode()
        assert shown.loan_number in text and hidden.loan_number not in text, query


def test_the_list_runs_the_same_queries_for_more_rows(
    client, analyst, collector, officer, approver, django_assert_max_num_queries
):
    loans = [make_overdue(disbursed_loan(officer, approver)) for _ in range(2)]
    for loan in loans:
        svc.collection_assign(actor=analyst, loan=loan, collector=collector)
        svc.promise_create(actor=collector, loan=loan, promised_date=TODAY(), amount="10")
    client.force_login(collector)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(LIST)
    for loan in [make_overdue(disbursed_loan(officer, approver)) for _ in range(3)]:
        svc.collection_assign(actor=analyst, loan=loan, collector=collector)
        svc.promise_create(actor=collector, loan=loan, promised_date=TODAY(), amount="10")
    with CaptureQueriesContext(connection) as more:
        client.get(LIST)
    assert len(more) == len(few)


def test_batch_assignment_shows_a_confirmation_then_assigns(client, analyst, collector, overdue, officer, approver):
    other = make_overdue(disbursed_loan(officer, approver))
    client.force_login(analyst)
    data = {"action": "assign_collector", "_selected_action": [overdue.pk, other.pk]}
    page = client.post(LIST, data)
    assert page.status_code == 200 and b"Assign 2 loans to a collector" in page.content
    assert not CollectionCase.objects.exists()
    done = client.post(LIST, {**data, "confirm": "yes", "collector": collector.pk, "note": "month end"})
    assert done.status_code == 302
    assert set(CollectionCase.objects.values_list("loan_id", "collector_id")) == {
        (overdue.pk, collector.pk),
        (other.pk, collector.pk),
    }


def test_a_collector_has_no_batch_assignment(client, collector, overdue):
    client.force_login(collector)
    response = client.get(LIST)
    assert b"assign_collector" not in response.content
    client.post(
        LIST,
        {"action": "assign_collector", "_selected_action": [overdue.pk], "confirm": "yes", "collector": collector.pk},
    )
    assert not CollectionCase.objects.exists()


def test_the_workbench_shows_my_loans_and_logs_a_quick_contact_with_a_promise(client, analyst, collector, overdue):
    svc.collection_assign(actor=analyst, loan=overdue, collector=collector)
    client.force_login(collector)
    page = client.get(WORKBENCH)
    assert page.status_code == 200
    assert overdue.loan_number in page.content.decode() and b"unassigned-queue" not in page.content
    day = TODAY() + datetime.timedelta(days=2)
    response = client.post(
        WORKBENCH,
        {
            "form": "contact",
            "quick-loan_number": overdue.loan_number.lower(),
            "quick-channel": "visit",
            "quick-outcome": "promised",
            "quick-promise_date": day.isoformat(),
            "quick-promise_amount": "300",
        },
    )
    assert response.status_code == 302
    assert CollectionContact.objects.get().channel == "visit"
    assert PromiseToPay.objects.get().promised_date == day


def test_the_workbench_reports_bad_quick_input_as_form_errors(client, analyst, collector, overdue):
    svc.collection_assign(actor=analyst, loan=overdue, collector=collector)
    client.force_login(collector)
    response = client.post(
        WORKBENCH,
        {"form": "contact", "quick-loan_number": "LN-NOPE", "quick-channel": "call", "quick-outcome": "reached"},
    )
    assert response.status_code == 200 and b"No loan with this number" in response.content
    response = client.post(
        WORKBENCH,
        {
            "form": "contact",
            "quick-loan_number": overdue.loan_number,
            "quick-channel": "call",
            "quick-outcome": "reached",
            "quick-promise_amount": "10",
        },
    )
    assert response.status_code == 200 and b"A promise needs both a date and an amount" in response.content
    assert not CollectionContact.objects.exists()


def test_the_workbench_batch_assigns_for_an_analyst_only(client, analyst, collector, overdue):
    client.force_login(collector)
    assert (
        client.post(WORKBENCH, {"form": "assign", "assign-collector": collector.pk, "loan": [overdue.pk]}).status_code
        == 403
    )
    client.force_login(analyst)
    page = client.get(WORKBENCH)
    assert b"unassigned-queue" in page.content
    response = client.post(WORKBENCH, {"form": "assign", "assign-collector": collector.pk, "loan": [overdue.pk]})
    assert response.status_code == 302
    assert CollectionCase.objects.get(loan=overdue).collector == collector


def test_the_loan_page_has_a_collections_section(client, analyst, collector, overdue):
    svc.collection_assign(actor=analyst, loan=overdue, collector=collector)
    client.force_login(collector)
    page = client.get(reverse("admin:loans_loan_change", args=[overdue.pk]))
    text = page.content.decode()
    assert 'id="collections"' in text and 'id="collections-collector">collector<' in text
    assert action_url(overdue, "contact") in text
    assert action_url(overdue, "write-off") not in text


def test_an_approver_writes_off_through_the_confirmation_page(client, approver2, overdue):
    client.force_login(approver2)
    page = client.get(reverse("admin:loans_loan_change", args=[overdue.pk]))
    assert action_url(overdue, "write-off") in page.content.decode()
    confirm = client.get(action_url(overdue, "write-off"))
    assert confirm.status_code == 200 and b"Outstanding principal (off the books)" in confirm.content
    unconfirmed = client.post(action_url(overdue, "write-off"), {"reason": "insolvent"})
    assert unconfirmed.status_code == 200 and Loan.objects.get(pk=overdue.pk).status == "overdue"
    done = client.post(action_url(overdue, "write-off"), {"reason": "insolvent", "confirm": "on"})
    assert done.status_code == 302
    assert Loan.objects.get(pk=overdue.pk).status == "written_off" and WriteOff.objects.filter(loan=overdue).exists()


def test_a_loan_that_does_not_qualify_shows_why_and_is_not_written_off(client, approver, officer):
    loan = make_overdue(disbursed_loan(officer, approver), dpd=5, bucket="1-30")
    client.force_login(approver)
    page = client.get(action_url(loan, "write-off"))
    assert b"a write-off needs the loss category" in page.content
    response = client.post(action_url(loan, "write-off"), {"reason": "x", "confirm": "on"})
    assert response.status_code == 200 and b"loss category" in response.content
    assert Loan.objects.get(pk=loan.pk).status == "overdue"


def test_a_recovery_through_the_admin(client, approver, officer, overdue):
    from loans.services.writeoff import loan_write_off

    loan_write_off(actor=approver, loan=overdue, reason="x")
    client.force_login(officer)
    response = client.post(
        action_url(overdue, "recovery"),
        {"amount": "100", "value_date": TODAY().isoformat(), "bank_reference": "ADM-R1"},
    )
    assert response.status_code == 302
    bad = client.post(
        action_url(overdue, "recovery"), {"amount": "100", "value_date": "2099-01-01", "bank_reference": "X"}
    )
    assert bad.status_code == 200 and b"in the future" in bad.content


@pytest.mark.parametrize(
    "role, action",
    [
        ("Collector", "write-off"),
        ("Collector", "assign"),
        ("Collector", "legal"),
        ("Loan officer", "write-off"),
        ("Auditor", "contact"),
        ("Auditor", "recovery"),
        ("Risk analyst", "contact"),
        ("Model ops", "promise"),
    ],
)
def test_lesser_roles_are_refused_the_actions(client, make_user, overdue, role, action):
    client.force_login(make_user("u", role=role))
    assert client.get(action_url(overdue, action)).status_code == 403
    assert client.post(action_url(overdue, action), {"reason": "x", "confirm": "on"}).status_code == 403
    assert Loan.objects.get(pk=overdue.pk).status == "overdue"


def test_staff_without_a_role_sees_no_delinquency(client, make_user):
    client.force_login(make_user("plain"))
    assert client.get(LIST).status_code == 403
    assert client.get(WORKBENCH).status_code == 403


@pytest.mark.parametrize("model", ["writeoff", "recovery", "legalcase", "promisetopay", "collectioncontact"])
def test_the_collections_records_are_read_only_lists(
    client, auditor, make_user, approver, officer, analyst, collector, overdue, model
):
    from loans.services.writeoff import loan_write_off, recovery_post

    svc.collection_assign(actor=analyst, loan=overdue, collector=collector)
    svc.collection_contact_log(
        actor=collector, loan=overdue, channel="call", outcome="promised", promise_date=TODAY(), promise_amount="10"
    )
    svc.legal_case_open(actor=approver, loan=overdue)
    loan_write_off(actor=approver, loan=overdue, reason="x")
    recovery_post(actor=officer, loan=overdue, amount="10", value_date=TODAY(), bank_reference="LIST-R1")
    url = f"/admin/loans/{model}/"
    client.force_login(auditor)
    response = client.get(url)
    assert response.status_code == 200 and overdue.loan_number in response.content.decode()
    assert client.get(url + "add/").status_code == 403
    client.force_login(make_user("plain"))
    assert client.get(url).status_code == 403
