import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from audit import anchor
from audit.models import AuditEntry
from audit.selectors import audit_chain_verify
from audit.services import GENESIS_HASH, audit_record

pytestmark = pytest.mark.django_db


def _write(n=5, **kwargs):
    return [
        audit_record(action="update", target=("customers.customer", i, f"Customer {i}"), changes={"i": i}, **kwargs)
        for i in range(1, n + 1)
    ]


def test_entries_form_a_gapless_chain():
    entries = _write(4)
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert entries[0].prev_hash == GENESIS_HASH
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.prev_hash == before.hash
    assert audit_chain_verify().ok


def test_decimal_and_nested_changes_hash_as_stored():
    audit_record(
        action="update", target=("loans.loan", 1, "L1"), changes={"amount": [Decimal("1.10"), Decimal("2.25")]}
    )
    entry = AuditEntry.objects.get()
    assert entry.changes == {"amount": ["1.10", "2.25"]}
    assert audit_chain_verify().ok


def test_orm_refuses_update_and_delete():
    entry = _write(1)[0]
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).update(reason="x")
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()
    with pytest.raises(PermissionError):
        entry.delete()
    entry.reason = "changed"
    with pytest.raises(PermissionError):
        entry.save()


def test_raw_sql_edit_is_caught():
    _write(5)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET changes = %s WHERE seq = 3", [json.dumps({"i": 99})])
    report = audit_chain_verify()
    assert not report.ok
    assert (report.problems[0].seq, report.problems[0].kind) == (3, "edited")


def test_deleted_entry_in_the_middle_is_reported_missing():
    _write(5)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE seq = 2")
    problem = audit_chain_verify().problems[0]
    assert (problem.seq, problem.kind) == (2, "missing")


def test_rehashed_edit_without_the_key_breaks_the_next_link():
    """An attacker who edits an entry and recomputes a plain SHA-256 still fails (keyed hash)."""
    _write(3)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET hash = %s WHERE seq = 2", ["f" * 64])
    problem = audit_chain_verify().problems[0]
    assert problem.seq == 2 and problem.kind == "edited"


@pytest.mark.django_db(transaction=True)
def test_truncated_tail_is_caught_by_the_anchor():
    _write(4)  # each commits, advancing the anchor
    assert anchor.anchor_read()["seq"] == 4
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE seq = 4")
    problem = audit_chain_verify().problems[0]
    assert (problem.seq, problem.kind) == (4, "truncated")


@pytest.mark.django_db(transaction=True)
def test_fully_rewritten_chain_is_caught_by_the_anchor(settings):
    _write(3)
    # Rewrite everything with another key: internally consistent, but not the anchored head.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry")
        cursor.execute("UPDATE audit_audithead SET seq = 0, hash = %s", [GENESIS_HASH])
    settings.AUDIT_HMAC_KEY = "attacker"
    path = settings.AUDIT_ANCHOR_FILE
    saved = path.read_text()
    _write(3)
    path.write_text(saved)  # the attacker cannot rewrite the anchor outside the database
    settings.AUDIT_HMAC_KEY = "attacker"
    problems = audit_chain_verify().problems
    assert problems and problems[0].kind == "rewritten"


def test_rolled_back_change_leaves_no_entry():
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(action="update", target=("customers.customer", 1, "c"))
        raise RuntimeError("the change failed")
    assert AuditEntry.objects.count() == 0
    audit_record(action="update", target=("customers.customer", 1, "c"))
    assert AuditEntry.objects.get().seq == 1
    assert audit_chain_verify().ok


def test_verify_command_exit_codes(capsys):
    _write(3)
    call_command("verify_audit")
    assert "intact: 3 entries" in capsys.readouterr().out
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET actor_repr = 'someone' WHERE seq = 1")
    with pytest.raises(CommandError):
        call_command("verify_audit")
    assert "edited: entry #1" in capsys.readouterr().err


def test_request_context_is_recorded(client, make_user):
    from audit.context import RequestContext, activate, deactivate

    user = make_user("ctx")
    token = activate(RequestContext(ip="10.1.2.3", user_agent="UA/1", request_id="req-1", user=user))
    try:
        entry = audit_record(action="system")
    finally:
        deactivate(token)
    assert (entry.ip, entry.user_agent, entry.request_id, entry.actor, entry.actor_repr) == (
        "10.1.2.3",
        "UA/1",
        "req-1",
        user,
        "ctx",
    )
