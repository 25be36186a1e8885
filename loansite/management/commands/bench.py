import os
import platform
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from loansite.bench import BenchContext, benchmarks, figures_table


class Command(BaseCommand):
    help = (
        "Run the benchmarks on their own freshly migrated database and print one table: "
        "each figure next to a baseline measured in the same run."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale", type=float, default=1.0, help="1.0 = the sizes the issues name; 0.01 for a quick look."
        )
        parser.add_argument("--only", action="append", default=[], help="Run only benchmarks whose name contains this.")
        parser.add_argument("--output", default=str(settings.VAR_DIR / "bench" / "latest.md"))
        parser.add_argument(
            "--database-url",
            default="",
            help="Bench database (default: a fresh SQLite file under var/bench/). Its contents are replaced.",
        )
        parser.add_argument("--inner", action="store_true", help="(internal) run in the prepared bench database")

    def handle(self, *args, **options):
        if options["inner"]:
            return self._run(options)
        workdir = Path(settings.VAR_DIR) / "bench"
        workdir.mkdir(parents=True, exist_ok=True)
        db_url = options["database_url"]
        if not db_url:
            db_file = workdir / "bench.sqlite3"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db_file}{suffix}").unlink(missing_ok=True)
            db_url = f"sqlite:///{db_file}"
        env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "AUDIT_ANCHOR_FILE": str(workdir / "audit-head.json"),
            "LOANSITE_BENCH": "1",
            "DEBUG": "false",
        }
        Path(env["AUDIT_ANCHOR_FILE"]).unlink(missing_ok=True)
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        if not options["database_url"]:
            subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True)
        else:
            subprocess.run([*manage, "flush", "--noinput", "-v", "0"], env=env, check=False)
            subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True)
        cmd = [*manage, "bench", "--inner", "--scale", str(options["scale"]), "--output", options["output"]]
        for only in options["only"]:
            cmd += ["--only", only]
        result = subprocess.run(cmd, env=env)
        if result.returncode:
            raise CommandError("A benchmark failed.")

    def _run(self, options):
        if os.environ.get("LOANSITE_BENCH") != "1":
            raise CommandError("--inner runs only inside `manage.py bench`.")
        workdir = Path(settings.VAR_DIR) / "bench"
        ctx = BenchContext(scale=options["scale"], workdir=workdir, log=lambda m: self.stderr.write(m))
        figures = []
        for bench in benchmarks():
            if options["only"] and not any(o in bench.name for o in options["only"]):
                continue
            ctx.log(f"[bench] {bench.name} ...")
            figures.extend(bench.func(ctx))
        vendor = _db_description()
        header = (
            f"Measured {timezone.localtime().strftime('%Y-%m-%d %H:%M %Z')} on {platform.machine()}, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}, {vendor}, scale {options['scale']}.\n\n"
        )
        table = header + figures_table(figures)
        self.stdout.write(table)
        Path(options["output"]).parent.mkdir(parents=True, exist_ok=True)
        Path(options["output"]).write_text(table)


def _db_description() -> str:
    from django.db import connection

    if connection.vendor == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT VERSION()")
        return f"{connection.vendor} {cursor.fetchone()[0]}"
