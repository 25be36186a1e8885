"""The reports over 1,000,000 loans (scaled by ``--scale``):

- the loan-level portfolio export (every loan, one XLSX row each) written by its worker task
  (``loansite.report_loans_export``, run in-process through the task with a signed
  authorisation, as the worker runs it), next to a plain pass over the same rows written to a
  CSV file with ``csv.writer`` (the baseline); the process's peak memory above its level before
  the export is reported too (the export streams: it should not grow with the book);
- the portfolio report by product (aggregates over the whole book), next to one ``COUNT(*)``.

Registered through ``loansite/benchmarks.py``; the rows come from the loan-page benchmark's
inserter (an application and its loan per row)."""

import csv
import os
import statistics
import tempfile
import threading
import time

import numpy as np
from django.db import connection

from loans.models import Loan
from loansite.bench import BenchContext, Figure, Timer, benchmark


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024
    except (OSError, ValueError):
        return 0.0


class PeakMemory:
    """Samples the resident set size every 20 ms while the block runs."""

    def __enter__(self):
        self.start = self.peak = _rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss_mb())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())
        return False

    @property
    def growth(self) -> float:
        return self.peak - self.start


def _csv_baseline(path: str) -> int:
    """The same loans, joined to customer and manager, streamed into a CSV by plain SQL."""
    from customers.models import Customer

    loans, customers = Loan._meta.db_table, Customer._meta.db_table
    sql = (
        f"SELECT l.loan_number, c.name, l.product_id, c.industry, c.city, c.manager_id, l.disbursement_date,"
        f" l.principal, l.outstanding_principal, l.days_past_due, l.dpd_bucket, l.risk_class, l.status"
        f" FROM {loans} l JOIN {customers} c ON c.id = l.customer_id ORDER BY l.id"
    )
    rows = 0
    with open(path, "w", newline="", encoding="utf-8") as handle, connection.cursor() as cursor:
        writer = csv.writer(handle)
        cursor.execute(sql)
        while True:
            chunk = cursor.fetchmany(5000)
            if not chunk:
                break
            writer.writerows(chunk)
            rows += len(chunk)
    return rows


@benchmark(name="loansite.reports", order=91)
def bench_reports(ctx: BenchContext) -> list[Figure]:
    from django.contrib.auth import get_user_model

    from loans.bench_servicing import _clear, _insert_loans, _product
    from loansite.dashboard import reports
    from loansite.dashboard.reports_models import ReportFile
    from loansite.dashboard.reports_tasks import report_loans_export
    from loansite.task_authorisation import task_authorisation_issue

    n = ctx.n(1_000_000, minimum=2_000)
    ctx.log(f"  inserting {n:,} applications and loans ...")
    _insert_loans(n, np.random.default_rng(91), _product())
    user, _created = get_user_model().objects.get_or_create(
        username="bench-reports-root", defaults={"is_staff": True, "is_superuser": True}
    )
    report = None
    try:
        with tempfile.TemporaryDirectory() as tmp, Timer() as baseline:
            baseline_rows = _csv_baseline(os.path.join(tmp, "loans.csv"))
        ctx.log(f"  csv baseline: {baseline_rows:,} rows in {baseline.seconds:.1f} s")

        report = ReportFile.objects.create(kind=ReportFile.Kind.LOANS, requested_by=user, language="zh-hans")
        authorisation = task_authorisation_issue(
            actor=user, task=report_loans_export.name, params={"report_id": report.pk}
        )
        with PeakMemory() as memory, Timer() as export:
            report_loans_export.apply(
                kwargs={"authorisation": authorisation.token}, task_id=authorisation.task_id
            ).get()
        report.refresh_from_db()
        ctx.log(
            f"  export: {report.rows:,} rows, {report.size / 1024 / 1024:.1f} MB in {export.seconds:.1f} s,"
            f" peak memory +{memory.growth:.0f} MB"
        )

        def count():
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COUNT(*) FROM {Loan._meta.db_table}")
                cursor.fetchone()

        def portfolio():
            reports.portfolio_report(filters=reports.ReportFilters(), by="product")

        def median_ms(func, repeat):
            times = []
            for _i in range(repeat):
                start = time.perf_counter()
                func()
                times.append((time.perf_counter() - start) * 1000)
            return statistics.median(times)

        count_ms = median_ms(count, 3)
        portfolio_ms = median_ms(portfolio, 3)
        label = f"{n:,} loans"
        return [
            Figure(
                f"loan-level portfolio export to XLSX in its worker task ({label}, {report.rows:,} rows)",
                export.seconds,
                "s",
                "the same rows by plain SQL into a CSV file",
                baseline.seconds,
                "<= 30 s",
            ),
            Figure(
                f"peak memory growth during the export ({label})",
                memory.growth,
                "MB",
                "",
                None,
                "bounded (streamed)",
            ),
            Figure(
                f"portfolio report by product, uncached ({label})",
                portfolio_ms,
                "ms",
                "one COUNT(*) over loans",
                count_ms,
            ),
        ]
    finally:
        if report is not None and report.file:
            report.file.delete(save=False)
        ReportFile.objects.filter(requested_by=user)._raw_delete(ReportFile.objects.db)
        _clear()
