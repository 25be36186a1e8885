"""audit_batch: several entries appended to the chain with one lock of the head."""

import pytest
from django.db import connection, transaction
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEntry, AuditHead
from audit.selectors import audit_chain_verify
from audit.services import GENESIS_HASH, audit_batch, audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_chain(db):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry")
        cursor.execute("UPDATE audit_audithead SET seq = 0, hash = %s", [GENESIS_HASH])


def _record(i):
    return audit_record(action="update", target=("customers.customer", i, f"Customer {i}"), changes={"i": i})


def test_a_batch_appends_a_gapless_chain_reading_and_advancing_the_head_once():
    _record(1)
    with TestCase.captureOnCommitCallbacks(execute=True), transaction.atomic():
        with CaptureQueriesContext(connection) as queries, audit_batch():
            entries = [_record(i) for i in (2, 3, 4)]
            assert AuditEntry.objects.count() == 1  # nothing appended before the block ends
        heads = [q["sql"] for q in queries.captured_queries if "audit_audithead" in q["sql"]]
        inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT INTO")]
        assert len(heads) == 2 and len(inserts) == 1  # head read once and advanced once, one INSERT
    assert [e.seq for e in entries] == [2, 3, 4]
    stored = list(AuditEntry.objects.order_by("seq"))
    for before, after in zip(stored, stored[1:], strict=False):
        assert after.prev_hash == before.hash and after.created_at >= before.created_at
    assert AuditHead.objects.get(pk=1).seq == 4 and AuditHead.objects.get(pk=1).hash == stored[-1].hash
    assert audit_chain_verify().ok


def test_a_batch_left_by_an_exception_appends_nothing():
    with pytest.raises(RuntimeError), transaction.atomic(), audit_batch():
        _record(1)
        raise RuntimeError("boom")
    assert not AuditEntry.objects.exists() and AuditHead.objects.get(pk=1).seq == 0
    with TestCase.captureOnCommitCallbacks(execute=True):
        _record(2)
    assert AuditEntry.objects.get().seq == 1
    assert audit_chain_verify().ok


def test_a_nested_batch_joins_the_outer_one():
    with TestCase.captureOnCommitCallbacks(execute=True), transaction.atomic(), audit_batch():
        _record(1)
        with audit_batch():
            _record(2)
        assert not AuditEntry.objects.exists()
    assert list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True)) == [1, 2]
    assert audit_chain_verify().ok
