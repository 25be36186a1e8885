"""The loans app's models, one module per part of a loan's life; import them from here.

- ``products``: LoanProduct and the choices it offers.
- ``applications``: LoanApplication (the state machine), ApprovalAuthority, ApprovalDecision.
"""

from loans.models.applications import (
    ApplicationStatus,
    ApprovalAuthority,
    ApprovalDecision,
    Channel,
    LoanApplication,
)
from loans.models.products import MONEY, POSITIVE, RATE, LoanProduct, LoanPurpose, RepaymentMethod

__all__ = [
    "MONEY",
    "POSITIVE",
    "RATE",
    "ApplicationStatus",
    "ApprovalAuthority",
    "ApprovalDecision",
    "Channel",
    "LoanApplication",
    "LoanProduct",
    "LoanPurpose",
    "RepaymentMethod",
]
