"""The daily portfolio snapshots: each table against a hand-computed book, idempotence per date,
the close's step, the backfill, and what the month ends keep.

The book (m1, m2: the last days of the month before last and of last month; cohort A is the
month before m1's, cohort B is m1's month; O is a loan officer managing customer c1):

| loan | customer | grade | cohort | principal | at m1                   | at m2                        |
|------|----------|-------|--------|-----------|-------------------------|------------------------------|
| L1   | c1 (O)   | A     | A      | 100,000   | current, normal 100,000 | current, normal 95,000       |
| L2   | c1 (O)   | B     | B      | 50,000    | current, normal 50,000  | 1-30, special 50,000         |
| L3   | c2       | C     | A      | 200,000   | 61-90, special 200,000  | 91-180, substandard 200,000  |
| L4   | c2       | A     | B      | 30,000    | current, normal 30,000  | paid off (no snapshot)       |

Now L1 is active (95,000), L2 overdue 20 days, L3 overdue 120 days and substandard, L4 closed.
L3 moved to substandard (non-performing) by the close of m1 + 15 days.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from loans.models import (
    ClassificationChange,
    LoanDaySnapshot,
    PortfolioDay,
    PortfolioMix,
    PortfolioRoll,
    PortfolioVintage,
)
from loans.services.portfolio import month_end, portfolio_backfill, portfolio_snapshot_take
from tests.loans.factories import ApplicationFactory, CustomerFactory, LoanFactory

pytestmark = pytest.mark.django_db


def month_ends(today: dt.date) -> tuple[dt.date, dt.date]:
    m2 = today.replace(day=1) - dt.timedelta(days=1)
    m1 = m2.replace(day=1) - dt.timedelta(days=1)
    return m1, m2


def build_book(officer=None, today: dt.date | None = None) -> dict:
    """The book of the module docstring; ``officer`` (a user) manages c1."""
    from customers.models import RelationshipManager, Tag

    today = today or timezone.localdate()
    m1, m2 = month_ends(today)
    cohort_b = m1.replace(day=1)
    cohort_a = (cohort_b - dt.timedelta(days=1)).replace(day=1)
    manager = RelationshipManager.objects.create(user=officer, city="Hangzhou") if officer else None
    c1 = CustomerFactory(
        manager=manager, city="Hangzhou", city_tier=2, industry="retail", rating="A", credit_score=700, employees=10
    )
    c1.tags.add(Tag.objects.get_or_create(name="VIP")[0])
    c2 = CustomerFactory(city="Shanghai", city_tier=1, industry="catering", rating="C", credit_score=500, employees=4)

    def loan(customer, grade, disbursed, principal, **fields):
        app = ApplicationFactory(customer=customer, status="disbursed", score_grade=grade, amount=principal)
        return LoanFactory(
            application=app,
            customer=customer,
            principal=principal,
            approved_amount=principal,
            disbursement_date=disbursed,
            **fields,
        )

    L1 = loan(c1, "A", cohort_a.replace(day=10), Decimal("100000.00"), outstanding_principal=Decimal("95000.00"))
    L2 = loan(
        c1,
        "B",
        cohort_b.replace(day=5),
        Decimal("50000.00"),
        outstanding_principal=Decimal("50000.00"),
        status="overdue",
        days_past_due=20,
        dpd_bucket="1-30",
        risk_class="special_mention",
    )
    L3 = loan(
        c2,
        "C",
        cohort_a.replace(day=20),
        Decimal("200000.00"),
        outstanding_principal=Decimal("200000.00"),
        status="overdue",
        days_past_due=120,
        dpd_bucket="91-180",
        risk_class="substandard",
    )
    L4 = loan(
        c2, "A", cohort_b.replace(day=10), Decimal("30000.00"), outstanding_principal=Decimal("0.00"), status="closed"
    )
    ClassificationChange.objects.create(
        loan=L3, date=m1 + dt.timedelta(days=15), from_class="special_mention", to_class="substandard", source="close"
    )

    def snap(loan, day, bucket, risk_class, outstanding, status="active"):
        LoanDaySnapshot.objects.create(
            loan=loan,
            date=day,
            status=status,
            dpd_bucket=bucket,
            risk_class=risk_class,
            outstanding_principal=outstanding,
            provision=Decimal("0"),
        )

    snap(L1, m1, "current", "normal", Decimal("100000.00"))
    snap(L2, m1, "current", "normal", Decimal("50000.00"))
    snap(L3, m1, "61-90", "special_mention", Decimal("200000.00"), "overdue")
    snap(L4, m1, "current", "normal", Decimal("30000.00"))
    snap(L1, m2, "current", "normal", Decimal("95000.00"))
    snap(L2, m2, "1-30", "special_mention", Decimal("50000.00"), "overdue")
    snap(L3, m2, "91-180", "substandard", Decimal("200000.00"), "overdue")
    return {
        "m1": m1,
        "m2": m2,
        "cohort_a": cohort_a,
        "cohort_b": cohort_b,
        "owner": officer.pk if officer else 0,
        "loans": (L1, L2, L3, L4),
    }


@pytest.fixture
def book(make_user):
    return build_book(make_user("officer", role="Loan officer"))


def test_portfolio_day_sums_the_snapshots_per_owner_bucket_and_class(book):
    portfolio_snapshot_take(date=book["m2"])
    o = book["owner"]
    rows = {
        (r.owner_id, r.dpd_bucket, r.risk_class): (r.loans, r.outstanding_principal)
        for r in PortfolioDay.objects.filter(date=book["m2"])
    }
    assert rows == {
        (o, "current", "normal"): (1, Decimal("95000.00")),
        (o, "1-30", "special_mention"): (1, Decimal("50000.00")),
        (0, "91-180", "substandard"): (1, Decimal("200000.00")),
    }


def test_roll_at_month_end_follows_each_loan_from_the_previous_month_end(book):
    assert month_end(book["m2"])
    portfolio_snapshot_take(date=book["m2"])
    o = book["owner"]
    rows = {
        (r.owner_id, r.from_bucket, r.to_bucket): (r.loans, r.outstanding_principal)
        for r in PortfolioRoll.objects.filter(date=book["m2"])
    }
    assert rows == {
        (o, "current", "current"): (1, Decimal("100000.00")),
        (o, "current", "1-30"): (1, Decimal("50000.00")),
        (0, "61-90", "91-180"): (1, Decimal("200000.00")),
        (0, "current", "closed"): (1, Decimal("30000.00")),
    }


def test_vintage_counts_defaults_by_the_date(book):
    portfolio_backfill()
    o, a, b = book["owner"], book["cohort_a"], book["cohort_b"]

    def vintage(day):
        return {
            (r.cohort, r.owner_id): (r.loans, r.principal, r.defaulted_loans, r.defaulted_principal)
            for r in PortfolioVintage.objects.filter(date=day)
        }

    # At m1 L3 was still special mention (its downgrade came two weeks later).
    assert vintage(book["m1"]) == {
        (a, o): (1, Decimal("100000.00"), 0, Decimal("0.00")),
        (a, 0): (1, Decimal("200000.00"), 0, Decimal("0.00")),
        (b, o): (1, Decimal("50000.00"), 0, Decimal("0.00")),
        (b, 0): (1, Decimal("30000.00"), 0, Decimal("0.00")),
    }
    assert vintage(book["m2"])[(a, 0)] == (1, Decimal("200000.00"), 1, Decimal("200000.00"))


def test_mix_by_city_tag_grade_and_group(book):
    portfolio_snapshot_take(date=book["m2"])
    o = book["owner"]
    day = book["m2"]

    def mix(dimension):
        return {
            (r.owner_id, r.item): (r.customers, r.loans, r.outstanding_principal, r.defaulted_loans)
            for r in PortfolioMix.objects.filter(date=day, dimension=dimension)
        }

    assert mix("city") == {
        (o, "Hangzhou"): (1, 2, Decimal("145000.00"), 0),
        (0, "Shanghai"): (1, 1, Decimal("200000.00"), 1),
    }
    assert mix("tier") == {(o, "2"): (1, 2, Decimal("145000.00"), 0), (0, "1"): (1, 1, Decimal("200000.00"), 1)}
    assert mix("tag") == {(o, "VIP"): (1, 2, Decimal("145000.00"), 0)}
    # Every loan disbursed by then, by grade: A is L1 (O) and L4; C is L3, defaulted.
    assert mix("grade") == {
        (o, "A"): (1, 1, Decimal("95000.00"), 0),
        (0, "A"): (1, 1, Decimal("0.00"), 0),
        (o, "B"): (1, 1, Decimal("50000.00"), 0),
        (0, "C"): (1, 1, Decimal("200000.00"), 1),
    }
    groups = {r.item: r for r in PortfolioMix.objects.filter(date=day, dimension="group")}
    assert set(groups) == {"good", "risky"}
    assert groups["good"].owner_id == o and groups["good"].measures["credit_score"] == [700.0, 1]
    assert groups["risky"].owner_id == 0 and groups["risky"].measures["employees"] == [4.0, 1]
    # Margin: (120,000 - 90,000) / 120,000 for both factory customers.
    assert groups["good"].measures["margin"][0] == pytest.approx(0.25)


def test_taking_a_date_twice_writes_the_same_rows(book):
    first = portfolio_snapshot_take(date=book["m2"])
    snapshot = {
        model: sorted(model.objects.filter(date=book["m2"]).values_list(*[f.attname for f in model._meta.fields][1:]))
        for model in (PortfolioDay, PortfolioVintage, PortfolioRoll, PortfolioMix)
    }
    assert portfolio_snapshot_take(date=book["m2"]) == first
    for model, rows in snapshot.items():
        again = model.objects.filter(date=book["m2"]).values_list(*[f.attname for f in model._meta.fields][1:])
        assert sorted(again) == rows


def test_a_later_day_of_the_month_replaces_the_earlier_days_vintages_and_mix(book):
    later = book["m2"] + dt.timedelta(days=3)
    LoanDaySnapshot.objects.filter(date=book["m2"]).update(date=later - dt.timedelta(days=1))
    portfolio_snapshot_take(date=later - dt.timedelta(days=1))
    portfolio_snapshot_take(date=later)
    assert not PortfolioVintage.objects.filter(date=later - dt.timedelta(days=1)).exists()
    assert not PortfolioMix.objects.filter(date=later - dt.timedelta(days=1)).exists()
    assert PortfolioDay.objects.filter(date=later - dt.timedelta(days=1)).exists()  # the daily rows stay


def test_backfill_fills_every_snapshot_date(book):
    done = portfolio_backfill()
    assert [day for day, _counts in done] == [book["m1"], book["m2"]]
    assert PortfolioDay.objects.filter(date=book["m1"]).count() == 3
    assert PortfolioRoll.objects.filter(date=book["m2"]).count() == 4


def test_the_close_runs_the_portfolio_step_after_the_snapshot():
    from loans.close import CLOSE_STEPS

    names = [step.name for step in CLOSE_STEPS]
    assert names.index("portfolio") == names.index("snapshot") + 1


def test_the_daily_close_writes_the_days_portfolio_rows(make_user):
    from loans.close import loan_close_day

    build_book(make_user("officer", role="Loan officer"))
    day = timezone.localdate() - dt.timedelta(days=1)
    (close,) = loan_close_day(date=day)
    assert close.status == "done" and "portfolio" in close.counts
    # The close's own snapshots of the three live loans, summed: 95,000 + 50,000 + 200,000.
    rows = PortfolioDay.objects.filter(date=day)
    assert sum(r.loans for r in rows) == 3
    assert sum(r.outstanding_principal for r in rows) == Decimal("345000.00")


def test_backfill_command(book):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("portfolio_backfill", "--since", book["m2"].isoformat(), stdout=out)
    assert "1 day(s) filled" in out.getvalue()
    assert PortfolioDay.objects.filter(date=book["m2"]).exists()
    assert not PortfolioDay.objects.filter(date=book["m1"]).exists()
