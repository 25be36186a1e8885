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
