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
    application_approval_prefetch,
    application_approve,
    application_assign_reviewer,
    application_reject,
    application_start_review,
)
from loansite.errors import ApplicationError, ValidationFailed

CHUNK = 50

BATCH_OPERATIONS = {
    "approve": _("Approve"),
    "reject": _("Reject"),
    "review": _("Start review"),
    "assign": _("Assign reviewer"),
}

# The permission each operation needs (checked when a queued batch is authorised and again
# when the worker starts it).
BATCH_PERMISSIONS = {
    "approve": "loans.approve_loanapplication",
    "reject": "loans.approve_loanapplication",
    "review": "loans.review_loanapplication",
    "assign": "loans.review_loanapplication",
}


@dataclass
class BatchOutcome:
    done: list[LoanApplication] = field(default_factory=list)
    failed: list[tuple[LoanApplication, str]] = field(default_factory=list)

    @property
    def done_amount(self) -> Decimal:
        return sum((a.amount for a in self.done), Decimal("0.00"))


def application_batch(*, actor, applications, operation: str, reason: str = "", reviewer=None) -> BatchOutcome:
    """Apply ``operation`` to every application through its service; failures are collected."""
    if operation not in BATCH_OPERATIONS:
        raise ValidationFailed(_("Unknown batch operation."))
    if operation == "reject" and not (reason or "").strip():
        raise ValidationFailed(_("Please give a reason."), extra={"field": "reason"})
    outcome = BatchOutcome()
    authority = approver_authority_limit(user=actor) if operation == "approve" else None
    items = list(applications)
    # Items commit in chunks (one commit per CHUNK, a savepoint per item: each service is
    # atomic, so inside the chunk's transaction it is its own savepoint): a failing item
    # rolls back alone, and the row locks of a chunk are held for well under a second.
    for start in range(0, len(items), CHUNK):
        chunk = items[start : start + CHUNK]
        with transaction.atomic():
            # Approvals lock and read the chunk's rows, credit lines and earlier approvals
            # in three queries instead of three per item; the checks still run per item.
            prefetch = application_approval_prefetch(ids=[a.pk for a in chunk]) if operation == "approve" else None
            for app in chunk:
                try:
                    result = _apply(
                        app,
                        actor=actor,
                        operation=operation,
                        reason=reason,
                        reviewer=reviewer,
                        authority=authority,
                        prefetch=prefetch,
                    )
                except ApplicationError as exc:
                    outcome.failed.append((app, str(exc.message)))
                else:
                    outcome.done.append(result)
    return outcome


def application_batch_queue(
    *, actor, application_ids: list[int], operation: str, reason: str = "", reviewer=None
) -> str:
    """Hand a large batch to a worker, as ``actor``'s decision; returns the task id.

    The worker learns the actor and every parameter from the signed, single-use
    authorisation issued here (``loansite.task_authorisation``), never from task arguments.
    """
    from loans.tasks import application_batch_task
    from loansite.task_authorisation import task_queue_authorised

    if operation not in BATCH_OPERATIONS:
        raise ValidationFailed(_("Unknown batch operation."))
    if operation == "reject" and not (reason or "").strip():
        raise ValidationFailed(_("Please give a reason."), extra={"field": "reason"})
    params = {
        "application_ids": sorted({int(pk) for pk in application_ids}),
        "operation": operation,
        "reason": reason or "",
        "reviewer_id": reviewer.pk if reviewer is not None else None,
    }
    with transaction.atomic():
        return task_queue_authorised(
            application_batch_task, actor=actor, params=params, permissions=(BATCH_PERMISSIONS[operation],)
        )


def _apply(app, *, actor, operation, reason, reviewer, authority, prefetch):
    if operation == "approve":
        return application_approve(actor=actor, application=app, reason=reason, authority=authority, prefetch=prefetch)
    if operation == "reject":
        return application_reject(actor=actor, application=app, reason=reason)
    if operation == "review":
        return application_start_review(actor=actor, application=app, reason=reason)
    return application_assign_reviewer(actor=actor, application=app, reviewer=reviewer, reason=reason)
