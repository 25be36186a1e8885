"""Demo data for collections: the overdue loans the demo's daily closes left are assigned to the
demo collector (and a loan officer), with contacts, promises to pay, a few legal cases and a
write-off or two of the worst loans, all through the collections and write-off services with
demo staff as actors (so the ledger and the audit trail agree)."""

import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from loans.models import Loan
from loansite.demo import DemoContext, demo_seeder
from loansite.errors import ApplicationError
from loansite.roles import ADMINISTRATOR, COLLECTOR, CREDIT_APPROVER, LOAN_OFFICER, RISK_ANALYST

OUTCOMES = ["reached", "no_answer", "left_message", "promised", "refused", "wrong_number"]
CHANNELS = ["call", "call", "call", "sms", "visit", "letter"]


def _one(names: list[str], role: str, prefix: str):
    from loans.demo import _staff

    return _staff(names, role, prefix)[0]


@demo_seeder(order=26)
def seed_collections(ctx: DemoContext) -> None:
    from loans.services import collections as svc
    from loans.services.writeoff import loan_write_off

    overdue = list(Loan.objects.filter(status=Loan.Status.OVERDUE).order_by("-days_past_due", "id"))
    if not overdue:
        ctx.log("  no overdue loans; skipping collections")
        return
    rng = ctx.child_rng("collections")
    User = get_user_model()
    supervisor = (
        User.objects.filter(groups__name=RISK_ANALYST, is_active=True).order_by("username").first()
        or User.objects.filter(groups__name=ADMINISTRATOR, is_active=True).order_by("username").first()
    )
    if supervisor is None:
        supervisor = _one(["analyst"], RISK_ANALYST, "demo-analyst")
    collector = _one(["collector"], COLLECTOR, "demo-collector")
    officer = _one(["officer2", "officer"], LOAN_OFFICER, "demo-officer")
    approver = _one(["approver2", "approver"], CREDIT_APPROVER, "demo-approver")
    today = timezone.localdate(ctx.now)
    mine = [loan for loan in overdue if rng.random() < 0.7]
    theirs = [loan for loan in overdue if loan not in mine and rng.random() < 0.5]
    svc.collection_assign_many(actor=supervisor, loans=mine, collector=collector, note="demo")
    svc.collection_assign_many(actor=supervisor, loans=theirs, collector=officer, note="demo")
    contacts = promises = legal = written_off = 0
    for loan in mine + theirs:
        actor = collector if loan in mine else officer
        if rng.random() < 0.35:
            continue
        outcome = OUTCOMES[int(rng.integers(len(OUTCOMES)))]
        promise = {}
        if outcome == "promised":
            amount = (loan.next_due_amount or Decimal("1000.00")).quantize(Decimal("0.01"))
            promise = {
                "promise_date": today + datetime.timedelta(days=int(rng.integers(1, 15))),
                "promise_amount": amount,
            }
            promises += 1
        try:
            svc.collection_contact_log(
                actor=actor,
                loan=loan,
                channel=CHANNELS[int(rng.integers(len(CHANNELS)))],
                outcome=outcome,
                note="",
                next_action_date=today + datetime.timedelta(days=int(rng.integers(1, 10))),
                **promise,
            )
            contacts += 1
        except ApplicationError:
            continue
    for loan in [loan for loan in overdue if loan.days_past_due > 180][:5]:
        try:
            svc.legal_case_open(actor=approver, loan=loan, court="", note="demo")
            legal += 1
        except ApplicationError:
            pass
    for loan in [loan for loan in overdue if loan.risk_class == "loss"][:2]:
        try:
            loan_write_off(actor=approver, loan=loan, reason="demo: no recovery expected")
            written_off += 1
        except ApplicationError:
            pass
    ctx.log(
        f"  {len(mine) + len(theirs)} overdue loans assigned, {contacts} contacts, {promises} promises, "
        f"{legal} legal cases, {written_off} written off"
    )
