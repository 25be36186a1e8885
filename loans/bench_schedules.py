"""Benchmark of the schedule maths: schedules generated for 100,000 loans.

The loans mix what a book holds: 12, 24 or 36 months; equal installment, equal principal,
interest-only and bullet; the three day counts; a fifth with a broken first period, a tenth of
the amortising ones with grace months, half with the holiday shift. Each schedule is built in
Decimal with its dates, rounding and remainder. The baseline is numpy-financial's vectorised
PMT/IPMT/PPMT over the same loans (floats, 30/360 only, no dates and no rounding: the least
work that yields an annuity table).

Registered through ``loans/benchmarks.py``.
"""

import datetime
import random
import time
from decimal import Decimal

import numpy as np

from loans.schedules import (
    DayCount,
    Method,
    ScheduleTerms,
    schedule_build,
)
from loansite.bench import BenchContext, Figure, Timer, benchmark

TERMS = (12, 24, 36)
METHODS = [Method.EQUAL_INSTALLMENT] * 5 + [Method.EQUAL_PRINCIPAL] * 3 + [Method.INTEREST_ONLY, Method.BULLET]


def _loans(n: int, rng: random.Random) -> list[ScheduleTerms]:
    start = datetime.date(2024, 1, 1)
    loans = []
    for _ in range(n):
        method = rng.choice(METHODS)
        months = rng.choice(TERMS)
        disbursed = start + datetime.timedelta(days=rng.randrange(730))
        broken = rng.random() < 0.2
        amortising = method in (Method.EQUAL_INSTALLMENT, Method.EQUAL_PRINCIPAL)
        loans.append(
            ScheduleTerms(
                Decimal(rng.randrange(1_000_000, 300_000_000)) / 100,
                Decimal(rng.randrange(60, 301)) / 2000,  # 3.00 % to 15.00 % in 0.05 % steps
                months,
                method,
                rng.choice(list(DayCount)),
                disbursed,
                first_due_date=disbursed + datetime.timedelta(days=rng.randrange(10, 46)) if broken else None,
                grace_months=rng.randrange(1, 4) if amortising and rng.random() < 0.1 else 0,
                holiday_shift=rng.random() < 0.5,
            )
        )
    return loans


def _numpy_financial(loans: list[ScheduleTerms]) -> None:
    """PMT, IPMT and PPMT tables for every loan, one vectorised call per term length."""
    import numpy_financial as npf

    principal = np.array([float(t.principal) for t in loans])
    rate = np.array([float(t.annual_rate) for t in loans]) / 12
    months = np.array([t.term_months for t in loans])
    for term in TERMS:
        mask = months == term
        pv = principal[mask][:, None]
        r = rate[mask][:, None]
        per = np.arange(1, term + 1)[None, :]
        npf.pmt(r, term, -pv)
        npf.ipmt(r, per, term, -pv)
        npf.ppmt(r, per, term, -pv)


def _timed(func, *args) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process): on a shared machine the CPU time says what
    the code costs, the wall time what a caller waited."""
    cpu = time.process_time()
    with Timer() as wall:
        func(*args)
    return wall.seconds, time.process_time() - cpu


def _build_all(loans: list[ScheduleTerms]) -> None:
    for terms in loans:
        schedule_build(terms)


@benchmark(name="loans.schedules", order=23)
def bench_schedules(ctx: BenchContext) -> list[Figure]:
    n = ctx.n(100_000, minimum=1_000)
    rng = random.Random(23)
    with Timer() as made:
        loans = _loans(n, rng)
    rows = sum(1 if t.method is Method.BULLET else t.term_months for t in loans)
    ctx.log(f"  {n:,} loan terms ({rows:,} installments) checked and built in {made.seconds:.2f} s")

    wall, cpu = _timed(_build_all, loans)
    base_wall, base_cpu = _timed(_numpy_financial, loans)
    ctx.log(f"  schedules: {wall:.2f} s ({cpu:.2f} s CPU); numpy-financial: {base_wall:.3f} s ({base_cpu:.3f} s CPU)")
    for terms in rng.sample(loans, min(1_000, n)):
        assert sum(row.principal for row in schedule_build(terms)) == terms.principal, terms

    annuities = [t for t in loans if t.method is Method.EQUAL_INSTALLMENT and t.day_count is DayCount.THIRTY_360]
    _wall, sub_cpu = _timed(_build_all, annuities)
    _wall, sub_base_cpu = _timed(_numpy_financial, annuities)
    baseline = "numpy-financial vectorised PMT/IPMT/PPMT, same loans (float, unrounded)"
    what = f"schedules generated for {n:,} loans (12-36 months, all methods and day counts, Decimal, rounded)"
    return [
        Figure(what + ", wall time", n / wall, "loans/s", baseline, n / base_wall, "≥ 20,000 loans/s"),
        Figure(what + ", CPU time", n / cpu, "loans/s", baseline + ", CPU time", n / base_cpu, "≥ 20,000 loans/s"),
        Figure(
            f"equal-installment 30/360 schedules ({len(annuities):,} of those loans), CPU time",
            len(annuities) / sub_cpu,
            "loans/s",
            baseline + ", CPU time",
            len(annuities) / sub_base_cpu,
            "≥ 20,000 loans/s",
        ),
    ]
