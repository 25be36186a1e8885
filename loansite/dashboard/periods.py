"""The dashboard's periods: this month, last 30 / 90 days, this year, or custom dates.

A period is ``[start, end)`` in aware date-times at local (Asia/Shanghai) midnight boundaries;
the previous period is the one of equal length just before it.
"""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import DateField, Func
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

PERIOD_CHOICES = (
    ("month", _("This month")),
    ("30d", _("Last 30 days")),
    ("90d", _("Last 90 days")),
    ("year", _("This year")),
    ("custom", _("Custom")),
)
DEFAULT_PERIOD = "month"


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_midnight(day: dt.date) -> dt.datetime:
    """The aware date-time at which local ``day`` begins."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=local_zone())


@dataclass(frozen=True)
class Period:
    key: str
    start: dt.datetime
    end: dt.datetime

    @property
    def previous(self) -> "Period":
        return Period(self.key, self.start - (self.end - self.start), self.start)

    @property
    def first_day(self) -> dt.date:
        return self.start.astimezone(local_zone()).date()

    @property
    def last_day(self) -> dt.date:
        return (self.end.astimezone(local_zone()) - dt.timedelta(microseconds=1)).date()

    @property
    def cache_key(self) -> str:
        return f"{self.start.isoformat()}_{self.end.isoformat()}"


def period_from(key: str | None, *, start: dt.date | None = None, end: dt.date | None = None, now=None) -> Period:
    """The period for a selector key; ``custom`` takes inclusive local dates ``start``..``end``."""
    now = (now or timezone.now()).astimezone(local_zone())
    today = now.date()
    tomorrow = local_midnight(today + dt.timedelta(days=1))
    if key == "custom" and start and end and start <= end:
        return Period("custom", local_midnight(start), local_midnight(end + dt.timedelta(days=1)))
    if key == "30d":
        return Period(key, local_midnight(today - dt.timedelta(days=29)), tomorrow)
    if key == "90d":
        return Period(key, local_midnight(today - dt.timedelta(days=89)), tomorrow)
    if key == "year":
        return Period(key, local_midnight(today.replace(month=1, day=1)), tomorrow)
    return Period("month", local_midnight(today.replace(day=1)), tomorrow)


def month_starts(*, months: int, now=None) -> list[dt.date]:
    """The first days of the last ``months`` local months, oldest first (this month last)."""
    today = (now or timezone.now()).astimezone(local_zone()).date()
    year, month = today.year, today.month
    out = []
    for _i in range(months):
        out.append(dt.date(year, month, 1))
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(out))


def fixed_offset_seconds(start: dt.datetime, end: dt.datetime) -> int | None:
    """The local zone's UTC offset in seconds when it is the same at both ends of a window
    (Asia/Shanghai: always, no daylight saving since 1991), else None."""
    zone = local_zone()
    first, last = start.astimezone(zone).utcoffset(), end.astimezone(zone).utcoffset()
    return int(first.total_seconds()) if first == last else None


class LocalDate(Func):
    """The local calendar date of an aware date-time column, computed in the database.

    MySQL/MariaDB: the column (stored in UTC) plus the zone's offset over ``window``
    (``DATE(DATE_ADD(col, INTERVAL 28800 SECOND))`` for Asia/Shanghai), which needs no time
    zone tables: Django's own ``CONVERT_TZ(col, 'UTC', 'Asia/Shanghai')`` gives NULL on a server
    whose zone tables were never loaded (``mariadb-install-db`` does not load them). Where the
    offset changes inside the window, the named zone is used (then the tables are needed).
    SQLite: ``DATE(col, '+28800 seconds')`` likewise (the column is stored as UTC text), else
    Django's conversion with Python's zoneinfo (a Python call per row).
    """

    output_field = DateField()
    arity = 1

    def __init__(self, expression, *, window: tuple[dt.datetime, dt.datetime]):
        super().__init__(expression)
        self.offset = fixed_offset_seconds(*window)

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        tzname = str(local_zone())
        if connection.vendor == "mysql" and self.offset is not None:
            return f"DATE(DATE_ADD({sql}, INTERVAL {self.offset} SECOND))", params
        if connection.vendor == "sqlite" and self.offset is not None:
            return f"DATE({sql}, '{self.offset:+d} seconds')", params
        return connection.ops.datetime_cast_date_sql(sql, tuple(params), tzname)
