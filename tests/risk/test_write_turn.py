"""On a SQLite file, scoring calls take their write transactions in turn on a lock file
beside the database (a waiter wakes as soon as it is free), not in SQLite's sleeping retries."""

import fcntl
import os

import pytest
from django.db import connections

from risk.services.ingest import _write_turn


def _free(path) -> bool:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def test_the_write_turn_holds_the_lock_file_beside_the_database(tmp_path, monkeypatch):
    default = connections["default"]
    monkeypatch.setitem(default.settings_dict, "NAME", str(tmp_path / "db.sqlite3"))
    monkeypatch.setattr(default, "is_in_memory_db", lambda: False)
    lock = tmp_path / "db.sqlite3-risk-write.lock"
    with _write_turn():
        assert lock.exists() and not _free(lock)
    assert _free(lock)


@pytest.mark.django_db
def test_no_turn_inside_an_outer_transaction(tmp_path, monkeypatch):
    default = connections["default"]
    monkeypatch.setitem(default.settings_dict, "NAME", str(tmp_path / "db.sqlite3"))
    monkeypatch.setattr(default, "is_in_memory_db", lambda: False)
    with _write_turn():  # the test's transaction holds the database already
        assert not (tmp_path / "db.sqlite3-risk-write.lock").exists()


def test_the_writes_are_weighed_in_the_lock_file_and_checkpointed_after_the_turn(tmp_path, monkeypatch):
    """The call that passes the weight checkpoints twice once its turn is over: first with the
    turn free (the bulk, others writing meanwhile), then in a turn of its own (the rest, so
    that the checkpoint reaches the end of the log and the next write starts it over)."""
    from risk.services import ingest

    default = connections["default"]
    monkeypatch.setitem(default.settings_dict, "NAME", str(tmp_path / "db.sqlite3"))
    monkeypatch.setattr(default, "is_in_memory_db", lambda: False)
    lock = tmp_path / "db.sqlite3-risk-write.lock"
    checkpoints = []
    monkeypatch.setattr(ingest, "_checkpoint", lambda: checkpoints.append(_free(lock)))
    # One-event calls weigh 10 each: the 1,600th reaches 16,000.
    for _ in range(1599):
        with _write_turn(1):
            pass
    assert checkpoints == []
    assert int(lock.read_text().strip()) == 15990
    with _write_turn(1):
        pass
    assert checkpoints == [True, False]  # with the turn free, then holding it
    assert int(lock.read_text().strip()) == 0
    # A 1,000-event batch weighs 1,000: the sixteenth checkpoints.
    for _ in range(15):
        with _write_turn(1000):
            pass
    assert checkpoints == [True, False]
    with _write_turn(1000):
        pass
    assert checkpoints == [True, False, True, False]
    assert _free(lock)


def test_a_failed_write_is_not_weighed(tmp_path, monkeypatch):
    default = connections["default"]
    monkeypatch.setitem(default.settings_dict, "NAME", str(tmp_path / "db.sqlite3"))
    monkeypatch.setattr(default, "is_in_memory_db", lambda: False)
    with pytest.raises(RuntimeError), _write_turn(5000):
        raise RuntimeError("rolled back")
    lock = tmp_path / "db.sqlite3-risk-write.lock"
    assert lock.read_text().strip() in ("", "0")
    assert _free(lock)
