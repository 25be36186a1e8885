"""Django's "History" and "Recent actions" show the audit trail, permission-checked."""

import pytest

from audit.models import AuditAction
from audit.services import audit_record
from loansite import roles
from tests.loans.factories import ApplicationFactory

pytestmark = pytest.mark.django_db


def _history_url(application):
    return f"/admin/loans/loanapplication/{application.pk}/history/"


@pytest.fixture
def reviewed(make_user):
    approver = make_user("approver1", first_name="Tao", last_name="Yang")
    application = ApplicationFactory()
    audit_record(
        action=AuditAction.TRANSITION,
        actor=approver,
        target=application,
        changes={"status": ["under_review", "approved"], "api_token": "tok-secret-value"},
        reason="strong cash flow",
    )
    return application


def test_history_shows_the_audit_trail_with_labels_to_auditors(client, make_user, reviewed):
    """Reproduced: the History page read Django's admin log, which the services never write."""
    client.force_login(make_user("auditor", role=roles.AUDITOR))
    response = client.get(_history_url(reviewed))
    assert response.status_code == 200
    html = response.content.decode()
    assert "approver1" in html
    assert "Status change" in html
    assert "Under review → Approved" in html
    assert "strong cash flow" in html
    assert "tok-secret-value" not in html  # a key naming a secret is never shown
    assert "This object doesn’t have a change history" not in html


def test_history_in_chinese_shows_labels(client, make_user, reviewed):
    client.force_login(make_user("auditor", role=roles.AUDITOR))
    html = client.get(_history_url(reviewed), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "under_review" not in html and "approved" not in html.replace("approver1", "")


def test_history_without_the_audit_log_shows_who_and_what_but_no_payload(client, make_user, reviewed):
    client.force_login(make_user("officer", role=roles.LOAN_OFFICER))
    response = client.get(_history_url(reviewed))
    assert response.status_code == 200
    html = response.content.decode()
    assert "approver1" in html and "Status change" in html
    assert "Under review → Approved" not in html and "strong cash flow" not in html


def test_history_refused_to_users_who_may_not_view_the_object(client, make_user, reviewed):
    client.force_login(make_user("nobody"))
    assert client.get(_history_url(reviewed)).status_code == 403


def test_user_history_never_shows_secret_payloads(client, make_user):
    admin = make_user("root", superuser=True)
    target = make_user("someone")
    audit_record(
        action=AuditAction.UPDATE, actor=admin, target=target, changes={"email": ["a@example.com", "b@example.com"]}
    )
    client.force_login(admin)
    html = client.get(f"/admin/auth/user/{target.pk}/history/").content.decode()
    assert "Update" in html and "b@example.com" not in html


def test_recent_actions_are_the_users_own_audited_actions(client, make_user, reviewed):
    """Reproduced: "Recent actions" on the index read the always-empty admin log."""
    officer = make_user("officer", role=roles.LOAN_OFFICER)
    other = ApplicationFactory()
    audit_record(action=AuditAction.UPDATE, actor=officer, target=other, changes={"amount": ["1", "2"]})
    client.force_login(officer)
    html = client.get("/admin/").content.decode()
    sidebar = html[html.index('id="recent-actions-module"') :]
    assert f'href="/admin/loans/loanapplication/{other.pk}/change/"' in sidebar
    assert str(reviewed) not in sidebar  # someone else's action
    assert "None available" not in sidebar
