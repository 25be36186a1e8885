"""Benchmark: the workbench page scoped to one officer's book at 1,000,000 applications,
next to the same page for a credit approver (unscoped) in the same run.

The book is the workbench benchmark's (loans/benchmarks.py): 1M applications over 20,000
customers, spread over 50 relationship managers (2% of the customers unassigned, in the
pool every officer sees); the officer is one of the managers (about 2% of the rows).
"""

import numpy as np
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from customers.models import Customer, RelationshipManager
from loansite.bench import BenchContext, Figure, Timer, bench_client_login, benchmark
from loansite.roles import CREDIT_APPROVER, LOAN_OFFICER

MANAGERS = 50
UNASSIGNED_SHARE = 0.02


def _managers(prefix: str) -> list[RelationshipManager]:
    from loans.benchmarks import _user

    managers = []
    for i in range(MANAGERS):
        user = _user(f"{prefix}rm{i:02d}", LOAN_OFFICER)
        manager, _ = RelationshipManager.objects.get_or_create(
            user=user, defaults={"city": "Hangzhou", "capacity": 100_000}
        )
        managers.append(manager)
    return managers


def _assign(customer_ids: list[int], managers: list[RelationshipManager], rng) -> None:
    ids = np.array(customer_ids)
    rng.shuffle(ids)
    assigned = ids[int(len(ids) * UNASSIGNED_SHARE) :]
    for index, manager in enumerate(managers):
        chunk = [int(pk) for pk in assigned[index::MANAGERS]]
        for start in range(0, len(chunk), 900):
            Customer.objects.filter(pk__in=chunk[start : start + 900]).update(manager=manager)


def _median_ms(func, repeat: int) -> float:
    from loans.benchmarks import _median_ms as median

    return median(func, repeat)


@benchmark(name="customers.scoped_workbench", order=23)
def bench_scoped_workbench(ctx: BenchContext) -> list[Figure]:
    from loans.benchmarks import PREFIX, _clear, _customers, _insert_applications, _product, _user
    from loans.models import LoanApplication
    from loans.selectors import application_queue
    from loansite.scoping import scope_by_customer

    rng = np.random.default_rng(23)
    n = ctx.n(1_000_000, minimum=2_000)
    product = _product()
    approver = _user("scoping-approver", CREDIT_APPROVER)
    managers = _managers("scoping-")
    officer = managers[0].user
    customer_ids = _customers(max(200, min(20_000, n // 50)), rng)
    _assign(customer_ids, managers, rng)
    ctx.log(f"  inserting {n:,} applications ...")
    with Timer() as fill:
        _insert_applications(n, customer_ids=customer_ids, product=product, pending_share=0.05, rng=rng)
    ctx.log(f"  inserted in {fill.seconds:.1f} s; analysing")
    with connection.cursor() as cursor:
        for table in (LoanApplication._meta.db_table, Customer._meta.db_table):
            cursor.execute("ANALYZE" if connection.vendor == "sqlite" else f"ANALYZE TABLE {table}")
    own = LoanApplication.objects.filter(customer__manager=managers[0]).count()
    ctx.log(f"  the officer's book: {own:,} of {n:,} applications")

    url = "/admin/loans/loanapplication/"
    figures = []
    try:
        with override_settings(ALLOWED_HOSTS=["*"], DEBUG=False):
            officer_client, approver_client = Client(), Client()
            bench_client_login(officer_client, officer)
            bench_client_login(approver_client, approver)
            for client in (officer_client, approver_client):
                assert client.get(url).status_code == 200

            def page(client, path=url):
                response = client.get(path)
                assert response.status_code == 200

            scoped_ms = _median_ms(lambda: page(officer_client), 15)
            unscoped_ms = _median_ms(lambda: page(approver_client), 15)
            figures.append(
                Figure(
                    f"scoped workbench page, one officer ({own:,} of {n:,} applications), median",
                    scoped_ms,
                    "ms",
                    "the same page for a credit approver (unscoped)",
                    unscoped_ms,
                    "≤ 300 ms",
                )
            )
            all_path = url + "?status=all"
            scoped_all_ms = _median_ms(lambda: page(officer_client, all_path), 9)
            unscoped_all_ms = _median_ms(lambda: page(approver_client, all_path), 9)
            figures.append(
                Figure(
                    "scoped workbench, all statuses, one officer, median",
                    scoped_all_ms,
                    "ms",
                    "the same page for a credit approver (unscoped)",
                    unscoped_all_ms,
                    "≤ 300 ms",
                )
            )

            def raw_scoped():
                list(scope_by_customer(application_queue(), officer)[:50])

            figures.append(
                Figure(
                    "scoped queue queryset, 50 rows, median",
                    _median_ms(raw_scoped, 15),
                    "ms",
                    "unscoped queue queryset, 50 rows",
                    _median_ms(lambda: list(application_queue()[:50]), 15),
                    "",
                )
            )
            with CaptureQueriesContext(connection) as scoped_queries:
                page(officer_client)
            with CaptureQueriesContext(connection) as unscoped_queries:
                page(approver_client)
            figures.append(
                Figure(
                    "queries per scoped page",
                    len(scoped_queries),
                    "queries",
                    "per unscoped page",
                    len(unscoped_queries),
                    "",
                )
            )
    finally:
        ctx.log("  cleaning up")
        _clear()
        users = [m.user_id for m in managers]
        RelationshipManager.objects.filter(pk__in=[m.pk for m in managers]).delete()
        get_user_model().objects.filter(pk__in=users, username__startswith=PREFIX).delete()
    return figures
