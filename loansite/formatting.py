"""One way to show money, percentages, ratios, dates and times, in English and Chinese.

- money: ``¥1,500,000.00`` (two places, thousands separators, the yuan sign; negative as
  ``-¥1,500.00``); ``money_plain`` leaves the sign out (table cells under a "¥" header).
- percentages: a fraction ``0.4`` is ``40.00 %`` in English and ``40.00%`` in Chinese.
- ratios (times, e.g. the current ratio): ``1.25``.
- dates ``2026-11-30`` and date-times ``2026-11-30 09:41`` (local time) in both languages:
  the same formats are Django's own (``loansite/formats``), so every admin list and page
  that shows a date without a filter shows it this way too.
- nothing (``None`` or ``""``) is an em dash ``—``, never "None" or "-".

Templates: ``{% load formatting %}`` then ``{{ x|money }}``, ``{{ x|money_plain }}``,
``{{ x|percent }}``, ``{{ x|ratio }}``, ``{{ x|datetime_short }}``, ``{{ x|date_short }}``,
``{{ x|or_dash }}``. Admin lists: ``money_column("amount")`` and friends below give a
``list_display`` entry with its header, sort order and right alignment.
"""

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.contrib import admin
from django.utils import timezone, translation
from django.utils.html import format_html

EMPTY = "—"
CURRENCY = "¥"
DATE_FORMAT = "%Y-%m-%d"
DATETIME_FORMAT = "%Y-%m-%d %H:%M"


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, float):
        number = Decimal(repr(value))
    else:
        try:
            number = Decimal(str(value).replace(",", "").strip())
        except InvalidOperation:
            return None
    return number if number.is_finite() else None


def _grouped(number: Decimal, places: int) -> str:
    quantum = Decimal(1).scaleb(-places)
    return f"{number.quantize(quantum, rounding=ROUND_HALF_UP):,.{places}f}"


def format_money(value, *, currency: bool = True, places: int = 2) -> str:
    """``1500000`` -> ``¥1,500,000.00``; ``None`` -> ``—``."""
    number = _decimal(value)
    if number is None:
        return EMPTY if value in (None, "") else str(value)
    text = _grouped(abs(number), places)
    sign = "-" if number < 0 and text.strip("0.,") else ""
    return f"{sign}{CURRENCY if currency else ''}{text}"


def format_number(value, *, places: int = 0) -> str:
    """A count or score with thousands separators: ``12345`` -> ``12,345``."""
    number = _decimal(value)
    if number is None:
        return EMPTY if value in (None, "") else str(value)
    return _grouped(number, places)


def _is_chinese() -> bool:
    return (translation.get_language() or "").lower().startswith("zh")


def format_percent(value, *, places: int = 2, fraction: bool = True) -> str:
    """A fraction ``0.4`` -> ``40.00 %`` (English) / ``40.00%`` (Chinese); with
    ``fraction=False`` the value is already in percent (``12`` -> ``12.00 %``)."""
    number = _decimal(value)
    if number is None:
        return EMPTY if value in (None, "") else str(value)
    if fraction:
        number *= 100
    text = _grouped(number, places)
    return f"{text}%" if _is_chinese() else f"{text} %"


def format_ratio(value, *, places: int = 2) -> str:
    """A ratio in times (the current ratio, a coverage): ``1.2500`` -> ``1.25``."""
    number = _decimal(value)
    if number is None:
        return EMPTY if value in (None, "") else str(value)
    return _grouped(number, places)


def format_datetime(value) -> str:
    """``2026-11-30 09:41`` in the current time zone; a plain date as ``2026-11-30``."""
    if value in (None, ""):
        return EMPTY
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.strftime(DATETIME_FORMAT)
    if isinstance(value, date):
        return value.strftime(DATE_FORMAT)
    return str(value)


def format_date(value) -> str:
    """``2026-11-30`` (a date-time is taken in the current time zone)."""
    if value in (None, ""):
        return EMPTY
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.date().strftime(DATE_FORMAT)
    if isinstance(value, date):
        return value.strftime(DATE_FORMAT)
    return str(value)


def or_dash(value) -> str:
    return EMPTY if value is None or value == "" else value


# --- admin list columns --------------------------------------------------------------------


def _column(field: str, formatter, description, ordering, css: str):
    def column(*args):
        # Called with the row, or (model_admin, row) when it is a ModelAdmin attribute.
        value = args[-1]
        for part in field.split("__"):
            value = getattr(value, part, None) if value is not None else None
        return format_html('<span class="{}">{}</span>', css, formatter(value))

    column.__name__ = f"{field}_formatted"
    return admin.display(description=description, ordering=ordering if ordering is not None else field)(column)


def money_column(field: str, description, *, ordering=None, currency: bool = True):
    """``list_display`` entry: ``¥1,500,000.00``, right-aligned, sorted by ``field``."""
    return _column(field, lambda v: format_money(v, currency=currency), description, ordering, "num money")


def percent_column(field: str, description, *, ordering=None, fraction: bool = True):
    return _column(field, lambda v: format_percent(v, fraction=fraction), description, ordering, "num")


def ratio_column(field: str, description, *, ordering=None):
    return _column(field, format_ratio, description, ordering, "num")


def datetime_column(field: str, description, *, ordering=None):
    return _column(field, format_datetime, description, ordering, "nowrap")
