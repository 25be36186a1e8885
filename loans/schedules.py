"""Repayment schedules: pure functions over ``Decimal`` and ``datetime.date``.

No database, no models, no settings. The servicing services store what these functions
return; admin, API and portal only show it.

Conventions
-----------
Methods
    ``equal_installment`` (等额本息, annuity), ``equal_principal`` (等额本金),
    ``interest_only`` (按月付息到期还本) and ``bullet`` (利随本清: one payment of principal
    and interest at maturity).
Due dates
    Monthly on the repayment day: the day of the first due date (or ``repayment_day`` when
    given), clamped to the month's end. The first due date defaults to one month after
    disbursement with the disbursement day as repayment day, so a loan disbursed on Jan 31
    falls due on Feb 28/29, Mar 31, Apr 30, ... A bullet loan's one due date is the
    ``term_months``-th date of that series.
Day count
    A period is *regular* when it starts on the previous date of the repayment-day series
    (a full month); otherwise it is *broken* (a first repayment date that is not one month
    after disbursement, or a period that starts on a prepayment, tranche or restructuring date).

    - ``30/360``: a regular period earns ``annual / 12`` (``days`` shows 30); a broken period
      earns the actual days at the daily rate ``annual / 360`` (Chinese practice: 月利率 =
      年利率/12, 日利率 = 年利率/360).
    - ``actual/360`` and ``actual/365``: every period earns ``balance × annual × days / basis``
      for its actual days.
Equal installment
    The level installment is the one that amortises the balance exactly over the periods'
    own rates ``r_k``: ``A = (B·Π(1+r_k) + c·Π_{k≥2}(1+r_k)) / Σ_j Π_{k>j}(1+r_k)``, where
    ``c`` is interest carried into the first installment (see below). With equal rates (30/360,
    regular periods) this is the PMT formula, ``B·r / (1 − (1+r)^-n)``. Each installment's
    interest is its period's interest, its principal ``A − interest``; so every installment
    but the last is the same amount and, with actual day counts or a broken first period, the
    calendar's effect is spread evenly instead of landing on the last installment (as it does
    where the nominal PMT is kept and only the interest follows the days).
Rounding
    Interest and the level amount (or the equal-principal part) are rounded half-up to the cent
    once per installment; the last installment takes the remaining principal, so the principal
    parts sum exactly to the principal. A first period so long that its interest reaches the level
    amount (high rates, long terms, a long broken first period) pays its interest only and the
    level amount is worked out over the periods after it. Should a later installment's interest
    still exceed it, that principal part is 0 and the last installment absorbs the difference; a
    schedule whose balance reaches 0 early ends there.
Grace
    ``grace_months`` first installments pay interest only, then the method runs over the
    remaining months.
Holidays
    With ``holiday_shift`` the ``pay_date`` is the next business day on Chinese public holidays
    and weekends (adjusted working days, 调休, count as business days), from the maintained
    ``chinese-calendar`` library. Interest follows the contractual ``due_date``: a payment on the
    shifted pay date is on time and earns no extra days. Outside the years the library has data
    for, only weekends are skipped.
Prepayment, tranches, restructuring
    All go through :func:`schedule_regenerate`: installments due on or before the event date
    stay as they are (paid or overdue is the servicing layer's business), the rest are rebuilt
    from the event date for the new balance. Interest accrued since the current period began is
    settled with a prepayment (:func:`payoff_quote`), and carried into the next installment by a
    tranche or a restructuring (``carried_interest``).
"""

import calendar
import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext
from enum import StrEnum
from functools import wraps
from typing import NamedTuple

import chinese_calendar
from django.utils.translation import gettext as _

from loansite.errors import ValidationFailed
from loansite.money import CENT, ZERO

_CONTEXT = Context(prec=28, rounding=ROUND_HALF_UP, traps=[InvalidOperation, DivisionByZero, Overflow])
_ONE = Decimal(1)
_MAX_TERM_MONTHS = 600
_MAX_RATE = Decimal(1)
_MAX_AMOUNT = Decimal(10) ** 13
_MAX_YEAR = 9000
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_new_row = tuple.__new__
_ONE_DAY = datetime.timedelta(days=1)


def _exact(func):
    """Run ``func`` in this module's decimal context, whatever the caller's is."""

    @wraps(func)
    def run(*args, **kwargs):
        with localcontext(_CONTEXT):
            return func(*args, **kwargs)

    return run


class ScheduleError(ValidationFailed):
    """Terms or an event that no schedule can be built from."""


class Method(StrEnum):
    EQUAL_INSTALLMENT = "equal_installment"
    EQUAL_PRINCIPAL = "equal_principal"
    INTEREST_ONLY = "interest_only"
    BULLET = "bullet"


class DayCount(StrEnum):
    THIRTY_360 = "30/360"
    ACTUAL_360 = "actual/360"
    ACTUAL_365 = "actual/365"


class PrepaymentMode(StrEnum):
    SHORTEN_TERM = "shorten_term"
    LOWER_INSTALLMENT = "lower_installment"


_BASIS = {DayCount.THIRTY_360: 360, DayCount.ACTUAL_360: 360, DayCount.ACTUAL_365: 365}
_AMORTISING = (Method.EQUAL_INSTALLMENT, Method.EQUAL_PRINCIPAL)


class Installment(NamedTuple):
    """One row of a schedule. ``days`` counts ``period_start`` to ``due_date`` by the convention
    (30 for a regular 30/360 month); ``interest`` includes ``carried_interest``, interest accrued
    before ``period_start`` on an earlier balance (a tranche or restructuring date)."""

    number: int
    period_start: datetime.date
    due_date: datetime.date
    pay_date: datetime.date
    days: int
    principal: Decimal
    interest: Decimal
    total: Decimal
    remaining_principal: Decimal
    grace: bool = False
    carried_interest: Decimal = ZERO


class PayoffQuote(NamedTuple):
    on_date: datetime.date
    principal: Decimal
    interest: Decimal
    fee: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class ScheduleTerms:
    """What a schedule is built from; checked (and strings coerced) on creation.

    ``first_due_date`` defaults to the repayment day of the month after disbursement, the
    repayment day to the first due date's day (or the disbursement's day): give
    ``repayment_day=31`` with a first due date on Feb 28 for month-end due dates.
    """

    principal: Decimal
    annual_rate: Decimal
    term_months: int
    method: Method
    day_count: DayCount
    disbursement_date: datetime.date
    first_due_date: datetime.date | None = None
    grace_months: int = 0
    holiday_shift: bool = False
    repayment_day: int | None = None

    @_exact
    def __post_init__(self):
        principal = _cents(self.principal)
        if not principal:
            raise ScheduleError(_("The principal must be a positive amount in whole cents."))
        annual_rate = _decimal(self.annual_rate, _("annual rate"))
        _check_rate(annual_rate)
        _check_term(self.term_months)
        method = _method(self.method)
        try:
            day_count = DayCount(self.day_count)
        except ValueError:
            raise ScheduleError(_("Unknown day-count convention: %(value)s.") % {"value": self.day_count})
        disbursement = _plain_date(self.disbursement_date)
        if disbursement.year > _MAX_YEAR:
            raise ScheduleError(_("The disbursement date is too far in the future."))
        if self.repayment_day is not None and (
            not isinstance(self.repayment_day, int) or not 1 <= self.repayment_day <= 31
        ):
            raise ScheduleError(_("The repayment day must be 1 to 31."))
        if self.first_due_date is not None:
            first_due = _plain_date(self.first_due_date)
            if first_due <= disbursement:
                raise ScheduleError(_("The first due date must be after the disbursement date."))
            if self.repayment_day and first_due != _series_date(_month_index(first_due), self.repayment_day):
                raise ScheduleError(_("The first due date must fall on the repayment day (or the month's end)."))
        if method in _AMORTISING:
            if not isinstance(self.grace_months, int) or not 0 <= self.grace_months < self.term_months:
                raise ScheduleError(_("Grace months must be fewer than the term's months."))
        elif self.grace_months:
            raise ScheduleError(_("Grace months apply to equal-installment and equal-principal loans only."))
        set_field = object.__setattr__
        set_field(self, "principal", principal)
        set_field(self, "annual_rate", annual_rate)
        set_field(self, "method", method)
        set_field(self, "day_count", day_count)
        set_field(self, "holiday_shift", bool(self.holiday_shift))

    @property
    def anchor_day(self) -> int:
        """The repayment day: given, or the first due date's day, or the disbursement's day."""
        if self.repayment_day:
            return self.repayment_day
        return (self.first_due_date or self.disbursement_date).day

    @property
    def first_due(self) -> datetime.date:
        if self.first_due_date is not None:
            return self.first_due_date
        return _series_date(_month_index(self.disbursement_date) + 1, self.anchor_day)


# ---------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------
@_exact
def schedule_build(terms: ScheduleTerms) -> list[Installment]:
    """The schedule of ``terms`` (see the module docstring for the conventions)."""
    periods = _build_periods(
        terms.disbursement_date,
        terms.first_due,
        terms.anchor_day,
        1 if terms.method is Method.BULLET else terms.term_months,
        terms.term_months if terms.method is Method.BULLET else 1,
        terms.day_count is DayCount.THIRTY_360,
        terms.holiday_shift,
    )
    return _rows(
        balance=terms.principal,
        rates=_rates(terms.annual_rate, periods, _BASIS[terms.day_count]),
        periods=periods,
        method=terms.method,
        grace=terms.grace_months,
        carried=ZERO,
        number=1,
    )


@_exact
def schedule_regenerate(
    terms: ScheduleTerms,
    installments: list[Installment],
    *,
    on_date: datetime.date,
    principal: Decimal,
    carried_interest: Decimal = ZERO,
    mode: PrepaymentMode = PrepaymentMode.LOWER_INSTALLMENT,
    term_months: int | None = None,
    method: Method | None = None,
    annual_rate: Decimal | None = None,
    grace_months: int | None = None,
) -> list[Installment]:
    """The schedule rebuilt from ``on_date`` for a balance of ``principal``.

    Installments due on or before ``on_date`` are kept as they are. The new ones run from
    ``on_date`` (a broken first period unless it is a due date) over the remaining due dates,
    or over ``term_months`` due dates of the same repayment-day series from the next one; the
    first of them also charges ``carried_interest``. ``grace_months`` defaults to the grace
    installments not yet due. ``method`` and ``annual_rate`` default to the terms'.

    ``shorten_term`` keeps the current installment amount (equal installment) or principal
    part (equal principal) and ends when the balance is repaid; ``lower_installment`` keeps
    the maturity and recomputes the amount. Interest-only and bullet loans keep their
    maturity either way, as does a change of method.
    """
    principal = _cents(principal)
    carried_interest = _cents(carried_interest)
    on_date = _plain_date(on_date)
    try:
        mode = PrepaymentMode(mode)
    except ValueError:
        raise ScheduleError(_("Unknown prepayment mode: %(value)s.") % {"value": mode})
    if on_date < terms.disbursement_date:
        raise ScheduleError(_("The date is before the disbursement date."))
    kept = [i for i in installments if i.due_date <= on_date]
    pending = installments[len(kept) :]
    if pending and on_date < pending[0].period_start:
        raise ScheduleError(_("The schedule was rebuilt after this date."))
    if not principal:
        if carried_interest:
            raise ScheduleError(_("Interest cannot be carried without a balance."))
        return kept
    anchor = terms.anchor_day
    if term_months is None:
        dates = [i.due_date for i in pending]
        if not dates:
            raise ScheduleError(_("The loan has matured: give the number of months of the new schedule."))
    else:
        _check_term(term_months)
        first = pending[0].due_date if pending else _series_after(on_date, anchor)
        start = _month_index(first)
        dates = [_series_date(start + k, anchor) for k in range(term_months)]
    new_method = _method(method) if method is not None else terms.method
    rate = _check_rate(_decimal(annual_rate, _("annual rate"))) if annual_rate is not None else terms.annual_rate
    if new_method not in _AMORTISING:
        if grace_months:
            raise ScheduleError(_("Grace months apply to equal-installment and equal-principal loans only."))
        grace = 0
    elif grace_months is None:
        grace = min(sum(1 for i in pending if i.grace), len(dates) - 1)
    elif 0 <= grace_months < len(dates):
        grace = grace_months
    else:
        raise ScheduleError(_("Grace months must be fewer than the term's months."))
    level = part = None
    if mode is PrepaymentMode.SHORTEN_TERM and new_method is terms.method:
        current = next((i for i in pending[:-1] if not i.grace and i.principal > 0), None)
        if current is not None and new_method is Method.EQUAL_INSTALLMENT:
            level = current.total
        elif current is not None and new_method is Method.EQUAL_PRINCIPAL:
            part = current.principal
    thirty = terms.day_count is DayCount.THIRTY_360
    if new_method is Method.BULLET:
        periods = [_period(on_date, dates[-1], anchor, thirty, terms.holiday_shift)]
    else:
        starts = [on_date, *dates[:-1]]
        periods = [_period(s, d, anchor, thirty, terms.holiday_shift) for s, d in zip(starts, dates, strict=True)]
    rows = _rows(
        balance=principal,
        rates=_rates(rate, periods, _BASIS[terms.day_count]),
        periods=periods,
        method=new_method,
        grace=grace,
        carried=carried_interest,
        number=len(kept) + 1,
        level=level,
        part=part,
    )
    return kept + rows


@_exact
def schedule_prepay(
    terms: ScheduleTerms,
    installments: list[Installment],
    *,
    on_date: datetime.date,
    principal: Decimal,
    mode: PrepaymentMode,
) -> list[Installment]:
    """The schedule after ``principal`` is prepaid on ``on_date``.

    The interest accrued to ``on_date`` is settled with the prepayment (quote it with
    :func:`payoff_quote` and ``principal=``), so the next installment charges interest on the
    lower balance from ``on_date`` only. The prepaid principal leaves the schedule: the
    principal parts then sum to the principal less everything prepaid.
    """
    balance = schedule_balance(installments, on_date)
    principal = _cents(principal)
    if not 0 < principal <= balance:
        raise ScheduleError(_("A prepayment must be more than 0 and at most the outstanding principal."))
    return schedule_regenerate(terms, installments, on_date=on_date, principal=balance - principal, mode=mode)


@_exact
def schedule_add_tranche(
    terms: ScheduleTerms,
    installments: list[Installment],
    *,
    value_date: datetime.date,
    amount: Decimal,
    approved_amount: Decimal | None = None,
    disbursed: Decimal | None = None,
) -> list[Installment]:
    """The schedule after a further disbursement of ``amount`` on ``value_date``.

    The tranche joins the balance from its value date; the installments from the next due
    date are rebuilt over the same remaining due dates (the maturity does not move). The next
    installment charges the earlier balance's interest from its period start to the value date
    (carried) plus the new balance's interest for the actual days from the value date, so each
    tranche earns interest for its own days. Principal parts then sum to all tranches disbursed.

    With ``approved_amount``, all tranches (``disbursed`` so far, by default the schedule's
    principal parts, which leave out any principal prepaid) may not exceed it.
    """
    balance = schedule_balance(installments, value_date)
    amount = _cents(amount)
    if not amount:
        raise ScheduleError(_("A tranche must be a positive amount in whole cents."))
    if installments[-1].due_date <= value_date:
        raise ScheduleError(_("A tranche must be disbursed before the loan's maturity."))
    if approved_amount is not None:
        if disbursed is None:
            disbursed = sum((i.principal for i in installments), ZERO)
        if _cents(disbursed) + amount > _cents(approved_amount):
            raise ScheduleError(
                _("The tranches would exceed the approved amount (%(approved)s).") % {"approved": approved_amount}
            )
    return schedule_regenerate(
        terms,
        installments,
        on_date=value_date,
        principal=balance + amount,
        carried_interest=schedule_accrued_interest(installments, value_date, terms=terms),
    )


@_exact
def schedule_restructure(
    terms: ScheduleTerms,
    installments: list[Installment],
    *,
    on_date: datetime.date,
    term_months: int | None = None,
    method: Method | None = None,
    annual_rate: Decimal | None = None,
    grace_months: int = 0,
) -> list[Installment]:
    """The schedule of a live loan restructured on ``on_date``.

    The outstanding principal is rescheduled over ``term_months`` monthly installments from
    the next due date (default: as many as remain, i.e. the same maturity), with ``method``,
    ``annual_rate`` and ``grace_months`` new grace installments. Interest accrued to ``on_date``
    at the old rate is carried into the first new installment. Later calls must pass the new
    terms (``dataclasses.replace(terms, method=..., annual_rate=...)``).
    """
    balance = schedule_balance(installments, on_date)
    if not balance:
        raise ScheduleError(_("Nothing is outstanding to restructure."))
    return schedule_regenerate(
        terms,
        installments,
        on_date=on_date,
        principal=balance,
        carried_interest=schedule_accrued_interest(installments, on_date, terms=terms),
        term_months=term_months,
        method=method,
        annual_rate=annual_rate,
        grace_months=grace_months,
    )


# ---------------------------------------------------------------------------
# Reading a schedule on a date
# ---------------------------------------------------------------------------
@_exact
def schedule_balance(installments: list[Installment], on_date: datetime.date) -> Decimal:
    """Scheduled principal outstanding after the installments due on or before ``on_date``."""
    if not installments:
        raise ScheduleError(_("The schedule is empty."))
    if _plain_date(on_date) < installments[0].period_start:
        raise ScheduleError(_("The date is before the disbursement date."))
    current = _current(installments, on_date)
    if current is None:
        return installments[-1].remaining_principal
    if on_date < current.period_start:
        raise ScheduleError(_("The schedule was rebuilt after this date."))
    return current.principal + current.remaining_principal


@_exact
def schedule_accrued_interest(
    installments: list[Installment], on_date: datetime.date, *, terms: ScheduleTerms
) -> Decimal:
    """Interest accrued from the current period's start to ``on_date`` on the scheduled balance.

    Actual days at ``annual / basis`` (basis 360 for 30/360 as well), plus any interest carried
    into the period, never more than the period's scheduled interest. 0 on a due date and after
    maturity (late interest is a penalty, not schedule interest).
    """
    balance = schedule_balance(installments, on_date)
    current = _current(installments, on_date)
    if current is None:
        return ZERO
    days = (on_date - current.period_start).days
    accrued = (balance * terms.annual_rate * days / _BASIS[terms.day_count]).quantize(CENT, ROUND_HALF_UP)
    return min(current.interest, current.carried_interest + accrued)


@_exact
def payoff_quote(
    installments: list[Installment],
    on_date: datetime.date,
    *,
    terms: ScheduleTerms,
    principal: Decimal | None = None,
    fee_rate: Decimal = ZERO,
) -> PayoffQuote:
    """What settles the loan (or, with ``principal``, prepays that much of it) on ``on_date``.

    Principal outstanding after the installments due on or before ``on_date`` (those are owed as
    installments, paid or overdue, and are not part of the quote), interest accrued on the whole
    balance to ``on_date`` (:func:`schedule_accrued_interest`), and ``fee_rate`` × the principal
    repaid early, rounded half-up to the cent.
    """
    balance = schedule_balance(installments, on_date)
    if principal is None:
        principal = balance
    else:
        principal = _cents(principal)
        if not 0 < principal <= balance:
            raise ScheduleError(_("A prepayment must be more than 0 and at most the outstanding principal."))
    fee_rate = _decimal(fee_rate, _("fee rate"))
    if not 0 <= fee_rate <= _MAX_RATE:
        raise ScheduleError(_("The fee rate must be between 0 and 1."))
    interest = schedule_accrued_interest(installments, on_date, terms=terms)
    fee = (principal * fee_rate).quantize(CENT, ROUND_HALF_UP)
    return PayoffQuote(on_date, principal, interest, fee, principal + interest + fee)


# ---------------------------------------------------------------------------
# Business days
# ---------------------------------------------------------------------------
# The library's own is_workday() re-derives its year range on every call (~20 µs); its public
# tables give the same answer for a dictionary look-up (a test compares every day).
_HOLIDAYS = chinese_calendar.holidays
_WORKDAYS = chinese_calendar.workdays
_CALENDAR_YEARS = range(min(_HOLIDAYS).year, max(_HOLIDAYS).year + 1)


def business_day_is(day: datetime.date) -> bool:
    """A working day in mainland China: adjusted working days (调休) count, public holidays do not.
    Outside the years ``chinese-calendar`` has data for, every weekday is a business day."""
    if day.year in _CALENDAR_YEARS:
        return day in _WORKDAYS or (day.weekday() < 5 and day not in _HOLIDAYS)
    return day.weekday() < 5


def business_day_following(day: datetime.date) -> datetime.date:
    """``day`` if it is a business day, else the next one."""
    while not business_day_is(day):
        day += _ONE_DAY
    return day


# ---------------------------------------------------------------------------
# Internals
# ---------------------------------------------------------------------------
def _decimal(value, label) -> Decimal:
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | str) and not isinstance(value, bool):
        try:
            result = Decimal(value)
        except InvalidOperation:
            result = None
    else:
        result = None
    if result is None or not result.is_finite():
        raise ScheduleError(_("Not a decimal number: %(label)s.") % {"label": label})
    return result


def _cents(value) -> Decimal:
    """A non-negative amount in whole cents (at most 10^13), as a two-place Decimal."""
    amount = _decimal(value, _("amount"))
    if not 0 <= amount <= _MAX_AMOUNT or amount != amount.quantize(CENT):
        message = _("Amounts must be non-negative, in whole cents and at most %(max)s.")
        raise ScheduleError(message % {"max": f"{_MAX_AMOUNT:,.0f}"})
    return amount.quantize(CENT)


def _check_rate(rate: Decimal) -> Decimal:
    if not 0 <= rate <= _MAX_RATE:
        raise ScheduleError(_("The annual rate must be between 0 and 1 (e.g. 0.12 for 12%)."))
    return rate


def _check_term(months) -> None:
    if not isinstance(months, int) or isinstance(months, bool) or not 1 <= months <= _MAX_TERM_MONTHS:
        raise ScheduleError(_("The term must be 1 to %(max)d months.") % {"max": _MAX_TERM_MONTHS})


def _method(value) -> Method:
    try:
        return Method(value)
    except ValueError:
        raise ScheduleError(_("Unknown repayment method: %(value)s.") % {"value": value})


def _plain_date(value) -> datetime.date:
    if isinstance(value, datetime.datetime) or not isinstance(value, datetime.date):
        raise ScheduleError(_("A date is required."))
    return value


def _month_index(day: datetime.date) -> int:
    return day.year * 12 + day.month - 1


def _series_date(index: int, anchor: int) -> datetime.date:
    """The repayment-day date of month ``index`` (year * 12 + month - 1), clamped to the month's end."""
    year, month = divmod(index, 12)
    if anchor > 28:
        last = _MONTH_DAYS[month] if month != 1 else 29 if calendar.isleap(year) else 28
        if anchor > last:
            anchor = last
    return datetime.date(year, month + 1, anchor)


def _series_after(day: datetime.date, anchor: int) -> datetime.date:
    candidate = _series_date(_month_index(day), anchor)
    return candidate if candidate > day else _series_date(_month_index(day) + 1, anchor)


def _period(start, due, anchor, thirty, shift):
    """``(start, due, pay_date, days)``; a run of whole months of the series counts 30 each in 30/360."""
    months = _month_index(due) - _month_index(start)
    if thirty and months > 0 and start == _series_date(_month_index(due) - months, anchor):
        days = 30 * months
    else:
        days = (due - start).days
    return start, due, business_day_following(due) if shift else due, days


def _build_periods(start, first_due, anchor, count, months_to_maturity, thirty, shift):
    first = _month_index(first_due)
    if count == 1:
        return (_period(start, _series_date(first + months_to_maturity - 1, anchor), anchor, thirty, shift),)
    periods = [_period(start, first_due, anchor, thirty, shift)]
    previous = first_due
    year, month = divmod(first, 12)  # month from 0
    make_date = datetime.date
    for _month in range(1, count):  # each a whole month after the previous due date
        month += 1
        if month == 12:
            year, month = year + 1, 0
        day = anchor
        if day > 28:
            last = _MONTH_DAYS[month] if month != 1 else 29 if calendar.isleap(year) else 28
            if day > last:
                day = last
        due = pay = make_date(year, month + 1, day)
        if shift:
            while not business_day_is(pay):
                pay += _ONE_DAY
        periods.append((previous, due, pay, 30 if thirty else (due - previous).days))
        previous = due
    return tuple(periods)


def _rates(rate, periods, basis) -> list[Decimal]:
    days = [period[3] for period in periods]
    per_days = {d: rate * d / basis for d in set(days)}
    return [per_days[d] for d in days]


def _annuity(balance: Decimal, rates: list[Decimal], carried: Decimal) -> Decimal:
    """The level amount that repays ``balance`` (and ``carried`` at the first period's end)."""
    first = rates[0]
    if carried or any(r != first for r in rates):
        total, growth, later = ZERO, _ONE, _ONE
        for r in reversed(rates):
            total += growth
            later = growth
            growth *= _ONE + r
        amount = (balance * growth + carried * later) / total
    elif first:
        growth = (_ONE + first) ** len(rates)
        amount = balance * first * growth / (growth - _ONE)
    else:
        amount = balance / len(rates)
    return amount.quantize(CENT, ROUND_HALF_UP)


def _rows(*, balance, rates, periods, method, grace, carried, number, level=None, part=None) -> list[Installment]:
    count = len(periods)
    last = count - 1
    annuity = method is Method.EQUAL_INSTALLMENT
    interest_only = grace  # installments before this one repay no principal
    if annuity and level is None:
        amount = _annuity(balance, rates[grace:], ZERO if grace else carried)
        # A first period long enough for its interest to reach the level amount would need a
        # negative principal part: it pays its interest only and the rest amortise without it.
        while interest_only < last and _first_interest(balance, rates, interest_only, carried) >= amount:
            interest_only += 1
            amount = _annuity(balance, rates[interest_only:], ZERO)
    elif annuity:
        amount = level
    elif method is Method.EQUAL_PRINCIPAL:
        amount = part if part is not None else (balance / (count - grace)).quantize(CENT, ROUND_HALF_UP)
    else:
        amount = None  # interest only / bullet: principal at the last installment
    quantize = Decimal.quantize
    rows = []
    append = rows.append
    extra = carried
    for k in range(count):
        interest = quantize(balance * rates[k], CENT, ROUND_HALF_UP)
        if extra:
            interest += extra
        if k == last:
            principal = balance
        elif amount is None or k < interest_only:
            principal = ZERO
        elif annuity:
            principal = amount - interest
            if principal >= balance:
                principal = balance
            elif principal < ZERO:
                principal = ZERO
        else:
            principal = amount if amount < balance else balance
        balance -= principal
        # tuple.__new__ skips the generated keyword-handling constructor (a third of the time per row).
        append(
            _new_row(
                Installment,
                (number + k, *periods[k], principal, interest, principal + interest, balance, k < grace, extra),
            )
        )
        if not balance:
            break
        extra = ZERO
    return rows


def _first_interest(balance, rates, k, carried):
    interest = (balance * rates[k]).quantize(CENT, ROUND_HALF_UP)
    return interest + carried if k == 0 else interest


def _current(installments, on_date):
    """The first installment due after ``on_date`` (the one whose period runs on that date)."""
    for installment in installments:
        if installment.due_date > on_date:
            return installment
    return None
