"""The dashboard over 1,000,000 applications and 1,000,000 loans (scaled by ``--scale``):
the figures of the administrator's dashboard computed uncached, then served from the cache,
and the admin index page itself, each next to one ``COUNT(*)`` over the applications.

Registered through ``loansite/benchmarks.py``; the rows come from the loan-page benchmark's
inserter (an application and its loan per row)."""

import statistics

import numpy as np
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import override_settings

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


@benchmark(name="loansite.dashboard", order=90)
def bench_dashboard(ctx: BenchContext) -> list[Figure]:
    from django.contrib.auth import get_user_model

    from loans.bench_servicing import _clear, _insert_loans, _product

    n = ctx.n(1_000_000, minimum=2_000)
    ctx.log(f"  inserting {n:,} applications and loans ...")
    _insert_loans(n, np.random.default_rng(90), _product())
    try:
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
        _clear()
