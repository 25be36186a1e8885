"""Test settings: the real settings, with eager Celery for unit tests only.

The integration suite (``-m integration``) sets ``LOANSITE_INTEGRATION=1`` with a
MariaDB ``DATABASE_URL`` and a ``REDIS_URL``: no eager mode there, a real worker runs.
"""

import os
import tempfile

os.environ.setdefault("LOANSITE_VAR_DIR", tempfile.mkdtemp(prefix="loansite-test-var-"))

from loansite.settings import *  # noqa: F403
from loansite.settings import env

INTEGRATION = env.bool("LOANSITE_INTEGRATION", default=False)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = not INTEGRATION
CELERY_TASK_EAGER_PROPAGATES = True
if not INTEGRATION:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
AXES_ENABLED = True
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"auth": "1000/min"}}  # noqa: F405
# Tests sign in often from one address; the throttle tests set their own rates.
LOGIN_IP_RATE = "1000/m"

if INTEGRATION:
    # One test database per run, so that runs side by side on one server never collide.
    DATABASES["default"].setdefault("TEST", {})["NAME"] = f"test_loansite_{os.getpid()}"  # noqa: F405
    # And one task queue per run: a worker of another run on the same Redis never takes our tasks.
    CELERY_TASK_DEFAULT_QUEUE = env.str("LOANSITE_TEST_QUEUE", default=f"itest-{os.getpid()}")
