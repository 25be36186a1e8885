"""The batch path on SQLite: its own value converters write exactly what Django's would, and
its connections keep a page cache that holds a batch's index pages."""

import datetime
import zoneinfo

import pytest
from django.db import connection, connections

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


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's automatic checkpoint")
def test_scoring_commits_run_without_the_automatic_checkpoint_and_restore_it(db, monkeypatch):
    from risk.services.ingest import _commit_unchecked

    def setting():
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint")
            return cursor.fetchone()[0]

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint = 1234")
    wrapper = connections["default"]
    with monkeypatch.context() as patch:
        patch.setattr(wrapper, "is_in_memory_db", lambda: False)
        patch.setattr(wrapper, "in_atomic_block", False)  # as a scoring call outside a transaction
        with _commit_unchecked():
            assert setting() == 0
        assert setting() == 1234
        with pytest.raises(RuntimeError), _commit_unchecked():
            raise RuntimeError("rolled back")
        assert setting() == 1234


def test_device_uses_read_by_pair_equal_those_read_by_customer(db, monkeypatch):
    """SQLite looks up the (device, customer) pairs of the call; other databases read the
    customers' uses and keep those of the call's devices. Both give the same first uses."""
    from risk.models import Device, DeviceCustomer
    from risk.services.ingest import _devices_known, _links_read

    alice, bob, carol = CustomerFactory(), CustomerFactory(), CustomerFactory()
    phone, laptop, other = (Device.objects.create(fingerprint=f) for f in ("phone", "laptop", "other"))
    DeviceCustomer.objects.create(device=phone, customer=alice, first_seen_at=at(minutes=-60))
    DeviceCustomer.objects.create(device=laptop, customer=alice, first_seen_at=at(minutes=-30, seconds=7))
    DeviceCustomer.objects.create(device=phone, customer=bob, first_seen_at=at(minutes=-5))
    DeviceCustomer.objects.create(device=other, customer=carol, first_seen_at=at(minutes=-1))
    raws = [
        {"customer": alice.pk, "device": "phone"},
        {"customer": alice.pk, "device": "laptop"},
        {"customer": bob.pk, "device": "laptop"},  # a first use: not stored
        {"customer": carol.pk, "device": "phone"},  # not stored either
        {"customer": bob.pk},  # no device
    ]
    items = []
    for raw in raws:
        item, errors = transaction_input({**raw, "amount": "10.00", "occurred_at": at().isoformat()})
        assert not errors
        items.append(item)
    devices = _devices_known(items)
    customer_ids = {item.customer_id for item in items}
    expected = {
        (str(phone.pk), alice.pk): int(at(minutes=-60).timestamp()),
        (str(laptop.pk), alice.pk): int(at(minutes=-30, seconds=7).timestamp()),
    }
    assert _links_read(items, devices, customer_ids) == expected
    in_call = {(str(devices[item.device].pk), item.customer_id) for item in items if item.device in devices}
    with monkeypatch.context() as patch:
        patch.setattr(type(connections["default"]), "vendor", "other")
        by_customer = _links_read(items, devices, customer_ids)
    assert {pair: first for pair, first in by_customer.items() if pair in in_call} == expected
