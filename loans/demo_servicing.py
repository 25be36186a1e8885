"""Demo data for servicing: loans disbursed from the demo's approved applications, with
collateral and guarantees, and a repayment history driven by the same latent risk the
scoring data follows (``application_profiles``' ``pd_true`` and ``defaults``).

Borrowers who do not default pay on or near their due dates (some late, a few early, some
overpay; some prepay part or all of the loan); those who default pay a few installments and
stop (a few never pay at all), some after a restructuring. Everything goes through the
servicing services (disbursement, batch and single posting, prepayment, restructuring,
reversal) with demo staff as actors, so the ledger, audit trail and credit lines agree.
Then the daily close runs over the last ``CLOSE_DAYS`` days, one close per day (after the
repayments were posted: it sees the book as it stands), so demo loans have days past due,
buckets, classes, penalties, snapshots, reminders (recorded; sent to in-memory backends) and
delinquency signals.
"""

import datetime
import random
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone

from loans.models import Installment, Loan, LoanApplication, OfferResponse, Repayment
from loans.selectors.loans import loan_payoff_quote
from loans.services.collateral import collateral_add, collateral_register, guarantee_add
from loans.services.disbursements import disbursement_authorise_batch, disbursement_prepare
from loans.services.repayments import loan_prepay, repayment_reverse
from loans.services.repayments_batch import PostingRow, repayment_post_many
from loans.services.restructuring import loan_restructure
from loansite.demo import DemoContext, demo_seeder
from loansite.errors import ApplicationError
from loansite.roles import CREDIT_APPROVER, LOAN_OFFICER

S = LoanApplication.Status
CLOSE_DAYS = 45
CONDITIONS = ["Loan contract signed", "Repayment account authorised"]
TEN_THOUSAND = Decimal("10000")


def _staff():
    from loans.demo import _staff as staff

    return staff(["officer", "officer2"], LOAN_OFFICER, "demo-officer"), staff(
        ["approver", "approver2"], CREDIT_APPROVER, "demo-approver"
    )


def _rate(product, pd_true: float) -> Decimal:
    """Risk-based pricing: the product's lowest rate for the safest, its highest from a 25 % PD."""
    share = Decimal(str(min(max(pd_true / 0.25, 0.0), 1.0)))
    rate = product.annual_rate_min + (product.annual_rate_max - product.annual_rate_min) * share
    return rate.quantize(Decimal("0.0001"), ROUND_HALF_UP)


@demo_seeder(order=25)
def seed_servicing(ctx: DemoContext) -> None:
    apps = ctx.made.get("application_profiles")
    if apps is None or not len(apps):
        ctx.log("  no applications seeded; skipping loans")
        return
    rng = ctx.child_rng("servicing")
    officers, approvers = _staff()
    officer, approver = officers[0], approvers[0]
    today = timezone.localdate(ctx.now)
    approved = apps[apps["status"] == S.APPROVED]
    by_id = {int(row.application_id): row for row in approved.itertuples(index=False)}
    candidates = list(
        LoanApplication.objects.select_related("product")
        .filter(pk__in=list(by_id), decided_at__lte=ctx.now - datetime.timedelta(days=10))
        .order_by("pk")
    )
    chosen = [app for app in candidates if rng.random() < 0.85]
    with transaction.atomic():
        _decide_terms(chosen, by_id, rng)
        prepared = _prepare(chosen, officers, rng, today)
        outcome = disbursement_authorise_batch(actor=approver, disbursements=prepared)
    loans = list(Loan.objects.filter(pk__in=outcome.done).select_related("product", "application").order_by("pk"))
    plans = _repayment_plans(loans, by_id, rng, today)
    with transaction.atomic():
        _post_regular(plans, officer, phase="before")
    with transaction.atomic():
        _special_operations(plans, officer, approvers, rng)
    with transaction.atomic():
        _post_regular(plans, officer, phase="after", today=today, rng=rng)
    with transaction.atomic():
        _reversals(plans, approvers[-1], rng)
    took = _close_history(today)
    counts = {status: Loan.objects.filter(status=status).count() for status in Loan.Status.values}
    restructured = Loan.objects.filter(restructured=True).count()
    ctx.made["loan_ids"] = [loan.pk for loan in loans]
    ctx.log(
        f"  {len(loans)} loans ({', '.join(f'{k}: {v}' for k, v in counts.items() if v)}, restructured: "
        f"{restructured}), {Repayment.objects.count()} repayments; {CLOSE_DAYS} daily closes in {took:.1f} s"
    )


def _decide_terms(apps, by_id, rng) -> None:
    for app in apps:
        profile = by_id[app.pk]
        amount = app.amount
        if rng.random() < 0.1:  # a counter-offer: 80 % of the request
            lower = (amount * Decimal("0.8") / TEN_THOUSAND).quantize(Decimal("1")) * TEN_THOUSAND
            if lower >= app.product.min_amount:
                amount = lower
        app.approved_amount = amount
        app.approved_term_months = app.term_months
        app.approved_annual_rate = _rate(app.product, float(profile.pd_true))
        app.approved_method = app.repayment_method
        app.conditions_precedent = CONDITIONS[: 1 + int(rng.random() < 0.5)]
        app.counter_offer = amount != app.amount
        # Loans are disbursed on these: a counter-offer was accepted (within hours of the decision).
        app.offer_response = OfferResponse.ACCEPTED if app.counter_offer else ""
        app.offer_responded_at = app.decided_at + datetime.timedelta(hours=2) if app.counter_offer else None
    LoanApplication.objects.bulk_update(
        apps,
        [
            "approved_amount",
            "approved_term_months",
            "approved_annual_rate",
            "approved_method",
            "conditions_precedent",
            "counter_offer",
            "offer_response",
            "offer_responded_at",
        ],
        batch_size=500,
    )


def _prepare(apps, officers, rng, today) -> list:
    prepared = []
    for app in apps:
        officer = officers[int(rng.integers(0, len(officers)))]
        decided = timezone.localdate(app.decided_at)
        value_date = min(decided + datetime.timedelta(days=int(rng.integers(1, 8))), today)
        if rng.random() < 0.3:
            item = collateral_add(
                actor=officer,
                application=app,
                kind=["real_estate", "equipment", "inventory", "deposit"][int(rng.integers(0, 4))],
                owner=app.customer.name,
                description="Pledged by the borrower",
                appraised_value=(app.approved_amount * Decimal(str(round(rng.uniform(0.8, 2.0), 2)))).quantize(
                    Decimal("0.01")
                ),
                appraisal_date=decided,
                appraiser="Demo Appraisal Co.",
            )
            collateral_register(
                actor=officer, collateral=item, registration_number=f"DJ-{app.pk:06d}", registration_date=decided
            )
        if rng.random() < 0.2:
            guarantee_add(
                actor=officer,
                application=app,
                # The business's actual controller (实际控制人) guarantees personally.
                guarantor_name=app.customer.name[:110] + " 实际控制人",
                guarantor_id_number=_resident_id(rng),
                guaranteed_amount=app.approved_amount,
            )
        prepared.append(
            disbursement_prepare(
                actor=officer,
                application=app,
                amount=app.approved_amount,
                value_date=value_date,
                contract_number=f"HT-{app.reference[3:]}",
                account=f"6222 {int(rng.integers(1000, 9999))} {int(rng.integers(1000, 9999))}",
                conditions_checked=app.conditions_precedent,
            )
        )
    return prepared


def _resident_id(rng) -> str:
    from customers.validators import make_resident_id

    return make_resident_id(random.Random(int(rng.integers(0, 2**31))))


def _repayment_plans(loans, by_id, rng, today) -> list[dict]:
    """Per loan: what the borrower does, decided by the latent risk."""
    plans = []
    for loan in loans:
        profile = by_id[loan.application_id]
        pd_true, defaults = float(profile.pd_true), bool(profile.defaults)
        rows = list(Installment.objects.filter(loan=loan, schedule_version=1).order_by("number"))
        due = [r for r in rows if r.pay_date <= today]
        plan = {"loan": loan, "events": [], "special": None, "after": [], "defaults": defaults}
        if defaults:
            never = pd_true > 0.35 and rng.random() < 0.4
            paid = 0 if never else int(rng.integers(0, len(due) + 1))
            for row in due[:paid]:
                plan["events"].append((row.pay_date + datetime.timedelta(days=int(rng.integers(0, 15))), row.total))
            if paid < len(due) and paid and rng.random() < 0.4:
                missed = due[paid]
                when = missed.pay_date + datetime.timedelta(days=20)
                if when <= today:
                    plan["special"] = ("restructure", when)
        else:
            late = min(0.03 + pd_true * 1.5, 0.4)
            special = None
            u = rng.random()
            if len(due) >= 2 and u < 0.05:
                special = ("payoff", int(rng.integers(1, len(due))))
            elif len(due) >= 2 and u < 0.10:
                special = ("prepay", int(rng.integers(1, len(due))))
            stop = special[1] if special else len(due)
            for row in due[:stop]:
                if rng.random() < late:
                    day = row.pay_date + datetime.timedelta(days=int(rng.integers(1, 46)))
                else:
                    day = row.pay_date - datetime.timedelta(days=int(rng.integers(0, 4)))
                amount = row.total
                if rng.random() < 0.03:
                    amount = (amount / 1000).quantize(Decimal("1"), rounding="ROUND_CEILING") * 1000
                plan["events"].append((min(day, today), amount))
            if special:
                when = due[stop].due_date - datetime.timedelta(days=int(rng.integers(3, 20)))
                plan["special"] = (special[0], max(when, due[stop - 1].due_date))
        plan["events"].sort()
        if plan["special"]:
            cutoff = plan["special"][1]
            plan["after"] = [e for e in plan["events"] if e[0] > cutoff]
            plan["events"] = [e for e in plan["events"] if e[0] <= cutoff]
        plans.append(plan)
    return plans


def _post_regular(plans, officer, *, phase, today=None, rng=None) -> None:
    rows = []
    for plan in plans:
        loan = plan["loan"]
        if phase == "before":
            events = plan["events"]
        else:
            events = _events_after(plan, today, rng)
        for n, (day, amount) in enumerate(events):
            rows.append(PostingRow(len(rows) + 2, loan.loan_number, amount, day, f"DEMO-{phase[0]}-{loan.pk}-{n}"))
    if rows:
        repayment_post_many(actor=officer, rows=rows)


def _events_after(plan, today, rng) -> list:
    """After a prepayment or restructuring: the borrower pays the new schedule (a defaulter
    who was restructured pays two installments at most)."""
    special = plan["special"]
    if not special or special[0] == "payoff":
        return []
    loan = Loan.objects.get(pk=plan["loan"].pk)
    rows = Installment.objects.filter(
        loan=loan, schedule_version=loan.schedule_version, due_date__gt=special[1], pay_date__lte=today
    ).order_by("number")
    limit = 2 if plan["defaults"] else None
    events = []
    for row in list(rows)[:limit]:
        events.append((row.pay_date - datetime.timedelta(days=int(rng.integers(0, 3))), row.total))
    return sorted(events)


def _special_operations(plans, officer, approvers, rng) -> None:
    for plan in plans:
        if not plan["special"]:
            continue
        kind, day = plan["special"]
        loan = plan["loan"]
        try:
            if kind == "payoff":
                quote = loan_payoff_quote(loan=loan, on_date=day)
                loan_prepay(
                    actor=officer,
                    loan=loan,
                    amount=quote.total,
                    value_date=day,
                    bank_reference=f"DEMO-payoff-{loan.pk}",
                    full=True,
                )
            elif kind == "prepay":
                quote = loan_payoff_quote(loan=loan, on_date=day)
                amount = (quote.arrears + quote.interest + quote.principal * Decimal("0.3")).quantize(Decimal("0.01"))
                loan_prepay(
                    actor=officer,
                    loan=loan,
                    amount=amount,
                    value_date=day,
                    bank_reference=f"DEMO-prepay-{loan.pk}",
                    mode=["shorten_term", "lower_installment"][int(rng.integers(0, 2))],
                )
            elif kind == "restructure":
                loan_restructure(
                    actor=approvers[0],
                    loan=loan,
                    on_date=day,
                    reason="Temporary cash-flow difficulty; term extended (展期).",
                    term_months=max(3, int(rng.integers(6, 13))),
                )
        except ApplicationError:
            plan["special"] = None


def _reversals(plans, approver, rng) -> None:
    """A few repayments posted to the wrong loan, reversed with a reason."""
    for plan in plans:
        if rng.random() >= 0.01:
            continue
        latest = Repayment.objects.filter(loan=plan["loan"], status=Repayment.Status.POSTED).order_by("-id").first()
        if latest is None:
            continue
        try:
            repayment_reverse(actor=approver, repayment=latest, reason="Posted to the wrong loan (demo).")
        except ApplicationError:
            continue


def _close_history(today: datetime.date) -> float:
    """Close the last ``CLOSE_DAYS`` days in order; messages go to in-memory backends."""
    import time

    from django.core import mail
    from django.test.utils import override_settings

    from loans.close import loan_close_day
    from loansite import sms

    start = time.perf_counter()
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend", SMS_BACKEND="loansite.sms.LocmemSmsBackend"
    ):
        first = today - datetime.timedelta(days=CLOSE_DAYS)
        loan_close_day(date=today - datetime.timedelta(days=1), since=first)
    mail.outbox = []
    sms.outbox.clear()
    return time.perf_counter() - start
