"""No token, key, password hash, task payload or one-time code renders on any admin page or API answer."""

import re

import pytest
from axes.models import AccessAttempt
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_celery_results.models import GroupResult, TaskResult
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from loansite import roles

pytestmark = pytest.mark.django_db
PASSWORD = "s3cure-Passw0rd!"
MARKER = "SECRET-MARKER-7f3a9c"


def _login(username) -> dict:
    response = APIClient().post("/api/v1/auth/login/", {"username": username, "password": PASSWORD}, format="json")
    assert response.status_code == 200
    return response.json()


def test_an_auditor_cannot_reach_the_token_list_or_mint_a_superuser_token(client, make_user):
    """The red-team path: auditor -> token admin -> superuser refresh token -> new administrator."""
    make_user("analyst", role=roles.RISK_ANALYST)
    tokens = _login("analyst")
    auditor = make_user("aud", role=roles.AUDITOR)
    client.force_login(auditor)
    token = OutstandingToken.objects.get(user__username="analyst")
    assert client.get("/admin/token_blacklist/outstandingtoken/").status_code == 403
    assert client.get(f"/admin/token_blacklist/outstandingtoken/{token.pk}/change/").status_code == 403
    index = client.get("/admin/").content.decode()
    assert "token_blacklist" not in index
    # And had they reached it, there is nothing to copy.
    assert tokens["refresh"] not in str(token.__dict__)
    assert not re.search(r"eyJ[\w-]+\.[\w-]+\.[\w-]+", str(token.__dict__))


@pytest.fixture
def secrets_everywhere(make_user):
    """One of every kind of secret the system holds."""
    root = make_user("root", superuser=True)
    officer = make_user("officer", role=roles.LOAN_OFFICER)
    tokens = _login("officer")
    TaskResult.objects.create(
        task_id="t-1",
        task_name="loans.tasks.something",
        status="FAILURE",
        task_args=f'["{MARKER}-args"]',
        task_kwargs=f'{{"token": "{MARKER}-kwargs"}}',
        result=f'"{MARKER}-result"',
        traceback=f"Traceback: {MARKER}-traceback",
        meta=f'{{"m": "{MARKER}-meta"}}',
    )
    GroupResult.objects.create(group_id="g-1", result=f'["{MARKER}-group"]')
    AccessAttempt.objects.create(
        username="officer",
        ip_address="10.0.0.1",
        user_agent="test",
        http_accept="*/*",
        path_info="/admin/login/",
        get_data=f"next={MARKER}-get",
        post_data=f"csrfmiddlewaretoken={MARKER}-csrf&otp_token={MARKER}-otp",
        failures_since_start=1,
    )
    officer.refresh_from_db()
    algorithm, *parts = officer.password.split("$")
    secrets = [tokens["refresh"], tokens["access"], officer.password, parts[-1][:6], f"{MARKER}"]
    if apps.is_installed("django_otp.plugins.otp_totp"):
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.create(user=officer, name="phone", confirmed=True)
        secrets.append(device.key)
    return root, secrets


def _admin_pages(client):
    """The changelist of every registered model, and the change page of its first row."""
    for model in admin.site._registry:
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        yield changelist, client.get(changelist)
        obj = model.objects.first()
        if obj is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(obj.pk)])
            yield change, client.get(change)


def test_no_admin_page_shows_a_secret_even_to_a_superuser(client, secrets_everywhere):
    root, secrets = secrets_everywhere
    client.force_login(root)
    seen = 0
    for url, response in _admin_pages(client):
        assert response.status_code in (200, 302), (url, response.status_code)
        body = response.content.decode()
        for secret in secrets:
            assert secret not in body, f"{url} shows a secret ({secret[:12]}...)"
        seen += 1
    assert seen > len(admin.site._registry)
    # The user page says whether a password is set, not what its hash is.
    page = client.get(reverse("admin:auth_user_change", args=[root.pk])).content.decode()
    assert "Password set." in page or "密码" in page
    assert "algorithm" not in page.lower()


def test_no_admin_search_looks_into_secrets(client, secrets_everywhere):
    root, secrets = secrets_everywhere
    client.force_login(root)
    body = client.get("/admin/django_celery_results/taskresult/", {"q": f"{MARKER}-kwargs"}).content.decode()
    assert "t-1" not in body
    refresh = secrets[0]
    body = client.get("/admin/token_blacklist/outstandingtoken/", {"q": refresh[-20:]}).content.decode()
    assert "officer" not in body


def _api_get_routes():
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern

    for route, pattern in walk(get_resolver().url_patterns):
        if not route.startswith("api/v1/") or "<" in route or "(?P" in route:
            continue
        callback = pattern.callback
        actions = getattr(callback, "actions", None) or {}
        view_class = getattr(callback, "cls", None)
        if "get" in actions or (not actions and view_class is not None and hasattr(view_class, "get")):
            yield "/" + route.replace("^", "").replace("$", "")


def test_no_api_answer_shows_a_secret(secrets_everywhere):
    root, secrets = secrets_everywhere
    api = APIClient()
    api.force_authenticate(root)
    routes = list(_api_get_routes())
    assert "/api/v1/auth/me/" in routes and len(routes) > 5
    for url in routes:
        response = api.get(url)
        assert response.status_code < 500, url
        for secret in secrets:
            assert secret not in response.content.decode(), f"{url} shows a secret"
