"""Fast multi-row INSERTs for rows that are already validated.

``bulk_create`` compiles every value of every field through the ORM and, on SQLite, is
limited to ~999 parameters per statement (33 rows of a 30-column table); here values go
straight to the driver with ``executemany``, and only the types the driver cannot take
as they are (datetimes, dates, JSON) and encrypted fields go through the field's
``get_db_prep_save``; keyed-hash columns are computed from their plain values.
"""

from django.db import connection, models
from django.utils import timezone

from loansite.fields import EncryptedCharField, KeyedHashField

_PREPARED = (models.DateTimeField, models.DateField, models.JSONField, EncryptedCharField)


def bulk_insert(model, rows: list[dict], *, chunk: int = 5000) -> None:
    """Insert ``rows`` (dicts of attname -> value); absent columns get the model's defaults."""
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    now = timezone.now()
    defaults = {}
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            defaults[f.attname] = now
        elif f.has_default():
            defaults[f.attname] = f.get_default()
        elif f.null:
            defaults[f.attname] = None
        else:
            defaults[f.attname] = ""
    prepared = {f.attname: f for f in fields if isinstance(f, _PREPARED)}
    hashed = [(f.attname, f, f.source_field().attname) for f in fields if isinstance(f, KeyedHashField)]
    plain_defaults = dict(defaults)
    for name, field in prepared.items():  # defaults are adapted once, row values per row
        if defaults[name] is not None:
            defaults[name] = field.get_db_prep_save(defaults[name], connection)
    names = [f.attname for f in fields]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), chunk):
            batch = []
            for row in rows[start : start + chunk]:
                values = {**defaults, **row}
                for name, field, source in hashed:
                    values[name] = field.hash_of(row[source] if source in row else plain_defaults[source])
                for name, field in prepared.items():
                    if row.get(name) is not None:
                        values[name] = field.get_db_prep_save(row[name], connection)
                batch.append([values[name] for name in names])
            cursor.executemany(sql, batch)
