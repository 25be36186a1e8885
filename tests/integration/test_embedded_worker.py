"""The embedded default (no servers): SQLite, filesystem broker, results in the database,
and a real worker process, exactly as `make run` starts it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_task_round_trip_on_the_embedded_default(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "LOANSITE_INTEGRATION", "CELERY_BROKER_URL"}
    }
    env.update({"DJANGO_SETTINGS_MODULE": "loansite.settings", "LOANSITE_VAR_DIR": str(tmp_path)})
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=300)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "loansite", "worker", "-c", "1", "-l", "WARNING"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        code = (
            "from audit.services import audit_record; from audit.tasks import audit_verify_chain;"
            "audit_record(action='system', reason='embedded round trip');"
            "print(audit_verify_chain.delay().get(timeout=90))"
        )
        result = subprocess.run(
            [*manage, "shell", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=150
        )
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "{'ok': True, 'checked': 1, 'head_seq': 1, 'problems': []}"
    assert list((tmp_path / "broker" / "queue").iterdir()) == []  # the message was consumed
