"""Batch actions beyond DATA_UPLOAD_MAX_NUMBER_FIELDS: the confirmation goes through select-across."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from loans.models import LoanApplication
from tests.loans.factories import ApplicationFactory

S = LoanApplication.Status
CHANGELIST = reverse("admin:loans_loanapplication_changelist")


@pytest.fixture
def many_pending(officer, product):
    now = timezone.now()
    return [
        ApplicationFactory(
            product=product,
            status=S.SUBMITTED,
            submitted_at=now - timedelta(minutes=i),
            created_by=officer,
            submitted_by=officer,
            review_round=1,
        )
        for i in range(30)
    ]


@pytest.fixture
def approver_client(client, approver):
    client.force_login(approver)
    return client


def _fields(html: str) -> int:
    return html.count('type="hidden" name="_selected_action"')


def test_batch_on_a_select_across_selection_confirms_without_posting_every_id(approver_client, many_pending, settings):
    """With a field limit below the selection, the confirmation still works (select-across)."""
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 20
    ids = [a.pk for a in many_pending]
    confirm = approver_client.post(
        CHANGELIST, {"action": "batch_review", "select_across": "1", "index": "0", "_selected_action": ids[:10]}
    )
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert _fields(html) == 1 and 'name="select_across" value="1"' in html
    assert confirm.context["count"] == 30
    digest = confirm.context["selection"].digest
    result = approver_client.post(
        CHANGELIST,
        {
            "action": "batch_review",
            "select_across": "1",
            "_selected_action": ids[0],
            "selection_digest": digest,
            "post": "yes",
        },
    )
    assert result.status_code == 200
    assert len(result.context["outcome"].done) == 30
    assert LoanApplication.objects.filter(status=S.UNDER_REVIEW).count() == 30


def test_a_selection_that_changed_after_it_was_shown_is_not_acted_on(approver_client, many_pending, officer, product):
    ids = [a.pk for a in many_pending]
    confirm = approver_client.post(
        CHANGELIST, {"action": "batch_review", "select_across": "1", "index": "0", "_selected_action": ids[:5]}
    )
    digest = confirm.context["selection"].digest
    ApplicationFactory(product=product, status=S.SUBMITTED, created_by=officer, submitted_by=officer, review_round=1)
    again = approver_client.post(
        CHANGELIST,
        {
            "action": "batch_review",
            "select_across": "1",
            "_selected_action": ids[0],
            "selection_digest": digest,
            "post": "yes",
        },
    )
    assert again.status_code == 200 and again.context["outcome"] is None
    assert again.context["count"] == 31
    assert "The selection changed" in again.content.decode()
    assert not LoanApplication.objects.filter(status=S.UNDER_REVIEW).exists()


def test_a_page_selection_still_posts_its_ids(approver_client, many_pending):
    ids = [a.pk for a in many_pending[:3]]
    confirm = approver_client.post(CHANGELIST, {"action": "batch_review", "_selected_action": ids})
    assert _fields(confirm.content.decode()) == 3
