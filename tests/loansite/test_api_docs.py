"""API schema and documentation: staff only outside development, no inline script."""

import re

import pytest
from rest_framework.test import APIClient

from loansite import roles

pytestmark = pytest.mark.django_db
PAGES = ["/api/docs/", "/api/redoc/"]


@pytest.fixture
def production(settings):
    settings.PRODUCTION = True


def test_anonymous_users_get_no_schema_in_production(client, production):
    """Reproduced: /api/schema/, /api/docs/ and /api/redoc/ answered anyone in production."""
    assert client.get("/api/schema/").status_code == 401
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 302
        assert response["Location"] == f"/admin/login/?next={page}"
    assert client.get("/api/docs/?script=").status_code == 302


def test_staff_read_the_schema_and_docs_in_production(client, make_user, production):
    client.force_login(make_user("officer", role=roles.LOAN_OFFICER))
    assert client.get("/api/schema/").status_code == 200
    for page in PAGES:
        assert client.get(page).status_code == 200
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")


def test_a_jwt_reads_the_schema_in_production(make_user, production):
    make_user("officer", role=roles.LOAN_OFFICER)
    api = APIClient()
    token = api.post("/api/v1/auth/login/", {"username": "officer", "password": "s3cure-Passw0rd!"}).json()["access"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/api/schema/").status_code == 200


def test_non_staff_users_are_refused_in_production(client, django_user_model, production):
    client.force_login(django_user_model.objects.create_user("customer", password="s3cure-Passw0rd!"))
    assert client.get("/api/schema/").status_code == 403
    assert client.get("/api/docs/").status_code == 403


def test_development_serves_the_docs_to_anyone(client):
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200


@pytest.mark.parametrize("page", PAGES)
def test_doc_pages_carry_no_inline_script_or_style_and_nothing_from_elsewhere(client, page):
    html = client.get(page).content.decode()
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all("src=" in attrs for attrs in scripts)
    assert "<style" not in html and "style=" not in html
    assert "googleapis" not in html and "https://" not in html
