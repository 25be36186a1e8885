#!/usr/bin/env bash
# The whole suite: unit tests (SQLite, eager Celery), then the integration suite
# (MariaDB + Redis + a real Celery worker), then the browser suite (headless Chromium).
# With LOANSITE_REQUIRE_SERVICES=1 (CI) a missing service fails the run instead of skipping.
set -uo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
require=${LOANSITE_REQUIRE_SERVICES:-0}
status=0

step() { printf '\n==> %s\n' "$*"; }

step "lint and checks"
.venv/bin/ruff check . || status=1
.venv/bin/ruff format --check . >/dev/null || { echo "ruff format would change files"; status=1; }
$py manage.py makemigrations --check --dry-run >/dev/null || { echo "missing migrations"; status=1; }
DJANGO_SETTINGS_MODULE=loansite.settings_test $py manage.py check || status=1

step "unit tests (SQLite)"
.venv/bin/pytest -m "not integration and not e2e" -n 2 -q -p no:randomly "$@"
rc=$?; [ $rc -ne 0 ] && status=1

step "integration tests (MariaDB, Redis, Celery worker)"
if env_lines=$(scripts/test-services.sh start 2>>var/services-start.log); then
  eval "$env_lines"
  LOANSITE_INTEGRATION=1 DATABASE_URL="$TEST_DATABASE_URL" REDIS_URL="$TEST_REDIS_URL" \
    .venv/bin/pytest -m integration -q "$@"
  rc=$?; [ $rc -ne 0 ] && status=1
else
  echo "MariaDB/Redis could not be started (see var/services-start.log)."
  if [ "$require" = "1" ]; then status=1; else echo "SKIPPED: integration suite (services unavailable)"; fi
fi

step "browser tests (headless Chromium)"
if [ -x /usr/bin/chromium ]; then
  .venv/bin/pytest -m e2e -q "$@"
  rc=$?; [ $rc -ne 0 ] && status=1
else
  echo "Chromium is not installed at /usr/bin/chromium."
  if [ "$require" = "1" ]; then status=1; else echo "SKIPPED: browser suite (no Chromium)"; fi
fi

scripts/test-services.sh stop >/dev/null 2>&1 || true
[ $status -eq 0 ] && step "all suites passed" || step "FAILED"
exit $status
