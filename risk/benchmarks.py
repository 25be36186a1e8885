"""Benchmarks of the risk app, each next to a baseline measured in the same run.

- The pure engine over a stored window: 200,000 events of 2,000 customers, each scored with
  the default rules against the customer's earlier events (windows prepared beforehand), vs
  one amount comparison per event; and the replay (windows kept as it goes, two rule sets) that
  the simulation runs.
- POST /api/v1/risk/transactions/ under gunicorn with 50 concurrent clients (JWT, a new
  transaction each: device, window, score, insert, events), next to GET /healthz/ under the
  same load, twice: flat out (each client sends its next request when its answer is in), for
  the throughput; and at a steady 300 transactions/s (requests due on a fixed schedule,
  latency counted from when each was due), for the latency a stream of transactions at the
  target's rate sees. Flat out, 50 clients that each wait for their answer keep 50 requests
  queued at all times, so the latency there is 50 / throughput by Little's law, whatever the
  server does. Lost and 5xx over both runs.
- The batch endpoint (1,000 transactions per call, two clients) vs plain bulk inserts of the
  same rows without scoring. In both API figures one transaction in 50 is 12,000 (a medium
  result: an event opened or updated), the others below 9,000.
"""

import datetime
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import threading
import time
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone

from loansite.bench import BenchContext, Figure, Timer, benchmark
from loansite.roles import RISK_ANALYST

PREFIX = "bench-risk-"
# The rate of the paced run (transactions/s): the throughput target.
RATE = 300


def _seed_rules() -> None:
    """The seed's rules and thresholds as migration 0002 writes them: a bench database given
    by ``--database-url`` is flushed before it is migrated, which leaves no rules (and every
    score low, every window unread) unless they are written again."""
    import importlib

    from django.apps import apps

    importlib.import_module("risk.migrations.0002_default_rules").create(apps, None)


def _ruleset():
    from risk.selectors import ruleset_current

    _seed_rules()
    return ruleset_current()


def _stream(n_events: int, n_customers: int, rng: random.Random):
    """Activities in time order: bursts now and then, a few large amounts, two cities."""
    from risk.engine import TRANSACTION, Activity

    start = 1_800_000_000
    events = []
    for i in range(n_events):
        customer = rng.randrange(n_customers)
        at = start + int(i * 86_400 * 2 / n_events) + rng.randrange(60)
        amount = Decimal("12000.00") if rng.random() < 0.02 else Decimal(rng.randrange(100, 900_000)) / 100
        city = "Hangzhou" if rng.random() < 0.97 else "Chengdu"
        events.append((customer, Activity(TRANSACTION, at, amount, f"d{customer}", f"10.0.{customer % 250}.1", city)))
    events.sort(key=lambda pair: pair[1].at)
    return events


@benchmark(name="risk.engine", order=50)
def bench_engine(ctx: BenchContext) -> list[Figure]:
    from bisect import bisect_left
    from collections import defaultdict

    from risk.engine import Context, event_score
    from risk.replay import Stored, replay_levels

    rng = random.Random(50)
    n = ctx.n(200_000, minimum=5_000)
    events = _stream(n, max(20, n // 100), rng)
    ruleset = _ruleset()
    window = ruleset.window
    # The stored window: each customer's earlier events, prepared beforehand (as loaded by the service).
    history = defaultdict(list)
    prepared = []
    for customer, activity in events:
        past = history[customer]
        start = bisect_left([a.at for a in past[-50:]], activity.at - window)
        prepared.append((activity, Context(customer_events=past[-50:][start:])))
        past.append(activity)
    with Timer() as engine:
        levels = [event_score(activity, context, ruleset).level for activity, context in prepared]
    limit = Decimal("10000")
    with Timer() as plain:
        flags = [activity.amount >= limit for activity, _context in prepared]
    assert len(flags) == len(levels)
    stored = [Stored(("transaction", i), customer, activity) for i, (customer, activity) in enumerate(events)]
    with Timer() as replay:
        replay_levels(stored, [ruleset, ruleset], score_from=0)
    above = sum(level != "low" for level in levels)
    ctx.log(f"  engine: {n} events, {above} above low, {engine.seconds:.3f}s; replay {replay.seconds:.3f}s")
    return [
        Figure(
            f"pure engine over a stored window ({n:,} events, {len(ruleset.rules)} default rules)",
            n / engine.seconds,
            "events/s",
            "one amount comparison per event",
            n / plain.seconds,
            "≥ 100,000 events/s",
        ),
        Figure(
            "replay for a simulation (windows kept as it goes, current and changed rules)",
            n / replay.seconds,
            "events/s",
            "pure engine, one rule set",
            n / engine.seconds,
            "",
        ),
    ]


# --- under gunicorn ---------------------------------------------------------------------------


def _customers(n: int) -> list[int]:
    from customers.models import Customer
    from customers.validators import make_credit_code, make_mobile_phone

    existing = list(Customer.objects.filter(name__startswith=PREFIX).values_list("pk", flat=True)[:n])
    if len(existing) >= n:
        return existing
    rng = random.Random(51)
    codes, phones = set(), set()
    rows = []
    for i in range(n - len(existing)):
        code = make_credit_code(rng)
        while code in codes:
            code = make_credit_code(rng)
        phone = make_mobile_phone(rng)
        while phone in phones:
            phone = make_mobile_phone(rng)
        codes.add(code)
        phones.add(phone)
        rows.append(
            Customer(
                name=f"{PREFIX}{i}",
                credit_code=code,
                phone=phone,
                city="Hangzhou",
                industry="retail",
                monthly_revenue=Decimal("100000"),
                monthly_cost=Decimal("80000"),
            )
        )
    Customer.objects.bulk_create(rows, batch_size=1000)
    return list(Customer.objects.filter(name__startswith=PREFIX).values_list("pk", flat=True))


def _analyst(password: str):
    User = get_user_model()
    user, _created = User.objects.get_or_create(username=f"{PREFIX}analyst", defaults={"is_staff": True})
    user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name=RISK_ANALYST))
    return user


def _exchange(port: int, method: str, path: str, body: str | None = None, headers=None) -> tuple[int, bytes]:
    """One HTTP/1.1 request on its own connection, its answer read to the server's close (a
    sync gunicorn worker closes after each answer): the status and the whole answer. A plain
    socket rather than ``http.client``, whose parsing in the 50 client threads took an eighth
    of the two cores the server runs on."""
    data = body.encode() if body is not None else b""
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body is not None:
        lines.append(f"Content-Length: {len(data)}")
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall("\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks)
    status_line = answer.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or not status_line[1].isdigit():
        raise OSError(f"no HTTP answer: {answer[:80]!r}")
    return int(status_line[1]), answer


def _timed(port, method, path, body=None, headers=None):
    started = time.perf_counter()
    status, answer = _exchange(port, method, path, body=body, headers=headers)
    return status, answer, time.perf_counter() - started


def _load(clients: int, total: int, make_request, rate: float | None = None) -> dict:
    """``clients`` threads share ``total`` requests, each sent as soon as a client is free
    (a closed loop, flat out) or, with ``rate``, on a fixed schedule: request ``i`` is due at
    ``start + i / rate`` whatever became of the others (an open model, as a stream of
    transactions arrives). Then each latency counts from the time the request was due, so a
    request held up behind slow ones (no client free, or its client still waiting) counts
    the wait too."""
    counter = iter(range(total))
    lock = threading.Lock()
    stats = {"ok": 0, "lost": 0, "5xx": 0, "other": 0, "latencies": [], "late": 0}
    start = time.perf_counter() + 0.05

    def client():
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            due = start + i / rate if rate else None
            if due is not None:
                ahead = due - time.perf_counter()
                if ahead > 0:
                    time.sleep(ahead)
            sent = time.perf_counter()
            try:
                outcome, seconds = make_request(i)
            except OSError:
                outcome, seconds = "lost", None
            with lock:
                stats[outcome] += 1
                if seconds is not None:
                    waited = max(0.0, sent - due) if due is not None else 0.0
                    stats["late"] += waited > 0.001
                    stats["latencies"].append(waited + seconds)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    with Timer() as t:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    stats["seconds"] = t.seconds
    return stats


def _p(latencies: list[float], q: float) -> float:
    if not latencies:
        return 0.0
    return (
        statistics.quantiles(latencies, n=100, method="inclusive")[q - 1] * 1000
        if len(latencies) > 1
        else latencies[0] * 1000
    )


def _outcome(status: int, expected: int) -> str:
    if status >= 500:
        return "5xx"
    return "ok" if status == expected else "other"


def _gunicorn_start(ctx: BenchContext, port: int, workers: int):
    """gunicorn as the public-form benchmark starts it (same environment and options), with
    the application loaded once before the workers fork (``--preload``) and up to two minutes
    to come up: on a busy shared machine eight workers each importing the project took longer
    than the half minute the other benchmark waits."""
    import http.client
    import sys
    from pathlib import Path

    from django.conf import settings

    var_dir = Path(ctx.workdir) / "gunicorn-var-risk"
    var_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "loansite.settings",
        "LOANSITE_VAR_DIR": str(var_dir),
        "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        "FIELD_HASH_KEY": settings.FIELD_HASH_KEY,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "CONN_MAX_AGE": os.environ.get("CONN_MAX_AGE", "60"),
    }
    cmd = [
        str(Path(sys.executable).with_name("gunicorn")),
        "loansite.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--preload",
        "--backlog",
        "2048",
        "--timeout",
        "60",
        "--log-level",
        "warning",
    ]
    log = open(var_dir / "gunicorn.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(cmd, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz/")
            if conn.getresponse().status == 200:
                return proc, log
        except OSError:
            time.sleep(0.5)
    proc.kill()
    log.close()
    raise RuntimeError("gunicorn did not start")


@benchmark(name="risk.api_gunicorn", order=51)
def bench_api(ctx: BenchContext) -> list[Figure]:
    from loans.benchmarks import _free_port, _request
    from risk.models import Transaction

    _seed_rules()
    customers = _customers(1000)
    password = "Bench-risk-Passw0rd!"
    _analyst(password)
    if connection.vendor == "sqlite":
        connection.close()
    clients = 50
    total = ctx.n(6_000, minimum=500)
    batches = max(4, ctx.n(100, minimum=4))
    paced_total = max(300, total * 2 // 3)  # 20 s at 300/s
    port = _free_port()
    # One sync worker per core (RISK_BENCH_WORKERS to change it). On the embedded default every
    # write takes its turn on the one database: more processes than cores only preempted the
    # one holding the turn and, each with a page cache every other writer makes stale, spent
    # more per call (flat out on 2 cores, same run order: 2 workers 789 and 793/s, 1.9 ms of
    # server time a call; 8 workers 590 and 637/s, 2.7 to 2.9 ms).
    workers = int(os.environ.get("RISK_BENCH_WORKERS", 0)) or (os.cpu_count() or 2)
    proc, log = _gunicorn_start(ctx, port, workers)
    rng = random.Random(52)
    run = f"{int(time.time())}"
    now = timezone.now()
    try:
        status, _cookie, body = _request(
            port,
            "POST",
            "/api/v1/auth/login/",
            body=json.dumps({"username": f"{PREFIX}analyst", "password": password}),
            headers={"Content-Type": "application/json"},
        )
        if status != 200:
            raise RuntimeError(f"bench login failed: {status} {body[:200]!r}")
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {json.loads(body)['access']}"}

        def one(i):
            payload = {
                "external_id": f"{PREFIX}{run}-{i}",
                "customer": customers[i % len(customers)],
                "amount": "12000.00" if i % 50 == 0 else f"{rng.randrange(100, 900_000) / 100:.2f}",
                "occurred_at": (now - datetime.timedelta(seconds=total + paced_total - i)).isoformat(),
                "device": f"bench-dev-{i % 700}",
                "ip": f"10.0.{i % 250}.{i % 200 + 1}",
                "city": "Hangzhou",
                "counterparty": "Bench supplier",
            }
            status, _body, seconds = _timed(port, "POST", "/api/v1/risk/transactions/", json.dumps(payload), headers)
            return _outcome(status, 201), seconds

        def health(i):
            status, _body, seconds = _timed(port, "GET", "/healthz/")
            return _outcome(status, 200), seconds

        _load(clients, min(300, total), health)  # warm up the workers
        base = _load(clients, total, health)
        single = _load(clients, total, one)
        # The same clients at the target's rate: the latency a steady stream of transactions sees.
        base_paced = _load(clients, paced_total // 2, health, rate=RATE)
        offset = total
        paced = _load(clients, paced_total, lambda i: one(offset + i), rate=RATE)

        def batch_body(i):
            items = [
                {
                    "external_id": f"{PREFIX}{run}-b{i}-{k}",
                    "customer": customers[(i * 1000 + k) % len(customers)],
                    "amount": "12000.00" if k % 50 == 0 else f"{rng.randrange(100, 900_000) / 100:.2f}",
                    "occurred_at": (now - datetime.timedelta(seconds=batches * 1000 - i * 1000 - k)).isoformat(),
                    "device": f"bench-dev-{k % 700}",
                    "ip": f"10.1.{k % 250}.{k % 200 + 1}",
                    "city": "Hangzhou",
                }
                for k in range(1000)
            ]
            return json.dumps({"transactions": items})

        # The bodies are made before the clock starts: the clients share the server's cores, and
        # building and encoding 1,000 items took them 5.5 ms of CPU a call (a sender's work, on
        # its own machine in production), as the one-event clients send over a plain socket.
        bodies = [batch_body(i) for i in range(batches)]

        def batch(i):
            status, _body, seconds = _timed(port, "POST", "/api/v1/risk/transactions/batch/", bodies[i], headers)
            return _outcome(status, 201), seconds

        batched = _load(2, batches, batch)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    stored_single = (
        Transaction.objects.filter(external_id__startswith=f"{PREFIX}{run}-")
        .exclude(external_id__contains="-b")
        .count()
    )
    stored_batch = Transaction.objects.filter(external_id__startswith=f"{PREFIX}{run}-b").count()
    # Baseline for the batch: plain bulk inserts of as many rows, no scoring.
    rows = [
        Transaction(
            customer_id=customers[k % len(customers)],
            amount=Decimal("10.00"),
            occurred_at=now,
            source="api",
            external_id=f"{PREFIX}{run}-plain-{k}",
        )
        for k in range(batches * 1000)
    ]
    with Timer() as plain:
        for start in range(0, len(rows), 1000):
            Transaction.objects.bulk_create(rows[start : start + 1000])
    ctx.log(
        f"  single: { {k: v for k, v in single.items() if k != 'latencies'} }; "
        f"health: { {k: v for k, v in base.items() if k != 'latencies'} }; "
        f"paced: { {k: v for k, v in paced.items() if k != 'latencies'} }; "
        f"health paced: { {k: v for k, v in base_paced.items() if k != 'latencies'} }; "
        f"batch: { {k: v for k, v in batched.items() if k != 'latencies'} }"
    )
    return [
        Figure(
            f"POST /api/v1/risk/transactions/, {clients} concurrent clients, gunicorn {workers} workers",
            single["ok"] / single["seconds"],
            "transactions/s",
            "GET /healthz/ under the same load",
            base["ok"] / base["seconds"],
            "≥ 300/s",
        ),
        Figure(
            "POST /api/v1/risk/transactions/ p99 latency, flat out (each client waits for its answer)",
            _p(single["latencies"], 99),
            "ms",
            "GET /healthz/ p99, flat out",
            _p(base["latencies"], 99),
            "",
        ),
        Figure(
            "POST /api/v1/risk/transactions/ median latency, flat out",
            _p(single["latencies"], 50),
            "ms",
            "GET /healthz/ median, flat out",
            _p(base["latencies"], 50),
            "",
        ),
        Figure(
            f"POST /api/v1/risk/transactions/ p99 latency at a steady {RATE}/s, the same {clients} clients "
            f"({paced_total} transactions; counted from when each was due)",
            _p(paced["latencies"], 99),
            "ms",
            f"GET /healthz/ p99 at {RATE}/s",
            _p(base_paced["latencies"], 99),
            "≤ 100 ms",
        ),
        Figure(
            f"POST /api/v1/risk/transactions/ median latency at {RATE}/s",
            _p(paced["latencies"], 50),
            "ms",
            f"GET /healthz/ median at {RATE}/s",
            _p(base_paced["latencies"], 50),
            "",
        ),
        Figure(
            f"transactions lost (of {total + paced_total})",
            total + paced_total - stored_single,
            "count",
            "requests not answered",
            single["lost"] + paced["lost"],
            "0",
        ),
        Figure(
            "5xx answers to transactions",
            single["5xx"] + paced["5xx"],
            "count",
            "5xx on /healthz/",
            base["5xx"] + base_paced["5xx"],
            "0",
        ),
        Figure(
            f"batch endpoint, 1,000 per call, 2 clients ({batches} calls)",
            stored_batch / batched["seconds"],
            "transactions/s",
            "plain bulk_create of the same number of rows, no scoring",
            len(rows) / plain.seconds,
            "≥ 20,000/s",
        ),
    ]
