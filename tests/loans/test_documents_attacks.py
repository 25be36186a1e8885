"""Documents as an attacker: a PDF that is also an HTML page, downloaded by the customer on the
portal (web and API) and by staff; someone else's document by id."""

import pytest
from django.urls import reverse

from loans.services.documents import PDF, document_detect, document_upload
from tests.customers.factories import ManagerFactory
from tests.customers.portal.factories import PORTAL_PASSWORD, portal_account_make
from tests.loans.factories import CustomerFactory

pytestmark = pytest.mark.django_db

# Starts like a PDF, ends like one, and is an HTML page with a script in between.
POLYGLOT = b"%PDF-1.4\n<html><body><script>alert(document.cookie)</script></body></html>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _documents_root(tmp_path, settings):
    settings.DOCUMENTS_ROOT = tmp_path / "documents"


@pytest.fixture
def setup(make_user):
    officer = make_user("officer_a", role="Loan officer")
    other_officer = make_user("officer_b", role="Loan officer")
    mine = CustomerFactory(manager=ManagerFactory(user=officer))
    theirs = CustomerFactory(manager=ManagerFactory(user=other_officer))
    account = portal_account_make(mine, username="mine-holder")
    portal_account_make(theirs, username="theirs-holder")
    mine_doc = document_upload(
        customer=mine, kind="other", file=POLYGLOT, original_name="statement.pdf", portal_account=account
    )
    theirs_doc = document_upload(
        customer=theirs, kind="other", file=POLYGLOT, original_name="theirs.pdf", actor=other_officer
    )
    return {"officer": officer, "account": account, "mine_doc": mine_doc, "theirs_doc": theirs_doc}


def _assert_inert_download(response):
    assert response.status_code == 200
    assert response["Content-Type"] == PDF
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "no-store" in response["Cache-Control"]


def test_polyglot_is_taken_as_a_pdf_only():
    assert document_detect(POLYGLOT) == PDF


def test_portal_web_download_of_a_polyglot_is_inert(client, setup):
    client.post("/portal/login/", {"login": setup["account"].phone, "password": PORTAL_PASSWORD})
    response = client.get(reverse("portal:document", args=[setup["mine_doc"].pk]))
    _assert_inert_download(response)
    assert client.get(reverse("portal:document", args=[setup["theirs_doc"].pk])).status_code == 404


def test_portal_api_download_of_a_polyglot_is_inert(client, setup):
    tokens = client.post(
        "/api/v1/portal/auth/token/",
        {"login": setup["account"].phone, "password": PORTAL_PASSWORD},
        content_type="application/json",
    ).json()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access']}"}
    response = client.get(f"/api/v1/portal/documents/{setup['mine_doc'].pk}/", **auth)
    _assert_inert_download(response)
    assert client.get(f"/api/v1/portal/documents/{setup['theirs_doc'].pk}/", **auth).status_code == 404


def test_officer_downloads_only_their_book(client, setup):
    client.force_login(setup["officer"])
    mine = client.get(reverse("admin:loans_document_download", args=[setup["mine_doc"].pk]))
    _assert_inert_download(mine)
    theirs = client.get(reverse("admin:loans_document_download", args=[setup["theirs_doc"].pk]))
    assert theirs.status_code == 404
    assert client.get(f"/api/v1/documents/{setup['theirs_doc'].pk}/download/").status_code == 404
