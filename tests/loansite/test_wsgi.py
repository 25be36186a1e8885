"""What the WSGI module does once at start, before a server forks its workers."""

import os
import subprocess
import sys

from django.conf import settings


def test_the_start_loads_the_urlconf_and_freezes_its_objects_out_of_the_collector():
    script = (
        "import gc, sys\nimport loansite.wsgi\nprint(gc.get_freeze_count() > 10000, 'risk.api.urls' in sys.modules)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "loansite.settings"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["True", "True"]
