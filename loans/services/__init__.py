"""Writes of the loans app. Import services from here."""

from loans.services.applications import (
    EDITABLE_FIELDS,
    IDENTITY_REJECTED,
    IDENTITY_VERIFIED,
    application_approve,
    application_assign_reviewer,
    application_cancel,
    application_check_product_limits,
    application_create,
    application_offer_answer,
    application_reject,
    application_return,
    application_start_review,
    application_submit,
    application_update,
    application_verify_identity,
    application_withdraw,
    reference_new,
)
from loans.services.batch import BATCH_OPERATIONS, BatchOutcome, application_batch
from loans.services.imports import application_import, application_import_history_row
from loans.services.public import application_submit_public

__all__ = [
    "BATCH_OPERATIONS",
    "EDITABLE_FIELDS",
    "IDENTITY_REJECTED",
    "IDENTITY_VERIFIED",
    "BatchOutcome",
    "application_approve",
    "application_assign_reviewer",
    "application_batch",
    "application_cancel",
    "application_check_product_limits",
    "application_create",
    "application_import",
    "application_import_history_row",
    "application_offer_answer",
    "application_reject",
    "application_return",
    "application_start_review",
    "application_submit",
    "application_submit_public",
    "application_update",
    "application_verify_identity",
    "application_withdraw",
    "reference_new",
]
