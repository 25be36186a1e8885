"""The daily application sums: hand-computed rows, the dashboard reading them equal to the live
figures, changes to old applications summed again, and the close's step."""

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from loans.models import ApplicationDay, ApplicationDaysSummed, LoanApplication
from loans.services.application_days import application_days_sum
from loansite.dashboard import selectors
from loansite.dashboard.periods import Period, period_from
from tests.loans.factories import ApplicationFactory, CustomerFactory
from tests.loansite import test_dashboard
from tests.loansite.test_dashboard import NOV, SH, local

S = LoanApplication.Status
NOV_29 = dt.date(2026, 11, 29)
book = test_dashboard.book  # the hand-computed book (a fixture)
SECTIONS = frozenset({"kpis", "growth", "industry", "status"})


def row(day, industry, status, **filters) -> ApplicationDay:
    return ApplicationDay.objects.get(date=day, industry=industry, status=status, **filters)


def live(period: Period) -> dict:
    with mock.patch.object(selectors, "_summed_through", lambda owner: None):
        return selectors.dashboard_compute(period=period, sections=SECTIONS)


def test_the_hand_computed_book_summed_by_local_day(book):
    application_days_sum(through=NOV_29)

    # Submitted 00:30 on 1 November in Shanghai (31 October in UTC), created at 00:20.
    first = row(dt.date(2026, 11, 1), "retail", S.APPROVED)
    assert (first.submitted, first.submitted_amount, first.created) == (1, Decimal("100000.00"), 1)
    assert (first.score_sum, first.score_count, first.grade_sum, first.grade_count) == (700, 1, 1, 1)
    assert first.decided == 0
    # Decided on the 5th: the approved amount, not the requested one.
    decided = row(dt.date(2026, 11, 5), "retail", S.APPROVED)
    assert (decided.decided, decided.decided_amount, decided.submitted) == (1, Decimal("80000.00"), 0)
    # 23:30 on 31 October in Shanghai stays in October.
    october = row(dt.date(2026, 10, 31), "catering", S.REJECTED)
    assert (october.submitted, october.decided, october.decided_amount) == (1, 1, Decimal("50000.00"))
    # The unscored customer's application: counted, its score left out.
    unscored = row(dt.date(2026, 11, 20), "retail", S.UNDER_REVIEW)
    assert (unscored.submitted, unscored.score_count, unscored.grade_count) == (1, 0, 0)
    # Loans by disbursement day, under their application's status.
    disbursed = ApplicationDay.objects.get(date=dt.date(2026, 11, 6), disbursed__gt=0)
    assert (disbursed.disbursed, disbursed.disbursed_amount, disbursed.industry) == (1, Decimal("80000.00"), "retail")
    assert ApplicationDaysSummed.objects.get().through == NOV_29


@pytest.mark.parametrize(
    "period",
    [
        NOV,
        NOV.previous,
        Period("custom", local(2026, 10, 31), local(2026, 11, 2)),
        Period("custom", local(2026, 1, 1), local(2026, 12, 1)),
    ],
    ids=["november", "october", "month-boundary", "year"],
)
def test_the_dashboard_from_the_sums_equals_the_live_figures(book, period):
    # Today's applications are not summed yet: the dashboard adds them live.
    ApplicationFactory(
        customer=book["good"],
        status=S.SUBMITTED,
        amount=Decimal("7000.00"),
        score_grade="B",
        submitted_at=timezone.now(),
        created_at=timezone.now(),
    )
    application_days_sum(through=NOV_29)

    summed = selectors.dashboard_compute(period=period, sections=SECTIONS)

    assert summed == live(period)
    assert summed["kpis"]["applications"]["value"] == live(period)["kpis"]["applications"]["value"]


def test_today_is_added_live_to_the_summed_days(book):
    # Today is the book month's last day, whatever the clock says.
    today = local(2026, 11, 30, 15, 0)
    with mock.patch("django.utils.timezone.now", return_value=today):
        application_days_sum(through=NOV_29)
        before = selectors.application_figures(period=NOV)["applications"]
        ApplicationFactory(customer=book["good"], status=S.SUBMITTED, submitted_at=today)

        cards = selectors.kpis(period=NOV)

    assert cards["applications"]["value"] == before + 1 == 4


def test_a_change_to_an_old_application_is_summed_again(book):
    rejected = ApplicationFactory(
        customer=book["good"],
        status=S.UNDER_REVIEW,
        amount=Decimal("30000.00"),
        submitted_at=local(2026, 11, 3, 9, 0),
        created_at=local(2026, 11, 3, 9, 0),
    )
    application_days_sum(through=NOV_29)
    assert row(dt.date(2026, 11, 3), "retail", S.UNDER_REVIEW).submitted == 1

    # Decided weeks later (older than the days summed again every time).
    rejected.status, rejected.decided_at = S.REJECTED, local(2026, 11, 4, 9, 0)
    rejected.save()
    counts = application_days_sum(through=NOV_29)

    assert dt.date(2026, 11, 3) < NOV_29 - dt.timedelta(days=7)
    assert counts["days"] > 7
    assert not ApplicationDay.objects.filter(date=dt.date(2026, 11, 3), status=S.UNDER_REVIEW).exists()
    assert row(dt.date(2026, 11, 3), "retail", S.REJECTED).submitted == 1
    assert row(dt.date(2026, 11, 4), "retail", S.REJECTED).decided == 1
    assert selectors.dashboard_compute(period=NOV, sections=SECTIONS) == live(NOV)


def test_summing_again_writes_the_same_rows(book):
    application_days_sum(through=NOV_29)
    first = list(ApplicationDay.objects.order_by("date", "industry", "status").values())

    application_days_sum(through=NOV_29)

    again = list(ApplicationDay.objects.order_by("date", "industry", "status").values())
    assert [{k: v for k, v in r.items() if k != "id"} for r in again] == [
        {k: v for k, v in r.items() if k != "id"} for r in first
    ]


def test_a_day_is_summed_only_once_it_is_over(book):
    today = timezone.now().astimezone(SH).date()

    application_days_sum(through=today + dt.timedelta(days=3))

    assert ApplicationDaysSummed.objects.get().through == today - dt.timedelta(days=1)


def test_an_empty_database_sums_nothing_and_the_dashboard_still_renders(db):
    assert application_days_sum(through=NOV_29) == {"days": 0, "rows": 0}
    data = selectors.dashboard_compute(period=period_from("month"), sections=SECTIONS)
    assert data["kpis"]["applications"]["value"] == 0
    assert data["industry"] == [] and data["status"] == []


def test_an_officers_dashboard_reads_their_book_live(book):
    application_days_sum(through=NOV_29)
    assert selectors._summed_through(None) == NOV_29
    assert selectors._summed_through(7) is None


def test_the_close_sums_the_days_after_its_portfolio_step(db):
    from loans.close import CLOSE_STEPS, loan_close_day

    names = [step.name for step in CLOSE_STEPS]
    assert names.index("applications") == names.index("portfolio") + 1
    ApplicationFactory(
        customer=CustomerFactory(industry="retail"),
        status=S.SUBMITTED,
        submitted_at=timezone.now() - dt.timedelta(days=2),
    )
    day = timezone.localdate() - dt.timedelta(days=1)

    (close,) = loan_close_day(date=day)

    assert close.status == "done" and close.counts["applications"]["rows"] >= 1
    assert ApplicationDaysSummed.objects.get().through == day
    assert ApplicationDay.objects.filter(submitted=1).exists()


def test_the_beat_refresh_brings_a_rescoring_into_the_summed_days(book):
    from django_celery_beat.models import PeriodicTask

    from loans.models import LoanApplication
    from loans.tasks import application_days_refresh

    assert PeriodicTask.objects.get(task="loans.application_days_refresh").enabled
    application_days_sum(through=NOV_29)
    # A batch re-scoring moves old applications' grades with a queryset update (no save()).
    LoanApplication.objects.filter(score_grade="C").update(score_grade="A", scored_at=timezone.now())
    stale = selectors.dashboard_compute(period=NOV, sections=SECTIONS)
    assert stale != live(NOV)

    application_days_refresh()

    assert selectors.dashboard_compute(period=NOV, sections=SECTIONS) == live(NOV)
