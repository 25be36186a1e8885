"""Benchmark of the daily close (registered through ``loans/benchmarks.py``).

1,000,000 live loans (12 monthly installments each, disbursed over the past year) of which
10 % are in arrears from 1 to about 400 days; the previous day is closed first (untimed) so
the measured close sees a normal day's changes. Figures: the close of one day (every step:
overdue marking, days past due, accrual with ledger entries, classification, snapshots with
provisions and expected loss, reminders) next to one plain ``UPDATE`` over the same loans
table, its peak memory (Python allocations by tracemalloc, and the process's peak RSS), and
the same date again (done already: nothing runs; and every step forced to run again).
"""

import datetime
import logging
import resource
import tracemalloc

import numpy as np
from django.db import connection, transaction

from loans.bench_servicing import _clear, _insert_loans, _product
from loans.models import (
    ClassificationChange,
    DayClose,
    DelinquencySignal,
    Installment,
    LedgerEntry,
    Loan,
    LoanDaySnapshot,
    LoanProduct,
    Reminder,
)
from loansite.bench import BenchContext, Figure, Timer, benchmark

CLOSE_DAY = datetime.date(2026, 6, 30)


def _book(n_live: int, ctx: BenchContext) -> None:
    rng = np.random.default_rng(10)
    product = _product()
    LoanProduct.objects.filter(pk=product.pk).update(compound_interest=True)
    # The servicing benchmark's loans (14 % of them closed): enough for n_live live ones.
    total = int(n_live / 0.86) + 1
    _insert_loans(total, rng, product)
    loans, inst = Loan._meta.db_table, Installment._meta.db_table
    d = CLOSE_DAY.isoformat()
    with connection.cursor() as cursor:
        with transaction.atomic():
            # Live loans disbursed over the past 360 days; one in ten in arrears.
            cursor.execute(
                f"UPDATE {loans} SET status = CASE WHEN status = 'closed' THEN 'closed' ELSE 'active' END,"
                f" disbursement_date = date(%s, '-' || (id %% 360 + 1) || ' days')",
                [d],
            )
        lo, hi = cursor.execute(f"SELECT MIN(id), MAX(id) FROM {loans}").fetchone()
        step = 100_000
        for start in range(lo, hi + 1, step):
            with transaction.atomic():
                # Installments: paid before the close date, except the arrears (lag days) of every
                # tenth loan, which the previous closes marked overdue.
                cursor.execute(
                    f"""INSERT INTO {inst} (loan_id, schedule_version, number, period_start, due_date, pay_date,
                        days, principal, interest, carried_interest, penalty, principal_paid, interest_paid,
                        penalty_paid, grace, status, paid_on)
                    WITH RECURSIVE m(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM m WHERE k < 12),
                    r AS (SELECT l.id AS loan_id, m.k AS k,
                            date(l.disbursement_date, '+' || (m.k - 1) || ' months') AS start,
                            date(l.disbursement_date, '+' || m.k || ' months') AS due,
                            ROUND(l.principal / 12, 2) AS p, ROUND(l.principal * 0.08 / 12, 2) AS i,
                            CASE WHEN l.id %% 10 = 0 THEN (l.id * 7919) %% 400 + 1 ELSE 0 END AS lag
                          FROM {loans} l, m WHERE l.id BETWEEN %s AND %s AND l.status <> 'closed')
                    SELECT loan_id, 1, k, start, due, due, 30, p, i, 0, 0,
                        CASE WHEN due < date(%s, '-' || lag || ' days') THEN p ELSE 0 END,
                        CASE WHEN due < date(%s, '-' || lag || ' days') THEN i ELSE 0 END, 0, 0,
                        CASE WHEN due < date(%s, '-' || lag || ' days') THEN 'paid'
                             WHEN due < %s THEN 'overdue' ELSE 'future' END,
                        CASE WHEN due < date(%s, '-' || lag || ' days') THEN due END
                    FROM r""",
                    [start, start + step - 1, d, d, d, d, d],
                )
        cursor.execute("ANALYZE")
    ctx.log(f"  {Loan.objects.filter(status='active').count():,} live loans")


def _clear_close() -> None:
    db = Loan.objects.db
    for model in (Reminder, DelinquencySignal, ClassificationChange, LoanDaySnapshot, DayClose):
        model.objects.all()._raw_delete(db)
    LedgerEntry.objects.filter(kind="penalty_accrual")._raw_delete(db)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@benchmark(name="loans.close_day", order=27)
def bench_close_day(ctx: BenchContext) -> list[Figure]:
    from loans.close import loan_close_day

    if connection.vendor != "sqlite":
        ctx.log("  the close benchmark builds its book with SQLite date functions; skipped")
        return []
    n = ctx.n(1_000_000, minimum=5_000)
    logging.getLogger("loansite.sms").setLevel(logging.WARNING)
    logging.getLogger("loans.close").setLevel(logging.WARNING)
    ctx.log(f"  building {n:,} live loans with 12 installments each ...")
    with Timer() as fill:
        _book(n, ctx)
    ctx.log(f"  built in {fill.seconds:.1f} s; closing the day before (untimed) ...")
    previous = CLOSE_DAY - datetime.timedelta(days=1)
    with Timer() as warm:
        loan_close_day(date=previous)
    ctx.log(f"  previous day closed in {warm.seconds:.1f} s")

    live = Loan.objects.filter(status__in=("active", "overdue")).count()
    arrears = Loan.objects.filter(status="overdue").count()
    tracemalloc.start()
    with Timer() as baseline, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Loan._meta.db_table} SET version = version + 1 WHERE status IN ('active', 'overdue')")
    _cur, baseline_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    rss_before = _peak_rss_mb()
    with Timer() as close:
        closes = loan_close_day(date=CLOSE_DAY)
    _cur, close_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    counts = closes[-1].counts
    ctx.log(f"  {live:,} live loans, {arrears:,} in arrears; close {close.seconds:.1f} s; counts {counts}")
    with Timer() as again:
        loan_close_day(date=CLOSE_DAY)
    DayClose.objects.filter(date=CLOSE_DAY).update(status=DayClose.Status.RUNNING, step="")
    before = (
        LoanDaySnapshot.objects.filter(date=CLOSE_DAY).count(),
        LedgerEntry.objects.filter(kind="penalty_accrual", value_date=CLOSE_DAY).count(),
    )
    with Timer() as forced:
        loan_close_day(date=CLOSE_DAY)
    after = (
        LoanDaySnapshot.objects.filter(date=CLOSE_DAY).count(),
        LedgerEntry.objects.filter(kind="penalty_accrual", value_date=CLOSE_DAY).count(),
    )
    assert before == after, (before, after)
    figures = [
        Figure(
            f"daily close of {live:,} live loans ({arrears:,} in arrears, 12 installments each), every step",
            close.seconds,
            "s",
            "one plain UPDATE over the same loans",
            baseline.seconds,
            "≤ 60 s",
        ),
        Figure(
            "daily close: peak Python memory (tracemalloc)",
            close_peak / 1e6,
            "MB",
            "the plain UPDATE",
            baseline_peak / 1e6,
            "",
        ),
        Figure(
            "daily close: process peak RSS after the close",
            _peak_rss_mb(),
            "MB",
            "before the close",
            rss_before,
            "",
        ),
        Figure(
            "the same date again (closed already)",
            again.seconds,
            "s",
            "the close",
            close.seconds,
            "≤ 5 s",
        ),
        Figure(
            "the same date again, every step forced to run (changes nothing)",
            forced.seconds,
            "s",
            "the close",
            close.seconds,
            "",
        ),
    ]
    ctx.log("  cleaning up")
    _clear_close()
    _clear()
    return figures
