"""The training stage the worker records in English shows in the reader's language."""

import pytest
from django.contrib import admin
from django.utils import translation

from scoring.admin import TrainingRunAdmin
from scoring.models import TrainingRun

pytestmark = pytest.mark.django_db


def test_done_stage_is_shown_in_chinese():
    """Reproduced: the training list said "Done" on a Chinese page."""
    run = TrainingRun(stage="Done", percent=100)
    shown = TrainingRunAdmin(TrainingRun, admin.site)
    with translation.override("zh-hans"):
        assert shown.stage_shown(run) == "已完成"
    with translation.override("en"):
        assert shown.stage_shown(run) == "Done"


def test_models_page_refreshes_itself_only_while_a_run_is_going(client, make_user):
    """Reproduced: the training and batch scoring progress did not move until reloaded by hand."""
    from loansite import roles
    from scoring.models import RunStatus

    client.force_login(make_user("ops", role=roles.MODEL_OPS))
    run = TrainingRun.objects.create(kind="approval", status=RunStatus.RUNNING, percent=40, stage="Training")
    html = client.get("/admin/scoring/modelversion/").content.decode()
    assert 'data-auto-refresh="5"' in html and "loansite/auto_refresh.js" in html
    run.status, run.percent, run.stage = RunStatus.SUCCEEDED, 100, "Done"
    run.save()
    html = client.get("/admin/scoring/modelversion/").content.decode()
    assert "data-auto-refresh" not in html
