"""Reads of the loans app; import them from here.

- ``applications``: the workbench queue, approval authority, the public status lookup.
"""

from loans.selectors.applications import (
    NO_AUTHORITY,
    PUBLIC_STATUS_LABELS,
    application_awaiting_second_approval,
    application_awaiting_second_condition,
    application_history,
    application_list,
    application_pending,
    application_pending_condition,
    application_public_lookup,
    application_public_offer,
    application_public_status,
    application_queue,
    application_round_approvals,
    application_workbench_queue,
    approver_authority_limit,
    customer_other_applications,
    product_active_list,
)

__all__ = [
    "NO_AUTHORITY",
    "PUBLIC_STATUS_LABELS",
    "application_awaiting_second_approval",
    "application_awaiting_second_condition",
    "application_history",
    "application_list",
    "application_pending",
    "application_pending_condition",
    "application_public_offer",
    "application_public_lookup",
    "application_public_status",
    "application_queue",
    "application_round_approvals",
    "application_workbench_queue",
    "approver_authority_limit",
    "customer_other_applications",
    "product_active_list",
]
