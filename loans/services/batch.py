"""Batch decisions from the workbench: each item goes through the same service on its own.

One item's failure (authority, maker-checker, state) never undoes the others; the
outcome lists what succeeded and, for each failure, why.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from loans.models import LoanApplication
from loans.selectors import approver_authority_limit
from loans.services.applications import (
    application_approve,
    application_assign_reviewer,
    application_reject,
    application_start_review,
)
from loansite.errors import ApplicationError, ValidationFailed

BATCH_OPERATIONS = {
    "approve": _("Approve"),
    "reject": _("Reject"),
    "review": _("Start review"),
    "assign": _("Assign reviewer"),
}


@dataclass
class BatchOutcome:
    done: list[LoanApplication] = field(default_factory=list)
    failed: list[tuple[LoanApplication, str]] = field(default_factory=list)

    @property
    def done_amount(self) -> Decimal:
        return sum((a.amount for a in self.done), Decimal("0.00"))


def application_batch(*, actor, applications, operation: str, reason: str = "", reviewer=None) -> BatchOutcome:
    """Apply ``operation`` to every application, each in its own transaction."""
    if operation not in BATCH_OPERATIONS:
        raise ValidationFailed(_("Unknown batch operation."))
    if operation == "reject" and not (reason or "").strip():
        raise ValidationFailed(_("Please give a reason."), extra={"field": "reason"})
    outcome = BatchOutcome()
    authority = approver_authority_limit(user=actor) if operation == "approve" else None
    for app in applications:
        try:
            with transaction.atomic():
                if operation == "approve":
                    result = application_approve(actor=actor, application=app, reason=reason, authority=authority)
                elif operation == "reject":
                    result = application_reject(actor=actor, application=app, reason=reason)
                elif operation == "review":
                    result = application_start_review(actor=actor, application=app, reason=reason)
                else:
                    result = application_assign_reviewer(actor=actor, application=app, reviewer=reviewer, reason=reason)
        except ApplicationError as exc:
            outcome.failed.append((app, str(exc.message)))
        else:
            outcome.done.append(result)
    return outcome
