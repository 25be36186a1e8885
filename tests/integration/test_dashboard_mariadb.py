"""The dashboard on MariaDB: months and days cut at Asia/Shanghai midnight without the server's
time zone tables (the project's MariaDB has none loaded: ``CONVERT_TZ`` to a named zone gives
NULL there), and the daily portfolio snapshots' set-wise SQL on the MySQL dialect."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from loans.models import LoanApplication, PortfolioDay, PortfolioMix, PortfolioRoll, PortfolioVintage
from loans.services.portfolio import portfolio_backfill
from loansite import roles
from loansite.dashboard import history, selectors
from loansite.dashboard.periods import Period
from tests.loans.factories import ApplicationFactory, CustomerFactory
from tests.loans.test_portfolio import build_book

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
SH = ZoneInfo("Asia/Shanghai")
S = LoanApplication.Status


def test_rows_either_side_of_shanghai_midnight_land_in_october_and_november():
    customer = CustomerFactory()
    # 23:30 on 31 October in Shanghai (15:30 UTC) and 00:30 on 1 November (16:30 UTC on 31 October).
    october = dt.datetime(2026, 10, 31, 23, 30, tzinfo=SH)
    november = dt.datetime(2026, 11, 1, 0, 30, tzinfo=SH)
    for moment in (october, november):
        ApplicationFactory(customer=customer, status=S.APPROVED, submitted_at=moment, decided_at=moment)
    with connection.cursor() as cursor:
        cursor.execute("SELECT CONVERT_TZ('2026-10-31 16:30:00', 'UTC', 'Asia/Shanghai')")
        named = cursor.fetchone()[0]
    rows = selectors.growth_series(months=2, now=dt.datetime(2026, 11, 15, 12, 0, tzinfo=SH))
    got = {r["month"]: (r["applications"], r["approvals"]) for r in rows}
    assert got == {dt.date(2026, 10, 1): (1, 1), dt.date(2026, 11, 1): (1, 1)}, f"named-zone CONVERT_TZ: {named}"
    # Days too (the audit chart's series): each entry on its local day.
    period = Period("custom", dt.datetime(2026, 10, 31, tzinfo=SH), dt.datetime(2026, 11, 2, tzinfo=SH))
    days = {r["day"]: r["count"] for r in selectors.audit_series(period=period)}
    assert set(days) <= {dt.date(2026, 10, 31), dt.date(2026, 11, 1)}
    # The KPI cards: the November period counts only the 00:30 application.
    november_only = Period("custom", dt.datetime(2026, 11, 1, tzinfo=SH), dt.datetime(2026, 12, 1, tzinfo=SH))
    assert selectors.application_figures(period=november_only)["applications"] == 1


def test_application_day_sums_on_mariadb_cut_at_shanghai_midnight():
    from unittest import mock

    from loans.models import ApplicationDay
    from loans.services.application_days import application_days_sum

    customer = CustomerFactory(industry="retail", credit_score=640)
    for moment in (dt.datetime(2026, 10, 31, 23, 30, tzinfo=SH), dt.datetime(2026, 11, 1, 0, 30, tzinfo=SH)):
        ApplicationFactory(
            customer=customer, status=S.APPROVED, submitted_at=moment, decided_at=moment, created_at=moment
        )
    application_days_sum(through=dt.date(2026, 11, 29))

    days = {row.date: (row.submitted, row.decided) for row in ApplicationDay.objects.filter(industry="retail")}
    assert days == {dt.date(2026, 10, 31): (1, 1), dt.date(2026, 11, 1): (1, 1)}
    period = Period("custom", dt.datetime(2026, 10, 1, tzinfo=SH), dt.datetime(2026, 12, 1, tzinfo=SH))
    sections = frozenset({"kpis", "growth", "industry", "status"})
    summed = selectors.dashboard_compute(period=period, sections=sections)
    with mock.patch.object(selectors, "_summed_through", lambda owner: None):
        assert summed == selectors.dashboard_compute(period=period, sections=sections)


def test_portfolio_snapshots_on_mariadb(make_user):
    book = build_book(make_user("officer", role=roles.LOAN_OFFICER))
    portfolio_backfill()
    assert PortfolioDay.objects.filter(date=book["m2"]).count() == 3
    assert PortfolioRoll.objects.filter(date=book["m2"]).count() == 4
    vintage = PortfolioVintage.objects.get(date=book["m2"], cohort=book["cohort_a"], owner_id=0)
    assert (vintage.defaulted_loans, vintage.defaulted_principal) == (1, Decimal("200000.00"))
    assert PortfolioMix.objects.get(date=book["m2"], dimension="tier", item="1").customers == 1
    assert history.roll_rates()[0]["rates"]["current"] == Decimal("50000") / Decimal("180000")
    radar = history.risk_radar()
    assert radar["averages"]["good"]["margin"] == pytest.approx(0.25)
