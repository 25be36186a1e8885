"""The dashboard over 1,000,000 applications and 1,000,000 loans (scaled by ``--scale``), with the
daily application sums the close keeps (``loans.services.application_days``, timed first and daily):
the figures of the administrator's dashboard computed uncached, then served from the cache,
and the admin index page itself, each next to one ``COUNT(*)`` over the applications; and the
daily close's ``portfolio`` step over the same book (the per-loan snapshots of three closes,
two month ends and yesterday, are written first, as the close's ``snapshot`` step would), next to
one ``INSERT ... SELECT`` copying the live loans into per-loan snapshots.

Registered through ``loansite/benchmarks.py``; the rows come from the loan-page benchmark's
inserter (an application and its loan per row)."""

import datetime
import statistics

import numpy as np
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from loans.models import LoanApplication
from loansite.bench import BenchContext, Figure, Timer, bench_client_login, benchmark
from loansite.dashboard import selectors
from loansite.dashboard.periods import period_from
from loansite.dashboard.views import ROLE_SECTIONS
from loansite.roles import ADMINISTRATOR


def _median_ms(func, repeat: int) -> float:
    times = []
    for _i in range(repeat):
        with Timer() as t:
            func()
        times.append(t.seconds * 1000)
    return statistics.median(times)


def _arrears() -> None:
    """Some of the overdue loans in each bucket and class (the inserter leaves every loan current)."""
    from loans.models import Loan

    table = Loan._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET days_past_due = 1 + (id * 37) % 400 WHERE status = 'overdue'")
        cursor.execute(
            f"UPDATE {table} SET dpd_bucket = CASE WHEN days_past_due > 360 THEN '360+'"
            " WHEN days_past_due > 180 THEN '181-360' WHEN days_past_due > 90 THEN '91-180'"
            " WHEN days_past_due > 60 THEN '61-90' WHEN days_past_due > 30 THEN '31-60' ELSE '1-30' END,"
            " risk_class = CASE WHEN days_past_due > 360 THEN 'loss' WHEN days_past_due > 270 THEN 'doubtful'"
            " WHEN days_past_due > 90 THEN 'substandard' ELSE 'special_mention' END WHERE status = 'overdue'"
        )


def _spread_applications() -> None:
    """Applications submitted, decided and created on their loan's disbursement date (the
    inserter leaves them all created now and never submitted), so periods hold realistic shares."""
    from loans.models import Loan

    app, loan = LoanApplication._meta.db_table, Loan._meta.db_table

    def at(hour: str) -> str:
        if connection.vendor == "mysql":
            return f"(SELECT TIMESTAMP(l.disbursement_date, '{hour}') FROM {loan} l WHERE l.application_id = {app}.id)"
        return f"(SELECT l.disbursement_date || ' {hour}' FROM {loan} l WHERE l.application_id = {app}.id)"

    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {app} SET submitted_at = {at('01:00:00')}, decided_at = {at('05:00:00')},"
            f" created_at = {at('00:30:00')}, status = 'disbursed' WHERE reference LIKE 'LA-BL-%%'"
        )


def _snapshot_loans(day: datetime.date) -> None:
    """What the close's snapshot step leaves for ``day``: one row per live loan."""
    from loans.models import Loan, LoanDaySnapshot

    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {LoanDaySnapshot._meta.db_table} (loan_id, date, status, days_past_due, dpd_bucket,"
            " risk_class, outstanding_principal, overdue_principal, overdue_interest, penalty_accrued,"
            " penalty_unpaid, provision, pd, lgd, ead, expected_loss) SELECT id, %s, status, days_past_due,"
            f" dpd_bucket, risk_class, outstanding_principal, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM {Loan._meta.db_table}"
            " WHERE status IN ('active', 'overdue')",
            [day.isoformat()],
        )


def _clear_snapshots(days) -> None:
    from loans.models import (
        ApplicationDay,
        ApplicationDaysSummed,
        LoanDaySnapshot,
        PortfolioDay,
        PortfolioMix,
        PortfolioRoll,
        PortfolioVintage,
    )

    for model in (LoanDaySnapshot, PortfolioDay, PortfolioMix, PortfolioRoll, PortfolioVintage):
        model.objects.filter(date__in=days)._raw_delete(model.objects.db)
    for model in (ApplicationDay, ApplicationDaysSummed):
        model.objects.all()._raw_delete(model.objects.db)


def _group_by_day() -> None:
    """The least a sum by day can do: one GROUP BY of every application by its submission day."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DATE(submitted_at), COUNT(*), SUM(amount) FROM {LoanApplication._meta.db_table}"
            " GROUP BY DATE(submitted_at)"
        )
        cursor.fetchall()


@benchmark(name="loansite.dashboard", order=90)
def bench_dashboard(ctx: BenchContext) -> list[Figure]:
    from django.contrib.auth import get_user_model

    from loans.bench_servicing import _clear, _insert_loans, _product
    from loans.services.application_days import application_days_sum
    from loans.services.portfolio import month_end, portfolio_snapshot_take, previous_month_end

    n = ctx.n(1_000_000, minimum=2_000)
    ctx.log(f"  inserting {n:,} applications and loans ...")
    _insert_loans(n, np.random.default_rng(90), _product())
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    last_end = yesterday if month_end(yesterday) else previous_month_end(yesterday)
    days = sorted({previous_month_end(last_end), last_end, yesterday})
    try:
        _spread_applications()
        _arrears()
        ctx.log(f"  per-loan snapshots for {', '.join(map(str, days))} ...")
        copies = []
        for day in days:
            with Timer() as t:
                _snapshot_loans(day)
            copies.append(t.seconds)
        steps = []
        for day in days:
            ctx.log(f"  portfolio step for {day} ...")
            with Timer() as t:
                counts = portfolio_snapshot_take(date=day, current=day == days[-1])
            steps.append(t.seconds)
            ctx.log(f"    {counts} in {t.seconds:.1f} s")
        with Timer() as grouped:
            _group_by_day()
        with Timer() as first_sum:
            first_counts = application_days_sum(through=yesterday)
        with Timer() as daily_sum:
            daily_counts = application_days_sum(through=yesterday)
        ctx.log(f"  application day sums: first {first_counts} in {first_sum.seconds:.1f} s, daily {daily_counts}")
        sections = frozenset(ROLE_SECTIONS[ADMINISTRATOR])
        period = period_from("year")

        def count():
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COUNT(*) FROM {LoanApplication._meta.db_table}")
                cursor.fetchone()

        def uncached():
            cache.clear()
            selectors.dashboard_data(period=period, sections=sections)

        baseline = _median_ms(count, 3)
        cold = _median_ms(uncached, 3)
        selectors.dashboard_data(period=period, sections=sections)
        warm = _median_ms(lambda: selectors.dashboard_data(period=period, sections=sections), 5)
        user, _created = get_user_model().objects.get_or_create(
            username="bench-dashboard-root", defaults={"is_staff": True, "is_superuser": True}
        )
        client = Client()
        with override_settings(ALLOWED_HOSTS=["*"]):
            bench_client_login(client, user)
            client.get("/admin/")
            page = _median_ms(lambda: client.get("/admin/"), 5)
        label = f"{n:,} applications + {n:,} loans"
        return [
            Figure(
                f"application day sums, first run over all history ({label})",
                first_sum.seconds,
                "s",
                "one GROUP BY of every application by submission day (plain SQL)",
                grouped.seconds,
                "",
            ),
            Figure(
                "application day sums, the close's daily run (the last 7 days and any changed day)",
                daily_sum.seconds,
                "s",
                "one GROUP BY of every application by submission day (plain SQL)",
                grouped.seconds,
                "",
            ),
            Figure(
                f"daily close's portfolio step, one day ({label}; the last of {len(days)} days)",
                steps[-1],
                "s",
                "INSERT ... SELECT of the live loans into per-loan snapshots (same day)",
                copies[-1],
                "",
            ),
            Figure(
                f"dashboard figures uncached ({label})",
                cold,
                "ms",
                "one COUNT(*) over applications",
                baseline,
                "<= 1000 ms",
            ),
            Figure(
                f"dashboard figures cached ({label})",
                warm,
                "ms",
                "one COUNT(*) over applications",
                baseline,
                "<= 100 ms",
            ),
            Figure(
                f"admin index page, cached figures ({label})", page, "ms", "one COUNT(*) over applications", baseline
            ),
        ]
    finally:
        _clear_snapshots(days)
        _clear()
