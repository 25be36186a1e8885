"""Documents in the admin and the staff API: who may upload, list and download (role and book),
what a download answers with, the application page's requests and new uploads, audit."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditAction, AuditEntry
from loans.models import Document, DocumentRequest, LoanApplication
from loans.services.documents import document_request_create, document_upload
from loansite import roles
from tests.customers.factories import ManagerFactory
from tests.loans import document_samples as samples
from tests.loans.factories import ApplicationFactory, CustomerFactory, LoanFactory

pytestmark = pytest.mark.django_db
API = "/api/v1/documents/"


@pytest.fixture(autouse=True)
def _documents_root(tmp_path, settings):
    settings.DOCUMENTS_ROOT = tmp_path / "documents"
    settings.DOCUMENTS_MAX_UPLOAD_MB = 1
    return settings.DOCUMENTS_ROOT


@pytest.fixture
def users(make_user):
    return {
        "officer": make_user("officer", role=roles.LOAN_OFFICER),
        "approver": make_user("approver", role=roles.CREDIT_APPROVER),
        "analyst": make_user("analyst", role=roles.RISK_ANALYST),
        "auditor": make_user("auditor", role=roles.AUDITOR),
        "admin": make_user("administrator", role=roles.ADMINISTRATOR),
        "ops": make_user("ops", role=roles.MODEL_OPS),
        "collector": make_user("collector", role=roles.COLLECTOR),
    }


@pytest.fixture
def returned(users, product):
    """An application returned for information, of a customer the officer manages."""
    customer = CustomerFactory(manager=ManagerFactory(user=users["officer"]))
    return ApplicationFactory(
        customer=customer, product=product, status=LoanApplication.Status.RETURNED, created_by=users["officer"]
    )


@pytest.fixture
def others_customer(make_user):
    """A customer in another officer's book."""
    return CustomerFactory(manager=ManagerFactory(user=make_user("other-officer", role=roles.LOAN_OFFICER)))


def _doc(users, customer, **extra):
    return document_upload(
        actor=users["admin"], customer=customer, kind="other", file=samples.pdf_bytes(), original_name="a.pdf", **extra
    )


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- admin: download ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, status",
    [
        ("officer", 200),
        ("approver", 200),
        ("analyst", 200),
        ("auditor", 200),
        ("admin", 200),
        ("ops", 403),
        ("collector", 403),
    ],
)
def test_admin_download_per_role(client, users, returned, role, status):
    document = _doc(users, returned.customer, application=returned)
    client.force_login(users[role])
    response = client.get(reverse("admin:loans_document_download", args=[document.pk]))
    # Roles without the documents permission are refused by the admin (403 for staff without it).
    assert response.status_code in ((status,) if status == 200 else (403, 404))
    downloads = AuditEntry.objects.filter(action=AuditAction.EXPORT, target_type="loans.document")
    if status == 200:
        assert b"".join(response.streaming_content) == samples.pdf_bytes()
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert downloads.get().actor == users[role]
    else:
        assert not downloads.exists()


def test_admin_download_of_another_book_is_404(client, users, others_customer):
    document = _doc(users, others_customer)
    client.force_login(users["officer"])
    assert client.get(reverse("admin:loans_document_download", args=[document.pk])).status_code == 404
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()
    client.force_login(users["approver"])  # sees every book
    assert client.get(reverse("admin:loans_document_download", args=[document.pk])).status_code == 200


def test_admin_download_header_names_the_file_safely(client, users, returned):
    document = document_upload(
        actor=users["officer"],
        customer=returned.customer,
        kind="other",
        file=samples.pdf_bytes(),
        original_name='营业执照 "2025".pdf',
    )
    client.force_login(users["officer"])
    response = client.get(reverse("admin:loans_document_download", args=[document.pk]))
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=utf-8''" in disposition and "\n" not in disposition


def test_admin_changelist_is_scoped(client, users, returned, others_customer):
    mine = _doc(users, returned.customer)
    theirs = _doc(users, others_customer)
    client.force_login(users["officer"])
    response = client.get(reverse("admin:loans_document_changelist"))
    assert response.status_code == 200
    ids = {obj.pk for obj in response.context["cl"].result_list}
    assert ids == {mine.pk}
    assert theirs.pk not in ids
    client.force_login(users["auditor"])
    response = client.get(reverse("admin:loans_document_changelist"))
    assert {obj.pk for obj in response.context["cl"].result_list} == {mine.pk, theirs.pk}


# --- admin: upload -----------------------------------------------------------------------------


def test_admin_upload_for_an_application(client, users, returned):
    client.force_login(users["officer"])
    url = reverse("admin:loans_document_upload") + f"?application={returned.pk}"
    assert client.get(url).status_code == 200
    upload = SimpleUploadedFile("流水.png", samples.png_bytes(), content_type="image/png")
    response = client.post(url, {"kind": "bank_statements", "file": upload})
    assert response.status_code == 302
    assert response["Location"].endswith(f"/loanapplication/{returned.pk}/change/#documents")
    document = Document.objects.get()
    assert (document.customer, document.application, document.content_type) == (
        returned.customer,
        returned,
        "image/png",
    )
    assert document.uploaded_by == users["officer"]


def test_admin_upload_of_a_renamed_executable_is_a_form_error(client, users, returned):
    client.force_login(users["officer"])
    url = reverse("admin:loans_document_upload") + f"?customer={returned.customer.pk}"
    upload = SimpleUploadedFile("licence.pdf", samples.exe_bytes(), content_type="application/pdf")
    response = client.post(url, {"kind": "business_licence", "file": upload})
    assert response.status_code == 200
    assert "Programs and scripts are not accepted" in response.content.decode()
    assert not Document.objects.exists()


def test_admin_upload_of_an_oversized_file_is_a_form_error(client, users, returned):
    client.force_login(users["officer"])
    url = reverse("admin:loans_document_upload") + f"?customer={returned.customer.pk}"
    data = samples.pdf_bytes() + b"0" * (1024 * 1024 + 10) + b"%%EOF"
    response = client.post(url, {"kind": "other", "file": SimpleUploadedFile("big.pdf", data)})
    assert response.status_code == 200
    assert "larger than 1 MB" in response.content.decode()
    assert not Document.objects.exists()


def test_admin_upload_for_another_book_is_404(client, users, others_customer):
    client.force_login(users["officer"])
    url = reverse("admin:loans_document_upload") + f"?customer={others_customer.pk}"
    assert client.get(url).status_code == 404
    response = client.post(url, {"kind": "other", "file": SimpleUploadedFile("a.pdf", samples.pdf_bytes())})
    assert response.status_code == 404
    assert not Document.objects.exists()


def test_admin_upload_needs_the_add_permission(client, users, returned):
    client.force_login(users["auditor"])
    url = reverse("admin:loans_document_upload") + f"?customer={returned.customer.pk}"
    response = client.post(url, {"kind": "other", "file": SimpleUploadedFile("a.pdf", samples.pdf_bytes())})
    assert response.status_code == 403
    assert not Document.objects.exists()


# --- admin: requests and the application page --------------------------------------------------


def test_officer_asks_for_documents_and_sees_the_customer_upload_arrive(client, users, returned):
    client.force_login(users["officer"])
    ask = reverse("admin:loans_documentrequest_ask", args=[returned.pk])
    response = client.post(ask, {"kinds": ["bank_statements", "financial_statements"], "note": "2025 全年"})
    assert response.status_code == 302
    assert set(DocumentRequest.objects.values_list("kind", "status")) == {
        ("bank_statements", "open"),
        ("financial_statements", "open"),
    }
    page = client.get(reverse("admin:loans_loanapplication_change", args=[returned.pk]))
    html = page.content.decode()
    assert 'id="document-requests"' in html and "2025 全年" in html
    assert "No documents yet." in html

    # The customer's upload (the portal's call of the same service) arrives on the page.
    from tests.customers.portal.factories import portal_account_make

    document = document_upload(
        portal_account=portal_account_make(returned.customer),
        customer=returned.customer,
        application=returned,
        kind="bank_statements",
        file=samples.pdf_bytes(),
        original_name="流水.pdf",
    )
    html = client.get(reverse("admin:loans_loanapplication_change", args=[returned.pk])).content.decode()
    assert "流水.pdf" in html and "document-new" in html and "the customer (portal)" in html
    assert reverse("admin:loans_document_download", args=[document.pk]) in html
    statuses = dict(DocumentRequest.objects.values_list("kind", "status"))
    assert statuses == {"bank_statements": "fulfilled", "financial_statements": "open"}


def test_cancel_a_request_from_the_admin(client, users, returned):
    doc_request = document_request_create(actor=users["officer"], application=returned, kind="id")
    client.force_login(users["officer"])
    url = reverse("admin:loans_documentrequest_cancel", args=[doc_request.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"reason": "on file"}).status_code == 302
    doc_request.refresh_from_db()
    assert doc_request.status == "cancelled"


def test_ask_for_another_books_application_is_404(client, users, others_customer, product):
    app = ApplicationFactory(customer=others_customer, product=product, status=LoanApplication.Status.RETURNED)
    client.force_login(users["officer"])
    response = client.post(reverse("admin:loans_documentrequest_ask", args=[app.pk]), {"kinds": ["id"]})
    assert response.status_code == 404
    assert not DocumentRequest.objects.exists()


def test_customer_and_loan_pages_show_documents(client, users):
    loan = LoanFactory()
    document = _doc(users, loan.customer, loan=loan)
    client.force_login(users["approver"])
    for url in (
        reverse("admin:customers_customer_change", args=[loan.customer.pk]),
        reverse("admin:loans_loan_change", args=[loan.pk]),
    ):
        html = client.get(url).content.decode()
        assert 'id="documents"' in html, url
        assert reverse("admin:loans_document_download", args=[document.pk]) in html, url


# --- API ---------------------------------------------------------------------------------------


def test_api_upload_list_download(users, returned):
    client = api(users["officer"])
    data = samples.xlsx_bytes()  # once: a workbook records the second it was saved
    upload = SimpleUploadedFile("../../x/报表.xlsx", data, content_type="text/html")
    response = client.post(
        API, {"application": returned.pk, "kind": "financial_statements", "file": upload}, format="multipart"
    )
    assert response.status_code == 201, response.data
    body = response.data
    assert body["customer"] == returned.customer.pk
    assert body["original_name"] == "报表.xlsx"
    assert body["content_type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "storage_name" not in body
    listed = client.get(API, {"application": returned.pk})
    assert listed.status_code == 200 and [row["id"] for row in listed.data["results"]] == [body["id"]]
    download = client.get(body["download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == data
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Disposition"].startswith("attachment;")
    actions = list(AuditEntry.objects.filter(target_type="loans.document").values_list("action", flat=True))
    assert sorted(actions) == ["create", "export"]


def test_api_refuses_a_renamed_executable_with_400(users, returned):
    upload = SimpleUploadedFile("contract.pdf", samples.exe_bytes(), content_type="application/pdf")
    response = api(users["officer"]).post(
        API, {"customer": returned.customer.pk, "kind": "contract", "file": upload}, format="multipart"
    )
    assert response.status_code == 400
    assert "Programs and scripts" in response.data["detail"]
    assert not Document.objects.exists()


def test_api_another_books_rows_are_404(users, others_customer):
    document = _doc(users, others_customer)
    client = api(users["officer"])
    assert client.get(f"{API}{document.pk}/").status_code == 404
    assert client.get(f"{API}{document.pk}/download/").status_code == 404
    assert client.get(API).data["count"] == 0
    upload = SimpleUploadedFile("a.pdf", samples.pdf_bytes())
    response = client.post(API, {"customer": others_customer.pk, "kind": "other", "file": upload}, format="multipart")
    assert response.status_code == 404
    assert Document.objects.count() == 1


@pytest.mark.parametrize("role, status", [("auditor", 200), ("ops", 403), ("collector", 403)])
def test_api_read_per_role(users, returned, role, status):
    document = _doc(users, returned.customer)
    client = api(users[role])
    assert client.get(API).status_code == status
    assert client.get(f"{API}{document.pk}/download/").status_code == status


def test_api_upload_needs_the_add_permission(users, returned):
    upload = SimpleUploadedFile("a.pdf", samples.pdf_bytes())
    response = api(users["auditor"]).post(
        API, {"customer": returned.customer.pk, "kind": "other", "file": upload}, format="multipart"
    )
    assert response.status_code == 403
    assert not Document.objects.exists()


def test_api_loan_and_application_must_agree(users, returned):
    loan = LoanFactory(application__customer=returned.customer)
    upload = SimpleUploadedFile("a.pdf", samples.pdf_bytes())
    response = api(users["approver"]).post(
        API, {"application": returned.pk, "loan": loan.pk, "kind": "contract", "file": upload}, format="multipart"
    )
    assert response.status_code == 400
    assert not Document.objects.exists()


def test_api_upload_past_the_reading_limit_is_400(users, returned, settings):
    """Past the upload handler's limit the file is not read at all: still a 400 with the reason."""
    settings.IMPORT_MAX_UPLOAD_MB = 0.001  # the first upload handler stops reading after ~1 KB
    data = samples.pdf_bytes() + b"0" * 4096 + b"%%EOF"
    response = api(users["officer"]).post(
        API,
        {"customer": returned.customer.pk, "kind": "other", "file": SimpleUploadedFile("big.pdf", data)},
        format="multipart",
    )
    assert response.status_code == 400
    assert "larger than" in response.data["detail"]
    assert not Document.objects.exists()


def test_admin_upload_past_the_reading_limit_is_a_form_error(client, users, returned, settings):
    settings.IMPORT_MAX_UPLOAD_MB = 0.001
    client.force_login(users["officer"])
    url = reverse("admin:loans_document_upload") + f"?customer={returned.customer.pk}"
    data = samples.pdf_bytes() + b"0" * 4096 + b"%%EOF"
    response = client.post(url, {"kind": "other", "file": SimpleUploadedFile("big.pdf", data)})
    assert response.status_code == 200
    assert "larger than" in response.content.decode()
    assert not Document.objects.exists()


def test_admin_detail_page_never_shows_where_the_file_is(client, users, returned):
    document = _doc(users, returned.customer)
    client.force_login(users["auditor"])
    response = client.get(reverse("admin:loans_document_change", args=[document.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert document.sha256 in html
    assert document.storage_name not in html
    assert document.storage_name.split("/")[-1] not in html
