"""Demo loans: disbursed from approved applications, in every state the servicing builds,
with repayment behaviour that follows the latent risk; the books agree."""

import pytest

from loans.models import Loan, Repayment, ScheduleVersion
from loans.selectors.ledger import ledger_problems
from loansite.demo import DemoContext, demo_run

pytestmark = pytest.mark.django_db


def test_demo_loans_follow_the_latent_risk_and_the_books_agree(monkeypatch):
    from loansite import demo

    seeders = [s for s in demo.demo_seeders() if s.order <= 25]
    monkeypatch.setattr(demo, "demo_seeders", lambda: seeders)
    ctx = DemoContext(seed=11, customers=150, applications=900, log=lambda m: None)
    demo_run(ctx)
    loans = Loan.objects.all()
    assert loans.count() > 100
    statuses = set(loans.values_list("status", flat=True))
    assert {Loan.Status.ACTIVE, Loan.Status.OVERDUE, Loan.Status.CLOSED} <= statuses
    assert loans.filter(restructured=True).exists()
    assert ScheduleVersion.objects.filter(reason="prepayment").exists()
    assert Repayment.objects.filter(status="reversed").exists() or Repayment.objects.count() > 500
    assert ledger_problems() == []
    # The daily close ran over the demo's last days: arrears have days past due, classes,
    # penalties, snapshots and reminders.
    from loans.models import DayClose, LoanDaySnapshot, Reminder

    overdue = loans.filter(status=Loan.Status.OVERDUE)
    assert overdue.exists() and not overdue.filter(days_past_due=0).exists()
    assert not overdue.filter(risk_class="normal").exists()
    assert overdue.filter(penalty_accrued__gt=0).exists()
    assert DayClose.objects.filter(status="done").count() == 45
    assert LoanDaySnapshot.objects.exists() and Reminder.objects.filter(status="sent").exists()
    # Those the latent model says default are behind far more often than those it says repay.
    profiles = ctx.made["application_profiles"].set_index("application_id")
    behind = {True: [], False: []}
    for loan in loans.exclude(status=Loan.Status.CLOSED):
        behind[bool(profiles.loc[loan.application_id, "defaults"])].append(loan.status == Loan.Status.OVERDUE)
    share = {key: sum(values) / max(len(values), 1) for key, values in behind.items()}
    assert share[True] > share[False] + 0.3, share
