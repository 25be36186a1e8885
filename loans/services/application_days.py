"""The daily application sums (``loans.models.ApplicationDay``): GROUP BY queries, idempotent per day.

``application_days_sum(through=D)`` makes the rows of every local (Asia/Shanghai) day up to D
agree with the applications and loans as they are now. The first run sums all of history;
later runs sum the days after the last one summed, the last ``RECENT_DAYS`` days again, and
every day on which an application changed since the last run (``updated_at``,
``status_changed_at`` or ``scored_at``) was submitted, decided or created, and on which a loan
created since then was disbursed. It runs as the daily close's ``applications`` step and from
``manage.py portfolio_backfill``; D is never later than yesterday (a day is summed once it is over).

``application_day_rows(first, last)`` is the same sums computed live: the dashboard adds it for
the days the table does not cover yet (today).
"""

import datetime
from collections import defaultdict

from django.db import transaction
from django.db.models import BooleanField, Case, Count, ExpressionWrapper, F, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from loans.models import ApplicationDay, ApplicationDaysSummed, Loan, LoanApplication
from loansite.dashboard.periods import LocalDate, local_midnight, local_zone

RECENT_DAYS = 7
GRADE_POINTS = {"A": 1, "B": 2, "C": 3, "D": 4, "E": 5}
KEYS = ("date", "industry", "has_customer", "status")
COUNTERS = (
    "submitted",
    "submitted_amount",
    "score_sum",
    "score_count",
    "grade_sum",
    "grade_count",
    "decided",
    "decided_amount",
    "created",
    "created_amount",
    "disbursed",
    "disbursed_amount",
)


def grade_points():
    """An application's model grade as points (A=1 … E=5; none: NULL), for sums and averages."""
    return Case(
        *[When(score_grade=grade, then=Value(points)) for grade, points in GRADE_POINTS.items()],
        default=None,
        output_field=IntegerField(),
    )


def _application_groups(column: str, first: datetime.date, last: datetime.date):
    start, end = local_midnight(first), local_midnight(last + datetime.timedelta(days=1))
    return (
        LoanApplication.objects.filter(**{f"{column}__gte": start, f"{column}__lt": end})
        .values(
            date=LocalDate(column, window=(start, end)),
            industry=Coalesce(F("customer__industry"), Value("")),
            has_customer=ExpressionWrapper(Q(customer__isnull=False), output_field=BooleanField()),
            status_=F("status"),
        )
        .order_by()
    )


def application_day_rows(first: datetime.date, last: datetime.date) -> dict[tuple, dict]:
    """The sums of local days ``first`` … ``last`` computed from the applications and loans:
    ``{(date, industry, has_customer, status): {counter: value}}``; four GROUP BY queries."""
    rows: dict[tuple, dict] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))

    def add(groups, **names):
        for group in groups:
            key = (group["date"], group["industry"], bool(group["has_customer"]), group["status_"])
            row = rows[key]
            for counter, alias in names.items():
                row[counter] += group[alias] or 0

    add(
        _application_groups("submitted_at", first, last).annotate(
            n=Count("pk"),
            amount=Sum("amount"),
            scores=Sum("customer__credit_score"),
            scored=Count("customer__credit_score"),
            grades=Sum(grade_points()),
            graded=Count(grade_points()),
        ),
        submitted="n",
        submitted_amount="amount",
        score_sum="scores",
        score_count="scored",
        grade_sum="grades",
        grade_count="graded",
    )
    add(
        _application_groups("decided_at", first, last).annotate(
            n=Count("pk"), amount=Sum(Coalesce("approved_amount", "amount"))
        ),
        decided="n",
        decided_amount="amount",
    )
    add(
        _application_groups("created_at", first, last).annotate(n=Count("pk"), amount=Sum("amount")),
        created="n",
        created_amount="amount",
    )
    add(
        Loan.objects.filter(disbursement_date__gte=first, disbursement_date__lte=last)
        .values(
            date=F("disbursement_date"),
            industry=F("customer__industry"),
            has_customer=Value(True, output_field=BooleanField()),
            status_=F("application__status"),
        )
        .order_by()
        .annotate(n=Count("pk"), amount=Sum("principal")),
        disbursed="n",
        disbursed_amount="amount",
    )
    return dict(rows)


def _runs(days: list[datetime.date]) -> list[tuple[datetime.date, datetime.date]]:
    """Sorted days as runs of consecutive days: [(first, last), ...]."""
    runs: list[list[datetime.date]] = []
    for day in days:
        if runs and day == runs[-1][1] + datetime.timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(first, last) for first, last in runs]


def _local_date(value: datetime.datetime | None) -> datetime.date | None:
    return value.astimezone(local_zone()).date() if value else None


def _changed_days(since: datetime.datetime) -> set[datetime.date]:
    """The days whose sums an application or loan changed since ``since`` may have moved."""
    changed = LoanApplication.objects.filter(
        Q(updated_at__gte=since) | Q(status_changed_at__gte=since) | Q(scored_at__gte=since)
    ).values_list("submitted_at", "decided_at", "created_at")
    days = {_local_date(value) for row in changed.iterator(chunk_size=5000) for value in row}
    days |= set(Loan.objects.filter(created_at__gte=since).values_list("disbursement_date", flat=True).distinct())
    days.discard(None)
    return days


def _sum_days(days: list[datetime.date]) -> int:
    """Replace the rows of ``days`` (sorted) with fresh sums; returns the rows written."""
    written = 0
    for first, last in _runs(days):
        rows = application_day_rows(first, last)
        ApplicationDay.objects.filter(date__gte=first, date__lte=last).delete()
        ApplicationDay.objects.bulk_create(
            [
                ApplicationDay(date=day, industry=industry, has_customer=has_customer, status=status or "", **counters)
                for (day, industry, has_customer, status), counters in rows.items()
            ],
            batch_size=1000,
        )
        written += len(rows)
    return written


def _first_day() -> datetime.date | None:
    """The earliest day anything happened on (the first run sums from there)."""
    starts = [
        _local_date(LoanApplication.objects.order_by("created_at").values_list("created_at", flat=True).first()),
        _local_date(
            LoanApplication.objects.exclude(submitted_at=None)
            .order_by("submitted_at")
            .values_list("submitted_at", flat=True)
            .first()
        ),
        Loan.objects.order_by("disbursement_date").values_list("disbursement_date", flat=True).first(),
    ]
    starts = [day for day in starts if day is not None]
    return min(starts) if starts else None


def application_days_summed() -> ApplicationDaysSummed | None:
    return ApplicationDaysSummed.objects.first()


@transaction.atomic
def application_days_sum(*, through: datetime.date, full: bool = False) -> dict[str, int]:
    """Sum every day up to ``through`` (at most yesterday) that is not summed yet or may have
    changed since the last run (all of them when ``full``); see the module's docstring."""
    now = timezone.now()
    through = min(through, now.astimezone(local_zone()).date() - datetime.timedelta(days=1))
    state = ApplicationDaysSummed.objects.select_for_update().first()
    first = _first_day()
    if first is None or first > through:
        days: set[datetime.date] = set()
    elif state is None or full:
        ApplicationDay.objects.all().delete()
        days = {first + datetime.timedelta(days=i) for i in range((through - first).days + 1)}
    else:
        recent = through - datetime.timedelta(days=RECENT_DAYS - 1)
        start = max(first, min(state.through + datetime.timedelta(days=1), recent))
        days = {start + datetime.timedelta(days=i) for i in range((through - start).days + 1)}
        days |= {day for day in _changed_days(state.as_of) if first <= day <= through}
    rows = _sum_days(sorted(days))
    if state is None:
        ApplicationDaysSummed.objects.create(through=through, as_of=now)
    else:
        state.through, state.as_of = max(state.through, through), now
        state.save(update_fields=["through", "as_of"])
    return {"days": len(days), "rows": rows}


def application_days_close_day(ctx) -> dict[str, int]:
    """The daily close's ``applications`` step."""
    return application_days_sum(through=ctx.date)
