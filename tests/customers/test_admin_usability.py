"""The customer book as staff use it: formatted list, the overview of applications, decisions,
credit line and exposure, the duplicate-phone error linking the existing customer, and manager
matching / reassignment for the role that owns customers."""

from decimal import Decimal

import pytest
from django.urls import reverse

from loans.models import ApprovalDecision, LoanApplication
from loansite import roles
from tests.customers.factories import CustomerFactory, ManagerFactory
from tests.loans.factories import ApplicationFactory, CreditLineFactory

CHANGELIST = reverse("admin:customers_customer_changelist")
ADD = reverse("admin:customers_customer_add")


def change_url(customer):
    return reverse("admin:customers_customer_change", args=[customer.pk])


@pytest.fixture
def officer(make_user):
    return make_user("officer", role=roles.LOAN_OFFICER)


def test_list_shows_money_formatted_and_names_on_one_line(client, officer):
    CustomerFactory(name="杭州西湖区某某餐饮管理有限公司第一分公司", monthly_revenue=Decimal("1250000.00"))
    client.force_login(officer)
    html = client.get(CHANGELIST).content.decode()
    assert "¥1,250,000.00" in html
    assert 'class="cell-truncate" title="杭州西湖区某某餐饮管理有限公司第一分公司"' in html


def test_customer_page_has_an_overview_of_applications_decisions_credit_line_and_exposure(client, officer):
    customer = CustomerFactory()
    CreditLineFactory(customer=customer, limit=Decimal("800000.00"), used=Decimal("150000.00"))
    approved = ApplicationFactory(customer=customer, status=LoanApplication.Status.APPROVED, amount=Decimal("150000"))
    ApprovalDecision.objects.create(application=approved, kind="approve", amount=approved.amount, decider=officer)
    rejected = ApplicationFactory(customer=customer, status=LoanApplication.Status.REJECTED)
    ApplicationFactory(status=LoanApplication.Status.SUBMITTED)  # another customer's
    client.force_login(officer)
    response = client.get(change_url(customer))
    overview = response.context["overview"]
    assert (overview.applications, overview.approved, overview.rejected, overview.decisions) == (2, 1, 1, 1)
    html = response.content.decode()
    table = html.split('id="customer-applications"')[1].split("</table>")[0]
    assert approved.reference in table and rejected.reference in table
    assert "¥800,000.00" in html.split('id="overview-credit-line"')[1].split("</dd>")[0]
    assert "¥0.00" in html.split('id="overview-exposure"')[1].split("</dd>")[0]


def _add_payload(**overrides):
    data = {
        "kind": "enterprise",
        "name": "Second Noodles",
        "credit_code": "",
        "id_number": "",
        "phone": "",
        "email": "",
        "address": "",
        "city": "Hangzhou",
        "city_tier": "2",
        "industry": "retail",
        "years_in_business": "3",
        "employees": "4",
        "monthly_revenue": "50000",
        "monthly_cost": "30000",
        "notes": "",
        "Assignment_customer-TOTAL_FORMS": "0",
        "Assignment_customer-INITIAL_FORMS": "0",
        "creditline_set-TOTAL_FORMS": "0",
        "creditline_set-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_duplicate_phone_is_a_form_error_linking_the_existing_customer(client, officer):
    import random

    from customers.validators import make_credit_code

    existing = CustomerFactory(name="First Noodles", phone="13912345678")
    client.force_login(officer)
    response = client.post(ADD, _add_payload(phone="139 1234 5678", credit_code=make_credit_code(random.Random(7))))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "phone" in errors
    html = response.content.decode()
    assert f'href="{change_url(existing)}"' in html and "First Noodles" in html
    assert not type(existing).objects.filter(name="Second Noodles").exists()


def test_duplicate_phone_does_not_link_for_someone_who_cannot_view_customers(officer):
    from customers.forms import CustomerAdminForm

    existing = CustomerFactory(name="First Noodles", phone="13912345678")
    form_class = type("F", (CustomerAdminForm,), {"request_user": None})
    form = form_class(data={"phone": "13912345678"})
    form.is_valid()
    assert "phone" in form.errors
    assert change_url(existing) not in str(form.errors["phone"])


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (roles.LOAN_OFFICER, True),
        (roles.ADMINISTRATOR, True),
        (roles.CREDIT_APPROVER, False),
        (roles.RISK_ANALYST, False),
        (roles.MODEL_OPS, False),
        (roles.AUDITOR, False),
    ],
)
def test_manager_matching_and_reassignment_by_role(client, make_user, role, allowed):
    user = make_user(f"user_{role.replace(' ', '_').lower()}", role=role)
    customer = CustomerFactory()
    manager = ManagerFactory()
    client.force_login(user)
    matching = client.get(reverse("admin:customers_customer_matching"))
    assert (matching.status_code == 200) is allowed
    response = client.post(
        reverse("admin:customers_customer_reassign", args=[customer.pk]),
        {"manager": manager.pk, "reason": "Closer to the customer"},
    )
    customer.refresh_from_db()
    assert (customer.manager_id == manager.pk) is allowed
    if not allowed:
        assert response.status_code == 403


def test_read_only_customer_page_shows_money_formatted(client, make_user):
    customer = CustomerFactory(monthly_revenue=Decimal("1250000.00"), total_assets=Decimal("3000000.00"))
    client.force_login(make_user("approver", role=roles.CREDIT_APPROVER))
    html = client.get(change_url(customer)).content.decode()
    assert "¥1,250,000.00" in html and "¥3,000,000.00" in html
    assert "1250000.00" not in html
