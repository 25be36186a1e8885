"""The daily close on MariaDB with real workers: the SQL rounds money exactly as Python's
Decimal, and a close whose worker is killed mid-way resumes from the step it reached and ends
exactly where an uninterrupted close ends (one accrual per loan, one snapshot, one signal)."""

import datetime
import os
import signal
import subprocess
import sys
import time
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from loans.close import LOCK_KEY, Sql, penalty_for_day, rate_units
from loans.models import DayClose, DelinquencySignal, Installment, LedgerEntry, Loan, LoanDaySnapshot
from loans.selectors.ledger import ledger_problems
from loansite.celery import app as celery_app
from tests.integration.conftest import ROOT, _test_database_url

pytestmark = pytest.mark.integration
CLOSE = datetime.date(2024, 6, 10)
CENT = Decimal("0.01")


@pytest.mark.django_db
def test_sql_rounding_matches_decimal_on_mariadb():
    sql = Sql(connection.vendor)
    assert sql.mysql
    rng = np.random.default_rng(7)
    amounts = [Decimal("1010.00"), Decimal("10.10"), Decimal("0.01"), Decimal("99999999.99")]
    amounts += [Decimal(int(x)) / 100 for x in rng.integers(1, 10**9, 300)]
    for rate in (Decimal("0.0005"), Decimal("0.0007"), Decimal("0.0015")):
        with connection.cursor() as cursor:
            for amount in amounts:
                cursor.execute(f"SELECT {sql.money(sql.half_up(sql.cents('%s'), rate_units(rate)))}", [amount])
                assert Decimal(cursor.fetchone()[0]).quantize(CENT) == penalty_for_day(amount, rate), (amount, rate)


def _book(n: int):
    from loans.bench_servicing import _approved, _prepared, _product, _user
    from loans.services.disbursements import disbursement_authorise_batch
    from loansite.roles import CREDIT_APPROVER, LOAN_OFFICER

    product = _product()
    officer, approver = _user("officer", LOAN_OFFICER), _user("approver", CREDIT_APPROVER)
    apps = _approved(n, np.random.default_rng(3), product=product, tag="CL")
    outcome = disbursement_authorise_batch(actor=approver, disbursements=_prepared(apps, officer))
    assert len(outcome.done) == n
    return product


def _worker(tmp_path, queue: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "loansite.settings_test",
        "LOANSITE_INTEGRATION": "1",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "LOANSITE_VAR_DIR": str(tmp_path),
        "SECRET_KEY": settings.SECRET_KEY,
        "AUDIT_HMAC_KEY": settings.AUDIT_HMAC_KEY,
        "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        "FIELD_HASH_KEY": settings.FIELD_HASH_KEY,
        "LOANSITE_TEST_QUEUE": queue,
        # One loan per transaction: the close takes long enough to be killed half way.
        "LOANS_CLOSE_CHUNK": "1",
    }
    log = open(tmp_path / "close-worker.log", "w")  # noqa: SIM115 - the process owns it
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "loansite", "worker", "-P", "solo", "-l", "INFO",
         "-n", f"close-kill-{os.getpid()}@localhost", "-Q", queue, "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_a_killed_close_resumes_where_it_stopped(request, tmp_path):
    from loans.tasks import loans_close_day

    product = _book(150)
    queue = f"close-kill-{os.getpid()}"
    proc = _worker(tmp_path, queue)
    try:
        loans_close_day.apply_async(kwargs={"date": CLOSE.isoformat()}, queue=queue)
        deadline = time.monotonic() + 120
        close = None
        while time.monotonic() < deadline:
            close = DayClose.objects.filter(date=CLOSE).first()
            if close is not None and close.step == "overdue":
                break
            assert proc.poll() is None, (tmp_path / "close-worker.log").read_text()
            time.sleep(0.02)
        # Killed in the accrual step: some chunks committed, the rest not.
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    close = DayClose.objects.get(date=CLOSE)
    assert close.status == DayClose.Status.RUNNING and close.step in ("overdue", "accrual"), close.step
    accrued_before = LedgerEntry.objects.filter(kind="penalty_accrual", value_date=CLOSE).count()
    assert accrued_before < 150

    # The lock of the killed run expires (LOCK_SECONDS); here at once. The nightly worker resumes.
    cache.delete(LOCK_KEY)
    request.getfixturevalue("celery_worker")
    result = celery_app.send_task("loans.close_day", kwargs={"date": CLOSE.isoformat()}).get(timeout=300)
    assert result == {CLOSE.isoformat(): "done"}
    close.refresh_from_db()
    assert close.status == DayClose.Status.DONE and close.runs == 2

    live = Loan.objects.filter(product=product)
    assert live.filter(status="overdue").count() == 150
    assert LoanDaySnapshot.objects.filter(date=CLOSE).count() == 150
    assert DelinquencySignal.objects.filter(date=CLOSE, kind="loan_overdue").count() == 150
    rate, charged = product.penalty_rate, 0
    for loan in live:
        rows = Installment.objects.filter(loan=loan, status="overdue")
        expected = sum(((r.principal * rate).quantize(CENT, rounding=ROUND_HALF_UP) for r in rows), Decimal("0.00"))
        # Exactly one day's penalty (interest-only loans owe no principal yet: nothing to charge).
        assert loan.penalty_accrued == expected
        charged += expected > 0
        assert loan.days_past_due == (CLOSE - min(r.pay_date for r in rows)).days + 1
    assert charged > 100
    assert LedgerEntry.objects.filter(kind="penalty_accrual", value_date=CLOSE).count() == charged
    assert ledger_problems(loans=live) == []
