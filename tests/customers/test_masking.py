"""Masking of ID and phone numbers per role (customers/masking.py); full views audited."""

import csv
import io

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEntry
from customers.masking import mask_id_number, mask_phone
from tests.customers.factories import IndividualCustomerFactory, ManagerFactory

pytestmark = pytest.mark.django_db

PHONE, ID_NUMBER = "13812345678", "11010119900307123X"


def test_mask_shapes():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number("110101199003071234") == "110***********1234"
    assert mask_phone("") == "" and mask_id_number(None) == ""
    assert mask_phone("12345") == "*****"


@pytest.fixture
def officer(make_user):
    return make_user("officer", role="Loan officer")


@pytest.fixture
def customer(officer):
    import random

    from customers.validators import make_resident_id

    return IndividualCustomerFactory(
        name="Zhang's Noodles",
        phone=PHONE,
        id_number=make_resident_id(random.Random(7)),
        manager=ManagerFactory(user=officer),
    )


def _views(customer):
    return AuditEntry.objects.filter(target_type="customers.customer", target_id=str(customer.pk), action="export")


@pytest.mark.parametrize("role", ["Risk analyst", "Model ops", "Auditor"])
def test_roles_without_the_permission_see_masked_values_on_the_page(client, make_user, customer, role):
    client.force_login(make_user("reader", role=role))
    page = client.get(reverse("admin:customers_customer_change", args=[customer.pk])).content.decode()
    assert customer.id_number not in page and PHONE not in page
    assert mask_id_number(customer.id_number) in page and "138****5678" in page
    assert not _views(customer).exists()


@pytest.mark.parametrize("role", ["Credit approver", "Administrator", "Collector"])
def test_roles_with_the_permission_see_full_values_and_each_view_is_audited(client, make_user, customer, role):
    user = make_user("reader", role=role)
    client.force_login(user)
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    for _ in range(2):
        page = client.get(url).content.decode()
        assert customer.id_number in page and PHONE in page
    entries = list(_views(customer))
    assert len(entries) == 2 and all(e.actor == user and e.changes["shown_in_full"] == ["id_number"] for e in entries)


def test_the_managing_officer_sees_full_values_audited(client, officer, customer):
    client.force_login(officer)
    page = client.get(reverse("admin:customers_customer_change", args=[customer.pk])).content.decode()
    assert customer.id_number in page
    assert _views(customer).count() == 1


def test_analyst_can_still_edit_a_customer_without_seeing_identifiers(client, make_user, customer):
    client.force_login(make_user("analyst", role="Risk analyst"))
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    form = client.get(url).context["adminform"].form
    assert "id_number" not in form.fields and "phone" not in form.fields
    data = {name: form[name].value() for name in form.fields}
    data = {k: ("" if v is None else v) for k, v in data.items()}
    for name in ("tags", "needs", "interests"):
        data[name] = []
    data["notes"] = "checked"
    inline = {
        "credit_lines-TOTAL_FORMS": 0,
        "credit_lines-INITIAL_FORMS": 0,
        "assignments-TOTAL_FORMS": 0,
        "assignments-INITIAL_FORMS": 0,
    }
    response = client.post(url, {**data, **inline})
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    customer.refresh_from_db()
    assert customer.notes == "checked" and customer.phone == PHONE


def _export_rows(client):
    from customers.importing import COLUMNS

    fields = {f"customerenglishresource_{c.field}": "on" for c in COLUMNS}
    response = client.post(reverse("admin:customers_customer_export"), {"format": "0", "resource": "0", **fields})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    return rows[0], rows[1:]


def test_export_masks_for_roles_without_the_permission(client, make_user, customer):
    client.force_login(make_user("analyst", role="Risk analyst"))
    header, rows = _export_rows(client)
    row = next(r for r in rows if r[header.index("Name")] == customer.name)
    phone_col = next(i for i, h in enumerate(header) if "phone" in h.lower())
    assert row[phone_col] == "138****5678"
    assert customer.id_number not in ",".join(row)


def test_export_is_full_for_the_managing_officer(client, officer, customer):
    client.force_login(officer)
    header, rows = _export_rows(client)
    row = next(r for r in rows if r[header.index("Name")] == customer.name)
    assert PHONE in row and customer.id_number in row


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_api_lists_are_masked_for_everyone(officer, customer):
    body = _api(officer).get("/api/v1/customers/").json()
    row = next(r for r in body["results"] if r["id"] == customer.pk)
    assert row["phone"] == "138****5678" and row["id_number"] == mask_id_number(customer.id_number)


def test_api_detail_full_for_holders_audited_masked_for_others(make_user, officer, customer):
    body = _api(officer).get(f"/api/v1/customers/{customer.pk}/").json()
    assert body["phone"] == PHONE and body["id_number"] == customer.id_number
    assert _views(customer).count() == 1 and _views(customer).get().changes["where"] == "api"
    body = _api(make_user("ops", role="Model ops")).get(f"/api/v1/customers/{customer.pk}/").json()
    assert body["phone"] == "138****5678" and body["id_number"] == mask_id_number(customer.id_number)
    assert _views(customer).count() == 1


@pytest.fixture
def public_application(customer):
    from tests.loans.factories import ApplicationFactory

    return ApplicationFactory(
        customer=customer,
        status="submitted",
        channel="public",
        contact_phone=PHONE,
        claimed_identity={"name": customer.name, "id_number": customer.id_number, "phone": PHONE},
    )


def _app_views(app):
    return AuditEntry.objects.filter(target_type="loans.loanapplication", target_id=str(app.pk), action="export")


def test_application_page_identity_rows_masked_for_analysts(client, make_user, public_application):
    client.force_login(make_user("analyst", role="Risk analyst"))
    url = reverse("admin:loans_loanapplication_change", args=[public_application.pk])
    response = client.get(url)
    rows = response.context["identity_rows"]
    shown = {row["claimed"] for row in rows} | {row["on_file"] for row in rows}
    assert "138****5678" in shown and PHONE not in shown
    assert public_application.claimed_identity["id_number"] not in response.content.decode()
    assert not _app_views(public_application).exists()


def test_application_page_identity_rows_full_and_audited_for_approvers(client, make_user, public_application):
    client.force_login(make_user("approver", role="Credit approver"))
    response = client.get(reverse("admin:loans_loanapplication_change", args=[public_application.pk]))
    assert public_application.claimed_identity["id_number"] in response.content.decode()
    assert _app_views(public_application).count() == 1


def test_application_api_masks_lists_and_shows_detail_to_holders(make_user, officer, public_application):
    url = "/api/v1/loans/applications/"
    row = next(r for r in _api(officer).get(url).json()["results"] if r["id"] == public_application.pk)
    assert row["contact_phone"] == "138****5678" and row["claimed_identity"]["phone"] == "138****5678"
    assert row["claimed_identity"]["id_number"] == mask_id_number(public_application.claimed_identity["id_number"])
    detail = _api(officer).get(f"{url}{public_application.pk}/").json()
    assert detail["contact_phone"] == PHONE
    assert detail["claimed_identity"]["id_number"] == public_application.claimed_identity["id_number"]
    assert _app_views(public_application).count() == 1
    detail = _api(make_user("ops", role="Model ops")).get(f"{url}{public_application.pk}/").json()
    assert detail["contact_phone"] == "138****5678"
    assert _app_views(public_application).count() == 1
