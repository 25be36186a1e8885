"""Importing loan applications from a file, through the same services as hand entry.

Each row names a customer (created or updated through the customer services, with their
validators, duplicate checks and audit entries) and a request, which becomes a draft or a
submitted application through ``application_create``: product limits, permissions, an
audit entry per application, scoring queued on commit. A status other than draft or
submitted is a row error, except in a history import: a separate permission
(``loans.import_history_loanapplication``, administrators), chosen explicitly in the
import form, that records each row in the status and on the date the file gives, with no
decision checks (approvers, authority, maker-checker, credit-line draw) and an audit
entry per application saying so. Bureau scores reach the customer only for users who may
rate customers; otherwise the column is reported as ignored.

Every row is checked before anything is written. In the admin (small files) all rows are
written in one transaction, or none when a row fails; in a worker (big files) each row is
written in its own transaction after the whole file passed the check, so the database is
never locked for the length of the file, and a row that fails then is reported.
"""

import datetime
from collections import Counter

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.models import AuditAction
from audit.services import audit_record, model_snapshot
from customers.importing import RowError
from customers.services.customers import customer_can_rate
from customers.services.imports import ImportReport
from loans.importing import COLUMNS, NEW_CUSTOMER_LABEL, ImportOptions, infer_kind_of, parse_application_rows
from loans.models import Channel, LoanApplication, LoanProduct
from loans.services.applications import (
    PERM_ADD,
    PERM_SUBMIT,
    _require,
    application_check_product_limits,
    application_create,
    application_reference_allocate,
)
from loans.services.snapshots import application_snapshot_take
from loansite.errors import ApplicationError, NotAllowed, ValidationFailed

PERM_IMPORT = "loans.import_loanapplication"
PERM_IMPORT_HISTORY = "loans.import_history_loanapplication"
HISTORY_LABEL = gettext_lazy("Import history: decided applications, no decision checks")

# What an ordinary import may create; anything else is history.
NEW_STATUSES = (LoanApplication.Status.DRAFT, LoanApplication.Status.SUBMITTED)
# Not "pending identity verification": only the public form puts an application there.
IMPORTABLE_STATUSES = [
    s
    for s in LoanApplication.Status.values
    if s not in (LoanApplication.Status.DISBURSED, LoanApplication.Status.PENDING_VERIFICATION)
]
DECIDED = {
    LoanApplication.Status.APPROVED,
    LoanApplication.Status.REJECTED,
    LoanApplication.Status.CANCELLED,
}
PROGRESS_EVERY = 50


def application_import_max_rows() -> int:
    return int(getattr(settings, "APPLICATION_IMPORT_MAX_ROWS", 20_000))


def application_import_async_rows() -> int:
    """Files with more rows than this are imported by a worker, with a progress page."""
    return int(getattr(settings, "APPLICATION_IMPORT_ASYNC_ROWS", 200))


def application_can_import_history(actor) -> bool:
    return actor is not None and actor.is_active and actor.has_perm(PERM_IMPORT_HISTORY)


def application_import_options(options: dict | None) -> ImportOptions:
    """The import form's choices (JSON, kept with the upload) as the parser takes them."""
    from decimal import Decimal

    options = options or {}
    product = None
    if options.get("default_product"):
        product = LoanProduct.objects.filter(pk=options["default_product"], active=True).first()
        if product is None:
            raise ValidationFailed(_("The default product chosen for this import is no longer offered."))
    term = options.get("default_term")
    return ImportOptions(
        amount_factor=Decimal(10000) if str(options.get("amount_unit")) == "10000" else Decimal(1),
        revenue_factor=Decimal(10000) if str(options.get("revenue_unit")) == "10000" else Decimal(1),
        product=product,
        term_months=int(term) if term else None,
    )


def _products() -> dict:
    products = {}
    for product in LoanProduct.objects.all():
        products[product.name.lower()] = product
    for product in LoanProduct.objects.all():
        products[product.code.lower()] = product  # a code wins over another product's name
    return products


def _column_errors(exc: ApplicationError, number: int, headers: dict) -> list[RowError]:
    """A service's error as row errors, on the columns it names."""
    named = {"name": "customer_name", **{key: key for key in COLUMNS}}
    errors = []
    for field_name, messages in (exc.extra.get("errors") or {}).items():
        key = named.get(field_name)
        header = headers.get(key, "") if key else ""
        for message in messages if isinstance(messages, list | tuple) else [messages]:
            errors.append(RowError(number, header, "", str(message)))
    return errors or [RowError(number, "", "", str(exc.message))]


def _check_row(row: dict, *, actor, history: bool, headers: dict, existing: dict) -> list[RowError]:
    """What the services would refuse, found without writing (product limits, status, customer).

    ``existing``: the customers holding the file's keys, read once for the whole file
    (``customer_keys_existing``), matched as the customer import matches them.
    """
    from customers.models import Customer
    from customers.services.customers import customer_identity_errors
    from customers.services.imports import customer_keys_match

    number, errors = row["_row"], []
    status = row["status"]
    fields = row["customer_fields"]
    pk, problem = customer_keys_match(fields, existing)
    if not problem and pk is None:
        # A new customer: the file must say who it is. A customer on file is found by credit
        # code, ID number or phone and needs nothing else (its record on file is kept).
        for key in ("customer_name", "phone", "industry", "city"):
            if key not in row["given"]:
                errors.append(RowError(number, headers.get(key, COLUMNS[key][1]), "", str(NEW_CUSTOMER_LABEL)))
        fields.setdefault("kind", infer_kind_of(fields))
    if history:
        if status not in IMPORTABLE_STATUSES:
            errors.append(RowError(number, headers.get("status", ""), status, _("This status cannot be imported.")))
    elif status not in NEW_STATUSES:
        errors.append(
            RowError(
                number,
                headers.get("status", ""),
                str(LoanApplication.Status(status).label),
                _(
                    "Only draft or submitted applications can be imported. Decided or reviewed applications are "
                    "history: they need the history import permission and its box ticked."
                ),
            )
        )
    elif status == LoanApplication.Status.SUBMITTED and not actor.has_perm(PERM_SUBMIT):
        errors.append(
            RowError(number, headers.get("status", ""), status, _("You may not submit applications; import drafts."))
        )
    product = row["product"]
    method = row["repayment_method"] or (product.repayment_methods or ["equal_installment"])[0]
    if not history or status in LoanApplication.PENDING or status in LoanApplication.EDITABLE:
        try:
            application_check_product_limits(
                product=product, amount=row["amount"], term_months=row["term_months"], method=method
            )
        except ValidationFailed as exc:
            errors.extend(_column_errors(exc, number, headers))
    if problem:
        errors.append(RowError(number, "", "", problem))
    elif pk is None:
        probe = Customer(**fields)
        for field_name, messages in customer_identity_errors(probe).items():
            errors.extend(RowError(number, headers.get(field_name, ""), "", str(m)) for m in messages)
    return errors


def _write_row(row: dict, *, actor, history: bool) -> LoanApplication:
    from customers.services import customer_upsert

    customer, _created = customer_upsert(actor=actor, **row["customer_fields"])
    product = row["product"]
    method = row["repayment_method"] or (product.repayment_methods or ["equal_installment"])[0]
    if history:
        return application_import_history_row(
            actor=actor,
            customer=customer,
            product=product,
            amount=row["amount"],
            term_months=row["term_months"],
            status=row["status"] or LoanApplication.Status.SUBMITTED,
            on=row["on"],
            purpose=row["purpose"],
            repayment_method=method,
        )
    return application_create(
        actor=actor,
        customer=customer,
        product=product,
        amount=row["amount"],
        term_months=row["term_months"],
        purpose=row["purpose"],
        repayment_method=method,
        channel=Channel.IMPORT,
        submit=row["status"] == LoanApplication.Status.SUBMITTED,
    )


def application_import(
    *,
    table,
    actor,
    history: bool = False,
    commit: bool = True,
    skip_invalid: bool = False,
    file_name: str = "",
    file_sha256: str = "",
    row_by_row: bool = False,
    progress=None,
    options: dict | None = None,
) -> ImportReport:
    """Check every row of ``table`` (a ``loansite.tabular.Table``); then write them (see the module).

    ``options``: the import form's choices, as kept with the upload (``application_import_options``)."""
    _require(actor, PERM_IMPORT)
    _require(actor, PERM_ADD)
    if history and not application_can_import_history(actor):
        raise NotAllowed(_("Importing application history needs its own permission."))
    parsed = parse_application_rows(
        table.headers, table.rows, products=_products(), options=application_import_options(options)
    )
    report = ImportReport(
        errors=list(parsed.errors),
        file_errors=list(parsed.file_errors),
        ignored_headers=parsed.ignored_headers,
        columns_read=parsed.columns_read,
    )
    if parsed.file_errors:
        return report
    for row in parsed.rows:
        if row["status"] == "":
            row["status"] = LoanApplication.Status.SUBMITTED
    if "credit_score" in parsed.keys and not customer_can_rate(actor):
        for row in parsed.rows:
            row["customer_fields"].pop("credit_score", None)
        report.notices.append(
            _(
                "Column ignored, nothing in it was written: %(column)s (setting bureau scores needs the rating "
                "permission)."
            )
            % {"column": parsed.headers["credit_score"]}
        )
    if "date" in parsed.keys and not history:
        report.notices.append(
            _("Column ignored: %(column)s (new applications are dated today; only a history import keeps dates).")
            % {"column": parsed.headers["date"]}
        )
    from customers.services.imports import customer_keys_existing

    existing = customer_keys_existing([row["customer_fields"] for row in parsed.rows])
    valid = []
    for row in parsed.rows:
        problems = _check_row(row, actor=actor, history=history, headers=parsed.headers, existing=existing)
        if problems:
            report.errors.extend(problems)
        else:
            valid.append(row)
    report.rows = len(parsed.rows) + len({e.row for e in parsed.errors})
    report.invalid_rows = len({e.row for e in report.errors})
    report.new = len(valid)
    report.errors.sort(key=lambda e: (e.row, e.column))
    if progress is not None:
        progress(0)
    if not commit or (report.errors and not skip_invalid):
        return report

    statuses: Counter = Counter()
    failed: list[RowError] = []

    def write(row) -> None:
        try:
            with transaction.atomic():
                statuses[_write_row(row, actor=actor, history=history).status] += 1
        except ApplicationError as exc:
            failed.extend(_column_errors(exc, row["_row"], parsed.headers))

    def summary() -> None:
        _audit_summary(
            report, actor=actor, history=history, file_name=file_name, file_sha256=file_sha256, statuses=statuses
        )

    if row_by_row:
        for done, row in enumerate(valid, start=1):
            write(row)
            if progress is not None and (done % PROGRESS_EVERY == 0 or done == len(valid)):
                progress(done)
        summary()
    else:
        with transaction.atomic():
            for row in valid:
                write(row)
            if failed and not skip_invalid:
                transaction.set_rollback(True)
                statuses.clear()
            else:
                summary()
    if failed:
        report.errors = sorted([*report.errors, *failed], key=lambda e: (e.row, e.column))
        report.invalid_rows = len({e.row for e in report.errors})
    report.new = sum(statuses.values())
    report.written = bool(row_by_row or not failed or skip_invalid)
    return report


def _audit_summary(report: ImportReport, *, actor, history, file_name, file_sha256, statuses: Counter) -> None:
    audit_record(
        action=AuditAction.IMPORT,
        actor=actor,
        target=("loans.loanapplication", "", file_name or "applications"),
        changes={
            "file": file_name,
            "sha256": file_sha256,
            "history": history,
            "rows": report.rows,
            "created": sum(statuses.values()),
            "statuses": dict(statuses),
            "skipped_invalid_rows": report.invalid_rows,
            "ignored_columns": [str(n) for n in report.notices],
        },
        reason=str(HISTORY_LABEL) if history else "",
    )


@transaction.atomic
def application_import_history_row(
    *,
    actor,
    customer,
    product: LoanProduct,
    amount,
    term_months: int,
    status: str,
    on: datetime.datetime | None = None,
    purpose: str = "",
    repayment_method: str = "",
) -> LoanApplication:
    """Record one application as it stood in another system (history import permission only).

    No transition is replayed and no decision check runs (the decisions were made
    elsewhere); the audit entry says so. Pending and editable ones still fit the product.
    """
    if not application_can_import_history(actor):
        raise NotAllowed(_("Importing application history needs its own permission."))
    if status not in IMPORTABLE_STATUSES:
        message = _("This status cannot be imported.")
        raise ValidationFailed(message, extra={"errors": {"status": [message]}})
    repayment_method = repayment_method or (product.repayment_methods or ["equal_installment"])[0]
    if status in LoanApplication.PENDING or status in LoanApplication.EDITABLE:
        application_check_product_limits(
            product=product, amount=amount, term_months=term_months, method=repayment_method
        )
    when = on or timezone.now()
    app = LoanApplication.objects.create(
        reference=application_reference_allocate(),
        customer=customer,
        product=product,
        amount=amount,
        term_months=term_months,
        purpose=purpose or product.purpose,
        repayment_method=repayment_method,
        channel=Channel.IMPORT,
        contact_phone=customer.phone,
        status=status,
        review_round=0 if status == LoanApplication.Status.DRAFT else 1,
        created_by=actor,
        created_at=when,
        submitted_at=None if status == LoanApplication.Status.DRAFT else when,
        status_changed_at=when,
        decided_at=when if status in DECIDED else None,
        decision_reason=_("Imported") if status in DECIDED else "",
    )
    audit_record(
        action=AuditAction.IMPORT,
        actor=actor,
        target=app,
        changes={"history": True, "decision_checks": False, "created": model_snapshot(app)},
        reason=str(HISTORY_LABEL),
    )
    if status != LoanApplication.Status.DRAFT:
        # As on file at the import: the nearest there is to the date the file gives.
        application_snapshot_take(application=app)
    return app
