"""Default flags derived from crafted loan histories (pure): 90 against 89 days past due,
a default reached in month 12 against month 13, written off, immature, closed."""

import datetime

import pandas as pd

from scoring.outcomes import add_months, outcomes_derive_frame

DISBURSED = datetime.date(2025, 1, 15)


def loans(*rows):
    return pd.DataFrame(
        [
            {
                "loan_id": i,
                "disbursement_date": d,
                "written_off": wo,
                "closed": closed,
                "written_off_on": wo_on,
            }
            for i, d, wo, closed, wo_on in rows
        ]
    )


def inst(*rows):
    return pd.DataFrame(
        [{"loan_id": i, "due_date": due, "paid": paid_on is not None, "paid_on": paid_on} for i, due, paid_on in rows],
        columns=["loan_id", "due_date", "paid", "paid_on"],
    )


def derive(book, installments, as_of=datetime.date(2026, 6, 30), snapshots=None):
    out = outcomes_derive_frame(book, installments, as_of=as_of, snapshots=snapshots)
    return {r.loan_id: (r.defaulted, r.max_dpd, r.default_date) for r in out.itertuples()}


def days(n):
    return datetime.timedelta(days=n)


def test_paid_90_days_late_defaults_89_does_not():
    due = datetime.date(2025, 3, 15)
    book = loans((1, DISBURSED, False, False, None), (2, DISBURSED, False, False, None))
    result = derive(book, inst((1, due, due + days(90)), (2, due, due + days(89))))
    assert result[1] == (True, 90, due + days(90))
    assert result[2] == (False, 89, None)


def test_still_unpaid_counts_to_the_day():
    due = datetime.date(2025, 9, 1)
    book = loans((1, DISBURSED, False, False, None))
    # As of 89 days after the due date, still within the window: no default, not mature yet.
    assert derive(book, inst((1, due, None)), as_of=due + days(89))[1] == (None, 89, None)
    assert derive(book, inst((1, due, None)), as_of=due + days(90))[1] == (True, 90, due + days(90))


def test_ninety_days_reached_in_month_12_counts_month_13_does_not():
    window_end = add_months(DISBURSED, 12)  # 2026-01-15
    assert window_end == datetime.date(2026, 1, 15)
    in_time = window_end - days(90)  # reaches 90 DPD exactly on the last day of month 12
    too_late = window_end - days(89)  # reaches 90 DPD on the first day of month 13
    book = loans((1, DISBURSED, False, False, None), (2, DISBURSED, False, False, None))
    result = derive(book, inst((1, in_time, None), (2, too_late, None)))
    assert result[1][0] is True and result[1][2] == window_end
    assert result[2] == (False, 89, None)


def test_written_off_is_a_default_whatever_the_days():
    book = loans((1, DISBURSED, True, False, datetime.date(2025, 8, 1)))
    assert derive(book, inst((1, datetime.date(2025, 2, 15), datetime.date(2025, 2, 15))))[1] == (
        True,
        0,
        datetime.date(2025, 8, 1),
    )


def test_immature_good_and_closed_loans():
    young = datetime.date(2026, 3, 1)
    book = loans(
        (1, young, False, False, None),  # 4 months old, paying: no outcome yet
        (2, DISBURSED, False, False, None),  # a full year without 90 DPD: good
        (3, young, False, True, None),  # young but closed (repaid): good
    )
    installments = inst(
        (1, datetime.date(2026, 4, 1), datetime.date(2026, 4, 1)), (2, datetime.date(2025, 2, 15), None)
    )
    installments.loc[1, "due_date"] = datetime.date(2025, 2, 15)
    installments.loc[1, "paid_on"] = datetime.date(2025, 4, 1)
    installments.loc[1, "paid"] = True
    result = derive(book, installments)
    assert result[1][0] is None
    assert result[2] == (False, 45, None)
    assert result[3][0] is False


def test_daily_snapshots_count_too():
    book = loans((1, DISBURSED, False, False, None))
    snaps = pd.DataFrame([{"loan_id": 1, "date": datetime.date(2025, 9, 1), "days_past_due": 95}])
    assert derive(book, inst(), snapshots=snaps)[1] == (True, 95, datetime.date(2025, 9, 1))
    late = pd.DataFrame([{"loan_id": 1, "date": datetime.date(2026, 2, 1), "days_past_due": 120}])
    assert derive(book, inst(), snapshots=late)[1] == (False, 0, None)


def test_add_months_clamps_to_month_end():
    assert add_months(datetime.date(2025, 1, 31), 1) == datetime.date(2025, 2, 28)
    assert add_months(datetime.date(2024, 2, 29), 12) == datetime.date(2025, 2, 28)
