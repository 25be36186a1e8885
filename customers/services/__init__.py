"""Writes to the customer book. Every change is audited in the same transaction."""

from customers.services.assignments import (
    assignment_run_matching,
    customer_reassign,
    customers_reassign_many,
    matching_run_start,
)
from customers.services.credit_lines import (
    credit_line_change,
    credit_line_grant,
    credit_line_release,
    credit_line_use,
)
from customers.services.customers import (
    customer_create,
    customer_update,
    customer_upsert,
)
from customers.services.imports import (
    ImportReport,
    customer_import,
    customer_import_async_rows,
    customer_import_job_run,
    customer_import_max_rows,
    import_job_run,
    import_job_start,
)
from customers.services.ratings import (
    customer_rate_by_model,
    customer_rating_approve,
    customer_rating_change,
    customer_rating_refuse,
)

__all__ = [
    "assignment_run_matching",
    "credit_line_change",
    "credit_line_grant",
    "credit_line_release",
    "credit_line_use",
    "ImportReport",
    "customer_create",
    "customer_import",
    "customer_import_async_rows",
    "customer_import_job_run",
    "customer_import_max_rows",
    "customer_reassign",
    "customer_rate_by_model",
    "customer_rating_approve",
    "customer_rating_change",
    "customer_rating_refuse",
    "customer_update",
    "customers_reassign_many",
    "customer_upsert",
    "import_job_run",
    "import_job_start",
    "matching_run_start",
]
