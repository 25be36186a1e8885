"""Derived outcomes written from crafted loan histories in the database, the backtest of a
model version on that book, and its alerts."""

import datetime
from decimal import Decimal

import pytest

from loans.models import Installment
from scoring.models import Backtest, LoanOutcome, ModelAlert, ModelKind, ModelVersion, Score
from scoring.services.decision import model_version_backtest, outcomes_derive
from tests.loans.factories import LoanFactory
from tests.scoring.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db

DISBURSED = datetime.date(2025, 1, 15)
AS_OF = datetime.date(2026, 6, 30)


def loan_with(*installments, status="active", written_off="0", disbursed=DISBURSED):
    loan = LoanFactory(disbursement_date=disbursed, status=status, written_off_amount=Decimal(written_off))
    for n, (due, paid_on) in enumerate(installments, start=1):
        Installment.objects.create(
            loan=loan,
            schedule_version=1,
            number=n,
            period_start=due - datetime.timedelta(days=30),
            due_date=due,
            pay_date=due,
            days=30,
            principal=Decimal("1000"),
            interest=Decimal("10"),
            status="paid" if paid_on else "overdue",
            paid_on=paid_on,
        )
    return loan


def days(n):
    return datetime.timedelta(days=n)


def test_derived_defaults_replace_manual_outcomes_and_keep_those_without_a_loan():
    due = datetime.date(2025, 3, 15)
    late90 = loan_with((due, due + days(90)))
    late89 = loan_with((due, due + days(89)))
    written = loan_with((due, due), status="written_off", written_off="1000")
    young = loan_with((datetime.date(2026, 5, 1), datetime.date(2026, 5, 1)), disbursed=datetime.date(2026, 4, 1))
    # A manual outcome on an application with a loan is replaced; one without a loan is kept.
    LoanOutcome.objects.create(application=late89.application, defaulted=True, source="manual")
    from tests.loans.factories import ApplicationFactory

    lone = ApplicationFactory(status="approved")
    LoanOutcome.objects.create(application=lone, defaulted=True, source="manual")
    counts = outcomes_derive(as_of=AS_OF)
    got = {o.application_id: (o.defaulted, o.source, o.max_days_past_due) for o in LoanOutcome.objects.all()}
    assert got[late90.application_id] == (True, "servicing", 90)
    assert got[late89.application_id] == (False, "servicing", 89)
    assert got[written.application_id][:2] == (True, "servicing")
    assert young.application_id not in got  # not yet 12 months: no outcome
    assert got[lone.pk] == (True, "manual", None)
    assert counts["immature"] == 1 and counts["defaults"] == 2
    assert LoanOutcome.objects.get(application=late90.application).default_date == due + days(90)
    # Idempotent: a second run changes nothing.
    again = outcomes_derive(as_of=AS_OF)
    assert (again["created"], again["updated"]) == (0, 0)


def crafted_book(version, *, good_rank=True):
    """20 loans: grade A predicted 5 %, grade D predicted 40 %; D defaults when ``good_rank``."""
    due = datetime.date(2025, 3, 15)
    for i in range(20):
        grade = "A" if i % 2 == 0 else "D"
        default = (grade == "D") == good_rank and i % 4 in (0, 1)
        loan = loan_with((due, due + days(120 if default else 0)))
        Score.objects.create(
            application=loan.application,
            model_version=version,
            probability=0.05 if grade == "A" else 0.40,
            points=700 if grade == "A" else 560,
            grade=grade,
        )
    outcomes_derive(as_of=AS_OF)


def test_backtest_figures_on_a_crafted_book():
    version = ModelVersionFactory(
        kind=ModelKind.PD, status=ModelVersion.Status.ACTIVE, metrics={"holdout": {"auc": 0.7}}
    )
    crafted_book(version)
    backtest = model_version_backtest(version=version, as_of=AS_OF, psi=0.1)
    figures = backtest.figures
    assert (backtest.rows, backtest.defaults) == (20, 5)
    grades = {row["grade"]: row for row in figures["by_grade"]}
    assert (grades["A"]["predicted"], grades["A"]["realised"]) == (0.05, 0.0)
    assert (grades["D"]["predicted"], grades["D"]["realised"]) == (0.4, 0.5)
    assert [row["vintage"] for row in figures["by_vintage"]] == ["2025-Q1"]
    # 5 defaults (D) against 15 goods (10 A, 5 D): 50 pairs won, 25 tied -> (50 + 12.5) / 75.
    assert backtest.auc == pytest.approx(0.8333)
    assert not ModelAlert.objects.exists()


def test_auc_drop_and_psi_raise_one_alert_each():
    version = ModelVersionFactory(
        kind=ModelKind.PD, status=ModelVersion.Status.ACTIVE, metrics={"holdout": {"auc": 0.8}}
    )
    crafted_book(version, good_rank=False)
    model_version_backtest(version=version, as_of=AS_OF, psi=0.31)
    alerts = {a.kind: a for a in ModelAlert.objects.filter(model_version=version)}
    assert set(alerts) == {"auc_drop", "psi"}
    assert alerts["psi"].value == pytest.approx(0.31)
    model_version_backtest(version=version, as_of=AS_OF, psi=0.31)
    assert ModelAlert.objects.count() == 2 and Backtest.objects.count() == 2  # still one open per kind
