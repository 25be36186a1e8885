from django.core.management.base import BaseCommand, CommandError

from audit.selectors import audit_chain_verify


class Command(BaseCommand):
    help = "Verify the audit chain: keyed hashes, links, gaps and the external head anchor."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="List every problem, not only the first.")

    def handle(self, *args, **options):
        report = audit_chain_verify(stop_at_first=not options["all"])
        if report.ok:
            self.stdout.write(
                self.style.SUCCESS(f"Audit chain intact: {report.checked} entries, head #{report.head_seq}.")
            )
            return
        for problem in report.problems:
            where = f"entry #{problem.seq}" if problem.seq is not None else "chain"
            self.stderr.write(f"{problem.kind}: {where}: {problem.detail}")
        raise CommandError(f"Audit chain broken ({len(report.problems)} problem(s) after {report.checked} entries).")
