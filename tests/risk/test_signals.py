import pytest
from django.test import Client

from risk.models import IpRange, LoginEvent

pytestmark = pytest.mark.django_db


def test_a_staff_sign_in_becomes_a_login_event_with_its_city(make_user):
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
