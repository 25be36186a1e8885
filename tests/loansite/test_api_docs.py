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


# --- ReDoc offline, operations grouped by area --------------------------------------------

EXTERNAL = re.compile(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.I)


def test_redoc_page_and_bundle_name_no_other_host(client, make_user):
    """Reproduced: ReDoc's menu showed its maker's logo from cdn.redoc.ly (and the stock page
    loaded web fonts from Google)."""
    client.force_login(make_user("officer", role=roles.LOAN_OFFICER))
    html = client.get("/api/redoc/").content.decode()
    assert not EXTERNAL.search(html), html
    assert "fonts.g" not in html
    script_url = re.search(r'<script src="([^"]+)"', html).group(1)
    assert script_url == "/api/redoc/?script="
    bundle = client.get(script_url)
    assert bundle.status_code == 200 and bundle["Content-Type"].startswith("application/javascript")
    source = bundle.content.decode()
    assert "cdn.redoc.ly" not in source
    assert "/static/loansite/favicon.ico" in source
    assert "fonts.googleapis" not in source


def test_the_schema_groups_operations_by_area(client, make_user):
    client.force_login(make_user("officer", role=roles.LOAN_OFFICER))
    schema = client.get("/api/schema/?format=json").json()
    assert [tag["name"] for tag in schema["tags"]] == [
        "customers",
        "loans",
        "servicing",
        "collections",
        "risk",
        "scoring",
        "audit",
        "auth",
    ]
    tags = {
        path: {tag for operation in operations.values() if isinstance(operation, dict) for tag in operation["tags"]}
        for path, operations in schema["paths"].items()
    }
    assert tags["/api/v1/customers/"] == {"customers"}
    assert tags["/api/v1/loans/applications/"] == {"loans"}
    assert tags["/api/v1/loans/repayments/"] == {"servicing"}
    assert tags["/api/v1/loans/write-offs/"] == {"collections"}
    assert tags["/api/v1/risk/events/"] == {"risk"}
    assert tags["/api/v1/scoring/models/"] == {"scoring"}
    assert tags["/api/v1/auth/login/"] == {"auth"}
    assert "v1" not in set().union(*tags.values())
    assert not any(path.startswith(("/api/redoc", "/api/docs")) for path in schema["paths"])
