import pytest
from django.test import Client
from rest_framework.test import APIClient

from risk.models import IpRange, LoginEvent

pytestmark = pytest.mark.django_db


def test_a_staff_admin_sign_in_becomes_one_login_event_with_its_city(make_user):
    IpRange.objects.create(network="127.0.0.0/8", city="Loopback City")
    user = make_user("analyst2")
    client = Client(REMOTE_ADDR="127.0.0.9")
    response = client.post("/admin/login/", {"username": "analyst2", "password": "s3cure-Passw0rd!"})
    assert response.status_code == 302
    event = LoginEvent.objects.get()
    assert (event.user, event.customer, event.ip, event.city, event.success) == (
        user,
        None,
        "127.0.0.9",
        "Loopback City",
        True,
    )


def test_an_api_sign_in_becomes_a_login_event_too(make_user):
    user = make_user("analyst3")
    response = APIClient(REMOTE_ADDR="127.0.0.7").post(
        "/api/v1/auth/login/", {"username": "analyst3", "password": "s3cure-Passw0rd!"}, format="json"
    )
    assert response.status_code == 200
    assert list(LoginEvent.objects.values_list("user", "ip")) == [(user.pk, "127.0.0.7")]


def test_failed_sign_ins_make_no_login_event(make_user):
    make_user("analyst4")
    Client().post("/admin/login/", {"username": "analyst4", "password": "wrong"})
    assert not LoginEvent.objects.exists()


def test_deleting_a_staff_account_keeps_its_login_events(make_user):
    from django.contrib.auth.models import User

    make_user("analyst5")
    APIClient().post("/api/v1/auth/login/", {"username": "analyst5", "password": "s3cure-Passw0rd!"}, format="json")
    User.objects.get(username="analyst5").delete()
    event = LoginEvent.objects.get()
    assert event.user is None and event.customer is None
