import pytest

from loans.models import ApprovalDecision, LoanApplication
from loansite.demo import DemoContext, demo_run

pytestmark = pytest.mark.django_db


def _only(monkeypatch):
    """Run the customers and loans seeders only (the others are tested by their apps)."""
    from loansite import demo

    seeders = [s for s in demo.demo_seeders() if s.order <= 20]
    monkeypatch.setattr(demo, "demo_seeders", lambda: seeders)


def test_seed_builds_every_state_with_history(monkeypatch):
    _only(monkeypatch)
    ctx = DemoContext(seed=7, customers=80, applications=400, log=lambda m: None)
    demo_run(ctx)
    statuses = set(LoanApplication.objects.values_list("status", flat=True))
    # Only the public form puts an application in pending_verification.
    wanted = set(LoanApplication.Status.values) - {"disbursed", "pending_verification"}
    assert wanted <= statuses
    assert len(ctx.made["application_ids"]) == 400
    profiles = ctx.made["application_profiles"]
    decided = profiles[profiles["status"].isin(["approved", "rejected"])]
    # Decisions follow the officer's judgement in the profile: the signal scoring learns.
    assert ((decided["status"] == "approved") == decided["approved"]).all()
    # Every decided application has a final decision by someone other than its maker.
    for app in LoanApplication.objects.filter(status__in=["approved", "rejected"])[:50]:
        final = app.decisions.filter(final=True, kind__in=["approve", "reject"]).get()
        assert final.decider_id != app.created_by_id
    # Above the group authority, two distinct approvers.
    big = LoanApplication.objects.filter(status="approved", amount__gt=1_500_000).first()
    if big is not None:
        approvers = set(big.decisions.filter(kind="approve").values_list("decider", flat=True))
        assert len(approvers) == 2
    assert ApprovalDecision.objects.exists()


def test_seed_is_reproducible(monkeypatch):
    _only(monkeypatch)
    demo_run(DemoContext(seed=3, customers=40, applications=100, log=lambda m: None))
    first = list(LoanApplication.objects.order_by("id").values_list("reference", "amount", "status"))
    LoanApplication.objects.all().delete()
    demo_run(DemoContext(seed=3, customers=40, applications=100, log=lambda m: None))
    second = list(LoanApplication.objects.order_by("id").values_list("reference", "amount", "status"))
    assert [r[1:] for r in first] == [r[1:] for r in second]
