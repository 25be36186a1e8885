"""``manage.py rotate_field_keys``: re-encrypt and re-hash the encrypted columns with the current keys.

Rotating the encryption key:
  1. FIELD_ENCRYPTION_KEYS=<new>,<old> on every machine, restart (new values use <new>, both read);
  2. manage.py rotate_field_keys (every value is rewritten under <new>; safe to stop and run again);
  3. FIELD_ENCRYPTION_KEYS=<new>, restart.
Rotating the hash key:
  1. FIELD_HASH_KEY=<new> and FIELD_HASH_KEY_PREVIOUS=<old>, restart (look-ups find either hash);
  2. manage.py rotate_field_keys (every hash is recomputed under <new>);
  3. unset FIELD_HASH_KEY_PREVIOUS, restart.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from loansite.encryption import FieldDecryptionError, key_generate
from loansite.field_keys import CHUNK, field_keys_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column with the first key of FIELD_ENCRYPTION_KEYS and recompute "
        "the keyed hashes under FIELD_HASH_KEY, in chunks (idempotent and resumable; audited)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--chunk", type=int, default=CHUNK, help="Rows per transaction.")
        parser.add_argument("--dry-run", action="store_true", help="Count what would change; write nothing.")
        parser.add_argument(
            "--generate-key", action="store_true", help="Print a new random key (for either setting) and exit."
        )

    def handle(self, *args, **options):
        if options["generate_key"]:
            self.stdout.write(key_generate())
            return
        if options["chunk"] < 1:
            raise CommandError("--chunk must be at least 1.")
        progress = (lambda line: self.stderr.write(line)) if options["verbosity"] > 1 else None
        try:
            report = field_keys_rotate(chunk=options["chunk"], dry_run=options["dry_run"], progress=progress)
        except FieldDecryptionError as exc:
            raise CommandError(f"{exc} Nothing after the last finished chunk was changed.") from exc
        verb = "would rewrite" if report.dry_run else "rewrote"
        for name, count in report.columns.items():
            self.stdout.write(
                f"{name}: {count.scanned} values, {count.reencrypted} re-encrypted, "
                f"{count.encrypted_plain} encrypted from plain text, {count.rehashed} re-hashed"
            )
        self.stdout.write(f"Current key {report.key_id}: {verb} {report.rows_written} rows.")
        if options["verbosity"] > 1:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
