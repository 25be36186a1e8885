import json
import random
import threading
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import TestCase

from audit import anchor
from audit.models import AuditEntry
from audit.selectors import audit_chain_verify
from audit.services import GENESIS_HASH, audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_chain(db):
    """Each test starts from an empty chain (migrations may have written entries)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry")
        cursor.execute("UPDATE audit_audithead SET seq = 0, hash = %s", [GENESIS_HASH])


def _write(n=5, **kwargs):
    """``n`` entries, each committed as in production (the anchor advances on commit)."""
    entries = []
    for i in range(1, n + 1):
        with TestCase.captureOnCommitCallbacks(execute=True):
            entries.append(
                audit_record(
                    action="update", target=("customers.customer", i, f"Customer {i}"), changes={"i": i}, **kwargs
                )
            )
    return entries


def test_entries_form_a_gapless_chain():
    entries = _write(4)
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert entries[0].prev_hash == GENESIS_HASH
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.prev_hash == before.hash
    assert audit_chain_verify().ok


def test_decimal_and_nested_changes_hash_as_stored():
    with TestCase.captureOnCommitCallbacks(execute=True):
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
    assert audit_chain_verify().ok  # nothing written, nothing anchored: nothing to prove
    _write(1)
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


# --- the anchor outside the database ---------------------------------------------------------


def test_missing_anchor_where_entries_exist_is_a_failure(settings):
    """Reproduced: with the anchor file removed, any chain passed as "intact"."""
    _write(3)
    settings.AUDIT_ANCHOR_FILE.unlink()
    problem = audit_chain_verify().problems[0]
    assert problem.kind == "anchor_missing"


def test_truncated_tail_with_the_anchor_removed_is_caught(settings):
    _write(4)
    settings.AUDIT_ANCHOR_FILE.unlink()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE seq >= 3")
    report = audit_chain_verify(stop_at_first=False)
    assert [(p.seq, p.kind) for p in report.problems] == [(3, "truncated"), (None, "anchor_missing")]


def test_whole_chain_deleted_with_the_anchor_removed_is_caught(settings, capsys):
    _write(3)
    settings.AUDIT_ANCHOR_FILE.unlink()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry")
    report = audit_chain_verify(stop_at_first=False)
    assert {p.kind for p in report.problems} == {"truncated", "anchor_missing"}
    with pytest.raises(CommandError):
        call_command("verify_audit", "--all")
    assert "anchor_missing" in capsys.readouterr().err


def test_head_row_ahead_of_the_chain_is_truncation_even_with_a_stale_anchor(settings):
    _write(3)
    saved = settings.AUDIT_ANCHOR_FILE.read_bytes()
    _write(2)
    settings.AUDIT_ANCHOR_FILE.write_bytes(saved)  # an older anchor put back
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE seq >= 4")
    problem = audit_chain_verify().problems[0]
    assert (problem.seq, problem.kind) == (4, "truncated")


def test_an_empty_unanchored_chain_passes():
    assert audit_chain_verify().ok


def test_per_machine_anchors_are_all_checked_and_the_highest_counts(settings, tmp_path):
    settings.AUDIT_ANCHOR_FILE = tmp_path / "anchors" / "head-{host}"
    entries = _write(3)
    own = anchor.anchor_path()
    assert own.exists() and "{host}" not in own.name
    # Another machine anchored entry 2 (consistent with the chain): fine.
    (tmp_path / "anchors" / "head-machine-b").write_text(f"{2:020d} {entries[1].hash}\n")
    assert audit_chain_verify().ok
    # Another machine anchored entry 5, which the chain no longer has: truncated.
    (tmp_path / "anchors" / "head-machine-c").write_text(f"{5:020d} {'a' * 64}\n")
    problem = audit_chain_verify().problems[0]
    assert (problem.seq, problem.kind) == (4, "truncated")
    assert "head-machine-c" in problem.detail


def test_per_machine_anchors_all_missing_is_a_failure(settings, tmp_path):
    settings.AUDIT_ANCHOR_FILE = tmp_path / "anchors" / "head-{host}"
    _write(2)
    anchor.anchor_path().unlink()
    assert audit_chain_verify().problems[0].kind == "anchor_missing"


def test_verify_command_checks_anchor_copies_given_on_the_command_line(tmp_path, capsys):
    entries = _write(3)
    copy = tmp_path / "from-machine-b"
    copy.write_text(f"{3:020d} {entries[2].hash}\n")
    call_command("verify_audit", "--anchor", str(copy))
    assert "2 anchor file(s), highest #3" in capsys.readouterr().out
    copy.write_text(f"{9:020d} {entries[2].hash}\n")
    with pytest.raises(CommandError):
        call_command("verify_audit", "--anchor", str(copy))
    assert "truncated" in capsys.readouterr().err


def test_shared_anchor_file_keeps_the_highest_sequence_under_concurrent_writers(settings):
    """Writers on several machines share one file: out-of-order commits never move it back."""
    order = list(range(1, 201))
    random.Random(7).shuffle(order)
    chunks = [order[i::8] for i in range(8)]

    def writer(seqs):
        for seq in seqs:
            anchor.anchor_advance(seq=seq, digest=f"{seq:064x}")

    threads = [threading.Thread(target=writer, args=(chunk,)) for chunk in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert anchor.anchor_read()["seq"] == 200
    assert anchor.anchor_read()["hash"] == f"{200:064x}"


def test_an_unreadable_anchor_is_a_failure(settings):
    _write(2)
    settings.AUDIT_ANCHOR_FILE.write_text("garbage")
    assert audit_chain_verify().problems[0].kind == "anchor_unreadable"
