"""The loans app's models, one module per part of a loan's life; import them from here.

- ``products``: LoanProduct and the choices it offers.
- ``applications``: LoanApplication (the state machine), ApprovalAuthority, ApprovalDecision.
- ``collateral``: Collateral, Guarantee and the configurable CollateralHaircut (担保).
- ``snapshots``: ApplicationSnapshot, what an application was judged on (point in time).
- ``servicing``: Loan, its versioned schedule (ScheduleVersion, Installment), Disbursement,
  Repayment (with its allocations) and the append-only LedgerEntry.
- ``delinquency``: the daily close (DayClose), classification thresholds, provision rates and
  settings, per-day loan snapshots, classification history, reminders and delinquency signals.
- ``collections``: CollectionCase (assignment, contacts, promises to pay), LegalCase, WriteOff
  and Recovery.
- ``portfolio``: the daily portfolio snapshots the dashboard reads (per day, never per loan).
- ``documents``: Document (a customer's files, checked by content, stored under random names)
  and DocumentRequest (what an application still needs).
"""

from loans.models.applications import (
    ApplicationStatus,
    ApprovalAuthority,
    ApprovalDecision,
    Channel,
    LoanApplication,
    OfferResponse,
)
from loans.models.automation import AutomatedDecision
from loans.models.collateral import Collateral, CollateralHaircut, CollateralKind, Guarantee
from loans.models.collections import (
    CollectionAssignment,
    CollectionCase,
    CollectionContact,
    ContactChannel,
    ContactOutcome,
    DelinquentLoan,
    LegalCase,
    LegalCaseEvent,
    LegalStatus,
    PromiseStatus,
    PromiseToPay,
    Recovery,
    WriteOff,
)
from loans.models.delinquency import (
    DPD_BUCKET_FROM,
    NPL_CLASSES,
    RISK_CLASS_ORDER,
    ClassificationChange,
    ClassificationThreshold,
    CloseSettings,
    DayClose,
    DelinquencySignal,
    DpdBucket,
    LoanDaySnapshot,
    ProvisionRate,
    Reminder,
    RiskClass,
)
from loans.models.documents import Document, DocumentKind, DocumentRequest, DocumentRequestStatus
from loans.models.portfolio import (
    ApplicationDay,
    ApplicationDaysSummed,
    PortfolioDay,
    PortfolioMix,
    PortfolioRoll,
    PortfolioVintage,
)
from loans.models.products import (
    ALLOCATION_COMPONENTS,
    MONEY,
    POSITIVE,
    RATE,
    DayCount,
    LoanProduct,
    LoanPurpose,
    RepaymentMethod,
)
from loans.models.public import PublicSubmission
from loans.models.servicing import (
    Disbursement,
    Installment,
    InstallmentStatus,
    LedgerEntry,
    Loan,
    LoanStatus,
    Repayment,
    RepaymentAllocation,
    ScheduleVersion,
)
from loans.models.snapshots import SNAPSHOT_CUSTOMER_FIELDS, SNAPSHOT_VERSION, ApplicationSnapshot

__all__ = [
    "ApplicationDay",
    "ApplicationDaysSummed",
    "AutomatedDecision",
    "ALLOCATION_COMPONENTS",
    "DPD_BUCKET_FROM",
    "NPL_CLASSES",
    "RISK_CLASS_ORDER",
    "ClassificationChange",
    "ClassificationThreshold",
    "CloseSettings",
    "DayClose",
    "DelinquencySignal",
    "DpdBucket",
    "LoanDaySnapshot",
    "ProvisionRate",
    "Reminder",
    "RiskClass",
    "MONEY",
    "POSITIVE",
    "RATE",
    "SNAPSHOT_CUSTOMER_FIELDS",
    "SNAPSHOT_VERSION",
    "ApplicationSnapshot",
    "ApplicationStatus",
    "OfferResponse",
    "ApprovalAuthority",
    "ApprovalDecision",
    "Channel",
    "CollectionAssignment",
    "CollectionCase",
    "CollectionContact",
    "ContactChannel",
    "ContactOutcome",
    "DelinquentLoan",
    "Document",
    "DocumentKind",
    "DocumentRequest",
    "DocumentRequestStatus",
    "LegalCase",
    "LegalCaseEvent",
    "LegalStatus",
    "PromiseStatus",
    "PromiseToPay",
    "Recovery",
    "WriteOff",
    "Collateral",
    "CollateralHaircut",
    "CollateralKind",
    "DayCount",
    "Disbursement",
    "Guarantee",
    "Installment",
    "InstallmentStatus",
    "LedgerEntry",
    "Loan",
    "LoanApplication",
    "LoanProduct",
    "LoanPurpose",
    "LoanStatus",
    "PortfolioDay",
    "PortfolioMix",
    "PortfolioRoll",
    "PortfolioVintage",
    "PublicSubmission",
    "Repayment",
    "RepaymentAllocation",
    "RepaymentMethod",
    "ScheduleVersion",
]
