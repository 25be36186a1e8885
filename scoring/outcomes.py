"""Default flags derived from servicing: pure, set-wise over frames.

A loan defaults when it was written off, or when an installment reached 90 days past due
on a day within 12 months of disbursement. Days past due of an installment on a day =
that day - its due date while it is not fully paid; it reaches 90 on due date + 90 days,
so an installment paid 89 days late never does and one paid 90 days late does. Where
the daily close's per-day snapshots exist, a snapshot with 90+ days past due within the
window counts as well. A loan that did not default is *good* once its 12-month window is
over or it is closed; before that it has no outcome yet (immature).
"""

import calendar
import datetime

import numpy as np
import pandas as pd

DEFAULT_DPD = 90
WINDOW_MONTHS = 12


def add_months(day: datetime.date, months: int) -> datetime.date:
    """``day`` plus ``months`` calendar months, clamped to the month's end."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def outcomes_derive_frame(
    loans: pd.DataFrame,
    installments: pd.DataFrame,
    *,
    as_of: datetime.date,
    snapshots: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per loan: ``loan_id, defaulted (True/False/None), max_dpd, default_date``.

    ``loans``: loan_id, disbursement_date, written_off (bool), closed (bool), written_off_on
    (date or None). ``installments``: loan_id, due_date, paid (bool), paid_on (date or None).
    ``snapshots`` (optional): loan_id, date, days_past_due."""
    out = loans[["loan_id"]].copy()
    if loans.empty:
        return out.assign(defaulted=pd.Series(dtype=object), max_dpd=pd.Series(dtype="int64"), default_date=None)
    as_of_ts = pd.Timestamp(as_of)
    window = pd.to_datetime([add_months(d, WINDOW_MONTHS) for d in pd.to_datetime(loans["disbursement_date"]).dt.date])
    window_end = np.minimum(window.values, as_of_ts.to_datetime64())
    frame = pd.DataFrame({"loan_id": loans["loan_id"].values, "window_end": window_end, "window": window.values})

    inst = installments.merge(frame, on="loan_id", how="inner")
    if not inst.empty:
        due = pd.to_datetime(inst["due_date"])
        paid_on = pd.to_datetime(inst["paid_on"])
        # Overdue up to the day it was paid (or the window's end if still unpaid then).
        paid_in_time = inst["paid"].astype(bool) & paid_on.notna()
        late_until = pd.Series(np.where(paid_in_time, paid_on, inst["window_end"]), index=inst.index)
        late_until = pd.to_datetime(late_until).where(lambda s: s <= inst["window_end"], inst["window_end"])
        dpd = (late_until - due).dt.days.clip(lower=0).fillna(0).astype("int64")
        reach = due + pd.Timedelta(days=DEFAULT_DPD)
        hit = dpd >= DEFAULT_DPD
        inst = inst.assign(dpd=dpd, reach=reach.where(hit))
        by_loan = inst.groupby("loan_id").agg(max_dpd=("dpd", "max"), default_date=("reach", "min"))
    else:
        by_loan = pd.DataFrame(columns=["max_dpd", "default_date"]).rename_axis("loan_id")

    if snapshots is not None and not snapshots.empty:
        snap = snapshots.merge(frame, on="loan_id", how="inner")
        snap = snap[pd.to_datetime(snap["date"]) <= snap["window_end"]]
        if not snap.empty:
            snap = snap.assign(
                reach=pd.to_datetime(snap["date"]).where(snap["days_past_due"] >= DEFAULT_DPD),
            )
            s = snap.groupby("loan_id").agg(snap_dpd=("days_past_due", "max"), snap_reach=("reach", "min"))
            by_loan = by_loan.join(s, how="outer")
            by_loan["max_dpd"] = by_loan[["max_dpd", "snap_dpd"]].max(axis=1)
            by_loan["default_date"] = by_loan[["default_date", "snap_reach"]].min(axis=1)
            by_loan = by_loan.drop(columns=["snap_dpd", "snap_reach"])

    out = out.merge(by_loan.reset_index(), on="loan_id", how="left")
    out["max_dpd"] = out["max_dpd"].fillna(0).astype("int64")
    written_off = loans["written_off"].astype(bool).values
    dpd_default = pd.to_datetime(out["default_date"]).notna().values
    mature = (frame["window"].values <= as_of_ts.to_datetime64()) | loans["closed"].astype(bool).values
    defaulted = np.where(written_off | dpd_default, True, np.where(mature, False, None))
    out["defaulted"] = pd.Series(defaulted, index=out.index, dtype=object)
    default_date = pd.to_datetime(out["default_date"])
    wo_date = (
        pd.to_datetime(loans["written_off_on"]) if "written_off_on" in loans else pd.Series(pd.NaT, index=out.index)
    )
    default_date = default_date.where(default_date.notna(), wo_date.where(pd.Series(written_off, index=out.index)))
    out["default_date"] = [d.date() if pd.notna(d) else None for d in default_date]
    return out[["loan_id", "defaulted", "max_dpd", "default_date"]]
