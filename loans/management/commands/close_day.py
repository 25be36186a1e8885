"""``manage.py close_day [--date D] [--until D]``: the daily close (see ``loans.close``)."""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from loans.close import loan_close_day
from loansite.errors import ApplicationError


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"Not a date (YYYY-MM-DD): {value}") from exc


class Command(BaseCommand):
    help = (
        "Close the day: overdue installments, days past due and buckets, penalty and compound interest, "
        "classification, provisions and snapshots, reminders, delinquency signals. Without options: "
        "yesterday and every missed day before it, in order. --date closes that day only; --until closes "
        "every day from the one after the last closed (or --date) up to that day."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="The day to close (YYYY-MM-DD).")
        parser.add_argument("--until", help="Close every missed day up to this one (YYYY-MM-DD).")

    def handle(self, *args, date=None, until=None, **options):
        first = _date(date) if date else None
        last = _date(until) if until else (first or timezone.localdate() - datetime.timedelta(days=1))
        if first and first > last:
            raise CommandError("--date is after --until.")
        if last >= timezone.localdate():
            raise CommandError("Only a day that has ended can be closed.")

        def progress(close):
            took = (close.finished_at - close.started_at).total_seconds() if close.finished_at else 0
            self.stdout.write(f"{close.date}: {close.status} ({took:.1f} s) {close.counts}")

        try:
            closes = loan_close_day(date=last, since=first, progress=progress)
        except ApplicationError as exc:
            raise CommandError(str(exc)) from exc
        if not closes:
            self.stdout.write("Nothing to close.")
        else:
            self.stdout.write(self.style.SUCCESS(f"{len(closes)} day(s) closed, up to {closes[-1].date}."))
