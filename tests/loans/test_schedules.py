"""Repayment schedules: reference figures computed by hand, crafted calendars, and properties
that hold for any terms (hypothesis)."""

import datetime
from decimal import ROUND_DOWN, Decimal, localcontext

import numpy_financial as npf
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from loans.schedules import (
    DayCount,
    Method,
    PrepaymentMode,
    ScheduleError,
    ScheduleTerms,
    business_day_following,
    business_day_is,
    payoff_quote,
    schedule_accrued_interest,
    schedule_add_tranche,
    schedule_balance,
    schedule_build,
    schedule_prepay,
    schedule_regenerate,
    schedule_restructure,
)

D = Decimal
date = datetime.date


def terms(principal="10000", rate="0.12", months=6, method="equal_installment", day_count="30/360", **extra):
    extra.setdefault("disbursement_date", date(2025, 1, 15))
    return ScheduleTerms(principal, rate, months, method, day_count, **extra)  # strings are accepted


def column(rows, name):
    return [getattr(row, name) for row in rows]


def money(*values):
    return [D(v) for v in values]


# ---------------------------------------------------------------------------
# Reference schedules
# ---------------------------------------------------------------------------
def test_reference_equal_installment_10000_at_12_percent_over_6_months():
    """PMT(1 %, 6, 10,000) = 1,725.4837 -> 1,725.48; the last installment takes the remainder.

    Every row by hand: interest = balance x 1 % rounded half-up, principal = 1,725.48 - interest.
    (The issue quotes 5 x 1,725.56 + 1,725.59, which no 12 %/6-month annuity gives: 1,725.56 is
    the PMT of a 1.00137 % monthly rate.)
    """
    rows = schedule_build(terms())

    assert column(rows, "total") == money("1725.48", "1725.48", "1725.48", "1725.48", "1725.48", "1725.51")
    assert column(rows, "interest") == money("100.00", "83.75", "67.33", "50.75", "34.00", "17.08")
    assert column(rows, "principal") == money("1625.48", "1641.73", "1658.15", "1674.73", "1691.48", "1708.43")
    assert column(rows, "remaining_principal") == money("8374.52", "6732.79", "5074.64", "3399.91", "1708.43", "0.00")
    assert round(npf.pmt(0.01, 6, -10000), 2) == 1725.48
    assert column(rows, "number") == [1, 2, 3, 4, 5, 6]
    assert column(rows, "due_date") == [date(2025, m, 15) for m in range(2, 8)]
    assert column(rows, "days") == [30] * 6


def test_equal_principal_reference():
    rows = schedule_build(terms("12000", months=12, method="equal_principal"))

    assert column(rows, "principal") == [D("1000.00")] * 12
    assert column(rows, "interest") == [D(120 - 10 * k).quantize(D("0.01")) for k in range(12)]
    assert rows[0].total == D("1120.00") and rows[-1].total == D("1010.00")


def test_equal_principal_last_part_takes_the_rounding_remainder():
    rows = schedule_build(terms("10000", months=3, method="equal_principal"))

    assert column(rows, "principal") == money("3333.33", "3333.33", "3333.34")


def test_interest_only_pays_the_principal_at_maturity():
    rows = schedule_build(terms(method="interest_only"))

    assert column(rows, "principal") == money("0", "0", "0", "0", "0", "10000.00")
    assert column(rows, "interest") == [D("100.00")] * 6
    assert rows[-1].total == D("10100.00")


@pytest.mark.parametrize(
    ("day_count", "days", "interest"),
    [("30/360", 90, "300.00"), ("actual/360", 89, "296.67"), ("actual/365", 89, "292.60")],
)
def test_bullet_one_payment_at_maturity(day_count, days, interest):
    """10,000 at 12 % from Jan 31 to Apr 30, 2025: three whole months (90 days in 30/360), 89 actual days."""
    rows = schedule_build(terms(months=3, method="bullet", day_count=day_count, disbursement_date=date(2025, 1, 31)))

    assert len(rows) == 1
    (row,) = rows
    assert (row.due_date, row.days, row.principal, row.interest) == (
        date(2025, 4, 30),
        days,
        D("10000.00"),
        D(interest),
    )
    assert row.total == D("10000.00") + D(interest)


def test_bullet_for_a_number_of_days():
    """利随本清 over 95 days: one period, disbursement to the first (only) due date; 10,000 x 12 % x 95 / 360."""
    rows = schedule_build(terms(months=1, method="bullet", day_count="actual/360", first_due_date=date(2025, 4, 20)))

    assert [(r.period_start, r.due_date, r.days, r.interest) for r in rows] == [
        (date(2025, 1, 15), date(2025, 4, 20), 95, D("316.67"))
    ]


def test_zero_rate_equal_installment_splits_the_principal():
    rows = schedule_build(terms("1000", rate="0", months=3))

    assert column(rows, "total") == money("333.33", "333.33", "333.34")
    assert column(rows, "interest") == [D("0.00")] * 3


# ---------------------------------------------------------------------------
# Calendars
# ---------------------------------------------------------------------------
def test_disbursed_on_january_31_falls_due_at_each_month_end():
    rows = schedule_build(terms(disbursement_date=date(2025, 1, 31)))

    assert column(rows, "due_date") == [
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 30),
        date(2025, 5, 31),
        date(2025, 6, 30),
        date(2025, 7, 31),
    ]
    # 30/360: every one is a regular month, so the amounts are the reference's.
    assert column(rows, "days") == [30] * 6
    assert column(rows, "total") == column(schedule_build(terms()), "total")


def test_month_end_in_a_leap_year_and_actual_days():
    rows = schedule_build(terms(day_count="actual/365", disbursement_date=date(2024, 1, 31)))

    assert column(rows, "due_date")[:3] == [date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)]
    assert column(rows, "days") == [29, 31, 30, 31, 30, 31]
    # 10,000 x 12 % x 29 / 365 = 95.34
    assert rows[0].interest == D("95.34")


def test_disbursed_on_february_29_keeps_the_29th_and_clamps_in_february():
    rows = schedule_build(terms(months=13, disbursement_date=date(2024, 2, 29)))

    dues = column(rows, "due_date")
    assert dues[0] == date(2024, 3, 29)
    assert dues[10:] == [date(2025, 1, 29), date(2025, 2, 28), date(2025, 3, 29)]
    assert column(rows, "days") == [30] * 13  # whole months of the 29th series


def test_explicit_repayment_day_31_with_a_february_first_due_date():
    rows = schedule_build(
        terms(months=3, disbursement_date=date(2025, 1, 20), first_due_date=date(2025, 2, 28), repayment_day=31)
    )

    assert column(rows, "due_date") == [date(2025, 2, 28), date(2025, 3, 31), date(2025, 4, 30)]


def test_chinese_calendar_business_days():
    assert not business_day_is(date(2025, 10, 1))  # National Day
    assert business_day_is(date(2025, 10, 11))  # a Saturday worked in lieu (调休)
    assert business_day_is(date(2025, 9, 28))  # a Sunday worked in lieu
    assert business_day_following(date(2025, 10, 1)) == date(2025, 10, 9)
    # Beyond the library's data: weekends only (2030-01-05 is a Saturday, 2030-01-01 a Tuesday).
    assert business_day_following(date(2030, 1, 5)) == date(2030, 1, 7)
    assert business_day_following(date(2030, 1, 1)) == date(2030, 1, 1)


def test_business_days_agree_with_the_library_on_every_day_it_knows():
    import chinese_calendar

    day, last = date(min(chinese_calendar.holidays).year, 1, 1), date(max(chinese_calendar.holidays).year, 12, 31)
    while day <= last:
        assert business_day_is(day) == chinese_calendar.is_workday(day), day
        day += datetime.timedelta(days=1)
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(last + datetime.timedelta(days=1))  # hence the weekend fallback


def test_holiday_shift_moves_the_pay_date_not_the_interest():
    shifted = schedule_build(terms(months=3, disbursement_date=date(2025, 9, 1), holiday_shift=True))
    plain = schedule_build(terms(months=3, disbursement_date=date(2025, 9, 1)))

    assert column(shifted, "due_date") == [date(2025, 10, 1), date(2025, 11, 1), date(2025, 12, 1)]
    # Oct 1 (National Day, off until Oct 8) -> Oct 9; Nov 1 is a Saturday -> Monday Nov 3; Dec 1 a Monday.
    assert column(shifted, "pay_date") == [date(2025, 10, 9), date(2025, 11, 3), date(2025, 12, 1)]
    assert column(plain, "pay_date") == column(plain, "due_date")
    assert [r._replace(pay_date=None) for r in shifted] == [r._replace(pay_date=None) for r in plain]


def test_holiday_shift_keeps_an_adjusted_working_saturday():
    rows = schedule_build(terms(months=1, disbursement_date=date(2025, 9, 11), holiday_shift=True))

    assert rows[0].due_date == rows[0].pay_date == date(2025, 10, 11)


# ---------------------------------------------------------------------------
# Broken first periods and grace
# ---------------------------------------------------------------------------
def test_short_broken_first_period():
    """Jan 10 -> Feb 1 (22 days at 12 %/360 = 0.7333 %), then a whole month at 1 %.

    A = 10,000 x 1.007333 x 1.01 / (1 + 1.01) = 5,061.72; interest 73.33, then 5,011.61 x 1 % = 50.12.
    """
    rows = schedule_build(terms(months=2, disbursement_date=date(2025, 1, 10), first_due_date=date(2025, 2, 1)))

    assert column(rows, "days") == [22, 30]
    assert column(rows, "interest") == money("73.33", "50.12")
    assert column(rows, "principal") == money("4988.39", "5011.61")
    assert column(rows, "total") == money("5061.72", "5061.73")


def test_long_broken_first_period():
    """Jan 10 -> Mar 1 (50 days): A = 10,000 x 1.016667 x 1.01 / 2.01 = 5,108.62; interest 166.67, then 50.58."""
    rows = schedule_build(terms(months=2, disbursement_date=date(2025, 1, 10), first_due_date=date(2025, 3, 1)))

    assert column(rows, "days") == [50, 30]
    assert column(rows, "interest") == money("166.67", "50.58")
    assert column(rows, "total") == money("5108.62", "5108.63")
    assert column(rows, "due_date") == [date(2025, 3, 1), date(2025, 4, 1)]


def test_broken_first_period_with_actual_days():
    """actual/365: 22 then 28 days; A = 10,000 x (1+0.12x22/365)(1+0.12x28/365) / (2 + 0.12x28/365)."""
    rows = schedule_build(
        terms(months=2, day_count="actual/365", disbursement_date=date(2025, 1, 10), first_due_date=date(2025, 2, 1))
    )

    assert column(rows, "interest") == money("72.33", "46.15")
    assert column(rows, "total") == money("5059.24", "5059.24")


def test_a_first_period_whose_interest_reaches_the_installment_pays_interest_only():
    """Two months at 15.71 % earn 26.18, more than the 86-month level amount (19.70 if the first
    period were amortised too): it pays its interest and the level is set over the other 85."""
    rows = schedule_build(
        terms("1000", rate="0.1571", months=86, disbursement_date=date(2015, 1, 1), first_due_date=date(2015, 3, 1))
    )

    assert (rows[0].days, rows[0].principal, rows[0].interest) == (60, D("0.00"), D("26.18"))
    assert len(rows) == 86
    assert set(column(rows[1:-1], "total")) == {D("19.57")}
    assert round(npf.pmt(0.1571 / 12, 85, -1000), 2) == 19.57
    assert sum(column(rows, "principal")) == D("1000.00")


def test_grace_months_pay_interest_then_amortise_over_the_rest():
    rows = schedule_build(terms("12000", grace_months=2))

    assert column(rows, "grace") == [True, True, False, False, False, False]
    assert column(rows, "principal")[:2] == [D("0.00")] * 2
    assert column(rows, "interest")[:2] == [D("120.00")] * 2
    # PMT(1 %, 4, 12,000) = 3,075.373 -> 3,075.37
    assert column(rows, "total")[2:] == money("3075.37", "3075.37", "3075.37", "3075.39")
    assert sum(column(rows, "principal")) == D("12000.00")


def test_grace_months_with_equal_principal():
    rows = schedule_build(terms("12000", method="equal_principal", grace_months=2))

    assert column(rows, "principal") == money("0", "0", "3000", "3000", "3000", "3000")
    assert column(rows, "interest") == money("120", "120", "120", "90", "60", "30")


# ---------------------------------------------------------------------------
# Tranches
# ---------------------------------------------------------------------------
def loan_60k_actual_365():
    t = terms("60000", months=12, day_count="actual/365")
    return t, schedule_build(t)


def test_tranche_mid_period_charges_each_balance_its_own_days():
    t, rows = loan_60k_actual_365()
    assert rows[0].remaining_principal == D("55281.97")

    after = schedule_add_tranche(t, rows, value_date=date(2025, 3, 1), amount=D("40000"))

    assert after[0] == rows[0]  # due Feb 15, before the tranche
    second = after[1]
    assert (second.period_start, second.due_date, second.days) == (date(2025, 3, 1), date(2025, 3, 15), 14)
    # Feb 15 -> Mar 1: 55,281.97 x 12 % x 14 / 365 = 254.45 (carried);
    # Mar 1 -> Mar 15: 95,281.97 x 12 % x 14 / 365 = 438.56.
    assert second.carried_interest == D("254.45")
    assert second.interest == D("693.01")
    assert second.principal + second.remaining_principal == D("95281.97")
    assert after[-1].due_date == rows[-1].due_date  # the maturity does not move
    assert len(after) == 12
    assert sum(column(after, "principal")) == D("100000.00")
    assert len(set(column(after[1:-1], "total"))) == 1  # a new level installment


def test_tranche_on_the_disbursement_date_is_one_bigger_loan():
    t, rows = loan_60k_actual_365()

    after = schedule_add_tranche(t, rows, value_date=t.disbursement_date, amount=D("40000"))

    assert after == schedule_build(
        t.__class__(D("100000"), t.annual_rate, 12, t.method, t.day_count, t.disbursement_date)
    )


def test_several_tranches_up_to_the_approved_amount():
    t, rows = loan_60k_actual_365()
    rows = schedule_add_tranche(t, rows, value_date=date(2025, 2, 20), amount=D("20000"), approved_amount=D("100000"))
    rows = schedule_add_tranche(t, rows, value_date=date(2025, 5, 3), amount=D("20000"), approved_amount=D("100000"))

    assert sum(column(rows, "principal")) == D("100000.00")
    assert column(rows, "remaining_principal")[-1] == D("0.00")
    with pytest.raises(ScheduleError):
        schedule_add_tranche(t, rows, value_date=date(2025, 6, 1), amount=D("0.01"), approved_amount=D("100000"))


def test_tranche_after_maturity_is_refused():
    t, rows = loan_60k_actual_365()

    with pytest.raises(ScheduleError):
        schedule_add_tranche(t, rows, value_date=rows[-1].due_date, amount=D("1000"))


# ---------------------------------------------------------------------------
# Prepayment and payoff
# ---------------------------------------------------------------------------
def loan_120k():
    t = terms("120000", months=12)
    return t, schedule_build(t)


def test_prepayment_shortens_the_term_keeping_the_installment():
    t, rows = loan_120k()
    level = rows[0].total  # PMT(1 %, 12, 120,000) = 10,661.85
    assert level == D("10661.85")

    after = schedule_prepay(t, rows, on_date=date(2025, 4, 15), principal=D("50000"), mode="shorten_term")

    assert after[:3] == rows[:3]
    assert len(after) == 7
    assert column(after[3:-1], "total") == [level] * 3
    # Balance after the 3rd installment 91,329.65 - 50,000 = 41,329.65; interest 1 % = 413.30.
    assert after[3].interest == D("413.30")
    assert after[-1].total < level
    assert sum(column(after, "principal")) + D("50000") == D("120000.00")


def test_prepayment_lowers_the_installment_keeping_the_maturity():
    t, rows = loan_120k()

    after = schedule_prepay(t, rows, on_date=date(2025, 4, 15), principal=D("50000"), mode="lower_installment")

    assert len(after) == 12 and after[-1].due_date == rows[-1].due_date
    new_level = round(D(str(npf.pmt(0.01, 9, -41329.65))), 2)
    assert column(after[3:-1], "total") == [new_level] * 8
    assert new_level == D("4824.84")
    assert sum(column(after, "principal")) + D("50000") == D("120000.00")


def test_prepayment_between_due_dates():
    """On Apr 30 the interest Apr 15 -> 30 on the whole balance is settled with the prepayment;
    the next installment charges the lower balance from Apr 30 only."""
    t, rows = loan_120k()

    quote = payoff_quote(rows, date(2025, 4, 30), terms=t, principal=D("50000"), fee_rate=D("0.01"))
    after = schedule_prepay(t, rows, on_date=date(2025, 4, 30), principal=D("50000"), mode="lower_installment")

    # 91,329.65 x 12 % x 15 / 360 = 456.648 -> 456.65; fee 1 % of 50,000.
    assert quote == (date(2025, 4, 30), D("50000"), D("456.65"), D("500.00"), D("50956.65"))
    fourth = after[3]
    assert (fourth.period_start, fourth.days, fourth.carried_interest) == (date(2025, 4, 30), 15, D("0.00"))
    # 41,329.65 x 12 % x 15 / 360 = 206.648 -> 206.65
    assert fourth.interest == D("206.65")


def test_equal_principal_prepayment_both_ways():
    t = terms("12000", months=12, method="equal_principal")
    rows = schedule_build(t)

    shorter = schedule_prepay(t, rows, on_date=date(2025, 4, 15), principal=D("3000"), mode=PrepaymentMode.SHORTEN_TERM)
    lower = schedule_prepay(t, rows, on_date=date(2025, 4, 15), principal=D("3000"), mode="lower_installment")

    assert column(shorter, "principal") == [D("1000.00")] * 9
    assert len(lower) == 12
    assert column(lower, "principal")[3:] == [D("666.67")] * 8 + [D("666.64")]


def test_prepaying_everything_leaves_the_installments_already_due():
    t, rows = loan_120k()

    after = schedule_prepay(t, rows, on_date=date(2025, 4, 20), principal=D("91329.65"), mode="shorten_term")

    assert after == rows[:3]


def test_payoff_quote_by_hand():
    """Interest-only 100,000 at 12 %: Feb 15 -> Mar 3 is 16 days."""
    for day_count, interest in (("actual/365", "526.03"), ("actual/360", "533.33"), ("30/360", "533.33")):
        t = terms("100000", day_count=day_count, method="interest_only")
        rows = schedule_build(t)
        quote = payoff_quote(rows, date(2025, 3, 3), terms=t, fee_rate=D("0.01"))
        # 100,000 x 12 % x 16 / 365 = 526.027; / 360 = 533.333
        assert quote.principal == D("100000.00")
        assert quote.interest == D(interest), day_count
        assert quote.fee == D("1000.00")
        assert quote.total == D("101000.00") + D(interest)


def test_payoff_quote_of_the_reference_loan():
    t = terms()
    rows = schedule_build(t)

    quote = payoff_quote(rows, date(2025, 2, 25), terms=t, fee_rate=D("0.02"))

    # Balance after the first installment 8,374.52; 10 days: 8,374.52 x 12 % x 10 / 360 = 27.915 -> 27.92;
    # fee 2 % = 167.4904 -> 167.49.
    assert quote == (date(2025, 2, 25), D("8374.52"), D("27.92"), D("167.49"), D("8569.93"))


def test_payoff_quote_on_a_due_date_and_after_maturity():
    t = terms()
    rows = schedule_build(t)

    on_due = payoff_quote(rows, date(2025, 3, 15), terms=t)
    assert (on_due.principal, on_due.interest) == (D("6732.79"), D("0.00"))
    assert payoff_quote(rows, date(2025, 8, 1), terms=t).total == D("0.00")
    with pytest.raises(ScheduleError):
        payoff_quote(rows, date(2025, 1, 14), terms=t)
    with pytest.raises(ScheduleError):
        payoff_quote(rows, date(2025, 2, 25), terms=t, principal=D("9000"))


# ---------------------------------------------------------------------------
# Restructuring
# ---------------------------------------------------------------------------
def test_restructuring_extends_the_maturity_from_the_restructuring_date():
    t, rows = loan_120k()

    after = schedule_restructure(t, rows, on_date=date(2025, 7, 1), term_months=24)

    assert after[:5] == rows[:5]
    assert len(after) == 29
    assert after[-1].due_date == date(2027, 6, 15)
    first = after[5]
    # Jun 15 -> Jul 1 at the old terms: 71,735.06 x 12 % x 16 / 360 = 382.587 -> 382.59 carried;
    # Jul 1 -> Jul 15: 71,735.06 x 12 % x 14 / 360 = 334.763 -> 334.76.
    assert (first.period_start, first.days, first.carried_interest) == (date(2025, 7, 1), 14, D("382.59"))
    assert first.interest == D("717.35")
    assert len(set(column(after[5:-1], "total"))) == 1
    assert sum(column(after, "principal")) == D("120000.00")


def test_restructuring_changes_the_method_and_rate():
    t, rows = loan_120k()

    after = schedule_restructure(
        t, rows, on_date=date(2025, 7, 1), method=Method.EQUAL_PRINCIPAL, annual_rate=D("0.08")
    )

    assert len(after) == 12
    assert column(after[5:], "principal") == [D("10247.87")] * 6 + [D("10247.84")]
    # Jul 1 -> 15 at 8 %: 71,735.06 x 8 % x 14 / 360 = 223.176 -> 223.18, plus 382.59 carried.
    assert after[5].interest == D("605.77")
    # a whole month at 8 %: 61,487.19 x 8 % / 12 = 409.91
    assert after[6].interest == D("409.91")
    assert sum(column(after, "principal")) == D("120000.00")


def test_restructuring_with_new_grace_months():
    t, rows = loan_120k()

    after = schedule_restructure(t, rows, on_date=date(2025, 7, 15), term_months=12, grace_months=3)

    assert column(after[6:], "grace") == [True] * 3 + [False] * 9
    assert column(after[6:9], "principal") == [D("0.00")] * 3
    assert sum(column(after, "principal")) == D("120000.00")


def test_restructuring_a_repaid_loan_is_refused():
    t, rows = loan_120k()

    with pytest.raises(ScheduleError):
        schedule_restructure(t, rows, on_date=date(2026, 2, 1), term_months=6)


def test_restructuring_refuses_grace_for_interest_only_and_unknown_modes():
    t, rows = loan_120k()

    with pytest.raises(ScheduleError):
        schedule_restructure(t, rows, on_date=date(2025, 7, 1), method="interest_only", grace_months=2)
    with pytest.raises(ScheduleError):
        schedule_prepay(t, rows, on_date=date(2025, 7, 1), principal=D("1000"), mode="skip_a_month")


def test_regenerate_after_maturity_needs_a_term():
    t, rows = loan_120k()

    with pytest.raises(ScheduleError):
        schedule_regenerate(t, rows, on_date=date(2026, 2, 1), principal=D("1000"))
    after = schedule_regenerate(t, rows, on_date=date(2026, 2, 1), principal=D("1000"), term_months=2)
    assert column(after[12:], "due_date") == [date(2026, 2, 15), date(2026, 3, 15)]
    assert column(after[12:], "number") == [13, 14]


def test_a_date_before_an_earlier_rebuild_is_refused():
    t, rows = loan_120k()
    after = schedule_prepay(t, rows, on_date=date(2025, 4, 30), principal=D("1000"), mode="lower_installment")

    with pytest.raises(ScheduleError):
        schedule_accrued_interest(after, date(2025, 4, 20), terms=t)


# ---------------------------------------------------------------------------
# Terms and context
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "bad",
    [
        {"principal": "0"},
        {"principal": "100.001"},
        {"principal": "1e20"},
        {"principal": 1000.5},
        {"rate": "-0.01"},
        {"rate": "1.5"},
        {"months": 0},
        {"method": "balloon"},
        {"day_count": "actual/actual"},
        {"grace_months": 6},
        {"method": "bullet", "grace_months": 1},
        {"first_due_date": date(2025, 1, 15)},
        {"first_due_date": date(2025, 2, 20), "repayment_day": 15},
        {"disbursement_date": datetime.datetime(2025, 1, 15, 9, 0)},
        {"repayment_day": 32},
    ],
)
def test_terms_that_make_no_schedule(bad):
    with pytest.raises(ScheduleError):
        terms(**bad)


def test_the_callers_decimal_context_does_not_matter():
    expected = schedule_build(terms(day_count="actual/365"))

    with localcontext() as ctx:
        ctx.prec = 6
        ctx.rounding = ROUND_DOWN
        assert schedule_build(terms(day_count="actual/365")) == expected


def test_enums_and_strings_are_the_same_terms():
    assert terms(method=Method.EQUAL_PRINCIPAL, day_count=DayCount.ACTUAL_360) == terms(
        method="equal_principal", day_count="actual/360"
    )


# ---------------------------------------------------------------------------
# Properties for any terms
# ---------------------------------------------------------------------------
CENTS = st.integers(min_value=100_000, max_value=1_000_000_000).map(lambda c: D(c) / 100)  # 1,000.00 to 10 million
RATES = st.integers(min_value=0, max_value=3600).map(lambda bp: D(bp) / 10000)
DATES = st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31))


@st.composite
def any_terms(draw, *, methods=tuple(Method), day_counts=tuple(DayCount), broken=True, max_months=120):
    method = draw(st.sampled_from(methods))
    months = draw(st.integers(min_value=1, max_value=max_months))
    disbursed = draw(DATES)
    first_due = None
    if broken and draw(st.booleans()):
        first_due = disbursed + datetime.timedelta(days=draw(st.integers(min_value=1, max_value=75)))
    grace = 0
    if method in (Method.EQUAL_INSTALLMENT, Method.EQUAL_PRINCIPAL):
        grace = draw(st.integers(min_value=0, max_value=min(6, months - 1)))
    return ScheduleTerms(
        draw(CENTS),
        draw(RATES),
        months,
        method,
        draw(st.sampled_from(day_counts)),
        disbursed,
        first_due_date=first_due,
        grace_months=grace,
        holiday_shift=draw(st.booleans()),
    )


def drift_bound(rate_per_period, periods):
    """How far the last installment may stray: each rounding of the level amount (at most half a
    cent) and of an interest (half a cent) leaves a difference that grows at the period rate."""
    r = float(rate_per_period)
    growth = periods if r == 0 else ((1 + r) ** periods - 1) / r
    return 0.01 * growth + 0.005


def assert_well_formed(rows, principal, *, holiday_shift=None, chained=True):
    assert sum(column(rows, "principal")) == principal
    assert rows[-1].remaining_principal == D("0.00")
    balance = principal
    for row in rows:
        assert row.principal >= 0 and row.interest >= 0
        assert row.total == row.principal + row.interest
        balance -= row.principal
        assert row.remaining_principal >= 0
        if chained:
            assert row.remaining_principal == balance
        assert row.principal.as_tuple().exponent == row.interest.as_tuple().exponent == -2
        assert row.period_start < row.due_date <= row.pay_date
        if holiday_shift:
            assert business_day_is(row.pay_date)
            assert all(
                not business_day_is(row.due_date + datetime.timedelta(days=d))
                for d in range((row.pay_date - row.due_date).days)
            )
        elif holiday_shift is False:
            assert row.pay_date == row.due_date
    assert column(rows, "number") == list(range(rows[0].number, rows[0].number + len(rows)))
    dues = column(rows, "due_date")
    assert dues == sorted(set(dues))


@settings(max_examples=200, deadline=None)
@given(any_terms())
def test_any_schedule_sums_exactly_to_its_principal(t):
    rows = schedule_build(t)

    assert_well_formed(rows, t.principal, holiday_shift=t.holiday_shift)
    if t.method is Method.BULLET:
        assert len(rows) == 1
    elif t.method is not Method.EQUAL_PRINCIPAL:
        assert len(rows) == t.term_months
    assert column(rows, "grace") == [True] * t.grace_months + [False] * (len(rows) - t.grace_months)


@settings(max_examples=200, deadline=None)
@given(any_terms(methods=[Method.EQUAL_INSTALLMENT], day_counts=[DayCount.THIRTY_360], broken=False))
def test_equal_installments_match_pmt_on_30_360(t):
    rows = schedule_build(t)
    amortising = rows[t.grace_months :]
    n = len(amortising)
    pmt = npf.pmt(float(t.annual_rate) / 12, n, -float(t.principal))

    for row in amortising[:-1]:
        assert abs(float(row.total) - pmt) <= 0.005 + 1e-9 * pmt
    # The last one absorbs the rounding.
    assert abs(float(amortising[-1].total) - pmt) <= drift_bound(t.annual_rate / 12, n - 1) + 1e-9 * pmt


@settings(max_examples=200, deadline=None)
@given(any_terms(methods=[Method.EQUAL_INSTALLMENT]))
def test_equal_installments_are_level_for_any_day_count(t):
    rows = schedule_build(t)
    amortising = rows[t.grace_months :]
    assume(len(amortising) > 1 and all(r.principal > 0 for r in amortising))

    assert len(set(column(amortising[:-1], "total"))) == 1
    level = amortising[0].total
    assert abs(float(amortising[-1].total - level)) <= drift_bound(t.annual_rate * 31 / 360, len(amortising) - 1)


@settings(max_examples=100, deadline=None)
@given(
    any_terms(max_months=60),
    st.lists(st.tuples(st.integers(min_value=0, max_value=1800), CENTS), min_size=1, max_size=3),
)
def test_tranches_sum_to_everything_disbursed(t, tranches):
    rows = schedule_build(t)
    total = t.principal
    for offset, amount in sorted(tranches):
        value_date = t.disbursement_date + datetime.timedelta(days=offset)
        assume(value_date < rows[-1].due_date)
        rows = schedule_add_tranche(t, rows, value_date=value_date, amount=amount)
        total += amount

    assert_well_formed(rows, total, holiday_shift=t.holiday_shift, chained=False)


@settings(max_examples=100, deadline=None)
@given(any_terms(max_months=60), st.integers(min_value=0, max_value=1800), st.integers(min_value=1, max_value=99))
def test_prepayments_leave_the_rest_of_the_principal_in_the_schedule(t, offset, percent):
    rows = schedule_build(t)
    on_date = t.disbursement_date + datetime.timedelta(days=offset)
    assume(on_date < rows[-1].due_date)
    balance = schedule_balance(rows, on_date)
    prepaid = (balance * percent / 100).quantize(D("0.01"))
    assume(prepaid > 0)

    shorter = schedule_prepay(t, rows, on_date=on_date, principal=prepaid, mode="shorten_term")
    lower = schedule_prepay(t, rows, on_date=on_date, principal=prepaid, mode="lower_installment")

    for after in (shorter, lower):
        assert sum(column(after, "principal")) + prepaid == t.principal
        assert after[-1].remaining_principal == D("0.00")
        assert all(r.principal >= 0 and r.interest >= 0 and r.remaining_principal >= 0 for r in after)
    assert len(shorter) <= len(lower)
    quote = payoff_quote(rows, on_date, terms=t)
    assert quote.principal == balance and quote.interest >= 0


@settings(max_examples=100, deadline=None)
@given(
    any_terms(max_months=60),
    st.integers(min_value=0, max_value=1800),
    st.integers(min_value=1, max_value=60),
    st.sampled_from(list(Method)),
    RATES,
)
def test_restructured_schedules_still_sum_to_the_principal(t, offset, months, method, rate):
    rows = schedule_build(t)
    on_date = t.disbursement_date + datetime.timedelta(days=offset)
    assume(on_date < rows[-1].due_date)

    after = schedule_restructure(t, rows, on_date=on_date, term_months=months, method=method, annual_rate=rate)

    assert_well_formed(after, t.principal, holiday_shift=t.holiday_shift)
    kept = [r for r in rows if r.due_date <= on_date]
    assert after[: len(kept)] == kept
    assert after[len(kept)].period_start == on_date
    assert after[len(kept)].carried_interest == schedule_accrued_interest(rows, on_date, terms=t)
