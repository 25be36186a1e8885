"""The session cookie: a side request (icon, chart data) racing a sign-in never signs the user out."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from loansite import roles

pytestmark = pytest.mark.django_db
PASSWORD = "s3cure-Passw0rd!"
COOKIE = settings.SESSION_COOKIE_NAME


def signed_in_client(make_user) -> Client:
    make_user("officer", role=roles.LOAN_OFFICER)
    client = Client()
    response = client.post("/admin/login/", {"username": "officer", "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    return client


def test_a_request_with_a_key_rotated_meanwhile_leaves_the_new_cookie_alone(make_user):
    # The browser sent the icon request with the key from before the sign-in rotated it.
    client = signed_in_client(make_user)
    current = client.cookies[COOKIE].value
    stale = Client()
    stale.cookies[COOKIE] = "a-key-the-sign-in-rotated-away"

    response = stale.get("/favicon.ico")

    assert COOKIE not in response.cookies  # Django's middleware answered with a deleting cookie
    assert client.get("/admin/").status_code == 200
    assert client.cookies[COOKIE].value == current


def test_an_unchanged_session_is_not_sent_again_but_its_idle_timer_moves(make_user):
    client = signed_in_client(make_user)
    key = client.cookies[COOKIE].value
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() + timedelta(minutes=1))

    response = client.get("/admin/")

    assert response.status_code == 200
    assert COOKIE not in response.cookies
    expiry = Session.objects.get(session_key=key).expire_date
    assert expiry > timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)


def test_signing_in_and_out_still_set_and_delete_the_cookie(make_user):
    make_user("officer", role=roles.LOAN_OFFICER)
    client = Client()
    response = client.post("/admin/login/", {"username": "officer", "password": PASSWORD, "next": "/admin/"})
    assert response.cookies[COOKIE].value

    response = client.post("/admin/logout/")

    assert response.cookies[COOKIE]["max-age"] == 0
    assert client.get("/admin/").status_code == 302


def test_an_expired_session_stays_signed_out(make_user):
    client = signed_in_client(make_user)
    key = client.cookies[COOKIE].value
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))

    response = client.get("/admin/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
