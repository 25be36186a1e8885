"""A counter-offer waits for the applicant's answer: accepted, it may be disbursed; declined,
the approval is cancelled and the credit line gets its draw back. The applicant answers in the
portal, or staff record an answer given to the bank."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEntry
from loans.models import ApprovalDecision, Disbursement, LoanApplication, OfferResponse
from loans.services import application_offer_answer
from loans.services.disbursements import disbursement_authorise, disbursement_authorise_batch
from loansite.errors import InvalidTransition, NotAllowed, ValidationFailed
from tests.loans.servicing import DAY, approved_application, disburse

pytestmark = pytest.mark.django_db
S = LoanApplication.Status


@pytest.fixture
def approver(make_user):
    from tests.loans.factories import AuthorityFactory

    user = make_user("approver", role="Credit approver")
    AuthorityFactory(user=user, limit=Decimal("5000000.00"))
    return user


def _offered(officer, approver, **extra):
    """Asked for 10,000; approved for 8,000: a counter-offer, on a line of 500,000."""
    return approved_application(officer, approver, amount="10000", approved_amount="8000", **extra)


def _entries(app):
    return AuditEntry.objects.filter(target_type="loans.loanapplication", target_id=str(app.pk)).order_by("seq")


def test_a_counter_offer_waits_for_an_answer_and_an_approval_as_asked_does_not(officer, approver):
    offered = _offered(officer, approver)
    assert offered.counter_offer and offered.offer_response == OfferResponse.PENDING
    assert offered.offer_responded_at is None
    as_asked = approved_application(officer, approver, amount="10000")
    assert not as_asked.counter_offer and as_asked.offer_response == ""
    # As asked, it goes straight to disbursement.
    assert disburse(officer, approver, as_asked).principal == Decimal("10000.00")


def test_no_disbursement_while_the_counter_offer_waits_then_accepted_it_goes_through(officer, approver):
    app = _offered(officer, approver)
    with pytest.raises(InvalidTransition, match="has not accepted the counter-offer"):
        disburse(officer, approver, app)
    assert not Disbursement.objects.filter(application=app).exists()

    application_offer_answer(application=app, accept=True, audit_details={"portal_account": 7})
    app.refresh_from_db()
    assert app.status == S.APPROVED and app.offer_response == OfferResponse.ACCEPTED
    assert app.offer_responded_at is not None
    entry = _entries(app).last()
    assert entry.actor is None and entry.changes["offer_response"] == ["pending", "accepted"]
    assert entry.changes["portal_account"] == 7
    loan = disburse(officer, approver, app)
    assert loan.principal == Decimal("8000.00")


def test_authorising_refuses_a_counter_offer_that_waits_one_by_one_and_in_a_batch(officer, approver):
    # Prepared before answers were asked for, then the offer was put back to the applicant.
    first, second = _offered(officer, approver), _offered(officer, approver)
    prepared = []
    for app in (first, second):
        LoanApplication.objects.filter(pk=app.pk).update(offer_response="")
        app.refresh_from_db()
        from loans.services.disbursements import disbursement_prepare

        prepared.append(
            disbursement_prepare(
                actor=officer, application=app, amount=app.approved_amount, value_date=DAY,
                contract_number=f"HT-{app.pk}", account="6222", conditions_checked=app.conditions_precedent,
            )
        )  # fmt: skip
    LoanApplication.objects.filter(pk__in=[first.pk, second.pk]).update(offer_response=OfferResponse.PENDING)
    with pytest.raises(InvalidTransition, match="has not accepted the counter-offer"):
        disbursement_authorise(actor=approver, disbursement=prepared[0])
    outcome = disbursement_authorise_batch(actor=approver, disbursements=[prepared[1]])
    assert not outcome.done and "has not accepted the counter-offer" in str(outcome.failed)
    assert LoanApplication.objects.get(pk=first.pk).status == S.APPROVED


def test_declining_cancels_the_approval_and_gives_the_line_its_draw_back(officer, approver):
    app = _offered(officer, approver)
    line = app.credit_line
    line.refresh_from_db()
    assert line.used == Decimal("8000.00")
    application_offer_answer(application=app, accept=False, reason="Too little for the new oven.")
    app.refresh_from_db()
    line.refresh_from_db()
    assert app.status == S.CANCELLED and app.offer_response == OfferResponse.DECLINED
    assert line.used == Decimal("0.00")
    decision = app.decisions.latest("id")
    assert decision.kind == ApprovalDecision.Kind.CANCEL and decision.reason == "Too little for the new oven."
    entry = _entries(app).last()
    assert entry.changes["status"] == ["approved", "cancelled"]
    assert entry.changes["offer_response"] == ["pending", "declined"]
    # No second answer, and nothing to disburse.
    with pytest.raises(InvalidTransition, match="no counter-offer waiting"):
        application_offer_answer(application=app, accept=True)
    with pytest.raises(InvalidTransition):
        disburse(officer, approver, app)


def test_an_answer_is_refused_where_none_is_asked_for_and_given_once(officer, approver):
    as_asked = approved_application(officer, approver, amount="10000")
    with pytest.raises(InvalidTransition, match="no counter-offer waiting"):
        application_offer_answer(application=as_asked, accept=True)
    app = _offered(officer, approver)
    application_offer_answer(application=app, accept=True)
    with pytest.raises(InvalidTransition):
        application_offer_answer(application=app, accept=False)
    app.refresh_from_db()
    assert app.status == S.APPROVED and app.offer_response == OfferResponse.ACCEPTED


def test_staff_record_an_answer_with_a_note_and_the_change_permission(officer, approver, auditor):
    app = _offered(officer, approver)
    with pytest.raises(ValidationFailed):
        application_offer_answer(actor=officer, application=app, accept=True, reason="  ")
    with pytest.raises(NotAllowed):
        application_offer_answer(actor=auditor, application=app, accept=True, reason="Phoned in")
    application_offer_answer(actor=officer, application=app, accept=True, reason="Accepted on the phone, 10:05")
    entry = _entries(app).last()
    assert entry.actor == officer and entry.reason == "Accepted on the phone, 10:05"
    with pytest.raises(ValidationFailed):
        application_offer_answer(application=_offered(officer, approver), accept=True, reason="x" * 2001)


def test_staff_api_records_the_answer(officer, approver, auditor):
    app = _offered(officer, approver)
    url = f"/api/v1/loans/applications/{app.pk}/offer-answer/"

    def client_for(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    assert client_for(auditor).post(url, {"answer": "accept", "reason": "x"}, format="json").status_code == 403
    staff = client_for(officer)
    missing = staff.post(url, {"answer": "accept"}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()
    assert staff.post(url, {"answer": "maybe", "reason": "x"}, format="json").status_code == 400
    done = staff.post(url, {"answer": "decline", "reason": "Declined at the branch"}, format="json")
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["status"] == "cancelled" and body["offer_response"] == "declined" and body["counter_offer"] is True
    again = staff.post(url, {"answer": "accept", "reason": "x"}, format="json")
    assert again.status_code == 409 and "no counter-offer waiting" in again.json()["detail"]


def test_admin_offers_the_buttons_only_while_the_offer_waits(client, officer, approver):
    app = _offered(officer, approver)
    client.force_login(officer)
    page = client.get(f"/admin/loans/loanapplication/{app.pk}/change/").content.decode()
    assert "Record acceptance of the counter-offer" in page and "Waiting for the applicant" in page
    assert 'id="prepare-disbursement"' not in page  # not before the answer
    url = f"/admin/loans/loanapplication/{app.pk}/decide/offer_accept/"
    assert client.post(url, {"reason": ""}).status_code == 200  # the form asks for the note
    response = client.post(url, {"reason": "Accepted by phone"})
    assert response.status_code == 302
    app.refresh_from_db()
    assert app.offer_response == OfferResponse.ACCEPTED
    page = client.get(f"/admin/loans/loanapplication/{app.pk}/change/").content.decode()
    assert "Record acceptance of the counter-offer" not in page and "Accepted by the applicant" in page
    assert 'id="prepare-disbursement"' in page


def test_the_public_status_page_says_what_the_answer_is(client, officer, approver):
    app = _offered(officer, approver)

    def page():
        return client.post("/apply/status/", {"reference": app.reference, "phone": app.contact_phone}).content.decode()

    assert "Please tell us whether you accept these terms" in page()
    application_offer_answer(application=app, accept=False, reason="No")
    declined = page()
    assert "You declined this offer on" in declined and 'id="counter-offer"' in declined


def test_cancelling_the_approval_withdraws_a_counter_offer_that_waits(officer, approver):
    from loans.services import application_cancel

    app = _offered(officer, approver)
    application_cancel(actor=approver, application=app, reason="The customer's situation changed.")
    app.refresh_from_db()
    assert app.status == S.CANCELLED and app.offer_response == ""
    assert _entries(app).last().changes["offer_response"] == ["pending", ""]
    with pytest.raises(InvalidTransition):
        application_offer_answer(application=app, accept=True)
