"""Documents (资料): upload, download, and the requests that say what an application still needs.

An uploaded file is untrusted. Its type is told by its content, never by its name or the
browser's content type: a PDF (header and end-of-file marker), a JPEG (start and end markers),
a PNG (signature, header chunk, end chunk), or an XLSX / DOCX (a zip whose entries are counted
and whose uncompressed size is added up before anything reads it, with ``[Content_Types].xml``
naming the workbook or document main part, that part present, no macros). Anything else (a
renamed program, HTML, SVG, a zip bomb, a truncated file) is refused with a message for the
person who sent it. The size limit is ``DOCUMENTS_MAX_UPLOAD_MB`` (10 MB by default).

The bytes go to ``DOCUMENTS_ROOT`` (inside MEDIA_ROOT, never served) under a random name; the
uploader's file name is kept for display only. Every upload and every download is audited. An
upload of a kind for an application fulfils that application's open request for that kind.

Staff act as themselves (``actor``, with ``loans.add_document`` / ``loans.add_documentrequest``
/ ``loans.change_documentrequest`` and access to the customer, see
``loans.selectors.documents``); a customer acts through the portal (``portal_account``, with the
customer the portal selected): the audit entry then has no staff actor and names the account.
"""

import contextlib
import hashlib
import io
import os
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from loans.models import Document, DocumentKind, DocumentRequest, Loan, LoanApplication
from loansite.errors import Conflict, InvalidTransition, NotAllowed, NotFound, ValidationFailed
from loansite.tabular import text_has_control_characters

PERM_ADD_DOCUMENT = "loans.add_document"
PERM_VIEW_DOCUMENT = "loans.view_document"
PERM_ADD_REQUEST = "loans.add_documentrequest"
PERM_CHANGE_REQUEST = "loans.change_documentrequest"

MB = 1024 * 1024
READ_CHUNK = 64 * 1024

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
EXTENSIONS = {PDF: ".pdf", JPEG: ".jpg", PNG: ".png", XLSX: ".xlsx", DOCX: ".docx"}
ALLOWED_TYPES = tuple(EXTENSIONS)

# OOXML: the main part's content type as [Content_Types].xml declares it, and the part itself.
_OOXML_MAIN = {
    XLSX: (b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", "xl/workbook.xml"),
    DOCX: (b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml", "word/document.xml"),
}
# A real [Content_Types].xml is a few kilobytes; it is read whole, so it is capped.
CONTENT_TYPES_MAX_BYTES = 256 * 1024
# Programs and markup, recognised only to say plainly why they are refused.
_PROGRAM_MAGIC = (b"MZ", b"\x7fELF", b"#!", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe")

# Applications that can still be asked for documents.
REQUESTABLE_STATUSES = (
    LoanApplication.Status.DRAFT,
    LoanApplication.Status.SUBMITTED,
    LoanApplication.Status.UNDER_REVIEW,
    LoanApplication.Status.RETURNED,
    LoanApplication.Status.APPROVED,
)


# ---------------------------------------------------------------------------
# Limits and content checks (pure: bytes in, a verdict out)
# ---------------------------------------------------------------------------


def document_limits() -> dict:
    return {
        "max_upload_bytes": int(float(getattr(settings, "DOCUMENTS_MAX_UPLOAD_MB", 10)) * MB),
        "max_uncompressed_bytes": int(float(getattr(settings, "DOCUMENTS_MAX_UNCOMPRESSED_MB", 100)) * MB),
        "max_zip_entries": int(getattr(settings, "DOCUMENTS_MAX_ZIP_ENTRIES", 1000)),
    }


def documents_root() -> Path:
    return Path(getattr(settings, "DOCUMENTS_ROOT", None) or Path(settings.MEDIA_ROOT) / "documents")


def document_too_large_message() -> str:
    return _("The file is larger than %(limit)s MB, the most a document may be.") % {
        "limit": f"{document_limits()['max_upload_bytes'] / MB:g}"
    }


def _refuse_type() -> ValidationFailed:
    return ValidationFailed(_("This type of file is not accepted: send a PDF, JPEG, PNG, XLSX or DOCX file."))


def _damaged(label: str) -> ValidationFailed:
    return ValidationFailed(_("The %(type)s file is damaged or incomplete; send it again.") % {"type": label})


def _check_ooxml(data: bytes) -> str:
    limits = document_limits()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if len(entries) > limits["max_zip_entries"]:
                raise ValidationFailed(_("The file has too many parts to be an office document."))
            # zipfile never inflates an entry beyond its recorded size, so the recorded sizes bound
            # what reading it can expand to: a zip bomb is refused before anything is inflated.
            if sum(entry.file_size for entry in entries) > limits["max_uncompressed_bytes"]:
                raise ValidationFailed(
                    _("The file expands to more than %(max)s MB; this is not a plain office document.")
                    % {"max": f"{limits['max_uncompressed_bytes'] / MB:g}"}
                )
            if any(entry.flag_bits & 0x1 for entry in entries):
                raise ValidationFailed(_("Encrypted office documents are not accepted."))
            names = {entry.filename for entry in entries}
            if "[Content_Types].xml" not in names:
                raise _refuse_type()
            if any(name.lower().endswith("vbaproject.bin") for name in names):
                raise ValidationFailed(_("Office documents with macros are not accepted."))
            if archive.getinfo("[Content_Types].xml").file_size > CONTENT_TYPES_MAX_BYTES:
                raise _refuse_type()
            declared = archive.read("[Content_Types].xml")
            content_type = next(
                (kind for kind, (main, part) in _OOXML_MAIN.items() if main in declared and part in names), None
            )
            if content_type is None:
                raise _refuse_type()
            if archive.testzip() is not None:  # every entry inflates and matches its checksum
                raise _damaged("XLSX" if content_type == XLSX else "DOCX")
    except ValidationFailed:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
        raise _refuse_type() from exc
    return content_type


def document_detect(data: bytes) -> str:
    """The content type of an accepted document, told by its content; ``ValidationFailed`` otherwise."""
    if not data:
        raise ValidationFailed(_("The file is empty."))
    if len(data) > document_limits()["max_upload_bytes"]:
        raise ValidationFailed(document_too_large_message())
    tail = data[-1024:]
    if data.startswith(b"%PDF-"):
        if b"%%EOF" not in tail:
            raise _damaged("PDF")
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        if b"\xff\xd9" not in tail:
            raise _damaged("JPEG")
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        if data[12:16] != b"IHDR" or not data.endswith(b"IEND\xaeB`\x82"):
            raise _damaged("PNG")
        return PNG
    if data.startswith(b"PK\x03\x04"):
        return _check_ooxml(data)
    if data.startswith(_PROGRAM_MAGIC):
        raise ValidationFailed(_("Programs and scripts are not accepted, whatever the file is called."))
    raise _refuse_type()


def document_clean_name(name: str) -> str:
    """The uploader's file name made safe to show and to put in a download header: the last path
    component only, no control or format characters, at most 255 characters (the extension kept)."""
    text = unicodedata.normalize("NFC", str(name or ""))
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    # Control characters become spaces; format characters (bidirectional overrides that would
    # show "evil\u202egpj.exe" as "evilexe.jpg", zero-width spaces) are dropped.
    text = "".join(" " if text_has_control_characters(ch) else ch for ch in text if unicodedata.category(ch) != "Cf")
    text = text.strip().strip(".").strip()
    if not text:
        return _("document")
    if len(text) > 255:
        stem, dot, ext = text.rpartition(".")
        text = stem[: 254 - len(ext)] + dot + ext if dot and len(ext) <= 16 else text[:255]
    return text


def _read_limited(file) -> bytes:
    """At most the size limit plus one byte of an upload (bytes, a file or an UploadedFile)."""
    limit = document_limits()["max_upload_bytes"]
    if isinstance(file, (bytes, bytearray, memoryview)):
        data = bytes(file)
        if len(data) > limit:
            raise ValidationFailed(document_too_large_message())
        return data
    size = getattr(file, "size", None)
    if size is not None and size > limit:
        raise ValidationFailed(document_too_large_message())
    seekable = getattr(file, "seekable", None)
    if callable(seekable) and seekable():
        file.seek(0)
    buffer = io.BytesIO()
    while True:
        chunk = file.read(READ_CHUNK)
        if not chunk:
            break
        buffer.write(chunk)
        if buffer.tell() > limit:
            raise ValidationFailed(document_too_large_message())
    return buffer.getvalue()


# ---------------------------------------------------------------------------
# Storage
# ---------------------------------------------------------------------------


def document_path(document: Document) -> Path:
    """Where a document's bytes are; its stored name was made here, never from input."""
    root = documents_root().resolve()
    path = (root / document.storage_name).resolve()
    if root not in path.parents:  # a tampered row must not reach outside the store
        raise NotFound(_("The document's file is missing."))
    return path


def _store(data: bytes, content_type: str) -> str:
    root = documents_root()
    for _attempt in range(5):
        token = secrets.token_hex(20)
        name = f"{token[:2]}/{token}{EXTENSIONS[content_type]}"
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return name
    raise Conflict(_("The document could not be stored; try again."))


def _unlink(name: str) -> None:
    with contextlib.suppress(OSError):
        (documents_root() / name).unlink()


# ---------------------------------------------------------------------------
# Access
# ---------------------------------------------------------------------------


def _require_staff(actor, perm: str) -> None:
    if (
        actor is None
        or not getattr(actor, "is_authenticated", False)
        or not actor.is_active
        or not actor.has_perm(perm)
    ):
        raise NotAllowed(_("You do not have the role needed for this action."))


def _require_customer_access(actor, customer_id: int) -> None:
    from loans.selectors.documents import document_customer_accessible

    if not document_customer_accessible(actor, customer_id):
        # Someone else's customer reads as missing, not forbidden.
        raise NotFound(_("No such customer."))


def _portal_has_customer(portal_account, customer_id: int) -> bool:
    from loans.selectors.documents import document_portal_customer_ids

    return customer_id in document_portal_customer_ids(portal_account)


def _audit_as(portal_account):
    """Audit entries written in the block name the portal account (no staff actor, even when
    someone is signed in to the admin in the same browser); a no-op for staff."""
    if portal_account is None:
        return contextlib.nullcontext()
    from customers.portal.auth import acting_as

    return acting_as(portal_account)


@dataclass(frozen=True)
class _Uploader:
    actor: object = None
    portal_account: object = None

    @property
    def audit_details(self) -> dict:
        if self.portal_account is not None:
            return {"channel": "portal", "portal_account": self.portal_account.pk}
        return {"channel": "staff"}


def _uploader(actor, portal_account, perm: str) -> _Uploader:
    if (actor is None) == (portal_account is None):
        raise NotAllowed(_("You do not have the role needed for this action."))
    if portal_account is not None:
        if not getattr(portal_account, "is_active", True):
            raise NotAllowed(_("This account cannot do this."))
        return _Uploader(portal_account=portal_account)
    _require_staff(actor, perm)
    return _Uploader(actor=actor)


# ---------------------------------------------------------------------------
# Upload and download
# ---------------------------------------------------------------------------


@transaction.atomic
def document_upload(
    *,
    customer,
    kind: str,
    file,
    original_name: str | None = None,
    application: LoanApplication | None = None,
    loan: Loan | None = None,
    actor=None,
    portal_account=None,
) -> Document:
    """Check, store and record one document; fulfil the application's open request for its kind.

    Exactly one of ``actor`` (a staff user) and ``portal_account`` (a customer on the portal,
    ``customer`` being the one the portal selected) uploads. ``file`` is an UploadedFile, a file
    object or bytes; ``original_name`` defaults to the file's name.
    """
    who = _uploader(actor, portal_account, PERM_ADD_DOCUMENT)
    if customer is None or customer.pk is None:
        raise ValidationFailed(_("A document belongs to a customer."))
    if who.portal_account is not None:
        if not _portal_has_customer(who.portal_account, customer.pk):
            raise NotFound(_("No such customer."))
    else:
        _require_customer_access(who.actor, customer.pk)
    if kind not in DocumentKind.values:
        raise ValidationFailed(_("Choose the kind of document."))
    if application is not None and application.customer_id != customer.pk:
        raise NotFound(_("No such application."))
    if loan is not None:
        if loan.customer_id != customer.pk:
            raise NotFound(_("No such loan."))
        if application is not None and loan.application_id != application.pk:
            raise ValidationFailed(_("The loan is not the application's loan."))

    name = document_clean_name(original_name if original_name is not None else getattr(file, "name", ""))
    data = _read_limited(file)
    content_type = document_detect(data)
    storage_name = _store(data, content_type)
    try:
        with _audit_as(who.portal_account):
            document = _record_upload(
                who,
                customer=customer,
                application=application,
                loan=loan,
                kind=kind,
                name=name,
                storage_name=storage_name,
                content_type=content_type,
                data=data,
            )
    except BaseException:
        _unlink(storage_name)
        raise
    # Should a transaction further out roll back, the stored file is left without a row: nothing
    # can reach it (downloads go by row); ``documents_orphans_sweep`` removes it the next night.
    return document


ORPHAN_GRACE = 24 * 3600


def documents_orphans_sweep(*, older_than_seconds: int = ORPHAN_GRACE) -> int:
    """Remove stored files that no document row names and that are older than the grace period
    (an upload whose transaction rolled back further out); returns how many were removed. Files
    of uploads still in flight are younger than the grace period and stay."""
    import time

    root = documents_root()
    if not root.is_dir():
        return 0
    cutoff = time.time() - older_than_seconds
    removed = 0
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()):
        files = {
            f"{folder.name}/{path.name}": path
            for path in folder.iterdir()
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime < cutoff
        }
        if not files:
            continue
        known = set(Document.objects.filter(storage_name__in=list(files)).values_list("storage_name", flat=True))
        for name, path in files.items():
            if name not in known:
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += 1
    if removed:
        audit_record(
            action=AuditAction.DELETE,
            actor=None,
            target=("loans.document", "", "stored files without a row"),
            changes={"removed": removed},
            reason=_("Stored files without a document row (an upload rolled back)"),
        )
    return removed


def _record_upload(who, *, customer, application, loan, kind, name, storage_name, content_type, data) -> Document:
    document = Document.objects.create(
        customer=customer,
        application=application,
        loan=loan,
        kind=kind,
        original_name=name,
        storage_name=storage_name,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by=who.actor,
        uploaded_by_portal_account_id=who.portal_account.pk if who.portal_account is not None else None,
    )
    audit_record(
        action=AuditAction.CREATE,
        actor=who.actor,
        target=document,
        changes={
            "customer": customer.pk,
            "application": application.pk if application is not None else None,
            "loan": loan.pk if loan is not None else None,
            "kind": kind,
            "file_name": name,
            "content_type": content_type,
            "size": document.size,
            "sha256": document.sha256,
            **who.audit_details,
        },
        reason=_("Document uploaded"),
    )
    if application is not None:
        _fulfil_requests(document)
    return document


def _fulfil_requests(document: Document) -> int:
    now = timezone.now()
    requests = list(
        DocumentRequest.objects.filter(
            application_id=document.application_id, kind=document.kind, status=DocumentRequest.Status.OPEN
        ).values_list("pk", flat=True)
    )
    fulfilled = 0
    for request_id in requests:
        # Conditional: a request cancelled meanwhile stays cancelled.
        if DocumentRequest.objects.filter(pk=request_id, status=DocumentRequest.Status.OPEN).update(
            status=DocumentRequest.Status.FULFILLED, fulfilled_by=document, closed_at=now
        ):
            fulfilled += 1
            audit_record(
                action=AuditAction.TRANSITION,
                actor=document.uploaded_by,
                target=("loans.documentrequest", request_id, f"{document.get_kind_display()}"),
                changes={
                    "status": [DocumentRequest.Status.OPEN, DocumentRequest.Status.FULFILLED],
                    "fulfilled_by": document.pk,
                    "application": document.application_id,
                },
                reason=_("Requested document received"),
            )
    return fulfilled


def document_open(*, document: Document, actor=None, portal_account=None):
    """The document's bytes as an open binary file, for a download the caller has allowed
    (``loans.selectors.documents``); the download is audited before the file is handed out."""
    if (actor is None) == (portal_account is None):
        raise NotAllowed(_("You do not have the role needed for this action."))
    path = document_path(document)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the response that streams it
    except OSError as exc:
        raise NotFound(_("The document's file is missing.")) from exc
    try:
        details = {"download": True}
        if portal_account is not None:
            details.update(channel="portal", portal_account=portal_account.pk)
        else:
            details.update(channel="staff")
        with _audit_as(portal_account):
            audit_record(
                action=AuditAction.EXPORT,
                actor=actor,
                target=document,
                changes=details,
                reason=_("Document downloaded"),
            )
    except BaseException:
        handle.close()
        raise
    return handle


# ---------------------------------------------------------------------------
# Document requests
# ---------------------------------------------------------------------------


@transaction.atomic
def document_request_create(*, actor, application: LoanApplication, kind: str, note: str = "") -> DocumentRequest:
    """Mark a document the application still needs (the customer sees the kind and the note)."""
    _require_staff(actor, PERM_ADD_REQUEST)
    app = LoanApplication.objects.select_for_update().filter(pk=application.pk).first()
    if app is None:
        raise NotFound(_("No such application."))
    if app.customer_id is None:
        raise InvalidTransition(_("Documents can be asked for once the applicant's identity is verified."))
    _require_customer_access(actor, app.customer_id)
    if app.status not in REQUESTABLE_STATUSES:
        raise InvalidTransition(
            _("Documents cannot be asked for on an application that is %(status)s.")
            % {"status": app.get_status_display()}
        )
    if kind not in DocumentKind.values:
        raise ValidationFailed(_("Choose the kind of document."))
    note = str(note or "").strip()
    if len(note) > 1000 or text_has_control_characters(note, multiline=True):
        raise ValidationFailed(_("Note: at most 1000 characters, no control characters."))
    if DocumentRequest.objects.filter(application=app, kind=kind, status=DocumentRequest.Status.OPEN).exists():
        raise Conflict(_("This document is already asked for."))
    doc_request = DocumentRequest.objects.create(application=app, kind=kind, note=note, requested_by=actor)
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        target=doc_request,
        changes={"application": app.pk, "kind": kind, "note": note},
        reason=_("Document requested"),
    )
    return doc_request


@transaction.atomic
def document_request_cancel(*, actor, document_request: DocumentRequest, reason: str = "") -> DocumentRequest:
    """Withdraw an open request (no longer needed, asked by mistake)."""
    _require_staff(actor, PERM_CHANGE_REQUEST)
    current = DocumentRequest.objects.select_related("application").filter(pk=document_request.pk).first()
    if current is None:
        raise NotFound(_("No such document request."))
    if current.application.customer_id is not None:
        _require_customer_access(actor, current.application.customer_id)
    reason = str(reason or "").strip()
    if len(reason) > 500 or text_has_control_characters(reason, multiline=True):
        raise ValidationFailed(_("Reason: at most 500 characters, no control characters."))
    changed = DocumentRequest.objects.filter(pk=current.pk, status=DocumentRequest.Status.OPEN).update(
        status=DocumentRequest.Status.CANCELLED, cancelled_by=actor, closed_at=timezone.now()
    )
    if not changed:
        raise InvalidTransition(_("Only an open request can be cancelled."))
    current.refresh_from_db()
    audit_record(
        action=AuditAction.TRANSITION,
        actor=actor,
        target=current,
        changes={"status": [DocumentRequest.Status.OPEN, DocumentRequest.Status.CANCELLED]},
        reason=reason or _("Document request cancelled"),
    )
    return current
