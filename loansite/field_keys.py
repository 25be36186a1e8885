"""Re-encrypting and re-hashing the encrypted columns after a key change (``rotate_field_keys``).

Every model with an encrypted field is walked in primary-key order, ``chunk`` rows
at a time, each chunk in its own transaction: a value not encrypted with the first key of
``FIELD_ENCRYPTION_KEYS`` is re-encrypted with it (a value still in plain text is
encrypted), and a keyed hash that differs from the one under the current
``FIELD_HASH_KEY`` is rewritten. Rows already current are left alone, so the command can
be stopped and run again: it carries on where the keys are still old. One audit entry
records the counts.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps
from django.db import connection, transaction

from audit.models import AuditAction
from audit.services import audit_record
from loansite.encryption import field_decrypt, field_encrypt, keyring, token_key_id
from loansite.fields import KeyedHashField

CHUNK = 2000


@dataclass
class ColumnCount:
    scanned: int = 0
    reencrypted: int = 0
    encrypted_plain: int = 0
    rehashed: int = 0

    def as_dict(self) -> dict:
        return {
            "scanned": self.scanned,
            "reencrypted": self.reencrypted,
            "encrypted_plain": self.encrypted_plain,
            "rehashed": self.rehashed,
        }


@dataclass
class RotationReport:
    key_id: str
    dry_run: bool
    columns: dict[str, ColumnCount] = field(default_factory=dict)
    rows_written: int = 0

    def as_dict(self) -> dict:
        return {
            "key_id": self.key_id,
            "dry_run": self.dry_run,
            "rows_written": self.rows_written,
            "columns": {name: count.as_dict() for name, count in self.columns.items()},
        }


def _encrypted(field) -> bool:
    return getattr(field, "encrypted", False)


def encrypted_models() -> list:
    return [m for m in apps.get_models() if any(_encrypted(f) for f in m._meta.concrete_fields)]


def field_keys_rotate(
    *, chunk: int = CHUNK, dry_run: bool = False, progress: Callable[[str], None] | None = None
) -> RotationReport:
    """Bring every encrypted value and keyed hash to the current keys (see the module docstring)."""
    report = RotationReport(key_id=keyring().primary_id, dry_run=dry_run)
    for model in encrypted_models():
        _rotate_model(model, report, chunk=chunk, dry_run=dry_run, progress=progress)
    if not dry_run:
        audit_record(
            action=AuditAction.SYSTEM,
            target=("loansite.fieldkeys", "", "rotate_field_keys"),
            changes=report.as_dict(),
            reason="Encrypted columns brought to the current encryption and hash keys.",
        )
    return report


def _rotate_model(model, report: RotationReport, *, chunk: int, dry_run: bool, progress) -> None:
    quote = connection.ops.quote_name
    opts = model._meta
    encrypted = [f for f in opts.concrete_fields if _encrypted(f)]
    hashes = {f.source: f for f in opts.concrete_fields if isinstance(f, KeyedHashField)}
    pk, table = quote(opts.pk.column), quote(opts.db_table)
    columns = [f.column for f in encrypted] + [hashes[f.name].column for f in encrypted if f.name in hashes]
    # Locked while the chunk is rewritten (MySQL; SQLite's write transaction locks the file).
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    select = (
        f"SELECT {pk}, {', '.join(quote(c) for c in columns)} FROM {table} "
        f"WHERE {{where}} ORDER BY {pk} LIMIT {int(chunk)}{lock}"
    )
    update = f"UPDATE {table} SET {', '.join(f'{quote(c)} = %s' for c in columns)} WHERE {pk} = %s"
    counts = {f.name: report.columns.setdefault(f"{opts.label}.{f.name}", ColumnCount()) for f in encrypted}
    primary, after = keyring().primary_id, None
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            if after is None:
                cursor.execute(select.format(where="1 = 1"))
            else:
                cursor.execute(select.format(where=f"{pk} > %s"), [after])
            rows = cursor.fetchall()
            if not rows:
                break
            batch = []
            for row in rows:
                values = _rotate_row(row, encrypted, hashes, counts, primary)
                if values is not None:
                    batch.append([*values, row[0]])
            if batch and not dry_run:
                cursor.executemany(update, batch)
            report.rows_written += len(batch)
        after = rows[-1][0]
        if progress is not None:
            progress(f"{opts.label}: up to id {after}, {report.rows_written} rows to rewrite so far")


def _rotate_row(row, encrypted, hashes, counts, primary) -> list | None:
    """The row's new column values, or ``None`` when it is current."""
    stored = list(row[1:])
    tokens, hashed = stored[: len(encrypted)], stored[len(encrypted) :]
    new_tokens, new_hashes, changed = [], [], False
    hash_index = 0
    for field_, token in zip(encrypted, tokens, strict=True):
        count = counts[field_.name]
        count.scanned += bool(token)
        plain = token
        kid = token_key_id(token) if token else None
        if token and kid is None:
            count.encrypted_plain += 1
            new_tokens.append(field_encrypt(token))
            changed = True
        elif kid is not None and kid != primary:
            plain = field_decrypt(token, where=f"{field_.model._meta.label}.{field_.name}")
            count.reencrypted += 1
            new_tokens.append(field_encrypt(plain))
            changed = True
        else:
            if kid is not None:
                plain = field_decrypt(token, where=f"{field_.model._meta.label}.{field_.name}")
            new_tokens.append(token)
        if field_.name in hashes:
            expected = hashes[field_.name].hash_of(plain)
            if expected != hashed[hash_index]:
                count.rehashed += 1
                changed = True
            new_hashes.append(expected)
            hash_index += 1
    return [*new_tokens, *new_hashes] if changed else None


# -- data migrations ------------------------------------------------------------------------


def migration_rewrite(apps, schema_editor, *, model: str, fields: list[str], forwards: bool, chunk: int = CHUNK):
    """A data migration's step: encrypt ``fields`` of ``model`` in place and fill their hash
    columns (``forwards``), or decrypt them and empty the hashes (backwards).

    Plain SQL on the historical model's columns, ``chunk`` rows per transaction (each one
    committed where schema changes are not transactional, as on MySQL); values already
    in the wanted state are kept, so an interrupted run can be repeated.
    """
    historical = apps.get_model(model)
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    opts = historical._meta
    encrypted = [opts.get_field(name) for name in fields]
    hashes = {f.source: f for f in opts.concrete_fields if isinstance(f, KeyedHashField)}
    columns, pk, table = [f.column for f in encrypted], quote(opts.pk.column), quote(opts.db_table)
    hashed = [f for f in encrypted if f.name in hashes]
    assignments = [f"{quote(c)} = %s" for c in columns] + [f"{quote(hashes[f.name].column)} = %s" for f in hashed]
    update = f"UPDATE {table} SET {', '.join(assignments)} WHERE {pk} = %s"
    select = f"SELECT {pk}, {', '.join(quote(c) for c in columns)} FROM {table} WHERE {pk} > %s ORDER BY {pk}"
    after = -(2**63)
    while True:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(f"{select} LIMIT {int(chunk)}", [after])
            rows = cursor.fetchall()
            if not rows:
                return
            batch = []
            for pk_value, *stored in rows:
                plain = [field_decrypt(v) if token_key_id(v) else v for v in stored]
                if forwards:
                    values = [field_encrypt(v) if v else v for v in plain]
                    values += [hashes[f.name].hash_of(plain[encrypted.index(f)]) for f in hashed]
                else:
                    values = plain + [None] * len(hashed)
                batch.append([*values, pk_value])
            cursor.executemany(update, batch)
        after = rows[-1][0]
