import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from audit.models import AuditAction, AuditEntry
from loansite import roles

pytestmark = pytest.mark.django_db
PASSWORD = "s3cure-Passw0rd!"


@pytest.fixture
def api():
    return APIClient()


def _login(api, username, password=PASSWORD):
    return api.post("/api/v1/auth/login/", {"username": username, "password": password}, format="json")


def test_login_me_refresh_logout(api, make_user):
    make_user("officer", role=roles.LOAN_OFFICER)
    tokens = _login(api, "officer").json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    me = api.get("/api/v1/auth/me/").json()
    assert me["username"] == "officer" and me["roles"] == [roles.LOAN_OFFICER]
    refreshed = api.post("/api/v1/auth/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert refreshed.status_code == 200
    new_refresh = refreshed.json()["refresh"]
    assert api.post("/api/v1/auth/logout/", {"refresh": new_refresh}, format="json").status_code == 205
    # A logged-out refresh token is dead.
    assert api.post("/api/v1/auth/refresh/", {"refresh": new_refresh}, format="json").status_code == 401
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {AuditAction.LOGIN, AuditAction.LOGOUT} <= actions


def test_wrong_password_is_401_and_audited(api, make_user):
    make_user("officer")
    assert _login(api, "officer", "nope").status_code == 401
    assert AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED, target_repr="officer").exists()


def test_me_requires_authentication(api):
    assert api.get("/api/v1/auth/me/").status_code == 401


def test_change_password(api, make_user):
    user = make_user("officer")
    api.force_authenticate(user)
    bad = api.post("/api/v1/auth/change-password/", {"old_password": "x", "new_password": "An0ther-long-one"})
    assert bad.status_code == 400 and "current password" in bad.json()["detail"]
    weak = api.post("/api/v1/auth/change-password/", {"old_password": PASSWORD, "new_password": "123"})
    assert weak.status_code == 400
    ok = api.post("/api/v1/auth/change-password/", {"old_password": PASSWORD, "new_password": "An0ther-long-one"})
    assert ok.status_code == 204
    user.refresh_from_db()
    assert user.check_password("An0ther-long-one")
    assert AuditEntry.objects.filter(action=AuditAction.PASSWORD_CHANGE).count() == 1


def test_register_is_for_administrators_only(api, make_user):
    payload = {"username": "newbie", "password": "Plenty-long-pw-9", "roles": [roles.CREDIT_APPROVER]}
    api.force_authenticate(make_user("officer", role=roles.LOAN_OFFICER))
    assert api.post("/api/v1/auth/register/", payload, format="json").status_code == 403
    assert not User.objects.filter(username="newbie").exists()

    api.force_authenticate(make_user("boss", role=roles.ADMINISTRATOR))
    created = api.post("/api/v1/auth/register/", payload, format="json")
    assert created.status_code == 201
    user = User.objects.get(username="newbie")
    assert user.is_staff and list(user.groups.values_list("name", flat=True)) == [roles.CREDIT_APPROVER]
    assert AuditEntry.objects.filter(action=AuditAction.CREATE, target_id=str(user.pk)).exists()
    again = api.post("/api/v1/auth/register/", payload, format="json")
    assert again.status_code == 400 and "taken" in again.json()["detail"]


def test_anonymous_cannot_register(api):
    response = api.post("/api/v1/auth/register/", {"username": "x", "password": "Plenty-long-pw-9"}, format="json")
    assert response.status_code == 401


def test_api_docs_and_schema_are_served_offline(client):
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"http://" not in docs.content.replace(b"http://testserver", b"")
    assert b"https://" not in docs.content
    assert client.get("/api/schema/").status_code == 200
