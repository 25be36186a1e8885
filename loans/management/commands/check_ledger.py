"""``manage.py check_ledger [--loan NUMBER ...]``: the servicing invariants, non-zero exit on any break."""

from django.core.management.base import BaseCommand, CommandError

from loans.models import Loan
from loans.selectors.ledger import ledger_problems


class Command(BaseCommand):
    help = (
        "Check every loan's ledger against its balances and schedule (outstanding = disbursed - repaid - "
        "written off = unpaid schedule principal; a closed loan owes nothing) and every credit line's use."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loan", action="append", default=[], help="Check only this loan number (repeatable).")

    def handle(self, *args, loan, **options):
        loans = Loan.objects.filter(loan_number__in=loan) if loan else None
        checked = loans.count() if loans is not None else Loan.objects.count()
        problems = ledger_problems(loans=loans)
        for problem in problems:
            self.stderr.write(str(problem))
        if problems:
            raise CommandError(f"{len(problems)} problem(s) in {checked} loan(s) checked.")
        self.stdout.write(self.style.SUCCESS(f"{checked} loan(s): the ledger agrees."))
