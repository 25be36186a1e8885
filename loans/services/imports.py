"""Importing applications from another system (CSV/XLSX through the admin).

A row carries the customer and the request, and may carry its historical status and
date: it is recorded as it stood, with an audit entry, not replayed through the
transitions (the decisions were made elsewhere).
"""

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record, model_snapshot
from loans.models import Channel, LoanApplication, LoanProduct
from loans.services.applications import (
    PERM_ADD,
    _require,
    application_check_product_limits,
    application_reference_allocate,
)
from loansite.errors import ValidationFailed

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


@transaction.atomic
def application_import_row(
    *,
    actor,
    customer_fields: dict,
    product: LoanProduct,
    amount,
    term_months: int,
    status: str = LoanApplication.Status.SUBMITTED,
    on: datetime.datetime | None = None,
    purpose: str = "",
    repayment_method: str = "",
) -> LoanApplication:
    """Create (or update) the customer and record one imported application."""
    from customers.services import customer_upsert

    _require(actor, "loans.import_loanapplication")
    _require(actor, PERM_ADD)
    if status not in IMPORTABLE_STATUSES:
        raise ValidationFailed(_("Unknown status."), extra={"errors": {"status": [_("Unknown status.")]}})
    repayment_method = repayment_method or (product.repayment_methods or ["equal_installment"])[0]
    if status in LoanApplication.PENDING or status in LoanApplication.EDITABLE:
        application_check_product_limits(
            product=product, amount=amount, term_months=term_months, method=repayment_method
        )
    customer, _created = customer_upsert(actor=actor, **customer_fields)
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
    audit_record(action=AuditAction.IMPORT, actor=actor, target=app, changes={"created": model_snapshot(app)})
    return app
