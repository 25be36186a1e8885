"""Bulk reassignment beyond DATA_UPLOAD_MAX_NUMBER_FIELDS: the confirmation goes through select-across."""

import pytest
from django.urls import reverse

from customers.models import Customer
from tests.customers.factories import CustomerFactory, ManagerFactory

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:customers_customer_changelist")


@pytest.fixture
def admin_client_(client, make_user):
    client.force_login(make_user("boss", role="Administrator"))
    return client


def test_bulk_reassign_of_a_select_across_selection(admin_client_, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 20
    leaving, taking = ManagerFactory(capacity=50), ManagerFactory(capacity=50)
    ids = [c.pk for c in CustomerFactory.create_batch(25, manager=leaving)]
    page = admin_client_.post(
        CHANGELIST, {"action": "reassign_selected", "select_across": "1", "index": "0", "_selected_action": ids[:5]}
    )
    html = page.content.decode()
    assert page.status_code == 200 and html.count('name="_selected_action"') == 1
    response = admin_client_.post(
        CHANGELIST,
        {
            "action": "reassign_selected",
            "select_across": "1",
            "_selected_action": ids[0],
            "selection_digest": page.context["selection"].digest,
            "confirm": "yes",
            "manager": taking.pk,
            "reason": "Manager left",
        },
    )
    assert response.status_code == 302
    assert Customer.objects.filter(manager=taking).count() == 25
