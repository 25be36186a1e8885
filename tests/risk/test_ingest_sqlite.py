"""The batch path on SQLite: its own value converters write exactly what Django's would, and
its connections keep a page cache that holds a batch's index pages."""

import datetime
import zoneinfo

import pytest
from django.db import connection

from risk.inputs import transaction_input
from risk.models import Transaction
from risk.services.ingest import WRITE_CACHE_KIB, _adapter, _datetime_adapter, events_ingest
from tests.risk.factories import CustomerFactory, at

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    "value",
    [
        datetime.datetime(2026, 11, 30, 9, 15, 0, tzinfo=datetime.UTC),
        datetime.datetime(2026, 11, 30, 9, 15, 0, 123456, tzinfo=datetime.UTC),
        datetime.datetime(2026, 11, 30, 1, 15, 7, 5, tzinfo=SHANGHAI),  # the day before in UTC
        datetime.datetime(2026, 3, 1, 0, 0, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=-5))),
        datetime.datetime.fromisoformat("2026-11-30T09:15:00+00:00"),
        datetime.datetime(2026, 11, 30, 9, 15, 0),  # naive: written as given
    ],
)
def test_datetime_adapter_gives_what_django_gives(value, db):
    assert _datetime_adapter()(value) == connection.ops.adapt_datetimefield_value(value)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's page cache")
def test_scoring_widens_the_connections_page_cache(db):
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size = -2000")
    connection._risk_cache_widened = None
    customer = CustomerFactory()
    item, errors = transaction_input({"customer": customer.pk, "amount": "10.00", "occurred_at": at().isoformat()})
    assert not errors
    events_ingest(items=[item], source="api")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        assert cursor.fetchone()[0] == -WRITE_CACHE_KIB


@pytest.mark.parametrize(
    "value",
    [[], [{"rule": "large_amount", "version": 2, "points": 50, "detail": "12000.00 ≥ 10000"}], {}, {"a": [1, 2]}],
)
@pytest.mark.parametrize("column", ["rules_hit", "rule_versions"])
def test_json_adapter_gives_what_the_field_gives(value, column, db):
    field = Transaction._meta.get_field(column)
    assert _adapter(field)(value) == field.get_db_prep_save(value, connection)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id FROM t WHERE id IN (%s, %s, %s)",
        "SELECT CAST(strftime('%%s', occurred_at) AS INTEGER) FROM t WHERE a >= %s AND b <= %s",
        "SELECT 'c', 't', x FROM t WHERE y = %s UNION ALL SELECT 'c', 'l', x FROM u WHERE y = %s",
    ],
)
def test_reads_placeholders_rewritten_as_djangos_sqlite_cursor_does(sql):
    from django.db.backends.sqlite3.base import FORMAT_QMARK_REGEX

    from risk.services.ingest import _qmark

    assert _qmark(sql) == FORMAT_QMARK_REGEX.sub("?", sql).replace("%%", "%")
