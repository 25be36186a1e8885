"""Demo data for the loans app: products, approval authorities, and applications in every
state with a plausible decision history over the last 12 months.

Decisions follow ``application_profiles``' ``approved`` column (an experienced officer's
judgement of the latent default risk), so the approval and PD models have a real signal
to learn. Shares ``ctx.made["application_ids"]`` and ``ctx.made["application_profiles"]``
(the profile DataFrame with ``application_id`` and ``status`` columns, row i = application i).
"""

import datetime
import random
from decimal import Decimal

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from audit.models import AuditAction
from audit.services import audit_record
from loans.models import (
    ApprovalAuthority,
    ApprovalDecision,
    Channel,
    LoanApplication,
    LoanProduct,
    LoanPurpose,
    RepaymentMethod,
)
from loans.services import reference_new
from loansite.demo import DemoContext, demo_seeder
from loansite.demo_profiles import application_profiles
from loansite.money import money
from loansite.roles import CREDIT_APPROVER, LOAN_OFFICER

S = LoanApplication.Status
ALL_METHODS = [m.value for m in RepaymentMethod]

# code, name, purpose, min, max, min term, max term, rate from, rate to, methods
PRODUCTS = [
    ("WC", "Working capital loan", LoanPurpose.WORKING_CAPITAL, 10_000, 3_000_000, 3, 36, "0.0435", "0.1200",
     ALL_METHODS),
    ("INV", "Inventory finance", LoanPurpose.INVENTORY, 10_000, 1_000_000, 3, 12, "0.0480", "0.1000", ALL_METHODS),
    ("EQP", "Equipment loan", LoanPurpose.EQUIPMENT, 50_000, 3_000_000, 12, 36, "0.0450", "0.0950",
     ["equal_installment", "equal_principal"]),
    ("EXP", "Expansion loan", LoanPurpose.EXPANSION, 100_000, 3_000_000, 12, 36, "0.0500", "0.1100",
     ["equal_installment", "equal_principal"]),
]  # fmt: skip
PRODUCT_NAMES_ZH = {"WC": "流动资金贷款", "INV": "存货融资", "EQP": "设备贷款", "EXP": "扩张贷款"}
GROUP_AUTHORITY = Decimal("500000.00")
SENIOR_AUTHORITY = Decimal("1500000.00")


def _products() -> list[LoanProduct]:
    products = []
    for code, name, purpose, lo, hi, tmin, tmax, rmin, rmax, methods in PRODUCTS:
        product, _created = LoanProduct.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "name_zh": PRODUCT_NAMES_ZH.get(code, ""),
                "purpose": purpose,
                "min_amount": Decimal(lo),
                "max_amount": Decimal(hi),
                "min_term_months": tmin,
                "max_term_months": tmax,
                "annual_rate_min": Decimal(rmin),
                "annual_rate_max": Decimal(rmax),
                "repayment_methods": methods,
            },
        )
        products.append(product)
    return products


def _staff(names: list[str], role: str, fallback_prefix: str) -> list:
    """The bootstrap demo accounts when they exist, else demo-only accounts without a password."""
    User = get_user_model()
    users = list(User.objects.filter(username__in=names).order_by("username"))
    if len(users) >= 2:
        return users
    group = Group.objects.filter(name=role).first()
    users = []
    for i in (1, 2):
        user, created = User.objects.get_or_create(username=f"{fallback_prefix}{i}", defaults={"is_staff": True})
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        if group:
            user.groups.add(group)
        users.append(user)
    return users


def _authorities(approvers) -> None:
    group = Group.objects.filter(name=CREDIT_APPROVER).first()
    if group:
        ApprovalAuthority.objects.get_or_create(group=group, defaults={"limit": GROUP_AUTHORITY})
    ApprovalAuthority.objects.get_or_create(user=approvers[-1], defaults={"limit": SENIOR_AUTHORITY})


def _product_for(products, amount: float, term: int, rng) -> LoanProduct:
    fitting = [
        p for p in products if p.min_amount <= amount <= p.max_amount and p.min_term_months <= term <= p.max_term_months
    ]
    weights = np.array([3.0 if p.code == "WC" else 1.0 for p in fitting])
    return fitting[int(rng.choice(len(fitting), p=weights / weights.sum()))]


def _status(row, rng) -> str:
    """Decided long ago, a mix of pending states in the last weeks."""
    u = rng.random()
    if row.days_ago < 30:
        if u < 0.06:
            return S.DRAFT
        if u < 0.40:
            return S.SUBMITTED
        if u < 0.70:
            return S.UNDER_REVIEW
        if u < 0.78:
            return S.RETURNED
        if u < 0.81:
            return S.WITHDRAWN
    elif u < 0.03:
        return S.WITHDRAWN
    if row.approved:
        return S.CANCELLED if rng.random() < 0.04 else S.APPROVED
    return S.REJECTED


REJECT_REASONS = [
    "Debt service coverage too thin for the requested amount.",
    "Revenue trend not supported by bank statements.",
    "Recent overdue records at other lenders.",
    "Amount too high relative to monthly revenue.",
]
APPROVE_REASONS = ["Stable cash flow, low leverage.", "Good repayment history.", "Within policy; collateral adequate."]
RETURN_REASONS = ["Please upload the last six months of bank statements.", "Business licence copy is unreadable."]


@demo_seeder(order=20)
@transaction.atomic
def seed_loans(ctx: DemoContext) -> None:
    profiles = ctx.made.get("customer_profiles")
    customer_ids = ctx.made.get("customer_ids")
    if profiles is None or not customer_ids:
        ctx.log("  no customers seeded; skipping applications")
        return
    rng = ctx.child_rng("loans")
    rand = random.Random(int(rng.integers(0, 2**31)))
    products = _products()
    officers = _staff(["officer", "officer2"], LOAN_OFFICER, "demo-officer")
    approvers = _staff(["approver", "approver2"], CREDIT_APPROVER, "demo-approver")
    _authorities(approvers)
    senior = approvers[-1]

    apps = application_profiles(rng, profiles, ctx.applications)
    rows, decisions, statuses = [], [], []
    for row in apps.itertuples(index=False):
        created = ctx.now - datetime.timedelta(days=float(row.days_ago))
        status = _status(row, rng)
        amount = money(row.amount)
        product = _product_for(products, float(row.amount), int(row.term_months), rng)
        channel = [Channel.PUBLIC, Channel.BRANCH, Channel.BRANCH, Channel.API][int(rng.integers(0, 4))]
        officer = officers[int(rng.integers(0, len(officers)))] if channel != Channel.PUBLIC else None
        submitted = None if status == S.DRAFT else created + datetime.timedelta(minutes=int(rng.integers(5, 600)))
        reviewer = approvers[int(rng.integers(0, len(approvers)))]
        app = LoanApplication(
            reference=reference_new(on=created, rand=rand),
            customer_id=customer_ids[int(row.customer_pos)],
            product=product,
            amount=amount,
            term_months=int(row.term_months),
            purpose=product.purpose,
            repayment_method=product.repayment_methods[int(rng.integers(0, len(product.repayment_methods)))],
            channel=channel,
            status=status,
            review_round=0 if status == S.DRAFT else 1,
            created_by=officer,
            submitted_by=officer if submitted else None,
            created_at=created,
            submitted_at=submitted,
            status_changed_at=submitted or created,
        )
        history = []
        if status in (S.UNDER_REVIEW, S.RETURNED, S.APPROVED, S.REJECTED, S.CANCELLED):
            review_at = submitted + datetime.timedelta(hours=float(rng.uniform(2, 48)))
            app.reviewer = reviewer
            history.append((reviewer, ApprovalDecision.Kind.REVIEW, review_at, "", False))
            app.status_changed_at = review_at
            decided_at = review_at + datetime.timedelta(hours=float(rng.uniform(1, 96)))
            if status == S.RETURNED:
                history.append((reviewer, ApprovalDecision.Kind.RETURN, decided_at, rand.choice(RETURN_REASONS), False))
                app.status_changed_at = decided_at
            elif status == S.REJECTED:
                reason = rand.choice(REJECT_REASONS)
                history.append((reviewer, ApprovalDecision.Kind.REJECT, decided_at, reason, True))
                app.decided_by, app.decided_at, app.decision_reason = reviewer, decided_at, reason
                app.status_changed_at = decided_at
            elif status in (S.APPROVED, S.CANCELLED):
                reason = rand.choice(APPROVE_REASONS)
                if amount > (SENIOR_AUTHORITY if reviewer == senior else GROUP_AUTHORITY):
                    history.append((reviewer, ApprovalDecision.Kind.APPROVE, decided_at, reason, False))
                    decided_at += datetime.timedelta(hours=float(rng.uniform(1, 24)))
                    final_by = senior if reviewer != senior else approvers[0]
                else:
                    final_by = reviewer
                history.append((final_by, ApprovalDecision.Kind.APPROVE, decided_at, reason, True))
                app.decided_by, app.decided_at, app.decision_reason = final_by, decided_at, reason
                app.status_changed_at = decided_at
                if status == S.CANCELLED:
                    cancelled_at = decided_at + datetime.timedelta(days=float(rng.uniform(1, 10)))
                    history.append(
                        (senior, ApprovalDecision.Kind.CANCEL, cancelled_at, "Customer declined the offer.", True)
                    )
                    app.status_changed_at = cancelled_at
        elif status == S.WITHDRAWN:
            withdrawn_at = submitted + datetime.timedelta(days=float(rng.uniform(0.5, 5)))
            who = officer or officers[0]
            history.append((who, ApprovalDecision.Kind.WITHDRAW, withdrawn_at, "Applicant withdrew.", True))
            app.status_changed_at = withdrawn_at
        rows.append(app)
        decisions.append(history)
        statuses.append(status)

    LoanApplication.objects.bulk_create(rows, batch_size=1000)
    ApprovalDecision.objects.bulk_create(
        [
            ApprovalDecision(
                application=app,
                decider=who,
                kind=kind,
                review_round=1,
                amount=app.amount,
                authority_limit=SENIOR_AUTHORITY if who == senior else GROUP_AUTHORITY,
                final=final,
                reason=reason,
                created_at=when,
            )
            for app, history in zip(rows, decisions, strict=True)
            for who, kind, when, reason, final in history
        ],
        batch_size=2000,
    )
    ids = [app.pk for app in rows]
    counts = {status: statuses.count(status) for status in S.values if statuses.count(status)}
    audit_record(
        action=AuditAction.SYSTEM,
        target=("loans.loanapplication", "", "demo data"),
        changes={"seeded_applications": len(rows), "by_status": counts, "seed": ctx.seed},
        reason="seed_demo",
    )
    apps["application_id"] = ids
    apps["status"] = statuses
    ctx.made["application_ids"] = ids
    ctx.made["application_profiles"] = apps
    ctx.log(f"  {len(rows)} applications ({', '.join(f'{k}: {v}' for k, v in counts.items())})")


# Servicing (loans, repayments) registers its own seeder.
from loans import demo_collections, demo_servicing  # noqa: E402, F401
