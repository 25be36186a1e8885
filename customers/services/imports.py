"""Importing customers from a parsed file: match by credit code / ID number / phone, all or nothing.

Keys are prefetched in chunks (one query per 2,000 keys, not one per row), new customers
are bulk-inserted and changed ones bulk-updated, in one transaction. Every created or
changed customer gets its own audit entry (target id, before and after of the fields that
changed), appended in bulk to the hash chain, plus one summary entry for the import.
A file with bad rows imports nothing unless the caller asks to import the valid rows only.
The internal rating and the bureau score are written only for an actor who may set them.
"""

import datetime
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_encrypted_masked, audit_record, audit_record_many
from customers.bulk import bulk_insert
from customers.importing import ParsedFile, RowError
from customers.models import Customer, ImportJob, ImportUpload, Tag
from loansite.errors import ApplicationError, NotFound

KEY_FIELDS = ("credit_code", "id_number", "phone")
CHUNK = 2000
# Credit judgements, not data entry: only written for an actor with this permission.
RATING_FIELDS = ("rating", "credit_score")
PERM_RATE = "customers.rate_customer"


@dataclass
class ImportReport:
    rows: int = 0
    new: int = 0
    updated: int = 0
    invalid_rows: int = 0
    changed: int = 0
    errors: list[RowError] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    ignored_headers: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    columns_read: list[str] = field(default_factory=list)  # "header -> what it was read as"
    written: bool = False

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.file_errors)

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "new": self.new,
            "updated": self.updated,
            "changed": self.changed,
            "invalid_rows": self.invalid_rows,
            "written": self.written,
            "file_errors": [str(e) for e in self.file_errors],
            "ignored_headers": self.ignored_headers,
            "columns_read": [str(c) for c in self.columns_read],
            "notices": [str(n) for n in self.notices],
            "errors": [e.as_dict() for e in self.errors],
        }


def customer_keys_existing(rows: list[dict]) -> dict[str, dict[str, tuple]]:
    """key field -> value -> (pk, credit_code, id_number, phone) of customers holding the file's keys."""
    found = {name: {} for name in KEY_FIELDS}
    for name in KEY_FIELDS:
        values = sorted({row[name] for row in rows if row.get(name)})
        for start in range(0, len(values), CHUNK):
            query = Customer.objects.filter(**{f"{name}__in": values[start : start + CHUNK]})
            for record in query.values_list("pk", *KEY_FIELDS):
                found[name][record[1 + KEY_FIELDS.index(name)]] = record
    return found


def customer_keys_match(row: dict, existing: dict) -> tuple[int | None, str]:
    """The one customer this row updates (or None for a new one), or an error message."""
    records = {
        existing[name][row[name]][0]: existing[name][row[name]]
        for name in KEY_FIELDS
        if row.get(name) in existing[name]
    }
    if len(records) > 1:
        return None, _("The credit code, ID number and phone belong to different existing customers.")
    if not records:
        return None, ""
    (pk, credit_code, id_number, _phone) = next(iter(records.values()))
    if row.get("credit_code") and credit_code and credit_code != row["credit_code"]:
        return None, _("The phone or ID number belongs to a customer with another credit code.")
    if row.get("id_number") and id_number and id_number != row["id_number"]:
        return None, _("The phone or credit code belongs to a customer with another ID number.")
    return pk, ""


def _without_rating_columns(parsed: ParsedFile, actor) -> tuple[ParsedFile, str]:
    """The file without the rating and bureau-score columns when ``actor`` may not set them."""
    rater = actor is not None and actor.is_active and actor.has_perm(PERM_RATE)
    # The internal rating is never imported (it changes through the rating service or an
    # analyst's reasoned change); the bureau score only for raters.
    present = [name for name in RATING_FIELDS if name in parsed.fields and (name == "rating" or not rater)]
    if not present:
        return parsed, ""
    for row in parsed.rows:
        for name in present:
            row.pop(name, None)
    notice = _(
        "Columns ignored, nothing in them was written: %(columns)s (internal ratings change only through the "
        "rating service or an analyst's rating change; bureau scores need the rating permission)."
    ) % {"columns": ", ".join(parsed.headers[name] for name in present)}
    parsed.fields = [name for name in parsed.fields if name not in present]
    parsed.errors = [e for e in parsed.errors if e.column not in {parsed.headers[name] for name in present}]
    return parsed, notice


def customer_import(
    *,
    parsed: ParsedFile,
    actor,
    commit: bool = True,
    skip_invalid: bool = False,
    file_name: str = "",
    file_sha256: str = "",
) -> ImportReport:
    """Check every row; write all of them, or none when any is bad (unless ``skip_invalid``)."""
    parsed, notice = _without_rating_columns(parsed, actor)
    report = ImportReport(
        errors=list(parsed.errors),
        file_errors=list(parsed.file_errors),
        ignored_headers=parsed.ignored_headers,
        notices=[notice] if notice else [],
        columns_read=list(getattr(parsed, "columns_read", [])),
    )
    if parsed.file_errors:
        return report
    existing = customer_keys_existing(parsed.rows)
    seen: dict[tuple[str, str], int] = {}
    creates, updates = [], {}
    for row in parsed.rows:
        duplicate = next(
            (seen[(name, row[name])] for name in KEY_FIELDS if row.get(name) and (name, row[name]) in seen), None
        )
        if duplicate is not None:
            report.errors.append(
                RowError(row["_row"], "", "", _("Same customer as row %(row)s of this file.") % {"row": duplicate})
            )
            continue
        pk, problem = customer_keys_match(row, existing)
        if problem:
            report.errors.append(RowError(row["_row"], "", "", problem))
            continue
        for name in KEY_FIELDS:
            if row.get(name):
                seen[(name, row[name])] = row["_row"]
        if pk is None:
            creates.append(row)
        else:
            updates[pk] = row
    report.invalid_rows = len({e.row for e in report.errors})
    report.rows = len(parsed.rows) + len({e.row for e in parsed.errors})
    report.new, report.updated = len(creates), len(updates)
    report.errors.sort(key=lambda e: (e.row, e.column))
    if not commit or (report.errors and not skip_invalid):
        return report
    reason = _("Import of %(file)s") % {"file": file_name or _("a customer file")}
    with _bulk_write_cache(), transaction.atomic():  # the rows and their audit entries commit together
        records = _write(creates=creates, updates=updates, fields=parsed.fields)
        report.changed = sum(1 for action, _target, _changes in records if action == AuditAction.UPDATE)
        for action in (AuditAction.CREATE, AuditAction.UPDATE):
            audit_record_many(
                action=action,
                actor=actor,
                items=((target, changes) for kind, target, changes in records if kind == action),
                reason=reason,
            )
        audit_record(
            action=AuditAction.IMPORT,
            actor=actor,
            target=("customers.customer", "", file_name or "customers"),
            changes={
                "file": file_name,
                "sha256": file_sha256,
                "new": report.new,
                "updated": report.updated,
                "changed": report.changed,
                "skipped_invalid_rows": report.invalid_rows,
                "ignored_columns": [str(n) for n in report.notices],
            },
        )
    report.written = True
    return report


# SQLite's default page cache (2 MB) thrashes on the indexes of a large import and its audit
# entries; for the length of the write it gets this much (KiB), then its own size back.
SQLITE_IMPORT_CACHE_KIB = 131072


@contextmanager
def _bulk_write_cache():
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {before}")


def _customer_values(row: dict) -> dict:
    values = {k: v for k, v in row.items() if k not in ("_row", "tags")}
    if "city_tier" not in values and values.get("city"):
        from customers.reference import reference_lookups

        tiers = reference_lookups()["tier"]
        if values["city"] in tiers:
            values["city_tier"] = tiers[values["city"]]
    return values


def _plain(value):
    """A field value as the audit trail stores it (money as a two-place string)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _target(pk: int, name: str) -> tuple:
    return ("customers.customer", pk, name[:255])


@transaction.atomic
def _write(*, creates: list[dict], updates: dict[int, dict], fields: list[str]) -> list[tuple]:
    """Insert and update; ``[(action, target, changes)]`` for each customer created or changed."""
    records: list[tuple] = []
    tag_rows: dict[int, list[str]] = {}
    pk_by_phone: dict[str, int] = {}
    if creates:
        # New rows get keys above any allocated before the insert; phones are unique, so one
        # range query (not 2,000-key IN lists) finds each new customer's key.
        last = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        created_values = [_customer_values(row) for row in creates]
        bulk_insert(Customer, created_values)
        pk_by_phone.update(Customer.objects.filter(pk__gt=last).values_list("phone", "pk"))
    for row, values in zip(creates, created_values if creates else [], strict=True):
        pk = pk_by_phone[row["phone"]]
        changes = {
            name: [None, str(value) if type(value) is Decimal else value]
            for name, value in values.items()
            if value is not None and value != ""
        }
        audit_encrypted_masked(Customer, changes)  # phone, ID number: a keyed hash, never plain text
        if row.get("tags"):
            tag_rows[pk] = row["tags"]
            changes["tags"] = [None, sorted(set(row["tags"]))]
        records.append((AuditAction.CREATE, _target(pk, row["name"]), changes))

    update_fields = [f for f in fields if f != "tags"]
    if "city" in update_fields and "city_tier" not in update_fields:
        update_fields.append("city_tier")
    pks, now = list(updates), timezone.now()
    through = Customer.tags.through
    for start in range(0, len(pks), CHUNK):
        batch = Customer.objects.in_bulk(pks[start : start + CHUNK])
        tags_before: dict[int, list[str]] = {}
        if "tags" in fields:
            for customer_id, name in through.objects.filter(customer_id__in=list(batch)).values_list(
                "customer_id", "tag__name"
            ):
                tags_before.setdefault(customer_id, []).append(name)
        changed = []
        for pk, obj in batch.items():
            changes = {}
            for name, value in _customer_values(updates[pk]).items():
                if value is None and name in ("credit_code", "id_number"):
                    continue  # a blank cell never erases an identity on record
                before, after = _plain(getattr(obj, name)), _plain(value)
                if before != after:
                    changes[name] = [before, after]
                    setattr(obj, name, value)
            if "tags" in updates[pk]:
                old, new = sorted(set(tags_before.get(pk, []))), sorted(set(updates[pk]["tags"]))
                if old != new:
                    changes["tags"] = [old, new]
                    tag_rows[pk] = updates[pk]["tags"]
            if changes:
                obj.updated_at = now
                changed.append(obj)
                records.append((AuditAction.UPDATE, _target(pk, obj.name), audit_encrypted_masked(Customer, changes)))
        if update_fields and changed:
            Customer.objects.bulk_update(changed, [*update_fields, "updated_at"], batch_size=500)
        elif changed:
            Customer.objects.filter(pk__in=[obj.pk for obj in changed]).update(updated_at=now)
    if tag_rows:
        _write_tags(tag_rows, replace=[pk for pk in tag_rows if pk in updates])
    return records


def _write_tags(tag_rows: dict[int, list[str]], replace: list[int]) -> None:
    names = sorted({name for names in tag_rows.values() for name in names})
    tags = dict(Tag.objects.filter(name__in=names).values_list("name", "pk"))
    missing = [Tag(name=name) for name in names if name not in tags]
    Tag.objects.bulk_create(missing)
    tags.update({tag.name: tag.pk for tag in missing})
    through = Customer.tags.through
    for start in range(0, len(replace), CHUNK):
        through.objects.filter(customer_id__in=replace[start : start + CHUNK]).delete()
    through.objects.bulk_create(
        [through(customer_id=pk, tag_id=tags[name]) for pk, names in tag_rows.items() for name in set(names)],
        batch_size=2000,
    )


# -- background imports -------------------------------------------------------------------------

# What the person who starts a background import must hold (checked again by the worker).
JOB_PERMISSIONS = {
    ImportUpload.Kind.CUSTOMERS: ("customers.import_customer",),
    ImportUpload.Kind.APPLICATIONS: ("loans.import_loanapplication", "loans.add_loanapplication"),
    # Bank statements (loans.services.statements): repayments posted from a file.
    "statements": ("loans.import_repayment", "loans.post_repayment"),
}
PERM_IMPORT_HISTORY = "loans.import_history_loanapplication"


def customer_import_max_rows() -> int:
    return int(getattr(settings, "CUSTOMER_IMPORT_MAX_ROWS", 200_000))


def customer_import_async_rows() -> int:
    """Files with more rows than this are imported by a worker (the admin shows the job's progress)."""
    return int(getattr(settings, "CUSTOMER_IMPORT_ASYNC_ROWS", 2000))


def import_job_start(*, actor, upload: ImportUpload, skip_invalid: bool, history: bool = False) -> ImportJob:
    """Queue the import of a stored upload; the worker runs the same import as the admin would."""
    permissions = JOB_PERMISSIONS[upload.kind] + ((PERM_IMPORT_HISTORY,) if history else ())
    with transaction.atomic():
        job = ImportJob.objects.create(
            kind=upload.kind,
            file_name=upload.file_name,
            file_format=upload.file_format,
            file_sha256=upload.sha256,
            upload=upload,
            skip_invalid=skip_invalid,
            history=history,
            total_rows=upload.rows,
            created_by=actor,
            task_id=str(uuid.uuid4()),
        )
        from customers.tasks import customers_import_file
        from loansite.task_authorisation import task_queue_authorised

        # The worker learns the actor and the job only from this signed authorisation.
        task_queue_authorised(
            customers_import_file,
            actor=actor,
            params={"job_id": job.pk},
            permissions=permissions,
            task_id=job.task_id,
        )
    return job


def import_job_run(*, job: ImportJob) -> ImportJob:
    """Run a queued job once (a redelivered task finds it running or done and does nothing)."""
    from customers.importing import parse_rows
    from customers.services.uploads import import_upload_discard, import_upload_read
    from loansite.tabular import tabular_read

    if ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.QUEUED).update(status=ImportJob.Status.RUNNING) != 1:
        return ImportJob.objects.get(pk=job.pk)
    job.refresh_from_db()

    def progress(done: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(processed=done)

    upload = job.upload
    try:
        if upload is None or upload.owner_id != job.created_by_id:
            raise NotFound(_("The uploaded file is no longer available; upload it again."))
        data = import_upload_read(upload=upload)
        if job.kind == "statements":
            from loans.services.statements import statement_import, statement_import_max_rows

            report = statement_import(
                table=tabular_read(data, max_rows=statement_import_max_rows()),
                actor=job.created_by,
                skip_invalid=job.skip_invalid,
                file_name=job.file_name,
                file_sha256=job.file_sha256,
                chunked=True,
                progress=progress,
            )
        elif job.kind == ImportUpload.Kind.APPLICATIONS:
            from loans.services.imports import application_import, application_import_max_rows

            report = application_import(
                table=tabular_read(data, max_rows=application_import_max_rows()),
                actor=job.created_by,
                history=job.history,
                skip_invalid=job.skip_invalid,
                file_name=job.file_name,
                file_sha256=job.file_sha256,
                options=upload.options or {},
                row_by_row=True,
                progress=progress,
            )
        else:
            table = tabular_read(data, max_rows=customer_import_max_rows())
            report = customer_import(
                parsed=parse_rows(table.headers, table.rows),
                actor=job.created_by,
                skip_invalid=job.skip_invalid,
                file_name=job.file_name,
                file_sha256=job.file_sha256,
            )
    except ApplicationError as exc:
        # A file or permission problem is the job's outcome, not a worker failure.
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED, finished_at=timezone.now(), report={"error": str(exc.message)[:2000]}
        )
        import_upload_discard(upload=upload)
        return ImportJob.objects.get(pk=job.pk)
    except Exception as exc:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED, finished_at=timezone.now(), report={"error": str(exc)[:2000]}
        )
        raise
    body = report.as_dict()
    body["errors"] = body["errors"][:1000]
    job.new, job.updated, job.invalid_rows, job.report = report.new, report.updated, report.invalid_rows, body
    job.processed = report.rows
    job.status = ImportJob.Status.DONE if report.written else ImportJob.Status.FAILED
    job.finished_at = timezone.now()
    job.save()
    import_upload_discard(upload=upload)
    return job


# The task's entry point (customers.tasks) runs any kind of job.
customer_import_job_run = import_job_run
