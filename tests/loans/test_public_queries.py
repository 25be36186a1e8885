"""The public form's cost per submission (queries), and the cached reference data it reads."""

import random
import secrets

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import City, Industry
from customers.validators import make_credit_code, make_mobile_phone
from loans.models import ApplicationSnapshot, LoanApplication
from tests.loans.factories import CustomerFactory

pytestmark = pytest.mark.django_db

APPLY = "/apply/"
# One submission, as measured. A new applicant: the token, a first match and a free reference
# number read before the write transaction; inside it the token, the authoritative duplicate
# check, the customer, the freeze check, the application, the prior applications, the snapshot,
# the token's application and one append to the audit chain (head read, both entries, head
# advanced), plus the savepoints of the nested services. It was 40 before the reference data and
# products were read from a per-process copy, the snapshot written from the objects in hand and
# the audit entries appended together; a query added per submission fails these tests.
MAX_QUERIES_NEW_APPLICANT = 22
MAX_QUERIES_KNOWN_CUSTOMER = 17


def _form(product, rng, **extra):
    return {
        "kind": "enterprise",
        "name": f"Tea House {rng.random()}",
        "credit_code": make_credit_code(rng, city="Hangzhou"),
        "phone": make_mobile_phone(rng),
        "email": "",
        "city": "Hangzhou",
        "industry": "catering",
        "years_in_business": "4",
        "employees": "12",
        "monthly_revenue": "90000",
        "monthly_cost": "70000",
        "product": str(product.pk),
        "amount": "200000",
        "term_months": "12",
        "purpose": "working_capital",
        "repayment_method": "equal_installment",
        "consent": "on",
        "website": "",
        "submission_token": secrets.token_urlsafe(24),
        **extra,
    }


def _submit(client, data):
    response = client.post(APPLY, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


@pytest.fixture
def warm(client, product):
    """One submission first: the process's copies of cities, industries and products are read."""
    _submit(client, _form(product, random.Random(1)))


def test_a_new_applicants_submission_runs_a_bounded_number_of_queries(
    client, product, warm, django_assert_max_num_queries
):
    data = _form(product, random.Random(2))
    with django_assert_max_num_queries(MAX_QUERIES_NEW_APPLICANT) as queries:
        _submit(client, data)
    sql = [q["sql"] for q in queries.captured_queries]
    # The reference data and the products come from the process's copy, not the tables.
    assert not [s for s in sql if "customers_city" in s or "customers_industry" in s or "loans_loanproduct" in s]
    # One append to the audit chain for the customer's and the application's entries.
    assert len([s for s in sql if s.startswith("SELECT") and "audit_audithead" in s]) == 1
    app = LoanApplication.objects.filter(customer__credit_code=data["credit_code"]).get()
    assert app.status == "submitted" and app.customer.city_tier == 2
    snapshot = ApplicationSnapshot.objects.get(application=app)
    assert (snapshot.city, snapshot.industry, snapshot.prior_applications) == ("Hangzhou", "catering", 0)


def test_a_known_customers_submission_runs_a_bounded_number_of_queries(
    client, product, warm, django_assert_max_num_queries
):
    rng = random.Random(3)
    data = _form(product, rng)
    customer = CustomerFactory(credit_code=data["credit_code"], phone=data["phone"], name=data["name"])
    _submit(client, data)  # a first application of this customer
    again = {**data, "amount": "150000", "submission_token": secrets.token_urlsafe(24)}
    from django.test import Client

    with django_assert_max_num_queries(MAX_QUERIES_KNOWN_CUSTOMER):
        _submit(Client(), again)  # another browser: not the same application filed again
    apps = list(LoanApplication.objects.filter(customer=customer).order_by("pk"))
    assert len(apps) == 2
    assert ApplicationSnapshot.objects.get(application=apps[1]).prior_applications == 1


def test_a_city_switched_off_in_the_admin_leaves_the_form_at_once(client, product, warm):
    wuxi = City.objects.get(name_en="Wuxi")
    assert 'value="Wuxi"' in client.get(APPLY).content.decode()
    wuxi.active = False
    wuxi.save()
    assert 'value="Wuxi"' not in client.get(APPLY).content.decode()
    response = client.post(APPLY, _form(product, random.Random(4), city="Wuxi"))
    assert response.status_code == 400 and "city" in response.context["form"].errors


def test_a_change_made_by_another_process_reaches_this_ones_copy():
    """Another process's edit sets a new shared version (the cache); this process's copy,
    read before, is read again at its next use."""
    from django.core.cache import cache

    from customers.reference import city_find, industry_choices

    assert city_find("Wuxi") is not None and "construction" in dict(industry_choices())
    City.objects.filter(name_en="Wuxi").update(active=False)  # no signal in this process
    Industry.objects.filter(code="construction").update(active=False)
    assert city_find("Wuxi") is not None  # this process's copy, as yet
    cache.set("process-copy:customers:reference:version", "changed-elsewhere", None)
    assert city_find("Wuxi") is None and "construction" not in dict(industry_choices())
    assert city_find("Wuxi", active_only=False).tier == 2


def test_a_product_switched_off_is_refused_at_once(client, product, warm):
    product.active = False
    product.save()
    html = client.get(APPLY).content.decode()
    assert f'value="{product.pk}"' not in html
    response = client.post(APPLY, _form(product, random.Random(5)))
    assert response.status_code == 400 and "product" in response.context["form"].errors


def test_the_forms_choices_cost_no_query_once_read(client, product, warm):
    with CaptureQueriesContext(connection) as queries:
        html = client.get(APPLY).content.decode()
    assert 'value="Hangzhou"' in html and 'value="catering"' in html and f'value="{product.pk}"' in html
    assert not [q for q in queries.captured_queries if "customers_" in q["sql"] or "loanproduct" in q["sql"]]
