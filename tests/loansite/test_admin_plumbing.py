"""The admin index and sidebar list plumbing (lockouts, task results, schedules, tokens,
authenticator devices) to administrators only."""

import pytest

from loansite import roles

pytestmark = pytest.mark.django_db

PLUMBING_LINKS = [
    "/admin/axes/",
    "/admin/django_celery_results/",
    "/admin/django_celery_beat/",
    "/admin/token_blacklist/",
    "/admin/otp_totp/",
]


def _links(client, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    return {link for link in PLUMBING_LINKS if f'href="{link}"' in html}


@pytest.mark.parametrize("role", [roles.AUDITOR, roles.MODEL_OPS, roles.LOAN_OFFICER, roles.RISK_ANALYST])
def test_business_roles_see_no_plumbing(client, make_user, role):
    """Reproduced: an auditor's index and sidebar listed axes, Celery results and periodic tasks."""
    client.force_login(make_user("staff", role=role))
    assert _links(client, "/admin/") == set()
    assert _links(client, "/admin/customers/customer/") == set()  # the sidebar
    assert client.get("/admin/axes/").status_code == 404


def test_administrators_see_the_plumbing_their_role_grants(client, make_user):
    client.force_login(make_user("admin", role=roles.ADMINISTRATOR))
    links = _links(client, "/admin/")
    assert {"/admin/axes/", "/admin/token_blacklist/"} <= links
    assert links == _links(client, "/admin/customers/customer/")


def test_the_auditor_still_reads_sign_in_attempts_by_address(client, make_user):
    client.force_login(make_user("auditor", role=roles.AUDITOR))
    assert client.get("/admin/axes/accessattempt/").status_code == 200
