"""The audit chain head kept outside the database, so a truncated or rewritten chain shows."""

import fcntl
import json
import os
from pathlib import Path

from django.conf import settings


def _path() -> Path:
    return Path(settings.AUDIT_ANCHOR_FILE)


def anchor_read() -> dict | None:
    path = _path()
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"seq": -1, "hash": "", "unreadable": True}


def anchor_advance(*, seq: int, digest: str) -> None:
    """Move the anchor forward; never backwards when processes commit out of order."""
    path = _path()
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_suffix(path.suffix + ".lock")
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = anchor_read()
        if current and not current.get("unreadable") and current.get("seq", 0) >= seq:
            return
        tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"seq": seq, "hash": digest}))
        os.replace(tmp, path)
