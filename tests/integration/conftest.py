"""Integration suite: real MariaDB, real Redis, a real Celery worker process.

Run by ``scripts/run-tests.sh`` with ``LOANSITE_INTEGRATION=1``, ``DATABASE_URL`` pointing at
MariaDB and ``REDIS_URL`` at Redis. With ``LOANSITE_REQUIRE_SERVICES=1`` (CI) a missing
service fails the run; otherwise these tests are skipped.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = os.environ.get("LOANSITE_REQUIRE_SERVICES") == "1"


def _missing(reason: str):
    if REQUIRED:
        pytest.fail(f"integration service missing: {reason}", pytrace=False)
    pytest.skip(f"integration service missing: {reason}")


def pytest_collection_modifyitems(config, items):
    here = str(Path(__file__).parent)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session", autouse=True)
def _integration_services(request):
    if not any(item.get_closest_marker("integration") for item in request.session.items):
        return
    if not settings.INTEGRATION:
        _missing("run with LOANSITE_INTEGRATION=1 (make test-integration)")
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.mysql":
        _missing("DATABASE_URL does not point at MariaDB/MySQL")
    if not settings.REDIS_URL:
        _missing("REDIS_URL is not set")
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL).ping()
    except redis.RedisError as exc:
        _missing(f"Redis does not answer: {exc}")


_worker_anchor: list[Path] = []


@pytest.fixture(autouse=True)
def _reset_worker_anchor():
    """The database is emptied after each test; so is the worker's record of the chain head."""
    yield
    for path in _worker_anchor:
        path.unlink(missing_ok=True)


def _test_database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    return f"mysql://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 3306}/{db['NAME']}"


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real ``celery worker`` process on the test database and the Redis broker."""
    from loansite.celery import app

    with django_db_blocker.unblock():
        db_url = _test_database_url()
    var_dir = tmp_path_factory.mktemp("worker-var")
    log = open(var_dir / "worker.log", "w")  # noqa: SIM115 - closed at teardown
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "loansite.settings_test",
        "LOANSITE_INTEGRATION": "1",
        "DATABASE_URL": db_url,
        "REDIS_URL": settings.REDIS_URL,
        "LOANSITE_VAR_DIR": str(var_dir),
        # Same keys as the test process: the worker verifies and writes the same chain.
        "SECRET_KEY": settings.SECRET_KEY,
        "AUDIT_HMAC_KEY": settings.AUDIT_HMAC_KEY,
        # ... and the same field keys: it reads and writes the same encrypted columns.
        "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        "FIELD_HASH_KEY": settings.FIELD_HASH_KEY,
        "LOANSITE_TEST_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
    }
    hostname = f"itest-{os.getpid()}@localhost"
    _worker_anchor.append(var_dir / "audit-head.json")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "loansite", "worker", "-P", "prefork", "-c", "2", "-l", "INFO",
         "-n", hostname, "-Q", settings.CELERY_TASK_DEFAULT_QUEUE, "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"Celery worker exited early; log:\n{(var_dir / 'worker.log').read_text()}")
        replies = app.control.ping(destination=[hostname], timeout=1.0) or []
        if replies:
            break
    else:
        proc.terminate()
        pytest.fail(f"Celery worker did not answer; log:\n{(var_dir / 'worker.log').read_text()}")
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
