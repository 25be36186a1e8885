"""What a signed-in customer may do in the portal: apply, send a returned application back,
download a loan's repayment plan and statement.

Thin layers over the loans services (the same validation, snapshot and audit as the public
form and the back office): the customer is the one the portal selected, never one named by
the request, and the portal account that acted goes into each audit entry (there is no staff
actor).
"""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from customers.models import Customer
from loans.models import Channel, Loan, LoanApplication, LoanProduct, PublicSubmission
from loans.services.applications import (
    application_check_product_limits,
    application_create,
    application_customer_check,
    application_offer_answer,
    application_reference_allocate,
    application_submit,
)
from loans.services.public import public_submission_find
from loansite.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from loansite.money import money

Status = LoanApplication.Status
ANSWER_MAX = 2000


def portal_audit_details(account) -> dict:
    """Who acted, for the audit entry: the portal account (customers have no staff account)."""
    return {"portal_account": getattr(account, "pk", None)}


def _own_application(*, customer: Customer, application: LoanApplication) -> LoanApplication:
    if application.customer_id != customer.pk:
        raise NotFound(_("No such application."))
    return application


def portal_application_submit(
    *,
    account,
    customer: Customer,
    product: LoanProduct,
    amount,
    term_months: int,
    purpose: str = "",
    repayment_method: str = "",
    submission_token: str = "",
) -> LoanApplication:
    """A submitted application for the selected customer (the public form's path without the
    identity matching: the portal account has proven who the customer is).

    The same product limits, freeze check, snapshot, scoring and audit as every application;
    the form's one-time token makes a second post of the same form (a refresh, a double click)
    return the first application and write nothing.
    """
    amount = money(amount)
    repayment_method = repayment_method or (product.repayment_methods or ["equal_installment"])[0]
    application_check_product_limits(product=product, amount=amount, term_months=term_months, method=repayment_method)
    application_customer_check(customer_id=customer.pk, public=True)
    reference = application_reference_allocate()
    try:
        with transaction.atomic():
            submission = None
            if submission_token:
                earlier = public_submission_find(submission_token)
                if earlier is not None:
                    if earlier.customer_id != customer.pk:
                        # A token is the form's, not a key to someone else's application.
                        raise Conflict(_("This form was sent already; open a new one."))
                    return earlier
                submission = PublicSubmission.objects.create(token=submission_token)
            application = application_create(
                actor=None,
                customer=customer,
                product=product,
                amount=amount,
                term_months=term_months,
                purpose=purpose,
                repayment_method=repayment_method,
                channel=Channel.PORTAL,
                contact_phone=customer.phone,
                submit=True,
                reference=reference,
                audit_details=portal_audit_details(account),
            )
            if submission is not None:
                PublicSubmission.objects.filter(pk=submission.pk).update(application=application)
            return application
    except IntegrityError:
        earlier = public_submission_find(submission_token) if submission_token else None
        if earlier is not None and earlier.customer_id == customer.pk:
            return earlier
        raise Conflict(_("We could not save your application; please try again.")) from None


def portal_application_open_requests(*, application: LoanApplication):
    """The documents the officer still asks for on this application (open requests)."""
    from loans.selectors.documents import document_requests_for_application

    return document_requests_for_application(application, open_only=True).order_by("created_at", "id")


@transaction.atomic
def portal_application_answer(*, account, customer: Customer, application: LoanApplication, message: str = ""):
    """Send an application returned for information back to the bank (returned_for_info ->
    submitted: a new review round, the row locked, audited with the portal account).

    Refused while a requested document is missing: the customer uploads those first.
    """
    _own_application(customer=customer, application=application)
    message = (message or "").strip()
    if len(message) > ANSWER_MAX:
        raise ValidationFailed(
            _("Please keep your message under %(n)s characters.") % {"n": ANSWER_MAX}, extra={"field": "message"}
        )
    current = LoanApplication.objects.filter(pk=application.pk).values_list("status", flat=True).first()
    if current != Status.RETURNED:
        raise InvalidTransition(
            _("This application is not waiting for information from you."), extra={"status": current}
        )
    application_customer_check(customer_id=customer.pk, public=True)
    missing = list(portal_application_open_requests(application=application))
    if missing:
        kinds = ", ".join(str(request.get_kind_display()) for request in missing)
        raise ValidationFailed(
            _("Please upload the documents asked for first: %(kinds)s.") % {"kinds": kinds},
            extra={"field": "documents", "missing": [request.kind for request in missing]},
        )
    return application_submit(
        actor=None,
        application=application,
        reason=message or _("Sent back by the customer through the portal."),
        audit_details={**portal_audit_details(account), "answered_in": "portal"},
    )


def portal_application_offer_answer(
    *, account, customer: Customer, application: LoanApplication, accept: bool, note: str = ""
) -> LoanApplication:
    """The customer accepts or declines a counter-offer of their own application (the loans
    service locks the row, refuses an offer not waiting for an answer and audits it with the
    portal account; declining cancels the approval)."""
    _own_application(customer=customer, application=application)
    return application_offer_answer(
        application=application,
        accept=accept,
        reason=note,
        audit_details={**portal_audit_details(account), "answered_in": "portal"},
    )


def _own_loan(*, customer: Customer, loan: Loan) -> Loan:
    if loan.customer_id != customer.pk:
        raise NotFound(_("No such loan."))
    return loan


def _audit_download(account, loan: Loan, what: str, rows: int, fmt: str = "xlsx") -> None:
    audit_record(
        action=AuditAction.EXPORT,
        actor=None,
        target=loan,
        changes={"export": what, "rows": rows, "format": fmt, **portal_audit_details(account)},
    )


def portal_loan_plan_download(*, account, customer: Customer, loan: Loan) -> tuple[str, bytes]:
    """The loan's repayment plan (the current schedule, bilingual XLSX): (file name, content)."""
    from loans.services.exports import SCHEDULE_HEADERS, loan_schedule_table, loan_workbook

    _own_loan(customer=customer, loan=loan)
    rows = loan_schedule_table(loan)
    content = loan_workbook(_("Repayment plan"), loan, SCHEDULE_HEADERS, rows)
    _audit_download(account, loan, "repayment_plan", len(rows))
    return f"{loan.loan_number}-repayment-plan.xlsx", content


# The customer's statement leaves out who at the bank posted a repayment and the internal
# reason for a reversal (the staff export's last two columns).
STATEMENT_COLUMNS = 11


def portal_loan_statement_download(*, account, customer: Customer, loan: Loan, fmt: str = "xlsx") -> tuple[str, bytes]:
    """The loan's statement, every repayment and how it was allocated: a bilingual XLSX, or
    (``fmt="pdf"``) a printable PDF with the loan's facts and the totals. (file name, content)."""
    from loans.services.exports import REPAYMENT_HEADERS, loan_repayments_table, loan_workbook
    from loans.services.statement_pdf import loan_statement_pdf

    _own_loan(customer=customer, loan=loan)
    rows = loan_repayments_table(loan, staff=False)
    headers = REPAYMENT_HEADERS[:STATEMENT_COLUMNS]
    if fmt == "pdf":
        content = loan_statement_pdf(loan, headers=headers, rows=rows)
    else:
        fmt, content = "xlsx", loan_workbook(_("Statement"), loan, headers, rows)
    _audit_download(account, loan, "statement", len(rows), fmt=fmt)
    return f"{loan.loan_number}-statement.{fmt}", content
