"""The application page shows its audit excerpt only to those who may read the audit log."""

import pytest

from audit.models import AuditAction
from audit.services import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def audited(pending, officer):
    audit_record(
        action=AuditAction.TRANSITION,
        actor=officer,
        target=pending,
        changes={"status": ["submitted", "under_review"]},
        reason="Excerpt-only reason",
    )
    return pending


def test_officers_and_approvers_do_not_see_the_audit_excerpt(client, audited, officer, approver):
    for user in (officer, approver):
        client.force_login(user)
        page = client.get(f"/admin/loans/loanapplication/{audited.pk}/change/")
        assert page.status_code == 200
        assert 'id="loan-audit"' not in page.content.decode()
        assert "Excerpt-only reason" not in page.content.decode()


def test_auditors_see_the_audit_excerpt(client, audited, auditor):
    client.force_login(auditor)
    page = client.get(f"/admin/loans/loanapplication/{audited.pk}/change/")
    assert page.status_code == 200
    assert 'id="loan-audit"' in page.content.decode()
    assert "Excerpt-only reason" in page.content.decode()
