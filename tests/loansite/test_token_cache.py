"""A web process keeps a token's user for a few seconds; every change that can end the token or
change what it may do takes effect on the next call all the same."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from loansite import roles
from loansite.accounts import user_sign_out_everywhere

pytestmark = pytest.mark.django_db
PASSWORD = "s3cure-Passw0rd!"
RULES = "/api/v1/risk/rules/"


def _login(username) -> dict:
    response = APIClient().post("/api/v1/auth/login/", {"username": username, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _api(access) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return api


@pytest.fixture
def analyst(make_user):
    return make_user("analyst", role=roles.RISK_ANALYST)


def test_a_token_used_again_does_not_load_its_user_again(analyst):
    api = _api(_login("analyst")["access"])
    with CaptureQueriesContext(connection) as first:
        assert api.get(RULES).status_code == 200
    with CaptureQueriesContext(connection) as second:
        assert api.get(RULES).status_code == 200
    assert len(second) < len(first)
    assert not any("auth_user" in query["sql"] for query in second.captured_queries)


def test_signing_out_everywhere_ends_a_token_in_use_at_once(analyst, make_user):
    api = _api(_login("analyst")["access"])
    assert api.get(RULES).status_code == 200
    boss = make_user("root", superuser=True)
    user_sign_out_everywhere(actor=boss, user=analyst, reason="lost laptop")
    assert api.get(RULES).status_code == 401


def test_logout_ends_the_access_token_in_use_at_once(analyst):
    tokens = _login("analyst")
    api = _api(tokens["access"])
    assert api.get(RULES).status_code == 200
    assert api.post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]}, format="json").status_code == 205
    assert api.get(RULES).status_code == 401


def test_deactivation_ends_a_token_in_use_at_once(analyst):
    api = _api(_login("analyst")["access"])
    assert api.get(RULES).status_code == 200
    analyst.is_active = False
    analyst.save()
    assert api.get(RULES).status_code == 401


def test_a_permission_taken_from_the_role_counts_at_once(analyst):
    api = _api(_login("analyst")["access"])
    assert api.get(RULES).status_code == 200
    group = Group.objects.get(name=roles.RISK_ANALYST)
    group.permissions.remove(Permission.objects.get(codename="view_riskrule", content_type__app_label="risk"))
    assert api.get(RULES).status_code == 403


def test_a_change_behind_the_models_back_counts_once_the_copy_is_old(analyst, monkeypatch):
    api = _api(_login("analyst")["access"])
    assert api.get(RULES).status_code == 200
    type(analyst).objects.filter(pk=analyst.pk).update(is_active=False)  # no signal
    monkeypatch.setattr("loansite.security.TOKEN_USER_TTL", 0.0)
    assert api.get(RULES).status_code == 401


def test_a_token_is_checked_once_until_it_expires_and_a_tampered_one_is_refused(analyst, monkeypatch):
    import time

    from rest_framework_simplejwt.authentication import JWTAuthentication

    from loansite.api import authentication

    checked = []
    parent = JWTAuthentication.get_validated_token

    def counted(self, raw_token):
        checked.append(raw_token)
        return parent(self, raw_token)

    monkeypatch.setattr(JWTAuthentication, "get_validated_token", counted)
    access = _login("analyst")["access"]
    api = _api(access)
    assert api.get(RULES).status_code == 200
    assert api.get(RULES).status_code == 200
    assert len(checked) == 1  # the signature and claims were checked once
    expires = authentication._validated[access.encode()][1]
    monkeypatch.setattr(authentication.time, "time", lambda: expires)
    assert api.get(RULES).status_code == 200  # (still valid by the clock simplejwt reads)
    assert len(checked) == 2  # at its expiry the kept check no longer counts
    monkeypatch.setattr(authentication.time, "time", time.time)
    header, payload, signature = access.split(".")
    tampered = f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    assert _api(tampered).get(RULES).status_code == 401
    assert tampered.encode() not in authentication._validated
