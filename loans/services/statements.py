"""Importing bank statements (CSV / XLSX): one repayment per row, posted by the batch service.

Every row is checked first (the loan exists and is live, the bank reference is new in the
file and in the book, the value date is not in the future nor before the loan's last
movement); a file with bad rows posts nothing unless the importer confirms the valid rows
only. The same statement imported twice posts nothing twice: every bank reference posted
before is a row error. In the admin (small files) the rows are posted in one transaction, all
or none; in a worker (large files) chunk by chunk, with progress, a row that fails then being
reported. Audited: one entry per repayment and one for the import.
"""

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from customers.importing import RowError
from customers.services.imports import ImportReport
from loans.models import LedgerEntry, Loan, Repayment
from loans.services.accounts import require
from loans.services.repayments_batch import PostingRow, repayment_post_many
from loans.statements import COLUMNS, parse_statement_rows

# The import kind of the shared upload and job machinery (customers.ImportUpload / ImportJob).
STATEMENTS = "statements"
PERM_IMPORT = "loans.import_repayment"
PERM_POST = "loans.post_repayment"
CHUNK = 2000


def statement_import_max_rows() -> int:
    return int(getattr(settings, "STATEMENT_IMPORT_MAX_ROWS", 200_000))


def statement_import_async_rows() -> int:
    """Statements with more rows than this are posted by a worker, with a progress page."""
    return int(getattr(settings, "STATEMENT_IMPORT_ASYNC_ROWS", 2_000))


def statement_check(parsed) -> list[RowError]:
    """What posting would refuse, found without writing (a few queries per 2,000 rows)."""
    headers = parsed.headers
    errors = []
    rows = parsed.rows
    numbers = sorted({r.loan_number for r in rows})
    loans = {}
    for start in range(0, len(numbers), CHUNK):
        for loan_id, number, status, disbursed in Loan.objects.filter(
            loan_number__in=numbers[start : start + CHUNK]
        ).values_list("pk", "loan_number", "status", "disbursement_date"):
            loans[number] = (loan_id, status, disbursed)
    references = [r.bank_reference for r in rows]
    posted = set()
    for start in range(0, len(references), CHUNK):
        posted |= set(
            Repayment.objects.filter(bank_reference__in=references[start : start + CHUNK]).values_list(
                "bank_reference", flat=True
            )
        )
    ids = [value[0] for value in loans.values()]
    last = {}
    for start in range(0, len(ids), CHUNK):
        last.update(
            LedgerEntry.objects.filter(loan_id__in=ids[start : start + CHUNK])
            .values("loan_id")
            .annotate(last=Max("value_date"))
            .values_list("loan_id", "last")
        )
    today = timezone.localdate()
    seen = {}
    for row in rows:
        found = loans.get(row.loan_number)
        if found is None:
            errors.append(RowError(row.row, headers["loan_number"], row.loan_number, _("No loan with this number.")))
            continue
        loan_id, status, disbursed = found
        if status not in Loan.LIVE:
            errors.append(
                RowError(
                    row.row,
                    headers["loan_number"],
                    row.loan_number,
                    _("The loan is %(status)s; nothing can be posted to it.") % {"status": Loan.Status(status).label},
                )
            )
        if row.bank_reference in posted:
            errors.append(
                RowError(row.row, headers["bank_reference"], row.bank_reference, _("Posted already (skipped)."))
            )
        elif row.bank_reference in seen:
            errors.append(
                RowError(
                    row.row,
                    headers["bank_reference"],
                    row.bank_reference,
                    _("The same bank reference as row %(row)s.") % {"row": seen[row.bank_reference]},
                )
            )
        seen.setdefault(row.bank_reference, row.row)
        latest = last.get(loan_id) or disbursed
        if row.value_date > today:
            errors.append(
                RowError(
                    row.row, headers["value_date"], row.value_date.isoformat(), _("The value date is in the future.")
                )
            )
        elif row.value_date < latest:
            errors.append(
                RowError(
                    row.row,
                    headers["value_date"],
                    row.value_date.isoformat(),
                    _("Before the loan's last movement (%(day)s).") % {"day": latest},
                )
            )
    return errors


def statement_import(
    *,
    table,
    actor,
    skip_invalid: bool = False,
    commit: bool = True,
    file_name: str = "",
    file_sha256: str = "",
    chunked: bool = False,
    progress=None,
) -> ImportReport:
    """Check (``commit=False``) or post a statement; see the module docstring."""
    require(actor, PERM_IMPORT)
    require(actor, PERM_POST)
    parsed = parse_statement_rows(table.headers, table.rows)
    report = ImportReport(
        rows=parsed.total_rows,
        errors=list(parsed.errors),
        file_errors=list(parsed.file_errors),
        ignored_headers=parsed.ignored_headers,
    )
    if report.file_errors:
        return report
    report.errors.extend(statement_check(parsed))
    report.errors.sort(key=lambda e: (e.row, e.column))
    bad = {error.row for error in report.errors}
    report.invalid_rows = len(bad)
    valid = [r for r in parsed.rows if r.row not in bad]
    report.new = len(valid)
    if not commit or not valid or (bad and not skip_invalid):
        return report
    rows = [PostingRow(r.row, r.loan_number, r.amount, r.value_date, r.bank_reference) for r in valid]
    if chunked:
        outcome = repayment_post_many(actor=actor, rows=rows, chunk=CHUNK, progress=progress)
    else:
        with transaction.atomic():
            outcome = repayment_post_many(actor=actor, rows=rows, chunk=CHUNK)
            if outcome.failed:
                transaction.set_rollback(True)  # all or none here: the report says which rows failed
    for number, why in outcome.failed:
        report.errors.append(RowError(number, "", "", why))
    report.invalid_rows = len({e.row for e in report.errors})
    posted = 0 if (outcome.failed and not chunked) else len(outcome.posted)
    report.new = posted
    report.written = posted > 0
    if posted:
        audit_record(
            action=AuditAction.IMPORT,
            actor=actor,
            target=("loans.repayment", "", _("bank statement")),
            changes={
                "file": file_name,
                "sha256": file_sha256,
                "rows": report.rows,
                "posted": posted,
                "rows_with_errors": report.invalid_rows,
            },
        )
    return report


def statement_columns() -> list[dict]:
    return [{"english": english, "chinese": chinese, "required": True} for english, chinese in COLUMNS.values()]
