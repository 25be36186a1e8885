"""Privilege changes (users, groups, permissions) are audited wherever they are made."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditAction, AuditEntry
from loansite import roles

pytestmark = pytest.mark.django_db
PASSWORD = "s3cure-Passw0rd!"


def _entries(action=AuditAction.PERMISSION_CHANGE, **filters):
    return list(AuditEntry.objects.filter(action=action, **filters).order_by("seq"))


def _user_form(user, **overrides) -> dict:
    joined = timezone.localtime(user.date_joined)
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "date_joined_0": joined.strftime("%Y-%m-%d"),
        "date_joined_1": joined.strftime("%H:%M:%S"),
        "groups": [str(pk) for pk in user.groups.values_list("pk", flat=True)],
        "user_permissions": [str(pk) for pk in user.user_permissions.values_list("pk", flat=True)],
    }
    for flag in ("is_active", "is_staff", "is_superuser"):
        if getattr(user, flag):
            data[flag] = "on"
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def root(make_user):
    return make_user("root", superuser=True)


@pytest.fixture
def officer(make_user):
    return make_user("officer", role=roles.LOAN_OFFICER)


def test_admin_change_of_flags_groups_and_permissions_is_one_audited_change(client, root, officer):
    client.force_login(root)
    auditor = Group.objects.get(name=roles.AUDITOR)
    perm = Permission.objects.get(content_type__app_label="loans", codename="approve_loanapplication")
    before_count = AuditEntry.objects.count()
    response = client.post(
        f"/admin/auth/user/{officer.pk}/change/",
        _user_form(officer, is_superuser="on", groups=[str(auditor.pk)], user_permissions=[str(perm.pk)]),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    [entry] = _entries(target_id=str(officer.pk), seq__gt=before_count)
    assert entry.actor == root and entry.target_type == "auth.user"
    assert entry.changes["is_superuser"] == [False, True]
    assert entry.changes["groups"]["added"] == [roles.AUDITOR]
    assert entry.changes["groups"]["removed"] == [roles.LOAN_OFFICER]
    assert entry.changes["permissions"]["after"] == ["loans.approve_loanapplication"]


def test_deactivation_and_staff_flag_in_the_admin_are_audited(client, root, officer):
    client.force_login(root)
    response = client.post(f"/admin/auth/user/{officer.pk}/change/", _user_form(officer, is_active=None, is_staff=None))
    assert response.status_code == 302
    entry = _entries(target_id=str(officer.pk))[-1]
    assert entry.changes["is_active"] == [True, False] and entry.changes["is_staff"] == [True, False]


def test_account_created_and_deleted_in_the_admin_are_audited(client, root):
    client.force_login(root)
    response = client.post(
        "/admin/auth/user/add/",
        {
            "username": "newbie",
            "password1": "Plenty-long-pw-9",
            "password2": "Plenty-long-pw-9",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    newbie = User.objects.get(username="newbie")
    assert _entries(AuditAction.CREATE, target_id=str(newbie.pk))[0].actor == root
    assert _entries(target_id=str(newbie.pk))[0].changes["is_active"] == [None, True]

    client.post(
        f"/admin/auth/user/{newbie.pk}/change/",
        _user_form(newbie, groups=[str(Group.objects.get(name=roles.AUDITOR).pk)]),
    )
    response = client.post(f"/admin/auth/user/{newbie.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(username="newbie").exists()
    [deleted] = _entries(AuditAction.DELETE, target_id=str(newbie.pk))
    assert deleted.actor == root and deleted.changes["deleted"]["groups"] == [roles.AUDITOR]


def test_group_permissions_changed_in_the_admin_are_audited(client, root):
    client.force_login(root)
    group = Group.objects.get(name=roles.AUDITOR)
    perms = list(group.permissions.values_list("pk", flat=True))
    extra = Permission.objects.get(content_type__app_label="loans", codename="approve_loanapplication")
    removed = Permission.objects.get(content_type__app_label="audit", codename="export_auditentry")
    new = [str(pk) for pk in perms if pk != removed.pk] + [str(extra.pk)]
    response = client.post(f"/admin/auth/group/{group.pk}/change/", {"name": group.name, "permissions": new})
    assert response.status_code == 302
    [entry] = _entries(target_type="auth.group", target_id=str(group.pk))
    assert entry.actor == root
    assert entry.changes["permissions"]["added"] == ["loans.approve_loanapplication"]
    assert entry.changes["permissions"]["removed"] == ["audit.export_auditentry"]


def test_group_deleted_in_the_admin_is_audited_for_the_group_and_each_member(client, root, officer):
    client.force_login(root)
    group = Group.objects.create(name="Temporary")
    officer.groups.add(group)
    response = client.post(f"/admin/auth/group/{group.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    [deleted] = _entries(AuditAction.DELETE, target_type="auth.group")
    assert deleted.changes["deleted"]["members"] == ["officer"]
    last = _entries(target_id=str(officer.pk))[-1]
    assert last.actor == root and last.changes["groups"]["removed"] == ["Temporary"]


def test_m2m_changes_made_in_code_are_audited_once(officer):
    auditor = Group.objects.get(name=roles.AUDITOR)
    perm = Permission.objects.get(content_type__app_label="loans", codename="approve_loanapplication")
    start = AuditEntry.objects.count()
    officer.groups.add(auditor)
    auditor.user_set.remove(officer)
    officer.user_permissions.add(perm)
    officer.user_permissions.clear()
    auditor.permissions.add(perm)
    perm.group_set.remove(auditor)
    entries = _entries(seq__gt=start)
    summary = [(e.target_type, e.changes.get("groups") or e.changes.get("permissions")) for e in entries]
    assert [(kind, change["added"], change["removed"]) for kind, change in summary] == [
        ("auth.user", [roles.AUDITOR], []),
        ("auth.user", [], [roles.AUDITOR]),
        ("auth.user", ["loans.approve_loanapplication"], []),
        ("auth.user", [], ["loans.approve_loanapplication"]),
        ("auth.group", ["loans.approve_loanapplication"], []),
        ("auth.group", [], ["loans.approve_loanapplication"]),
    ]
    # Nothing that did not change is recorded.
    officer.groups.add(Group.objects.get(name=roles.LOAN_OFFICER))
    assert len(_entries(seq__gt=start)) == 6


def test_register_through_the_api_is_audited_with_the_roles_granted(make_user):
    boss = make_user("boss", role=roles.ADMINISTRATOR)
    api = APIClient()
    api.force_authenticate(boss)
    payload = {"username": "newbie", "password": "Plenty-long-pw-9", "roles": [roles.CREDIT_APPROVER]}
    assert api.post("/api/v1/auth/register/", payload, format="json").status_code == 201
    newbie = User.objects.get(username="newbie")
    [entry] = _entries(target_id=str(newbie.pk))
    assert entry.actor == boss
    assert entry.changes["groups"]["after"] == [roles.CREDIT_APPROVER]
    assert entry.changes["is_staff"] == [None, True]


def test_an_administrator_cannot_make_or_take_over_a_superuser(client, root, officer, make_user):
    boss = make_user("boss", role=roles.ADMINISTRATOR)
    client.force_login(boss)
    # The superuser flag is read-only for them: posting it changes nothing.
    response = client.post(f"/admin/auth/user/{officer.pk}/change/", _user_form(officer, is_superuser="on"))
    assert response.status_code == 302
    officer.refresh_from_db()
    assert not officer.is_superuser
    boss_form = _user_form(boss, is_superuser="on")
    client.post(f"/admin/auth/user/{boss.pk}/change/", boss_form)
    boss.refresh_from_db()
    assert not boss.is_superuser
    # A superuser's page is view-only, and their password cannot be set.
    assert client.post(f"/admin/auth/user/{root.pk}/change/", _user_form(root, is_active=None)).status_code == 403
    new = {"password1": "Plenty-long-pw-9", "password2": "Plenty-long-pw-9", "usable_password": "true"}
    assert client.post(f"/admin/auth/user/{root.pk}/password/", new).status_code == 403
    root.refresh_from_db()
    assert root.is_active and root.check_password(PASSWORD)


def test_sign_out_everywhere_action(client, root, officer):
    api = APIClient()
    tokens = api.post("/api/v1/auth/login/", {"username": "officer", "password": PASSWORD}, format="json").json()
    client.force_login(root)
    response = client.post(
        "/admin/auth/user/", {"action": "sign_out_everywhere", "_selected_action": [str(officer.pk)]}
    )
    assert response.status_code == 302
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api.get("/api/v1/auth/me/").status_code == 401
    assert _entries(target_id=str(officer.pk))[-1].changes == {"sessions_and_tokens": "revoked"}
