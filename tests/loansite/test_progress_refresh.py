"""Progress pages refresh themselves while work runs (a static script, no inline code, no meta
refresh): an import job's page and list, a matching run's, a scoring run's; once the run is done
the page renders without the refresh and stays still."""

import pytest
from django.urls import reverse

from customers.models import ImportJob, MatchingRun
from loansite import roles
from scoring.models import RunStatus, ScoringRun

pytestmark = pytest.mark.django_db
SCRIPT = "loansite/auto_refresh.js"


@pytest.fixture
def root(client, make_user):
    user = make_user("root", superuser=True, role=roles.ADMINISTRATOR)
    client.force_login(user)
    return user


def _refreshes(client, url) -> bool:
    html = client.get(url).content.decode()
    assert SCRIPT in html and 'http-equiv="refresh"' not in html
    return "data-auto-refresh=" in html


def test_import_job_page_and_list_refresh_until_the_job_is_done(client, root):
    job = ImportJob.objects.create(file_name="book.xlsx", file_format="xlsx", status="running", total_rows=5000)
    page = reverse("admin:customers_importjob_change", args=[job.pk])
    listing = reverse("admin:customers_importjob_changelist")
    assert _refreshes(client, page) and _refreshes(client, listing)
    job.status = ImportJob.Status.DONE
    job.save()
    assert not _refreshes(client, page) and not _refreshes(client, listing)


def test_matching_run_page_refreshes_while_queued(client, root):
    run = MatchingRun.objects.create(status="queued")
    assert _refreshes(client, reverse("admin:customers_matchingrun_change", args=[run.pk]))
    run.status = "done"
    run.save()
    assert not _refreshes(client, reverse("admin:customers_matchingrun_change", args=[run.pk]))


def test_scoring_run_list_refreshes_while_a_run_is_going(client, root):
    run = ScoringRun.objects.create(status=RunStatus.RUNNING, total=100)
    listing = reverse("admin:scoring_scoringrun_changelist")
    assert _refreshes(client, listing)
    assert _refreshes(client, reverse("admin:scoring_scoringrun_change", args=[run.pk]))
    run.status = RunStatus.SUCCEEDED
    run.save()
    assert not _refreshes(client, listing)


def test_admin_script_strings_in_chinese(client, root):
    """Django's own catalogue leaves the selector boxes' new strings in English."""
    script = client.get(reverse("admin:jsi18n"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "Choose all %s" in script and "\\u5168\\u9009%s" in script or "全选%s" in script
