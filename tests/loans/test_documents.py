"""Documents: content checks, storage, fulfilment of requests, audit (the services)."""

import hashlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditAction, AuditEntry
from loans.models import Document, DocumentKind, DocumentRequest, LoanApplication
from loans.services.documents import (
    DOCX,
    JPEG,
    PDF,
    PNG,
    XLSX,
    document_clean_name,
    document_detect,
    document_open,
    document_path,
    document_request_cancel,
    document_request_create,
    document_upload,
)
from loansite.errors import Conflict, InvalidTransition, NotAllowed, NotFound, ValidationFailed
from tests.loans import document_samples as samples
from tests.loans.factories import ApplicationFactory, CustomerFactory, LoanFactory


@pytest.fixture(autouse=True)
def _documents_root(tmp_path, settings):
    settings.DOCUMENTS_ROOT = tmp_path / "documents"
    settings.DOCUMENTS_MAX_UPLOAD_MB = 1
    settings.DOCUMENTS_MAX_UNCOMPRESSED_MB = 1
    return settings.DOCUMENTS_ROOT


@pytest.fixture
def returned(officer, product):
    return ApplicationFactory(product=product, status=LoanApplication.Status.RETURNED, created_by=officer)


# --- content checks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, expected",
    [
        (samples.pdf_bytes(), PDF),
        (samples.png_bytes(), PNG),
        (samples.jpeg_bytes(), JPEG),
        (samples.xlsx_bytes(), XLSX),
        (samples.docx_bytes(), DOCX),
    ],
    ids=["pdf", "png", "jpeg", "xlsx", "docx"],
)
def test_accepted_types_are_told_by_content(data, expected):
    assert document_detect(data) == expected


@pytest.mark.parametrize(
    "data, message",
    [
        (samples.exe_bytes(), "Programs and scripts"),
        (samples.elf_bytes(), "Programs and scripts"),
        (b"#!/bin/sh\nrm -rf /\n", "Programs and scripts"),
        (samples.HTML, "not accepted"),
        (samples.SVG, "not accepted"),
        (b"<?xml version='1.0'?>" + samples.SVG, "not accepted"),
        (samples.plain_zip_bytes(), "not accepted"),
        (b"GIF89a" + b"\x00" * 20, "not accepted"),
        (b"", "empty"),
        (samples.pdf_bytes()[:40], "damaged or incomplete"),
        (samples.png_bytes()[:-12], "damaged or incomplete"),
        (samples.jpeg_bytes()[:-2], "damaged or incomplete"),
        (samples.xlsx_bytes()[:-200], "not accepted"),
        (samples.docm_bytes(), "macros"),
    ],
    ids=[
        "exe",
        "elf",
        "script",
        "html",
        "svg",
        "svg-xml",
        "plain-zip",
        "gif",
        "empty",
        "truncated-pdf",
        "truncated-png",
        "truncated-jpeg",
        "truncated-xlsx",
        "macro-docx",
    ],
)
def test_refused_content(data, message):
    with pytest.raises(ValidationFailed, match=message):
        document_detect(data)


def test_zip_bomb_refused_before_inflating(settings):
    settings.DOCUMENTS_MAX_UNCOMPRESSED_MB = 1
    bomb = samples.zip_bomb_bytes(2 * 1024 * 1024)
    assert len(bomb) < 20_000  # small on the wire, 2 MB inflated
    with pytest.raises(ValidationFailed, match="expands to more than 1 MB"):
        document_detect(bomb)


def test_office_document_with_a_huge_content_types_part_refused(settings):
    settings.DOCUMENTS_MAX_UNCOMPRESSED_MB = 10
    padded = samples.DOCX_TYPES + b" " * (300 * 1024)
    data = samples._zip({"[Content_Types].xml": padded, "word/document.xml": b"<w:document/>"})
    with pytest.raises(ValidationFailed, match="not accepted"):
        document_detect(data)


def test_oversized_file_refused():
    data = samples.pdf_bytes() + b"0" * (1024 * 1024) + b"%%EOF\n"
    with pytest.raises(ValidationFailed, match="larger than 1 MB"):
        document_detect(data)


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\cmd.exe", "cmd.exe"),
        ("/var/lib/secret.pdf", "secret.pdf"),
        ("营业执照.pdf", "营业执照.pdf"),
        ("bad\r\nSet-Cookie: x.pdf", "bad  Set-Cookie: x.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("a\u200bb.pdf", "ab.pdf"),
        ("..", "document"),
        ("", "document"),
    ],
)
def test_clean_name_keeps_the_last_component_only(name, expected):
    assert document_clean_name(name) == expected


def test_clean_name_caps_length_and_keeps_extension():
    name = document_clean_name("a" * 400 + ".pdf")
    assert len(name) == 255
    assert name.endswith(".pdf")


# --- upload -----------------------------------------------------------------------------------


def test_upload_stores_under_a_random_name_and_audits(officer, returned, _documents_root):
    data = samples.pdf_bytes()
    upload = SimpleUploadedFile("../../../etc/营业执照.exe", data, content_type="text/html")
    document = document_upload(
        actor=officer,
        customer=returned.customer,
        application=returned,
        kind=DocumentKind.BUSINESS_LICENCE,
        file=upload,
    )
    document.refresh_from_db()
    assert document.original_name == "营业执照.exe"  # display only
    assert document.content_type == PDF  # the content's type, not the browser's or the name's
    assert document.size == len(data)
    assert document.sha256 == hashlib.sha256(data).hexdigest()
    assert document.uploaded_by == officer
    path = document_path(document)
    assert path.read_bytes() == data
    assert _documents_root.resolve() in path.parents
    assert "营业执照" not in str(path) and "etc" not in document.storage_name
    assert path.name.endswith(".pdf") and len(path.stem) == 40
    entry = AuditEntry.objects.get(action=AuditAction.CREATE, target_type="loans.document")
    assert entry.actor == officer
    assert entry.target_id == str(document.pk)
    assert entry.changes["sha256"] == document.sha256
    assert entry.changes["kind"] == "business_licence"
    assert entry.changes["channel"] == "staff"


def test_two_uploads_of_the_same_file_get_different_names(officer, customer):
    first = document_upload(
        actor=officer, customer=customer, kind="other", file=samples.png_bytes(), original_name="a.png"
    )
    second = document_upload(
        actor=officer, customer=customer, kind="other", file=samples.png_bytes(), original_name="a.png"
    )
    assert first.storage_name != second.storage_name
    assert first.sha256 == second.sha256


def test_renamed_executable_refused_and_nothing_written(officer, customer, _documents_root):
    upload = SimpleUploadedFile("statement.pdf", samples.exe_bytes(), content_type="application/pdf")
    with pytest.raises(ValidationFailed, match="Programs and scripts"):
        document_upload(actor=officer, customer=customer, kind="bank_statements", file=upload)
    assert not Document.objects.exists()
    assert not AuditEntry.objects.filter(target_type="loans.document").exists()
    assert not any(p.is_file() for p in _documents_root.rglob("*")) if _documents_root.exists() else True


def test_oversized_upload_refused_while_reading(officer, customer):
    class Endless(io.RawIOBase):
        name = "big.pdf"
        read_calls = 0

        def read(self, size=-1):
            self.read_calls += 1
            return b"%PDF-" + b"0" * (size - 5)

    stream = Endless()
    with pytest.raises(ValidationFailed, match="larger than 1 MB"):
        document_upload(actor=officer, customer=customer, kind="other", file=stream)
    assert stream.read_calls <= 20  # stopped at the limit, not read to the end
    assert not Document.objects.exists()


def test_upload_needs_the_add_permission(auditor, customer):
    with pytest.raises(NotAllowed):
        document_upload(actor=auditor, customer=customer, kind="other", file=samples.pdf_bytes())


def test_upload_refuses_application_of_another_customer(officer, returned):
    other = CustomerFactory()
    with pytest.raises(NotFound):
        document_upload(actor=officer, customer=other, application=returned, kind="other", file=samples.pdf_bytes())


def test_upload_refuses_loan_of_another_customer(officer):
    loan = LoanFactory()
    other = CustomerFactory()
    with pytest.raises(NotFound):
        document_upload(actor=officer, customer=other, loan=loan, kind="contract", file=samples.pdf_bytes())
    document = document_upload(
        actor=officer, customer=loan.customer, loan=loan, kind="contract", file=samples.pdf_bytes()
    )
    assert document.loan == loan


def test_upload_refuses_unknown_kind(officer, customer):
    with pytest.raises(ValidationFailed):
        document_upload(actor=officer, customer=customer, kind="passport", file=samples.pdf_bytes())


# --- download ---------------------------------------------------------------------------------


def test_open_returns_the_bytes_and_audits_the_download(officer, auditor, customer):
    document = document_upload(actor=officer, customer=customer, kind="other", file=samples.png_bytes())
    with document_open(actor=auditor, document=document) as handle:
        assert handle.read() == samples.png_bytes()
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT, target_type="loans.document")
    assert entry.actor == auditor
    assert entry.changes["download"] is True


def test_open_refuses_a_tampered_storage_name(officer, customer, tmp_path):
    (tmp_path / "secret.txt").write_text("secret")
    document = document_upload(actor=officer, customer=customer, kind="other", file=samples.png_bytes())
    Document.objects.filter(pk=document.pk).update(storage_name="../secret.txt")
    document.refresh_from_db()
    with pytest.raises(NotFound):
        document_open(actor=officer, document=document)
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


# --- requests ---------------------------------------------------------------------------------


def test_request_then_upload_of_that_kind_fulfils_it(officer, returned):
    doc_request = document_request_create(
        actor=officer, application=returned, kind="bank_statements", note="Last six months"
    )
    other_kind = document_request_create(actor=officer, application=returned, kind="business_licence")
    assert doc_request.status == DocumentRequest.Status.OPEN
    document = document_upload(
        actor=officer,
        customer=returned.customer,
        application=returned,
        kind="bank_statements",
        file=samples.pdf_bytes(),
    )
    doc_request.refresh_from_db()
    other_kind.refresh_from_db()
    assert doc_request.status == DocumentRequest.Status.FULFILLED
    assert doc_request.fulfilled_by == document
    assert doc_request.closed_at is not None
    assert other_kind.status == DocumentRequest.Status.OPEN
    transitions = AuditEntry.objects.filter(action=AuditAction.TRANSITION, target_type="loans.documentrequest")
    assert [e.target_id for e in transitions] == [str(doc_request.pk)]
    assert transitions[0].changes["status"] == ["open", "fulfilled"]
    created = AuditEntry.objects.filter(action=AuditAction.CREATE, target_type="loans.documentrequest")
    assert created.count() == 2


def test_upload_without_the_application_fulfils_nothing(officer, returned):
    doc_request = document_request_create(actor=officer, application=returned, kind="bank_statements")
    document_upload(actor=officer, customer=returned.customer, kind="bank_statements", file=samples.pdf_bytes())
    doc_request.refresh_from_db()
    assert doc_request.status == DocumentRequest.Status.OPEN


def test_request_twice_is_a_conflict(officer, returned):
    document_request_create(actor=officer, application=returned, kind="id")
    with pytest.raises(Conflict):
        document_request_create(actor=officer, application=returned, kind="id")


def test_request_on_a_decided_application_refused(officer, product):
    app = ApplicationFactory(product=product, status=LoanApplication.Status.REJECTED)
    with pytest.raises(InvalidTransition):
        document_request_create(actor=officer, application=app, kind="id")


def test_request_needs_the_permission(auditor, returned):
    with pytest.raises(NotAllowed):
        document_request_create(actor=auditor, application=returned, kind="id")


def test_cancel_request(officer, returned):
    doc_request = document_request_create(actor=officer, application=returned, kind="id")
    cancelled = document_request_cancel(actor=officer, document_request=doc_request, reason="Already on file")
    assert cancelled.status == DocumentRequest.Status.CANCELLED
    assert cancelled.cancelled_by == officer
    entry = AuditEntry.objects.filter(action=AuditAction.TRANSITION, target_type="loans.documentrequest").get()
    assert entry.reason == "Already on file"
    with pytest.raises(InvalidTransition):
        document_request_cancel(actor=officer, document_request=doc_request)
    # A cancelled request is not fulfilled by a later upload; a new one can be opened.
    document_upload(
        actor=officer, customer=returned.customer, application=returned, kind="id", file=samples.pdf_bytes()
    )
    doc_request.refresh_from_db()
    assert doc_request.status == DocumentRequest.Status.CANCELLED
    assert document_request_create(actor=officer, application=returned, kind="id").status == "open"


# --- portal uploads (the service as the portal calls it) -------------------------------------


@pytest.fixture
def portal_account(returned):
    from tests.customers.portal.factories import portal_account_make

    return portal_account_make(returned.customer)


def test_portal_upload_fulfils_the_request_and_names_the_account(officer, returned, portal_account):
    from audit import context as audit_context

    doc_request = document_request_create(actor=officer, application=returned, kind="bank_statements")
    # Someone signed in to the admin in the same browser: the entries still name the account.
    token = audit_context.activate(audit_context.RequestContext(user=officer))
    try:
        document = document_upload(
            portal_account=portal_account,
            customer=returned.customer,
            application=returned,
            kind="bank_statements",
            file=samples.pdf_bytes(),
            original_name="流水.pdf",
        )
        with document_open(portal_account=portal_account, document=document) as handle:
            assert handle.read() == samples.pdf_bytes()
    finally:
        audit_context.deactivate(token)
    document.refresh_from_db()
    assert document.uploaded_by is None
    assert document.uploaded_by_portal_account == portal_account
    doc_request.refresh_from_db()
    assert doc_request.status == DocumentRequest.Status.FULFILLED
    entries = AuditEntry.objects.filter(target_type__in=["loans.document", "loans.documentrequest"]).exclude(
        action=AuditAction.CREATE, target_type="loans.documentrequest"
    )
    assert {(e.action, e.target_type) for e in entries} == {
        ("create", "loans.document"),
        ("transition", "loans.documentrequest"),
        ("export", "loans.document"),
    }
    for entry in entries:
        assert entry.actor is None
        assert entry.actor_repr == f"portal:{portal_account.pk}"
    assert entries.get(action="create").changes["channel"] == "portal"


def test_portal_upload_for_a_customer_the_account_does_not_hold_is_404(returned, portal_account):
    other = CustomerFactory()
    with pytest.raises(NotFound):
        document_upload(portal_account=portal_account, customer=other, kind="other", file=samples.pdf_bytes())
    other_app = ApplicationFactory(customer=other, status=LoanApplication.Status.RETURNED)
    with pytest.raises(NotFound):
        document_upload(
            portal_account=portal_account,
            customer=returned.customer,
            application=other_app,
            kind="other",
            file=samples.pdf_bytes(),
        )
    assert not Document.objects.exists()


def test_portal_upload_by_a_deactivated_account_refused(returned, portal_account):
    portal_account.is_active = False
    portal_account.save(update_fields=["is_active"])
    with pytest.raises(NotAllowed):
        document_upload(
            portal_account=portal_account, customer=returned.customer, kind="other", file=samples.pdf_bytes()
        )


def test_upload_names_exactly_one_uploader(officer, returned, portal_account):
    with pytest.raises(NotAllowed):
        document_upload(customer=returned.customer, kind="other", file=samples.pdf_bytes())
    with pytest.raises(NotAllowed):
        document_upload(
            actor=officer,
            portal_account=portal_account,
            customer=returned.customer,
            kind="other",
            file=samples.pdf_bytes(),
        )


@pytest.mark.django_db(transaction=True)
def test_a_file_left_by_a_rolled_back_upload_is_swept_once_old(officer, returned, _documents_root):
    import os
    import time

    from django.db import transaction

    from loans.services.documents import documents_orphans_sweep

    kept = document_upload(
        actor=officer,
        customer=returned.customer,
        kind=DocumentKind.OTHER,
        file=SimpleUploadedFile("kept.pdf", samples.pdf_bytes()),
    )
    with pytest.raises(RuntimeError), transaction.atomic():
        document_upload(
            actor=officer,
            customer=returned.customer,
            kind=DocumentKind.OTHER,
            file=SimpleUploadedFile("lost.pdf", samples.pdf_bytes() + b" "),
        )
        raise RuntimeError("a later step of the same request fails")
    stored = sorted(p for p in _documents_root.rglob("*") if p.is_file())
    assert len(stored) == 2 and Document.objects.count() == 1
    orphan = next(p for p in stored if p != document_path(kept))

    assert documents_orphans_sweep() == 0  # too young: an upload may still be committing
    day_ago = time.time() - 2 * 24 * 3600
    for path in stored:
        os.utime(path, (day_ago, day_ago))

    assert documents_orphans_sweep() == 1
    assert not orphan.exists() and document_path(kept).exists()
    assert AuditEntry.objects.filter(action=AuditAction.DELETE, target_type="loans.document").count() == 1
