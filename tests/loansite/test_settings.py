import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROD_ENV = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "k7#Qm2!vX9@pL4$wR8^tZ1&yN6*bH3(eJ5)cF0-gD7+aS2=uK9",
    "AUDIT_HMAC_KEY": "another-long-random-key-kept-outside-the-database",
    "ALLOWED_HOSTS": "loans.bank.internal",
    "DEBUG": "false",
}


def _manage(*args, **env):
    dropped = {*PROD_ENV, "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", "DATABASE_URL", "REDIS_URL"}
    full = {k: v for k, v in os.environ.items() if k not in dropped}
    full.update(env)
    full["DJANGO_SETTINGS_MODULE"] = "loansite.settings"
    full["LOANSITE_VAR_DIR"] = env.get("LOANSITE_VAR_DIR", "/tmp/loansite-settings-test")
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full, capture_output=True, text=True, timeout=120
    )


def test_production_passes_check_deploy_with_no_warnings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PROD_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set"),
        ({"DEBUG": "true"}, "DEBUG must be off"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS must be set"),
        ({"AUDIT_HMAC_KEY": ""}, "AUDIT_HMAC_KEY must be set"),
    ],
)
def test_production_refuses_unsafe_configuration(override, message):
    result = _manage("check", **{**PROD_ENV, **override})
    assert result.returncode != 0
    assert message in result.stderr


def test_database_and_redis_urls_switch_backends():
    code = (
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['OPTIONS']['charset'],"
        " s.CELERY_BROKER_URL, s.CACHES['default']['BACKEND'])"
    )
    result = _manage(
        "shell", "-c", code, DATABASE_URL="mysql://u:p@127.0.0.1:3306/loans", REDIS_URL="redis://127.0.0.1:6379/1"
    )
    assert result.stdout.strip().splitlines()[-1].split() == [
        "django.db.backends.mysql",
        "utf8mb4",
        "redis://127.0.0.1:6379/1",
        "django.core.cache.backends.redis.RedisCache",
    ], result.stderr


def test_embedded_default_is_sqlite_with_filesystem_broker(tmp_path):
    code = (
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['OPTIONS']['transaction_mode'],"
        " s.CELERY_BROKER_URL, s.CELERY_RESULT_BACKEND, s.CELERY_TASK_ALWAYS_EAGER)"
    )
    result = _manage("shell", "-c", code, LOANSITE_VAR_DIR=str(tmp_path))
    assert result.stdout.strip().splitlines()[-1].split() == [
        "django.db.backends.sqlite3",
        "IMMEDIATE",
        "filesystem://",
        "django-db",
        "False",
    ], result.stderr
