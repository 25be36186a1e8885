"""API tokens and sessions end when the account's password, roles or state change, and on logout."""

import pytest
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.models import Group
from django.core.management import call_command
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from audit.models import AuditAction, AuditEntry
from loansite import roles

pytestmark = pytest.mark.django_db
PASSWORD = "s3cure-Passw0rd!"
NEW_PASSWORD = "An0ther-long-one"


def _login(username, password=PASSWORD) -> dict:
    response = APIClient().post("/api/v1/auth/login/", {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _me(access) -> int:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return api.get("/api/v1/auth/me/").status_code


def _refresh(refresh):
    return APIClient().post("/api/v1/auth/refresh/", {"refresh": refresh}, format="json")


def _assert_dead(tokens):
    assert _me(tokens["access"]) == 401
    assert _refresh(tokens["refresh"]).status_code == 401


def _assert_alive(tokens):
    assert _me(tokens["access"]) == 200


@pytest.fixture
def officer(make_user):
    return make_user("officer", role=roles.LOAN_OFFICER)


def test_password_change_through_the_api_ends_every_token(officer):
    tokens, other_device = _login("officer"), _login("officer")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    response = api.post(
        "/api/v1/auth/change-password/", {"old_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )
    assert response.status_code == 204
    _assert_dead(tokens)
    _assert_dead(other_device)
    _assert_alive(_login("officer", NEW_PASSWORD))


def test_password_set_by_an_administrator_ends_every_token_and_is_audited(client, officer, make_user):
    tokens = _login("officer")
    boss = make_user("root", superuser=True)
    client.force_login(boss)
    response = client.post(
        f"/admin/auth/user/{officer.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true", "set-password": "1"},
    )
    assert response.status_code == 302, response.content[:2000]
    _assert_dead(tokens)
    entry = AuditEntry.objects.filter(action=AuditAction.PASSWORD_CHANGE, target_id=str(officer.pk)).get()
    assert entry.actor == boss and entry.changes["set_by"] == "administrator"


def test_changepassword_command_and_password_reset_end_every_token(officer, monkeypatch):
    tokens = _login("officer")
    monkeypatch.setattr("getpass.getpass", lambda *args, **kwargs: NEW_PASSWORD)
    call_command("changepassword", "officer", stdout=open("/dev/null", "w"))  # noqa: SIM115
    _assert_dead(tokens)

    tokens = _login("officer", NEW_PASSWORD)
    form = SetPasswordForm(officer, {"new_password1": "Third-passw0rd-x", "new_password2": "Third-passw0rd-x"})
    assert form.is_valid(), form.errors
    form.save()  # what the password reset confirmation does
    _assert_dead(tokens)


def test_deactivation_ends_every_token_and_reactivation_does_not_revive_them(officer):
    tokens = _login("officer")
    officer.is_active = False
    officer.save()
    _assert_dead(tokens)
    officer.is_active = True
    officer.save()
    # The flags are part of the stamp; going through the admin also rotates it (test_admin_users).
    from loansite.accounts import user_privileges_record

    user_privileges_record(actor=None, user=officer, before={"is_active": False})
    _assert_dead(tokens)


def test_role_change_made_anywhere_ends_every_token(officer, make_user):
    tokens = _login("officer")
    officer.groups.add(Group.objects.get(name=roles.AUDITOR))  # code, not a form
    _assert_dead(tokens)
    tokens = _login("officer")
    officer.groups.remove(Group.objects.get(name=roles.AUDITOR))
    _assert_dead(tokens)


@pytest.mark.parametrize("flag", ["is_superuser", "is_staff"])
def test_superuser_or_staff_flag_change_ends_every_token(officer, flag):
    tokens = _login("officer")
    setattr(officer, flag, not getattr(officer, flag))
    officer.save()
    _assert_dead(tokens)


def test_logout_ends_the_refresh_and_the_current_access_token(officer):
    tokens, other_device = _login("officer"), _login("officer")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api.post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]}, format="json").status_code == 205
    _assert_dead(tokens)
    # Only what was handed in: the same person's other device stays signed in.
    _assert_alive(other_device)
    assert AuditEntry.objects.filter(action=AuditAction.LOGOUT, target_id=str(officer.pk)).exists()


def test_logout_refuses_someone_elses_refresh_token(officer, make_user):
    make_user("analyst", role=roles.RISK_ANALYST)
    victim = _login("analyst")
    attacker = _login("officer")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {attacker['access']}")
    response = api.post("/api/v1/auth/logout/", {"refresh": victim["refresh"]}, format="json")
    assert response.status_code == 403
    assert not BlacklistedToken.objects.filter(token__user__username="analyst").exists()
    assert _refresh(victim["refresh"]).status_code == 200


def test_a_refresh_token_works_once_and_never_outlives_its_login(officer):
    tokens = _login("officer")
    first = _refresh(tokens["refresh"])
    assert first.status_code == 200
    assert _refresh(tokens["refresh"]).status_code == 401  # rotated: used once
    second = _refresh(first.json()["refresh"])
    assert second.status_code == 200
    # Rotation keeps the login's expiry: refreshing every few minutes does not keep it alive.
    original_exp = RefreshToken(tokens["refresh"], verify=False)["exp"]
    assert RefreshToken(second.json()["refresh"], verify=False)["exp"] == original_exp


def test_refresh_tokens_are_not_stored_in_clear(officer):
    tokens = _login("officer")
    _refresh(tokens["refresh"])
    assert OutstandingToken.objects.filter(user=officer).count() == 2
    assert set(OutstandingToken.objects.values_list("token", flat=True)) == {""}


def test_login_with_a_leading_space_is_a_401_with_a_message(officer):
    response = APIClient().post("/api/v1/auth/login/", {"username": " officer", "password": PASSWORD}, format="json")
    assert response.status_code == 401
    assert response.json()["detail"]


# --- sessions -----------------------------------------------------------------------------


def _signed_in(client) -> bool:
    return client.get("/admin/").status_code == 200


def test_role_change_and_deactivation_end_sessions_on_every_server(client, officer):
    client.force_login(officer)
    assert _signed_in(client)
    officer.groups.add(Group.objects.get(name=roles.RISK_ANALYST))
    assert not _signed_in(client)

    client.force_login(officer)
    assert _signed_in(client)
    from loansite.accounts import user_privileges, user_privileges_record

    before = user_privileges(officer)
    officer.is_active = False
    officer.save()
    user_privileges_record(actor=None, user=officer, before=before)
    officer.is_active = True
    officer.save()
    assert not _signed_in(client)  # reactivated, but this session stays ended


def test_own_password_change_in_the_admin_keeps_this_session_only(client, officer):
    other = client.__class__()
    other.force_login(officer)
    client.force_login(officer)
    assert _signed_in(client) and _signed_in(other)
    response = client.post(
        "/admin/password_change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert _signed_in(client)
    assert not _signed_in(other)
    assert AuditEntry.objects.filter(action=AuditAction.PASSWORD_CHANGE, target_id=str(officer.pk)).exists()


def test_refresh_for_a_deleted_account_is_a_401(officer):
    tokens = _login("officer")
    officer.delete()
    assert _refresh(tokens["refresh"]).status_code == 401
    assert _me(tokens["access"]) == 401


def test_password_change_through_the_api_in_a_session_keeps_that_session_only(officer):
    caller, other = APIClient(), APIClient()
    caller.force_login(officer)
    other.force_login(officer)
    response = caller.post(
        "/api/v1/auth/change-password/", {"old_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )
    assert response.status_code == 204
    assert caller.get("/api/v1/auth/me/").status_code == 200
    assert other.get("/api/v1/auth/me/").status_code in (401, 403)
