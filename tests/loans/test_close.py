"""The daily close: overdue marking, days past due and buckets, penalty and compound interest,
classification, snapshots, signals, idempotency, resume and catch-up (SQLite here; MariaDB
and a real worker in tests/integration/test_close_mariadb.py)."""

import datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import transaction
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from audit.models import AuditEntry
from loans import close as close_module
from loans.close import CLOSE_STEPS, loan_close_day
from loans.models import (
    ClassificationChange,
    DayClose,
    DelinquencySignal,
    Installment,
    LedgerEntry,
    Loan,
    LoanDaySnapshot,
    Reminder,
)
from loans.selectors.ledger import ledger_problems
from loans.services.repayments import repayment_post
from tests.loans.servicing import disbursed_loan, servicing_product

D = datetime.date
CENT = Decimal("0.01")


def close(day, **kw):
    return loan_close_day(date=day, **kw)


def close_each(first, last):
    day = first
    while day <= last:
        close(day)
        day += datetime.timedelta(days=1)


def half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@pytest.fixture
def loan(officer, approver):
    # 12,000 at 12 % over 6 months (30/360), disbursed 2025-01-15, first due 2025-02-15.
    return disbursed_loan(officer, approver, amount="12000", term=6, rate="0.12")


def first_installment(loan):
    return loan.installments.filter(schedule_version=loan.schedule_version).order_by("number").first()


def book_state() -> dict:
    """Everything a close writes, without ids and timestamps."""
    return {
        "loans": list(
            Loan.objects.order_by("loan_number").values_list(
                "loan_number",
                "status",
                "days_past_due",
                "dpd_bucket",
                "risk_class",
                "overdue_since",
                "penalty_accrued",
                "penalty_through",
            )
        ),
        "installments": list(
            Installment.objects.order_by("loan__loan_number", "schedule_version", "number").values_list(
                "loan__loan_number", "number", "status", "penalty", "penalty_paid"
            )
        ),
        "ledger": list(
            LedgerEntry.objects.order_by("loan__loan_number", "value_date", "kind").values_list(
                "loan__loan_number", "kind", "value_date", "amount", "accrued", "penalty", "balance_after"
            )
        ),
        "snapshots": list(
            LoanDaySnapshot.objects.order_by("loan__loan_number", "date").values_list(
                "loan__loan_number",
                "date",
                "status",
                "days_past_due",
                "dpd_bucket",
                "risk_class",
                "outstanding_principal",
                "overdue_principal",
                "overdue_interest",
                "penalty_accrued",
                "penalty_unpaid",
                "provision",
                "pd",
                "lgd",
                "ead",
                "expected_loss",
            )
        ),
        "changes": sorted(
            ClassificationChange.objects.values_list("loan__loan_number", "date", "from_class", "to_class", "source")
        ),
        "signals": sorted(DelinquencySignal.objects.values_list("loan__loan_number", "date", "kind")),
        "reminders": sorted(
            Reminder.objects.values_list(
                "installment__number", "loan__loan_number", "date", "kind", "channel", "status"
            )
        ),
    }


# ---------------------------------------------------------------------------
# Days past due, buckets, status
# ---------------------------------------------------------------------------
def test_installment_unpaid_at_day_end_is_overdue_from_day_one(loan):
    first = first_installment(loan)
    assert first.pay_date == D(2025, 2, 15)
    close(D(2025, 2, 14))
    loan.refresh_from_db()
    assert (loan.days_past_due, loan.dpd_bucket, loan.status, loan.risk_class) == (0, "current", "active", "normal")
    close(D(2025, 2, 15))
    loan.refresh_from_db()
    first.refresh_from_db()
    assert first.status == "overdue"
    assert (loan.days_past_due, loan.dpd_bucket, loan.status, loan.risk_class) == (
        1,
        "1-30",
        "overdue",
        "special_mention",
    )
    assert loan.overdue_since == D(2025, 2, 15)
    assert not ledger_problems(loans=Loan.objects.filter(pk=loan.pk))


@pytest.mark.parametrize(
    ("dpd", "bucket", "risk_class"),
    [
        (0, "current", "normal"),
        (1, "1-30", "special_mention"),
        (30, "1-30", "special_mention"),
        (31, "31-60", "special_mention"),
        (60, "31-60", "special_mention"),
        (61, "61-90", "special_mention"),
        (90, "61-90", "special_mention"),
        (91, "91-180", "substandard"),
        (180, "91-180", "substandard"),
        (181, "181-360", "substandard"),
        (270, "181-360", "substandard"),
        (271, "181-360", "doubtful"),
        (360, "181-360", "doubtful"),
        (361, "360+", "loss"),
    ],
)
def test_days_past_due_buckets_and_classes_at_every_boundary(officer, approver, dpd, bucket, risk_class):
    # A single payment at maturity: one pay date, 2025-03-15.
    loan = disbursed_loan(officer, approver, amount="10000", term=2, rate="0.12", method="bullet")
    pay_date = first_installment(loan).pay_date
    day = pay_date + datetime.timedelta(days=dpd - 1)
    close(day)
    loan.refresh_from_db()
    assert (loan.days_past_due, loan.dpd_bucket, loan.risk_class) == (dpd, bucket, risk_class)
    snap = LoanDaySnapshot.objects.get(loan=loan, date=day)
    assert (snap.days_past_due, snap.dpd_bucket, snap.risk_class) == (dpd, bucket, risk_class)


def test_month_end_and_february_29(officer, approver):
    # Disbursed 2024-01-31: pay dates clamp to month ends, 2024-02-29 first.
    loan = disbursed_loan(
        officer,
        approver,
        amount="6000",
        term=3,
        rate="0.12",
        value_date=D(2024, 1, 31),
        decided_on=D(2024, 1, 30),
    )
    dates = list(loan.installments.order_by("number").values_list("pay_date", flat=True))
    assert dates[:2] == [D(2024, 2, 29), D(2024, 3, 31)]
    close(D(2024, 2, 29))
    close(D(2024, 3, 1))
    loan.refresh_from_db()
    assert loan.days_past_due == 2
    close_each(D(2024, 3, 2), D(2024, 3, 31))
    loan.refresh_from_db()
    # 2024-02-29 .. 2024-03-31 is 32 days; the second installment is overdue too, DPD from the oldest.
    assert loan.days_past_due == 32
    assert loan.dpd_bucket == "31-60"
    assert loan.installments.filter(status="overdue").count() == 2
    assert DayClose.objects.filter(status="done").count() == 32  # 2024-02-29 .. 2024-03-31


def test_repayment_on_the_due_date_is_not_overdue(officer, approver, loan):
    first = first_installment(loan)
    repayment_post(
        actor=officer,
        loan=loan,
        amount=first.principal + first.interest,
        value_date=first.pay_date,
        bank_reference="B1",
    )
    close(first.pay_date)
    loan.refresh_from_db()
    first.refresh_from_db()
    assert first.status == "paid"
    assert (loan.days_past_due, loan.status, loan.penalty_accrued) == (0, "active", Decimal("0.00"))
    assert not DelinquencySignal.objects.exists()


def test_late_repayment_pays_penalty_first_and_cures_the_loan(officer, approver, loan):
    first = first_installment(loan)
    close(D(2025, 2, 15))
    close(D(2025, 2, 16))
    loan.refresh_from_db()
    daily = half_up((first.principal - first.principal_paid) * loan.product.penalty_rate)
    assert loan.penalty_accrued == 2 * daily
    # The customer pays the installment and the penalty on day 3 (before the close).
    owed = first.principal + first.interest + 2 * daily
    rep = repayment_post(actor=officer, loan=loan, amount=owed, value_date=D(2025, 2, 17), bank_reference="B2")
    assert rep.allocated_penalty == 2 * daily
    close(D(2025, 2, 17))
    loan.refresh_from_db()
    first.refresh_from_db()
    assert first.status == "paid" and first.penalty == first.penalty_paid == 2 * daily
    assert (loan.days_past_due, loan.dpd_bucket, loan.status, loan.overdue_since) == (0, "current", "active", None)
    # Cured: the close moves it back to normal, and says so in the history.
    assert loan.risk_class == "normal"
    assert list(loan.classification_changes.order_by("date").values_list("from_class", "to_class")) == [
        ("normal", "special_mention"),
        ("special_mention", "normal"),
    ]
    assert loan.penalty_paid == 2 * daily
    assert not ledger_problems(loans=Loan.objects.filter(pk=loan.pk))


def test_several_missed_installments_count_from_the_oldest(officer, approver, loan):
    rows = list(loan.installments.order_by("number"))
    close(D(2025, 2, 15))
    close(D(2025, 4, 15), since=D(2025, 4, 15))  # a single close on a later day (no catch-up)
    loan.refresh_from_db()
    assert loan.days_past_due == (D(2025, 4, 15) - D(2025, 2, 15)).days + 1
    assert loan.installments.filter(status="overdue").count() == 3
    # Paying the oldest installment in full: the next oldest counts.
    loan.refresh_from_db()
    first = rows[0]
    first.refresh_from_db()
    repayment_post(actor=officer, loan=loan, amount=first.unpaid, value_date=D(2025, 4, 16), bank_reference="B3")
    close(D(2025, 4, 16), since=D(2025, 4, 16))
    loan.refresh_from_db()
    assert loan.days_past_due == (D(2025, 4, 16) - rows[1].pay_date).days + 1


# ---------------------------------------------------------------------------
# Penalty and compound interest, to the cent
# ---------------------------------------------------------------------------
def test_penalty_and_compound_accrue_daily_to_the_cent(officer, approver):
    product = servicing_product(penalty_rate=Decimal("0.0007"), compound_interest=True)
    loan = disbursed_loan(officer, approver, amount="12345.67", term=6, rate="0.1325", product=product)
    rows = list(loan.installments.order_by("number"))
    close_each(D(2025, 2, 15), D(2025, 3, 20))
    expected = Decimal("0")
    day = D(2025, 2, 15)
    while day <= D(2025, 3, 20):
        for row in rows:
            if row.pay_date <= day:
                expected += half_up(row.principal * Decimal("0.0007")) + half_up(row.interest * Decimal("0.0007"))
        day += datetime.timedelta(days=1)
    loan.refresh_from_db()
    assert loan.penalty_accrued == expected
    assert sum(i.penalty for i in loan.installments.all()) == expected
    assert sum(e.accrued for e in loan.ledger.filter(kind="penalty_accrual")) == expected
    assert loan.ledger.filter(kind="penalty_accrual").count() == (D(2025, 3, 20) - D(2025, 2, 15)).days + 1
    assert not ledger_problems(loans=Loan.objects.filter(pk=loan.pk))


def test_compound_rate_of_its_own_and_no_compound_without_the_switch(officer, approver):
    own = servicing_product(code="CR", penalty_rate=Decimal("0.0005"), compound_interest=True, compound_rate="0.0003")
    plain = servicing_product(code="PL", penalty_rate=Decimal("0.0005"))
    a = disbursed_loan(officer, approver, amount="10000", term=3, rate="0.12", product=own)
    b = disbursed_loan(officer, approver, amount="10000", term=3, rate="0.12", product=plain)
    close(D(2025, 2, 15))
    fa, fb = first_installment(a), first_installment(b)
    assert fa.penalty == half_up(fa.principal * Decimal("0.0005")) + half_up(fa.interest * Decimal("0.0003"))
    assert fb.penalty == half_up(fb.principal * Decimal("0.0005"))


@pytest.mark.parametrize(
    "amount", ["1010.00", "1001.00", "3333.33", "0.01", "99999.99", "2468.10", "1234567.89", "10.10"]
)
def test_sql_rounding_matches_python_decimal(officer, approver, amount):
    """Half-cent cases (1,010.00 × 0.0005 = 0.505 -> 0.51) round as Decimal does, not as floats."""
    from django.db import connection

    from loans.close import Sql, penalty_for_day, rate_units

    sql = Sql(connection.vendor)
    for rate in (Decimal("0.0005"), Decimal("0.0007"), Decimal("0.0015"), Decimal("0.0001")):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {sql.money(sql.half_up(sql.cents('%s'), rate_units(rate)))}", [Decimal(amount)])
            (value,) = cursor.fetchone()
        assert Decimal(str(value)).quantize(CENT) == penalty_for_day(Decimal(amount), rate), (amount, rate)


# ---------------------------------------------------------------------------
# Idempotency, resume, catch-up
# ---------------------------------------------------------------------------
@pytest.fixture
def book(officer, approver):
    """Loans in different states: paying on time, late, never paying, with compound interest."""
    compound = servicing_product(code="CP", compound_interest=True)
    on_time = disbursed_loan(officer, approver, amount="9000", term=3, rate="0.10")
    late = disbursed_loan(officer, approver, amount="15000", term=6, rate="0.12", method="equal_principal")
    never = disbursed_loan(officer, approver, amount="20000", term=4, rate="0.15", product=compound)
    bullet = disbursed_loan(officer, approver, amount="5000", term=1, rate="0.08", method="bullet")
    first = first_installment(on_time)
    repayment_post(
        actor=officer,
        loan=on_time,
        amount=first.principal + first.interest,
        value_date=first.pay_date,
        bank_reference="OT1",
    )
    return {"on_time": on_time, "late": late, "never": never, "bullet": bullet}


def test_closing_twice_changes_nothing(book):
    close(D(2025, 2, 20), since=D(2025, 2, 10))
    before = book_state()
    audits = AuditEntry.objects.count()
    # Again through the entry point: the day is done, nothing runs.
    close(D(2025, 2, 20))
    assert book_state() == before
    # Every step run again on a day it already did: still nothing.
    DayClose.objects.filter(date=D(2025, 2, 20)).update(status="running", step="")
    close(D(2025, 2, 20))
    assert book_state() == before
    # One audit entry per close (the forced rerun is a close of its own), not one per loan.
    assert AuditEntry.objects.count() == audits + 1


def test_a_killed_close_resumes_with_the_next_step(book, monkeypatch):
    with transaction.atomic():
        close(D(2025, 2, 20), since=D(2025, 2, 10))
        expected = book_state()
        transaction.set_rollback(True)
    close(D(2025, 2, 19), since=D(2025, 2, 10))
    # The close of the 20th stops after the accrual ...
    partial = close(D(2025, 2, 20), stop_after="accrual")[-1]
    assert (partial.status, partial.step) == ("running", "accrual")
    # ... then a step fails half way (a chunk of the snapshot written, the next one not).
    calls = {"n": 0}
    real = close_module.step_snapshot

    def failing(ctx):
        ctx.chunk = 1
        calls["n"] += 1
        original = ctx.chunks

        def two():
            for i, bounds in enumerate(original()):
                if i == 2:
                    raise RuntimeError("killed")
                yield bounds

        ctx.chunks = two
        return real(ctx)

    monkeypatch.setattr(close_module, "step_snapshot", failing)
    with pytest.raises(RuntimeError):
        close(D(2025, 2, 20))
    failed = DayClose.objects.get(date=D(2025, 2, 20))
    assert (failed.status, failed.step) == ("failed", "classification")
    monkeypatch.setattr(close_module, "step_snapshot", real)
    done = close(D(2025, 2, 20))[-1]
    assert done.status == "done" and done.runs == 3
    assert book_state() == expected


def test_catching_up_n_days_equals_n_single_closes(book, officer):
    first, last = D(2025, 2, 10), D(2025, 4, 20)
    with transaction.atomic():
        close(first)
        close(last)  # catches up every day in between, in order
        caught_up = book_state()
        transaction.set_rollback(True)
    day = first
    while day <= last:
        close(day)
        day += datetime.timedelta(days=1)
    assert book_state() == caught_up
    assert len(caught_up["snapshots"]) > 4 * 60
    assert DayClose.objects.filter(status="done").count() == (last - first).days + 1


def test_missed_days_are_closed_in_order(book):
    close(D(2025, 2, 10))
    closes = close(D(2025, 2, 14))
    assert [c.date for c in closes] == [D(2025, 2, d) for d in (11, 12, 13, 14)]


def test_snapshot_provision_and_expected_loss(book):
    close(D(2025, 6, 1), since=D(2025, 6, 1))
    never = book["never"]
    never.refresh_from_db()
    snap = LoanDaySnapshot.objects.get(loan=never, date=D(2025, 6, 1))
    assert snap.risk_class == "substandard"  # 2025-02-15 .. 2025-06-01: 107 days
    assert snap.provision == half_up(never.outstanding_principal * Decimal("0.25"))
    # PD 1 for a non-performing loan, unsecured: LGD = the default 45 %, EL = PD × LGD × EAD.
    assert snap.pd == Decimal("1.000000") and snap.lgd == Decimal("0.450000")
    assert snap.ead == snap.outstanding_principal + snap.overdue_interest + snap.penalty_unpaid
    assert snap.expected_loss == half_up(snap.ead * Decimal("0.45"))
    on_time = LoanDaySnapshot.objects.get(loan=book["on_time"], date=D(2025, 6, 1))
    assert on_time.pd == Decimal("0.050000")


def test_signals_for_overdue_worse_bucket_and_downgrade(book):
    close(D(2025, 2, 15))
    late = book["late"]
    assert set(DelinquencySignal.objects.filter(loan=late).values_list("kind", flat=True)) == {
        "loan_overdue",
        "downgrade",
    }
    close(D(2025, 3, 17))
    assert DelinquencySignal.objects.filter(loan=late, kind="bucket_worse", date=D(2025, 3, 17)).exists()
    assert DelinquencySignal.objects.filter(loan=late, kind="bucket_worse").count() == 1
    signal = DelinquencySignal.objects.get(loan=late, kind="bucket_worse")
    assert signal.detail["from"] == "1-30" and signal.detail["to"] == "31-60"
    assert signal.customer_id == late.customer_id and signal.consumed_at is None


def test_restructured_loan_stays_substandard_during_observation(officer, approver, loan):
    from loans.services.restructuring import loan_restructure

    loan_restructure(actor=approver, loan=loan, on_date=D(2025, 1, 20), term_months=12, reason="hardship")
    close(D(2025, 1, 25))
    loan.refresh_from_db()
    assert loan.days_past_due == 0 and loan.risk_class == "substandard"
    close(D(2026, 1, 25), since=D(2026, 1, 25))
    loan.refresh_from_db()
    assert loan.risk_class != "substandard" or loan.days_past_due > 90


def test_close_steps_have_unique_names_and_resolve():
    from django.utils.module_loading import import_string

    assert len({s.name for s in CLOSE_STEPS}) == len(CLOSE_STEPS)
    for step in CLOSE_STEPS:
        assert callable(import_string(step.function))


@given(cents=st.integers(min_value=1, max_value=10**12), units=st.integers(min_value=1, max_value=200))
@hypothesis_settings(max_examples=400, deadline=None)
def test_property_sqlite_half_up_equals_decimal(cents, units):
    """Any amount up to 10 billion and any daily rate up to 2 %: SQLite's result is Decimal's."""
    import sqlite3

    from loans.close import Sql, penalty_for_day

    amount, rate = Decimal(cents) / 100, Decimal(units) / 10000
    sql = Sql("sqlite")
    with sqlite3.connect(":memory:") as db:
        (value,) = db.execute(f"SELECT {sql.money(sql.half_up(sql.cents('?'), units))}", [str(amount)]).fetchone()
    assert Decimal(repr(value)).quantize(CENT) == penalty_for_day(amount, rate)
