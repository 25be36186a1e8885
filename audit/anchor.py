"""The audit chain head kept outside the database, so a truncated or rewritten chain shows.

One fixed-width record (``seq hash``) overwritten in place under an exclusive file lock:
cheap enough for every commit, and it never moves backwards when processes commit out
of order.

Where it lives (``AUDIT_ANCHOR_FILE``) when several machines write the chain:

- one file on storage every application machine mounts and can write, but the database
  administrators cannot (e.g. an NFS export owned by the service account): every writer
  advances the same record under the lock, so it always holds the highest sequence; or
- one file per machine, with ``{host}`` in the path (``/srv/audit/head-{host}``) on such
  storage: nothing is shared between writers, and verification reads every file matching
  the pattern, so the highest sequence of any machine is the one the chain must reach.

A missing anchor where the chain has entries (or the database says some were written) is
a verification failure, never a pass.
"""

import fcntl
import glob
import os
import re
import socket
import threading
from pathlib import Path

from django.conf import settings

_RECORD = "{seq:020d} {digest}\n"
_RECORD_SIZE = 20 + 1 + 64 + 1
_HOST = "{host}"
# POSIX record locks (what flock becomes on NFS) belong to the process, not the thread.
_thread_lock = threading.Lock()


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname()) or "localhost"


def _pattern() -> str:
    return str(settings.AUDIT_ANCHOR_FILE)


def anchor_path() -> Path:
    """The file this machine advances."""
    return Path(_pattern().replace(_HOST, _host()))


def anchor_paths() -> list[Path]:
    """Every anchor file of the configuration: one, or one per machine (``{host}``)."""
    pattern = _pattern()
    if _HOST not in pattern:
        return [Path(pattern)]
    return sorted(Path(p) for p in glob.glob(glob.escape(pattern).replace(glob.escape(_HOST), "*")))


def _parse(raw: bytes) -> dict | None:
    if not raw:
        return None
    try:
        seq, digest = raw.decode().split()
        if len(digest) != 64:
            raise ValueError(digest)
        return {"seq": int(seq), "hash": digest}
    except ValueError:
        return {"seq": -1, "hash": "", "unreadable": True}


def anchor_read_file(path: Path) -> dict | None:
    """``{"seq", "hash", "path"}`` of one anchor file, ``None`` when it does not exist."""
    try:
        with _thread_lock, open(path, "rb") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH)
            record = _parse(handle.read(_RECORD_SIZE))
    except FileNotFoundError:
        return None
    except OSError:
        record = {"seq": -1, "hash": "", "unreadable": True}
    if record is None:  # created but never written: as good as missing
        return None
    return {**record, "path": str(path)}


def anchor_read_all(extra: list | None = None) -> list[dict]:
    """Every anchor found: the configured file(s) plus ``extra`` paths (copies collected from
    other machines)."""
    paths = [*anchor_paths(), *(Path(p) for p in extra or [])]
    return [record for record in (anchor_read_file(p) for p in dict.fromkeys(paths)) if record is not None]


def anchor_read() -> dict | None:
    """The highest anchor found (an unreadable one wins: it must be looked at)."""
    records = anchor_read_all()
    if not records:
        return None
    return max(records, key=lambda r: (bool(r.get("unreadable")), r["seq"]))


def anchor_advance(*, seq: int, digest: str) -> None:
    path = anchor_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with _thread_lock:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            current = _parse(os.pread(fd, _RECORD_SIZE, 0))
            if current and not current.get("unreadable") and current["seq"] >= seq:
                return
            os.pwrite(fd, _RECORD.format(seq=seq, digest=digest).encode(), 0)
        finally:
            os.close(fd)
