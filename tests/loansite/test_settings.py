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
    # Field encryption at rest (loansite/encryption.py): 32 bytes, base64; the hash key, long.
    "FIELD_ENCRYPTION_KEYS": "q8v2Hk1W0zL5n7RjT3yP9sD4fG6hJ2kL8mN0bV5cX1E=",
    "FIELD_HASH_KEY": "a-long-random-field-hash-key-kept-outside-the-database",
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
        ({"FIELD_ENCRYPTION_KEYS": ""}, "FIELD_ENCRYPTION_KEYS and FIELD_HASH_KEY must be set"),
        ({"FIELD_HASH_KEY": ""}, "FIELD_ENCRYPTION_KEYS and FIELD_HASH_KEY must be set"),
        ({"FIELD_ENCRYPTION_KEYS": "too-short"}, "must be 32 random bytes in base64"),
        ({"FIELD_HASH_KEY": "short"}, "FIELD_HASH_KEY must be at least 32 characters"),
        ({"FIELD_HASH_KEY": PROD_ENV["FIELD_ENCRYPTION_KEYS"]}, "FIELD_HASH_KEY must be a key of its own"),
        # A short or weak audit key, a wildcard host, a short secret key: refused too.
        ({"AUDIT_HMAC_KEY": "x"}, "AUDIT_HMAC_KEY must be a random value of at least 32 characters"),
        ({"AUDIT_HMAC_KEY": "a" * 40}, "AUDIT_HMAC_KEY must be a random value"),
        ({"AUDIT_HMAC_KEY": PROD_ENV["SECRET_KEY"]}, "other than SECRET_KEY"),
        ({"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS must name the hosts"),
        ({"ALLOWED_HOSTS": "loans.bank.internal,*"}, "ALLOWED_HOSTS must name the hosts"),
        ({"SECRET_KEY": "short-key"}, "SECRET_KEY must be a random value of at least 50 characters"),
        ({"CSRF_TRUSTED_ORIGINS": "https://*"}, "CSRF_TRUSTED_ORIGINS takes https:// origins"),
        ({"CSRF_TRUSTED_ORIGINS": "http://loans.bank.internal"}, "CSRF_TRUSTED_ORIGINS takes https:// origins"),
    ],
)
def test_production_refuses_unsafe_configuration(override, message):
    result = _manage("check", **{**PROD_ENV, **override})
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.parametrize("value", ["Production", "PRODUCTION", " production "])
def test_production_in_any_letter_case_is_production(value):
    """Reproduced: DJANGO_ENV=Production silently ran development mode with DEBUG on."""
    code = "from django.conf import settings as s; print(s.DJANGO_ENV, s.PRODUCTION, s.DEBUG)"
    result = _manage("shell", "-c", code, **{**PROD_ENV, "DJANGO_ENV": value})
    assert result.stdout.strip().splitlines()[-1].split() == ["production", "True", "False"], result.stderr
    # ... so the production checks apply to it as well.
    refused = _manage("check", **{**PROD_ENV, "DJANGO_ENV": value, "DEBUG": "true"})
    assert refused.returncode != 0 and "DEBUG must be off" in refused.stderr


@pytest.mark.parametrize("value", ["prod", "staging", "Prodution"])
def test_unknown_environment_is_refused(value):
    result = _manage("check", **{**PROD_ENV, "DJANGO_ENV": value})
    assert result.returncode != 0
    assert "DJANGO_ENV must be 'development' or 'production'" in result.stderr


def test_trusted_proxy_header_must_be_a_meta_name():
    result = _manage("check", TRUSTED_PROXY_IP_HEADER="X-Forwarded-For")
    assert result.returncode != 0
    assert "TRUSTED_PROXY_IP_HEADER is a request.META name" in result.stderr
    assert _manage("check", TRUSTED_PROXY_IP_HEADER="HTTP_X_FORWARDED_FOR").returncode == 0


def test_production_accepts_subdomain_csrf_origins():
    result = _manage("check", **{**PROD_ENV, "CSRF_TRUSTED_ORIGINS": "https://*.bank.internal,https://loans"})
    assert result.returncode == 0, result.stderr


def test_form_field_limit_is_back_to_a_sane_value():
    from django.conf import settings

    assert settings.DATA_UPLOAD_MAX_NUMBER_FIELDS == 2000


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


@pytest.mark.django_db
def test_every_answer_carries_the_content_security_policy(client):
    """Reproduced: no Content-Security-Policy header at all."""
    policy = client.get("/apply/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'self'" and directives["form-action"] == "'self'"
    assert "unsafe" not in policy
    assert "Content-Security-Policy" in client.get("/admin/login/")
    assert "Content-Security-Policy" in client.get("/api/v1/auth/me/")


@pytest.mark.django_db
def test_only_redoc_relaxes_the_policy_and_never_for_scripts(client):
    redoc = client.get("/api/redoc/")["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in redoc and "worker-src 'self' blob:" in redoc
    assert "script-src 'self';" in redoc + ";"
    assert "unsafe" not in client.get("/api/docs/")["Content-Security-Policy"]
