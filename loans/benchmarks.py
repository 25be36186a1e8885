"""Benchmarks of the loans app, each next to a baseline measured in the same run.

- The workbench changelist over 1,000,000 applications (an approver's page through the
  Django test client) vs the raw queryset fetch of the same page; query counts at two
  page sizes.
- Batch approval of 500 applications through the service (lock, checks, audit entry,
  decision row each) vs one plain status UPDATE of 500 rows.
- Public form submissions under gunicorn with 50 concurrent clients vs the health
  endpoint under the same load.
"""

import datetime
import http.client
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from decimal import Decimal
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from customers.models import Customer
from customers.validators import make_credit_code, make_mobile_phone
from loans import (
    bench_close,  # noqa: F401 - registers "loans.close_day"
    bench_schedules,  # noqa: F401 - registers "loans.schedules"
    bench_servicing,  # noqa: F401 - registers the servicing benchmarks
)
from loans.models import ApprovalAuthority, ApprovalDecision, LoanApplication, LoanProduct
from loans.selectors import application_queue
from loansite.bench import BenchContext, Figure, Timer, bench_client_login, benchmark
from loansite.demo_profiles import CITIES, INDUSTRIES
from loansite.roles import CREDIT_APPROVER

S = LoanApplication.Status
PREFIX = "bench-loans-"


# ---------------------------------------------------------------------------
# Shared set-up
# ---------------------------------------------------------------------------
def _product() -> LoanProduct:
    product, _ = LoanProduct.objects.get_or_create(
        code="BENCH-WC",
        defaults={
            "name": "Bench working capital",
            "min_amount": Decimal("10000"),
            "max_amount": Decimal("3000000"),
            "min_term_months": 3,
            "max_term_months": 36,
            "annual_rate_min": Decimal("0.04"),
            "annual_rate_max": Decimal("0.12"),
            "repayment_methods": ["equal_installment", "equal_principal", "interest_only"],
        },
    )
    return product


def _user(name: str, role: str, limit: Decimal | None = None):
    user, _ = get_user_model().objects.get_or_create(username=PREFIX + name, defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name=role))
    if limit is not None:
        ApprovalAuthority.objects.update_or_create(user=user, defaults={"limit": limit})
    return user


def _unique(rng, n, make) -> list[str]:
    values: set[str] = set()
    while len(values) < n:
        values.add(make(rng))
    return list(values)


@transaction.atomic
def _customers(n: int, rng) -> list[int]:
    codes = _unique(rng, n, make_credit_code)
    phones = _unique(rng, n, make_mobile_phone)
    customers = [
        Customer(
            name=f"{PREFIX}customer {i}",
            credit_code=codes[i],
            phone=phones[i],
            city=CITIES[i % len(CITIES)][0],
            city_tier=CITIES[i % len(CITIES)][1],
            industry=INDUSTRIES[i % len(INDUSTRIES)].code,
            monthly_revenue=Decimal("100000"),
            monthly_cost=Decimal("80000"),
        )
        for i in range(n)
    ]
    Customer.objects.bulk_create(customers, batch_size=2000)
    return [c.pk for c in customers]


def _insert_applications(n: int, *, customer_ids, product, pending_share: float, rng, status=None) -> None:
    """``n`` rows by ``executemany`` in chunks (the fastest plain way to fill the table)."""
    table = LoanApplication._meta.db_table
    columns = [
        "reference",
        "customer_id",
        "product_id",
        "amount",
        "term_months",
        "purpose",
        "repayment_method",
        "channel",
        "contact_phone",
        "notes",
        "status",
        "version",
        "review_round",
        "decision_reason",
        "created_at",
        "submitted_at",
        "updated_at",
        "score_points",
        "score_grade",
        "score_probability",
        "score_reasons",
        "score_model_version",
        "risk_flags",
    ]
    # Every other column (decided terms, claimed identity, ...) gets its model default, prepared
    # for the database once: a raw INSERT applies no Django defaults.
    others = [
        f
        for f in LoanApplication._meta.concrete_fields
        if not f.primary_key and f.column not in columns and f.attname not in columns
    ]
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in others)
    columns = [*columns, *(f.column for f in others)]
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    now = timezone.now()
    decided = [S.APPROVED, S.REJECTED, S.WITHDRAWN, S.CANCELLED]
    start = LoanApplication.objects.count()
    chunk = 50_000
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # A bigger page cache for the load: seven indexes over 1M rows thrash the 2 MB default.
            cursor.execute("PRAGMA cache_size = -262144")
        for offset in range(0, n, chunk):
            size = min(chunk, n - offset)
            # Oldest first, as rows arrive in life: the date indexes grow at their end.
            days = 365 * (1 - (offset + np.arange(size) + rng.random(size)) / n)
            amounts = np.round(rng.lognormal(np.log(200_000), 0.7, size), -3).clip(10_000, 3_000_000)
            points = rng.integers(450, 850, size)
            # Pending applications are the recent ones (decisions take days, not months).
            recent = (offset + np.arange(size)) >= n * (1 - 2 * pending_share)
            pending = recent & (rng.random(size) < 0.5) if pending_share < 1 else np.ones(size, dtype=bool)
            who = rng.integers(0, len(customer_ids), size)
            rows = []
            with transaction.atomic():
                for i in range(size):
                    when = now - datetime.timedelta(days=float(days[i]))
                    if status is not None:
                        row_status = status
                    elif pending[i]:
                        row_status = S.SUBMITTED if i % 2 else S.UNDER_REVIEW
                    else:
                        row_status = decided[i % 4]
                    grade = "ABCDE"[min(4, (850 - int(points[i])) // 80)]
                    rows.append(
                        (
                            f"BL-{start + offset + i:010d}",
                            customer_ids[int(who[i])],
                            product.pk,
                            f"{amounts[i]:.2f}",
                            12,
                            "working_capital",
                            "equal_installment",
                            "branch" if i % 3 else "public",
                            "",
                            "",
                            row_status,
                            0,
                            1,
                            "",
                            when,
                            when,
                            when,
                            int(points[i]),
                            grade,
                            "0.0500",
                            "[]",
                            "",
                            "[]",
                            *defaults,
                        )
                    )
                cursor.executemany(sql, rows)


def _clear() -> None:
    """Remove this module's rows so later benchmarks start from a clean book."""
    ApprovalDecision.objects.filter(application__customer__name__startswith=PREFIX)._raw_delete(
        ApprovalDecision.objects.db
    )
    # Rows that point at these applications (public submissions, snapshots, decisions ...).
    ids = LoanApplication.objects.filter(customer__name__startswith=PREFIX).values("pk")
    for relation in LoanApplication._meta.related_objects:
        if relation.one_to_many or relation.one_to_one:
            related = relation.related_model.objects.filter(**{f"{relation.field.name}__in": ids})
            related._raw_delete(related.db)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {LoanApplication._meta.db_table} WHERE customer_id IN "
            f"(SELECT id FROM {Customer._meta.db_table} WHERE name LIKE %s)",
            [PREFIX + "%"],
        )
    Customer.objects.filter(name__startswith=PREFIX)._raw_delete(Customer.objects.db)


def _median_ms(func, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        with Timer() as t:
            func()
        times.append(t.seconds * 1000)
    return statistics.median(times)


# ---------------------------------------------------------------------------
# 1. The workbench changelist at 1,000,000 applications
# ---------------------------------------------------------------------------
@benchmark(name="loans.workbench_changelist", order=20)
def bench_workbench(ctx: BenchContext) -> list[Figure]:
    from django.contrib import admin

    rng = np.random.default_rng(20)
    n = ctx.n(1_000_000, minimum=2_000)
    product = _product()
    approver = _user("approver", CREDIT_APPROVER)
    customer_ids = _customers(max(200, min(20_000, n // 50)), rng)
    ctx.log(f"  inserting {n:,} applications ...")
    with Timer() as fill:
        _insert_applications(n, customer_ids=customer_ids, product=product, pending_share=0.05, rng=rng)
    ctx.log(f"  inserted in {fill.seconds:.1f} s; analysing")
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE" if connection.vendor == "sqlite" else f"ANALYZE TABLE {LoanApplication._meta.db_table}"
        )

    model_admin = admin.site._registry[LoanApplication]
    url = "/admin/loans/loanapplication/"
    figures = []
    with override_settings(ALLOWED_HOSTS=["*"], DEBUG=False):
        client = Client()
        bench_client_login(client, approver)
        first = client.get(url)
        assert first.status_code == 200, first.status_code

        def page():
            response = client.get(url)
            assert response.status_code == 200

        page_ms = _median_ms(page, 15)

        def raw_page():
            list(application_queue()[:50])

        raw_ms = _median_ms(raw_page, 15)
        figures.append(
            Figure(
                f"workbench queue page (50 rows, {n:,} applications), median",
                page_ms,
                "ms",
                "queryset fetch of the same 50 rows",
                raw_ms,
                "≤ 300 ms on SQLite",
            )
        )
        filtered = url + "?status=all&amount_range=100k-500k&industry=retail"
        filtered_ms = _median_ms(lambda: client.get(filtered), 9)
        figures.append(
            Figure(
                "workbench filtered page (all statuses, amount + industry), median",
                filtered_ms,
                "ms",
                "queryset fetch of the same 50 rows",
                raw_ms,
                "≤ 300 ms on SQLite",
            )
        )
        counts = {}
        original = model_admin.list_per_page
        try:
            for size in (50, 200):
                model_admin.list_per_page = size
                with CaptureQueriesContext(connection) as queries:
                    client.get(url)
                counts[size] = len(queries)
        finally:
            model_admin.list_per_page = original
        figures.append(
            Figure("queries per page at 200 rows", counts[200], "queries", "at 50 rows", counts[50], "equal")
        )
    ctx.log("  cleaning up")
    _clear()
    return figures


# ---------------------------------------------------------------------------
# 2. Batch approve of 500
# ---------------------------------------------------------------------------
@benchmark(name="loans.batch_approve", order=21)
def bench_batch_approve(ctx: BenchContext) -> list[Figure]:
    from loans.services import application_batch

    rng = np.random.default_rng(21)
    n = ctx.n(500, minimum=50)
    product = _product()
    approver = _user("approver", CREDIT_APPROVER, limit=Decimal("10000000"))
    customer_ids = _customers(200, rng)
    _insert_applications(
        2 * n, customer_ids=customer_ids, product=product, pending_share=1, rng=rng, status=S.UNDER_REVIEW
    )
    ids = list(
        LoanApplication.objects.filter(customer__name__startswith=PREFIX, status=S.UNDER_REVIEW)
        .order_by("id")
        .values_list("id", flat=True)
    )
    service_ids, plain_ids = ids[:n], ids[n : 2 * n]
    apps = list(LoanApplication.objects.filter(pk__in=service_ids))
    with Timer() as service:
        outcome = application_batch(actor=approver, applications=apps, operation="approve", reason="bench")
    assert len(outcome.done) == n and not outcome.failed, outcome.failed[:3]
    with Timer() as plain, transaction.atomic():
        LoanApplication.objects.filter(pk__in=plain_ids, status=S.UNDER_REVIEW).update(
            status=S.APPROVED, decided_at=timezone.now()
        )
    _clear()
    return [
        Figure(
            f"batch approve {n} (service: lock, checks, decision, audit each)",
            service.seconds,
            "s",
            f"plain UPDATE of {n} rows",
            plain.seconds,
            "≤ 5 s",
        )
    ]


# ---------------------------------------------------------------------------
# 3. Public form submissions under gunicorn, 50 concurrent clients
# ---------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_gunicorn(ctx: BenchContext, port: int, workers: int):
    var_dir = Path(ctx.workdir) / "gunicorn-var"
    var_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "loansite.settings",
        "LOANSITE_VAR_DIR": str(var_dir),  # own cache (rate limits) and broker folder
        # ... but the bench database's field keys (development keys live in var/).
        "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        "FIELD_HASH_KEY": settings.FIELD_HASH_KEY,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PUBLIC_APPLY_RATE": "1000000/m",  # all clients share 127.0.0.1
        "PUBLIC_APPLY_ATTEMPT_RATE": "1000000/m",
        "LOG_LEVEL": "WARNING",
        "CONN_MAX_AGE": os.environ.get("CONN_MAX_AGE", "60"),  # persistent connections, as deployed
    }
    cmd = [
        str(Path(sys.executable).with_name("gunicorn")),
        "loansite.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--backlog",
        "2048",
        "--timeout",
        "60",
        "--log-level",
        "warning",
    ]
    log = open(var_dir / "gunicorn.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(cmd, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz/")
            if conn.getresponse().status == 200:
                return proc, log
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


def _request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheader("Set-Cookie") or "", response.read()
    finally:
        conn.close()


def _load(port: int, clients: int, total: int, make_request) -> dict:
    """``clients`` threads share ``total`` requests; returns counts and the wall time."""
    counter = iter(range(total))
    lock = threading.Lock()
    stats = {"ok": 0, "lost": 0, "5xx": 0, "other": 0}

    def client():
        state = {}
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            try:
                outcome = make_request(i, state)
            except OSError:
                outcome = "lost"
            with lock:
                stats[outcome] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    with Timer() as t:
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    stats["seconds"] = t.seconds
    return stats


@benchmark(name="loans.public_form_gunicorn", order=22)
def bench_public_form(ctx: BenchContext) -> list[Figure]:
    if connection.vendor == "sqlite":
        connection.close()  # let the server processes write without our connection in the way
    product = _product()
    clients = 50
    total = ctx.n(3_000, minimum=300)
    rng = random.Random(22)
    codes = _unique(rng, total, make_credit_code)
    phones = _unique(rng, total, make_mobile_phone)
    before = LoanApplication.objects.filter(channel="public").count()
    port = _free_port()
    # Four per core: on SQLite a writer waiting for the lock sleeps, so extra workers keep
    # the cores busy (measured: 2 workers 26/s, 4 42/s, 8 52/s on 2 cores).
    workers = int(os.environ.get("LOANS_BENCH_WORKERS", 0)) or 4 * (os.cpu_count() or 2)
    proc, log = _start_gunicorn(ctx, port, workers)
    try:
        token_re = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')

        def submit(i, state):
            if "cookie" not in state:
                status, cookie, body = _request(port, "GET", "/apply/")
                if status != 200:
                    return "5xx" if status >= 500 else "other"
                state["cookie"] = cookie.split(";")[0]
                state["token"] = token_re.search(body).group(1).decode()
            form = {
                "csrfmiddlewaretoken": state["token"],
                "kind": "enterprise",
                "name": f"{PREFIX}public {i}",
                "credit_code": codes[i],
                "phone": phones[i],
                "city": "Wuhan",
                "industry": "retail",
                "years_in_business": "5",
                "employees": "8",
                "monthly_revenue": "120000",
                "monthly_cost": "90000",
                "product": str(product.pk),
                "amount": "200000",
                "term_months": "12",
                "purpose": "working_capital",
                "repayment_method": "equal_installment",
                "consent": "on",
                "website": "",
                "submission_token": f"bench-form-{i:010d}",  # each form as served has its own
            }
            status, _cookie, body = _request(
                port,
                "POST",
                "/apply/",
                body=urllib.parse.urlencode(form),
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": state["cookie"],
                    "Referer": f"http://127.0.0.1:{port}/apply/",
                },
            )
            if status >= 500:
                return "5xx"
            if status == 302:  # post/redirect/get: filed, on to the confirmation page
                return "ok"
            return "other"

        def health(i, state):
            status, _cookie, _body = _request(port, "GET", "/healthz/")
            return "ok" if status == 200 else ("5xx" if status >= 500 else "other")

        _load(port, clients, min(200, total), health)  # warm up the workers
        base = _load(port, clients, total, health)
        form = _load(port, clients, total, submit)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    saved = LoanApplication.objects.filter(channel="public").count() - before
    lost = total - saved  # every request asked for one application; any not saved is lost
    figures = [
        Figure(
            f"public form submissions, {clients} concurrent clients, gunicorn {workers} workers",
            form["ok"] / form["seconds"],
            "submissions/s",
            "GET /healthz/ under the same load",
            base["ok"] / base["seconds"],
            "≥ 100/s",
        ),
        Figure(f"submissions lost (of {total})", lost, "count", "requests not answered", form["lost"], "0"),
        Figure("5xx answers to submissions", form["5xx"], "count", "5xx on /healthz/", base["5xx"], "0"),
    ]
    ctx.log(f"  form: {form}; health: {base}")
    _clear()
    return figures
