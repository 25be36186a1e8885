import pytest
from django.urls import reverse

from audit.models import AuditAction, AuditEntry
from audit.services import audit_record
from loansite import roles

pytestmark = pytest.mark.django_db


def test_login_logout_and_failed_login_are_audited(client, make_user):
    make_user("officer", role=roles.LOAN_OFFICER)
    client.post(reverse("admin:login"), {"username": "officer", "password": "wrong"}, REMOTE_ADDR="10.0.0.9")
    client.post(reverse("admin:login"), {"username": "officer", "password": "s3cure-Passw0rd!"})
    client.post(reverse("admin:logout"))
    actions = list(AuditEntry.objects.order_by("seq").values_list("action", "target_repr"))
    assert actions == [
        (AuditAction.LOGIN_FAILED, "officer"),
        (AuditAction.LOGIN, "officer"),
        (AuditAction.LOGOUT, "officer"),
    ]
    assert AuditEntry.objects.get(action=AuditAction.LOGIN_FAILED).ip == "10.0.0.9"


def test_lockout_after_repeated_failures_with_cool_off(client, make_user, settings):
    make_user("approver", role=roles.CREDIT_APPROVER)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("admin:login"), {"username": "approver", "password": "wrong"})
    response = client.post(reverse("admin:login"), {"username": "approver", "password": "s3cure-Passw0rd!"})
    assert response.status_code == 429
    assert AuditEntry.objects.filter(action=AuditAction.LOCKED_OUT).exists()
    assert settings.AXES_COOLOFF_TIME is not None


@pytest.mark.parametrize(
    ("role", "status"),
    [(roles.AUDITOR, 200), (roles.ADMINISTRATOR, 200), (roles.LOAN_OFFICER, 403), (roles.CREDIT_APPROVER, 403)],
)
def test_audit_log_visible_to_auditors_and_administrators_only(client, make_user, role, status):
    audit_record(action="system", target=("loans.loanapplication", 1, "APP-1"))
    client.force_login(make_user("u", role=role))
    assert client.get(reverse("admin:audit_auditentry_changelist")).status_code == status


def test_audit_admin_is_read_only(client, make_user):
    entry = audit_record(action="system", target=("loans.loanapplication", 1, "APP-1"))
    client.force_login(make_user("root", superuser=True))
    assert client.get(reverse("admin:audit_auditentry_add")).status_code == 403
    page = client.get(reverse("admin:audit_auditentry_change", args=[entry.pk]))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.get(reverse("admin:audit_auditentry_delete", args=[entry.pk])).status_code == 403


def test_audit_export_is_itself_audited(client, make_user):
    for i in range(3):
        audit_record(action="system", target=("loans.loanapplication", i, f"APP-{i}"))
    client.force_login(make_user("aud", role=roles.AUDITOR))  # the login is an entry too
    before = AuditEntry.objects.count()
    response = client.post(
        reverse("admin:audit_auditentry_export"), {"format": "0", "resource": "0", "auditentryresource_seq": "on"}
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    export = AuditEntry.objects.filter(action=AuditAction.EXPORT).get()
    assert before == 4 and export.changes["rows"] == before


def test_officer_cannot_export_audit_log(client, make_user):
    client.force_login(make_user("off", role=roles.LOAN_OFFICER))
    assert client.get(reverse("admin:audit_auditentry_export")).status_code == 403
