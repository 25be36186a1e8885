"""Import uploads kept on the server between the check and the confirmation.

An upload gets a random id; the confirm step names only that id, and it is honoured only
for the user and the browser session that uploaded the file (a hash of the session key is
kept, never the key), and only for ``IMPORT_UPLOAD_TTL_HOURS``. Files live in the database
(``ImportUpload`` and its parts), so any web process or worker on any machine reads the same
file; nothing is ever read from or deleted in a path a form names. Expired uploads are
removed whenever an upload is stored or opened. The parts are encrypted at rest with the
field encryption key (the files hold phones and resident ID numbers); a part that no
longer decrypts (its key was removed) reads as an expired upload.
"""

import datetime
import hashlib
import os
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import ImportUpload, ImportUploadPart
from loansite.encryption import FieldDecryptionError, bytes_decrypt, bytes_encrypt
from loansite.errors import NotAllowed, NotFound
from loansite.tabular import text_has_control_characters

GONE = gettext_lazy("The uploaded file is no longer available; upload it again.")


def _ttl() -> datetime.timedelta:
    return datetime.timedelta(hours=float(getattr(settings, "IMPORT_UPLOAD_TTL_HOURS", 2)))


def import_session_hash(session_key: str | None) -> str:
    if not session_key:
        raise NotAllowed(_("Your session has ended; sign in again."))
    return hashlib.sha256(f"import-upload:{session_key}".encode()).hexdigest()


def import_file_name_clean(name: str) -> str:
    """The file's own name, for showing and for the audit trail: no path, no control characters."""
    base = os.path.basename(str(name or "").replace("\\", "/")).strip()
    if text_has_control_characters(base):
        base = "".join(ch for ch in base if not text_has_control_characters(ch))
    return base[:255] or "upload"


def import_uploads_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete every upload older than the time-to-live; returns how many went."""
    cutoff = (now or timezone.now()) - _ttl()
    deleted, _by_model = ImportUpload.objects.filter(created_at__lt=cutoff).delete()
    return deleted


@transaction.atomic
def import_upload_store(
    *,
    owner,
    session_key: str | None,
    kind: str,
    data: bytes,
    file_name: str,
    file_format: str,
    rows: int,
    options: dict | None = None,
) -> ImportUpload:
    import_uploads_purge()
    upload = ImportUpload.objects.create(
        kind=kind,
        owner=owner,
        session_key_hash=import_session_hash(session_key),
        file_name=import_file_name_clean(file_name),
        file_format=file_format,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        rows=rows,
        options=options or {},
    )
    size = ImportUpload.PART_SIZE
    ImportUploadPart.objects.bulk_create(
        [
            ImportUploadPart(upload=upload, index=index, data=bytes_encrypt(data[start : start + size]))
            for index, start in enumerate(range(0, len(data), size))
        ]
    )
    return upload


def import_upload_get(*, upload_id, owner, session_key: str | None, kind: str) -> ImportUpload:
    """The caller's own upload from this session, or ``NotFound`` (also for anybody else's id)."""
    import_uploads_purge()
    try:
        pk = uuid.UUID(str(upload_id))
    except ValueError:
        raise NotFound(GONE)
    upload = ImportUpload.objects.filter(
        pk=pk,
        kind=kind,
        owner=owner,
        session_key_hash=import_session_hash(session_key),
        created_at__gte=timezone.now() - _ttl(),
    ).first()
    if upload is None:
        raise NotFound(GONE)
    return upload


def import_upload_read(*, upload: ImportUpload) -> bytes:
    parts = upload.parts.order_by("index").values_list("data", flat=True)
    try:
        data = b"".join(bytes_decrypt(bytes(part), where="an import upload") for part in parts)
    except FieldDecryptionError:
        raise NotFound(GONE) from None
    if len(data) != upload.size or hashlib.sha256(data).hexdigest() != upload.sha256:
        raise NotFound(GONE)
    return data


def import_upload_discard(*, upload: ImportUpload | None) -> None:
    if upload is not None and upload.pk:
        ImportUpload.objects.filter(pk=upload.pk).delete()
