"""Manual classification: downgrades with a reason, upgrades requested and approved by someone
else with the permission, never below what the rules demand; thresholds as data."""

import datetime

import pytest

from audit.models import AuditEntry
from loans.close import loan_close_day
from loans.models import ClassificationChange, ClassificationThreshold, DelinquencySignal
from loans.services.classification import (
    classification_change_approve,
    classification_change_refuse,
    loan_classification_downgrade,
    loan_classification_request_upgrade,
)
from loansite.errors import NotAllowed, ValidationFailed
from tests.loans.servicing import disbursed_loan

D = datetime.date


@pytest.fixture
def analyst(make_user):
    return make_user("analyst", role="Risk analyst")


@pytest.fixture
def analyst2(make_user):
    return make_user("analyst2", role="Risk analyst")


@pytest.fixture
def loan(officer, approver):
    return disbursed_loan(officer, approver, amount="12000", term=6, rate="0.12")


def test_downgrade_needs_the_role_and_a_reason(loan, officer, approver, analyst):
    for user in (officer, approver):
        with pytest.raises(NotAllowed):
            loan_classification_downgrade(actor=user, loan=loan, to_class="doubtful", reason="fraud suspected")
    with pytest.raises(ValidationFailed):
        loan_classification_downgrade(actor=analyst, loan=loan, to_class="doubtful", reason=" ")
    audits = AuditEntry.objects.count()
    change = loan_classification_downgrade(actor=analyst, loan=loan, to_class="doubtful", reason="fraud suspected")
    loan.refresh_from_db()
    assert (loan.risk_class, loan.risk_class_manual) == ("doubtful", "doubtful")
    assert (change.source, change.status, change.from_class, change.to_class) == (
        "manual",
        "applied",
        "normal",
        "doubtful",
    )
    assert AuditEntry.objects.count() == audits + 1
    assert DelinquencySignal.objects.filter(loan=loan, kind="downgrade").exists()
    # Not an upgrade in disguise.
    with pytest.raises(ValidationFailed):
        loan_classification_downgrade(actor=analyst, loan=loan, to_class="special_mention", reason="x")


def test_the_close_keeps_a_manual_downgrade(loan, analyst):
    loan_classification_downgrade(actor=analyst, loan=loan, to_class="substandard", reason="court case")
    loan_close_day(date=D(2025, 2, 1))
    loan.refresh_from_db()
    assert loan.risk_class == "substandard"
    assert not ClassificationChange.objects.filter(loan=loan, source="close").exists()


def test_upgrade_is_requested_then_approved_by_an_approver_not_the_requester(loan, analyst, analyst2, approver):
    loan_classification_downgrade(actor=analyst, loan=loan, to_class="doubtful", reason="fraud suspected")
    with pytest.raises(NotAllowed):
        loan_classification_request_upgrade(actor=approver, loan=loan, to_class="normal", reason="cleared")
    change = loan_classification_request_upgrade(actor=analyst, loan=loan, to_class="normal", reason="cleared")
    loan.refresh_from_db()
    assert loan.risk_class == "doubtful" and change.status == "pending"
    # Analysts may not approve; nobody approves their own request.
    with pytest.raises(NotAllowed):
        classification_change_approve(actor=analyst2, change=change)
    change = classification_change_approve(actor=approver, change=change, note="documents seen")
    loan.refresh_from_db()
    assert (loan.risk_class, loan.risk_class_manual) == ("normal", "")
    assert (change.status, change.approved_by, change.to_class) == ("applied", approver, "normal")
    loan_close_day(date=D(2025, 2, 1))
    loan.refresh_from_db()
    assert loan.risk_class == "normal"


def test_requester_cannot_approve_own_upgrade(loan, analyst, make_user):
    both = make_user("both", role="Risk analyst")
    from django.contrib.auth.models import Permission

    both.user_permissions.add(Permission.objects.get(codename="approve_classificationchange"))
    loan_classification_downgrade(actor=analyst, loan=loan, to_class="doubtful", reason="x")
    change = loan_classification_request_upgrade(actor=both, loan=loan, to_class="normal", reason="cleared")
    both = type(both).objects.get(pk=both.pk)
    with pytest.raises(NotAllowed):
        classification_change_approve(actor=both, change=change)


def test_upgrade_never_below_the_rules(loan, analyst, approver):
    loan_close_day(date=D(2025, 5, 20))  # 95 days past due: substandard by the rules
    loan.refresh_from_db()
    assert loan.risk_class == "substandard"
    with pytest.raises(ValidationFailed):
        loan_classification_request_upgrade(actor=analyst, loan=loan, to_class="normal", reason="looks fine")


def test_refused_upgrade_changes_nothing(loan, analyst, approver):
    loan_classification_downgrade(actor=analyst, loan=loan, to_class="loss", reason="x")
    change = loan_classification_request_upgrade(actor=analyst, loan=loan, to_class="substandard", reason="y")
    with pytest.raises(ValidationFailed):
        classification_change_refuse(actor=approver, change=change, note="")
    change = classification_change_refuse(actor=approver, change=change, note="not convinced")
    loan.refresh_from_db()
    assert change.status == "refused" and loan.risk_class == "loss"


def test_thresholds_are_data(loan):
    ClassificationThreshold.objects.filter(risk_class="substandard").update(min_days_past_due=31)
    loan_close_day(date=D(2025, 3, 20))  # 34 days past due
    loan.refresh_from_db()
    assert loan.days_past_due == 34 and loan.risk_class == "substandard"
