"""A customer accepts or declines a counter-offer in the portal (the page and the API): only
their own, only while it waits, audited with the portal account."""

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEntry
from loans.models import LoanApplication, OfferResponse
from tests.loans.servicing import approved_application

pytestmark = pytest.mark.django_db
S = LoanApplication.Status
API = "/api/v1/portal"


def _offered(customer, officer, approver):
    return approved_application(officer, approver, customer=customer, amount="50000", approved_amount="30000")


def test_the_page_asks_for_an_answer_and_accepting_records_it(browser, mine, officer, approver):
    app = _offered(mine, officer, approver)
    page = browser.get(f"/portal/applications/{app.pk}/").content.decode()
    assert 'id="offer-accept"' in page and 'id="offer-decline"' in page
    assert browser.get(f"/portal/applications/{app.pk}/offer/").status_code == 405
    response = browser.post(f"/portal/applications/{app.pk}/offer/", {"answer": "accept"}, follow=True)
    page = response.content.decode()
    assert "You accepted our offer" in page and 'id="offer-accept"' not in page
    assert "You accepted these terms on" in page
    app.refresh_from_db()
    assert app.status == S.APPROVED and app.offer_response == OfferResponse.ACCEPTED
    entry = AuditEntry.objects.filter(target_type="loans.loanapplication", target_id=str(app.pk)).latest("seq")
    assert entry.actor is None and entry.changes["portal_account"] == browser.account.pk
    assert entry.changes["answered_in"] == "portal"
    # A second answer: a message, nothing changed.
    again = browser.post(f"/portal/applications/{app.pk}/offer/", {"answer": "decline"}, follow=True)
    assert "no counter-offer waiting" in again.content.decode()
    app.refresh_from_db()
    assert app.offer_response == OfferResponse.ACCEPTED


def test_declining_closes_the_application_and_the_page_says_so(browser, mine, officer, approver):
    app = _offered(mine, officer, approver)
    response = browser.post(
        f"/portal/applications/{app.pk}/offer/", {"answer": "decline", "note": "We found a cheaper loan."}, follow=True
    )
    page = response.content.decode()
    assert "You declined our offer. The application is closed." in page
    assert "You declined this offer on" in page
    app.refresh_from_db()
    assert app.status == S.CANCELLED and app.offer_response == OfferResponse.DECLINED
    assert app.decisions.latest("id").reason == "We found a cheaper loan."


def test_bad_answers_and_other_customers_offers(browser, mine, theirs, officer, approver):
    app = _offered(mine, officer, approver)
    for data in ({"answer": "maybe"}, {}, {"answer": "accept", "note": "x" * 2001}):
        response = browser.post(f"/portal/applications/{app.pk}/offer/", data, follow=True)
        assert response.status_code == 200 and "Please choose to accept or decline" in response.content.decode()
    app.refresh_from_db()
    assert app.offer_response == OfferResponse.PENDING
    other = _offered(theirs, officer, approver)
    assert browser.post(f"/portal/applications/{other.pk}/offer/", {"answer": "decline"}).status_code == 404
    other.refresh_from_db()
    assert other.status == S.APPROVED and other.offer_response == OfferResponse.PENDING


def test_signed_out_and_staff_cannot_answer(client, mine, officer, approver):
    app = _offered(mine, officer, approver)
    response = client.post(f"/portal/applications/{app.pk}/offer/", {"answer": "decline"})
    assert response.status_code == 302 and response["Location"].startswith("/portal/login/")
    client.force_login(officer)
    assert client.post(f"/portal/applications/{app.pk}/offer/", {"answer": "decline"}).status_code == 302
    app.refresh_from_db()
    assert app.offer_response == OfferResponse.PENDING


def test_api_shows_the_offer_waiting_and_takes_the_answer(api, mine, theirs, officer, approver):
    app = _offered(mine, officer, approver)
    detail = api.get(f"{API}/applications/{app.pk}/").json()
    assert detail["offer"]["response"] == "pending" and detail["offer"]["amount"] == "30000.00"
    bad = api.post(f"{API}/applications/{app.pk}/offer/", {"answer": "maybe"}, format="json")
    assert bad.status_code == 400 and "answer" in bad.json()
    other = _offered(theirs, officer, approver)
    assert api.post(f"{API}/applications/{other.pk}/offer/", {"answer": "accept"}, format="json").status_code == 404
    done = api.post(f"{API}/applications/{app.pk}/offer/", {"answer": "accept"}, format="json")
    assert done.status_code == 200, done.content
    assert done.json()["offer"]["response"] == "accepted" and done.json()["offer"]["responded_at"]
    again = api.post(f"{API}/applications/{app.pk}/offer/", {"answer": "decline"}, format="json")
    assert again.status_code == 409
    assert APIClient().post(f"{API}/applications/{app.pk}/offer/", {"answer": "decline"}).status_code == 401
