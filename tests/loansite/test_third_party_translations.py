"""Installed packages whose wheels ship no compiled Simplified Chinese catalogue read in Chinese
through the project's own copy (``loansite/locale_third_party``)."""

from django.utils import translation
from django_celery_results.models import GroupResult, TaskResult


def test_celery_results_admin_names_read_in_chinese():
    with translation.override("zh-hans"):
        assert str(TaskResult._meta.verbose_name_plural) == "任务结果"
        assert str(GroupResult._meta.verbose_name_plural) == "分组结果"
