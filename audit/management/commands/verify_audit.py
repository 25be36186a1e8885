from django.core.management.base import BaseCommand, CommandError

from audit import anchor
from audit.selectors import audit_chain_verify


class Command(BaseCommand):
    help = (
        "Verify the audit chain: keyed hashes, links, gaps, the database's head row and the head "
        "anchors kept outside the database (AUDIT_ANCHOR_FILE, plus any --anchor copies)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="List every problem, not only the first.")
        parser.add_argument(
            "--anchor",
            action="append",
            default=[],
            metavar="FILE",
            help="Also check this anchor file (e.g. a copy from another machine); may be repeated.",
        )

    def handle(self, *args, **options):
        report = audit_chain_verify(stop_at_first=not options["all"], anchor_files=options["anchor"])
        if report.ok:
            anchors = anchor.anchor_read_all(extra=options["anchor"])
            top = max((a["seq"] for a in anchors), default=0)
            self.stdout.write(
                self.style.SUCCESS(
                    f"Audit chain intact: {report.checked} entries, head #{report.head_seq}; "
                    f"{len(anchors)} anchor file(s), highest #{top}."
                )
            )
            return
        for problem in report.problems:
            where = f"entry #{problem.seq}" if problem.seq is not None else "chain"
            self.stderr.write(f"{problem.kind}: {where}: {problem.detail}")
        raise CommandError(f"Audit chain broken ({len(report.problems)} problem(s) after {report.checked} entries).")
