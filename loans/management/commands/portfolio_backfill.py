"""``manage.py portfolio_backfill [--since D] [--until D]``: the daily portfolio snapshots
(``loans.services.portfolio``) for every day that has per-loan snapshots."""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from loans.services.application_days import application_days_sum
from loans.services.portfolio import portfolio_backfill
from loansite.dashboard.selectors import dashboard_invalidate


def _date(value: str | None) -> datetime.date | None:
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"Not a date (YYYY-MM-DD): {value}") from exc


class Command(BaseCommand):
    help = (
        "Fill the daily portfolio snapshots the dashboard reads (book by bucket and class, vintages, "
        "month-end roll rates, customer mix) from the daily close's per-loan snapshots, one day at a "
        "time, oldest first, then the daily application sums of every day up to yesterday. Each day's "
        "rows are replaced, so running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", help="The first day (YYYY-MM-DD).")
        parser.add_argument("--until", help="The last day (YYYY-MM-DD).")

    def handle(self, *args, since=None, until=None, **options):
        first, last = _date(since), _date(until)
        if first and last and first > last:
            raise CommandError("--since is after --until.")

        def progress(day, counts, _closed):
            self.stdout.write(f"{day}: {counts}")

        done = portfolio_backfill(since=first, until=last, progress=progress)
        yesterday = timezone.localdate() - datetime.timedelta(days=1)
        summed = application_days_sum(through=yesterday, full=True)
        self.stdout.write(f"Application sums: {summed['days']} day(s), {summed['rows']} row(s).")
        dashboard_invalidate()
        if not done:
            self.stdout.write("No per-loan snapshots in that range: nothing to fill.")
        else:
            self.stdout.write(self.style.SUCCESS(f"{len(done)} day(s) filled, up to {done[-1][0]}."))
