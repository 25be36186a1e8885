"""403, 404 and lockout pages in the admin's look with a way back, in both languages; /favicon.ico."""

import pytest

pytestmark = pytest.mark.django_db

ADMIN_LOGIN = "/admin/login/"
PASSWORD = "s3cure-Passw0rd!"


@pytest.fixture(autouse=True)
def _no_debug(settings):
    settings.DEBUG = False


def _get(client, path, language):
    return client.get(path, HTTP_ACCEPT_LANGUAGE=language)


@pytest.mark.parametrize(
    ("language", "title", "back"),
    [("en", "Access denied", "Back to the workbench"), ("zh-hans", "拒绝访问", "返回工作台")],
)
def test_403_is_a_page_with_a_way_back(client, make_user, language, title, back):
    """Reproduced: a refused admin page was the bare text "403 Forbidden"."""
    officer = make_user("officer", role="Loan officer")
    client.force_login(officer)
    response = _get(client, "/admin/auth/user/", language)
    assert response.status_code == 403
    html = response.content.decode()
    assert title in html
    assert back in html and 'href="/admin/"' in html
    assert 'id="site-name"' in html  # the admin's header


@pytest.mark.parametrize(
    ("language", "title", "home"),
    [("en", "Page not found", "Back to the home page"), ("zh-hans", "页面不存在", "返回首页")],
)
def test_404_is_a_page_with_a_way_back(client, language, title, home):
    response = _get(client, "/no-such-page/", language)
    assert response.status_code == 404
    html = response.content.decode()
    assert title in html and home in html
    assert 'href="/admin/login/"' in html


@pytest.mark.parametrize(
    ("language", "cool_off", "back"),
    [
        ("en", "A locked account opens again 15 minutes after the last failed attempt.", "Back to the home page"),
        ("zh-hans", "被锁定的账户在最后一次失败尝试 15 分钟后重新开放。", "返回首页"),
    ],
)
def test_lockout_page_names_the_cool_off_and_a_way_back(client, make_user, settings, language, cool_off, back):
    make_user("approver")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(ADMIN_LOGIN, {"username": "approver", "password": "wrong"}, HTTP_ACCEPT_LANGUAGE=language)
    response = client.post(ADMIN_LOGIN, {"username": "approver", "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 429
    html = response.content.decode()
    assert cool_off in html
    assert back in html and 'href="/admin/login/"' in html
    assert 'id="site-name"' in html


def test_favicon_is_served(client):
    """Reproduced: /favicon.ico was a 404 on every page."""
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"
