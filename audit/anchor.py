"""The audit chain head kept outside the database, so a truncated or rewritten chain shows.

One fixed-width record (``seq hash``) overwritten in place under an exclusive file lock:
cheap enough for every commit, and it never moves backwards when processes commit out
of order.
"""

import fcntl
import os
from pathlib import Path

from django.conf import settings

_RECORD = "{seq:020d} {digest}\n"
_RECORD_SIZE = 20 + 1 + 64 + 1


def _path() -> Path:
    return Path(settings.AUDIT_ANCHOR_FILE)


def _parse(raw: bytes) -> dict | None:
    if not raw:
        return None
    try:
        seq, digest = raw.decode().split()
        return {"seq": int(seq), "hash": digest}
    except ValueError:
        return {"seq": -1, "hash": "", "unreadable": True}


def anchor_read() -> dict | None:
    try:
        with open(_path(), "rb") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH)
            return _parse(handle.read(_RECORD_SIZE))
    except FileNotFoundError:
        return None
    except OSError:
        return {"seq": -1, "hash": "", "unreadable": True}


def anchor_advance(*, seq: int, digest: str) -> None:
    path = _path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        current = _parse(os.pread(fd, _RECORD_SIZE, 0))
        if current and not current.get("unreadable") and current["seq"] >= seq:
            return
        os.pwrite(fd, _RECORD.format(seq=seq, digest=digest).encode(), 0)
    finally:
        os.close(fd)
