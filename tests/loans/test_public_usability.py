"""The public form as applicants use it: post/redirect/get and one application per form,
a rate limit that counts applications filed and keeps the form, the product's terms and
ranges, and both languages."""

import re
from decimal import Decimal

import pytest
from django.conf import settings as django_settings

from customers.validators import make_credit_code, make_mobile_phone
from loans.models import LoanApplication, PublicSubmission
from tests.loans.factories import ProductFactory

pytestmark = pytest.mark.django_db

APPLY = "/apply/"
DONE = "/apply/received/"
STATUS = "/apply/status/"


@pytest.fixture
def equipment(db):
    return ProductFactory(
        code="EQP",
        name="Equipment loan",
        name_zh="设备贷款",
        purpose="equipment",
        min_amount=Decimal("50000.00"),
        min_term_months=12,
        max_term_months=36,
        repayment_methods=["equal_installment", "equal_principal"],
    )


@pytest.fixture
def form_data(equipment):
    import random

    rng = random.Random(21)
    return {
        "kind": "enterprise",
        "name": "Wuxi Precision Parts",
        "credit_code": make_credit_code(rng),
        "phone": make_mobile_phone(rng),
        "email": "",
        "city": "Wuxi",
        "industry": "manufacturing",
        "years_in_business": "6",
        "employees": "30",
        "monthly_revenue": "400000",
        "monthly_cost": "300000",
        "product": str(equipment.pk),
        "amount": "600000",
        "term_months": "24",
        "purpose": "equipment",
        "repayment_method": "equal_installment",
        "consent": "on",
        "website": "",
        "submission_token": "tok-" + "a" * 28,
    }


@pytest.fixture
def frozen_window(monkeypatch):
    from loans import ratelimit

    monkeypatch.setattr(ratelimit, "_now", lambda: 1_800_000_030.0)


def _token(response) -> str:
    return re.search(r'name="submission_token" value="([^"]+)"', response.content.decode()).group(1)


# -- post/redirect/get and one application per form ---------------------------------------------


def test_a_filed_form_redirects_to_a_confirmation_page_that_is_safe_to_refresh(client, form_data):
    response = client.post(APPLY, form_data)
    assert response.status_code == 302 and response["Location"] == DONE
    app = LoanApplication.objects.get()
    # An applicant from Wuxi (not one of the old 19 demo cities) applies; the tier is the city's.
    assert (app.customer.city, app.customer.city_tier) == ("Wuxi", 2)
    first = client.get(DONE)
    again = client.get(DONE)  # the refresh of the confirmation page is a GET: nothing is posted
    assert first.status_code == again.status_code == 200
    assert app.reference in first.content.decode() and app.reference in again.content.decode()
    assert LoanApplication.objects.count() == 1


def test_the_same_form_posted_again_files_no_second_application(client, form_data):
    client.post(APPLY, form_data)
    app = LoanApplication.objects.get()
    # Back and submit again, a double click, or the browser re-posting on a refresh.
    for _ in range(3):
        response = client.post(APPLY, form_data, follow=True)
        assert response.status_code == 200 and app.reference in response.content.decode()
    assert LoanApplication.objects.count() == 1
    assert PublicSubmission.objects.get().application == app


def test_two_posts_of_one_form_at_once_file_one_application(form_data, equipment):
    """The service itself: the token is taken first in the write transaction and unique."""
    from loans.services import application_submit_public

    kwargs = {
        "customer_fields": {
            "kind": "enterprise",
            "name": form_data["name"],
            "credit_code": form_data["credit_code"],
            "phone": form_data["phone"],
            "city": "Wuxi",
            "city_tier": 2,
            "industry": "manufacturing",
        },
        "product": equipment,
        "amount": Decimal("600000"),
        "term_months": 24,
        "purpose": "equipment",
        "repayment_method": "equal_installment",
        "submission_token": "same-token-0123456789",
    }
    first = application_submit_public(**kwargs)
    second = application_submit_public(**kwargs)
    assert first.pk == second.pk and LoanApplication.objects.count() == 1


def test_each_form_served_has_its_own_token(client, equipment):
    assert _token(client.get(APPLY)) != _token(client.get(APPLY))


def test_a_form_without_its_token_is_asked_again_and_nothing_is_filed(client, form_data):
    data = {k: v for k, v in form_data.items() if k != "submission_token"}
    response = client.post(APPLY, data)
    assert response.status_code == 400
    assert not LoanApplication.objects.exists()
    assert f'value="{form_data["name"]}"' in response.content.decode()


def test_the_confirmation_page_without_a_filed_form_goes_back_to_the_form(client, db):
    response = client.get(DONE)
    assert response.status_code == 302 and response["Location"] == APPLY


# -- rate limit: applications filed count; the form is kept -------------------------------------


def test_failed_submissions_do_not_count_and_a_limited_applicant_keeps_the_form(
    client, form_data, settings, frozen_window
):
    settings.PUBLIC_APPLY_RATE = "1/h"
    for _ in range(5):  # correcting mistakes costs nothing
        assert client.post(APPLY, {**form_data, "phone": "12"}).status_code == 400
    assert client.post(APPLY, form_data).status_code == 302
    second = {**form_data, "name": "Wuxi Second Workshop", "submission_token": "tok-" + "b" * 28}
    response = client.post(APPLY, second)
    assert response.status_code == 429
    html = response.content.decode()
    seconds = int(response["Retry-After"])
    assert 0 < seconds <= 3600
    assert 'id="retry-after"' in html and "minute" in html  # says when to try again
    # Everything typed is kept, the token too (so the retry files it once).
    assert 'value="Wuxi Second Workshop"' in html and 'value="600000"' in html
    assert 'value="tok-' + "b" * 28 + '"' in html
    assert re.search(r'<option value="Wuxi" selected', html)
    assert LoanApplication.objects.count() == 1
    # The filed form posted again is not limited: it finds its application.
    assert client.post(APPLY, form_data).status_code == 302


def test_floods_of_posts_are_stopped_with_the_form_kept(client, form_data, settings, frozen_window):
    settings.PUBLIC_APPLY_ATTEMPT_RATE = "2/m"
    for _ in range(2):
        client.post(APPLY, {**form_data, "phone": "12"})
    response = client.post(APPLY, form_data)
    assert response.status_code == 429 and 'value="Wuxi Precision Parts"' in response.content.decode()
    assert not LoanApplication.objects.exists()


def test_the_default_limit_lets_a_shared_address_file_many_applications():
    from loans.ratelimit import rate_parse

    count, period = rate_parse(django_settings.PUBLIC_APPLY_RATE)
    assert count * 3600 / period >= 60  # at least 60 applications an hour from one address
    assert rate_parse("30/10m") == (30, 600)


# -- product ranges, terms, languages ------------------------------------------------------------


def test_product_range_errors_come_with_the_other_errors(client, form_data):
    response = client.post(APPLY, {**form_data, "phone": "12", "amount": "1000", "term_months": "6"})
    assert response.status_code == 400
    form = response.context["form"]
    assert {"phone", "amount", "term_months"} <= set(form.errors)
    assert not LoanApplication.objects.exists()


def test_each_product_option_carries_its_terms_and_methods_for_the_script(client, equipment):
    html = client.get(APPLY).content.decode()
    option = re.search(rf'<option value="{equipment.pk}"[^>]*>', html).group(0)
    assert 'data-min-term="12"' in option and 'data-max-term="36"' in option
    assert 'data-methods="equal_installment equal_principal"' in option and 'data-purpose="equipment"' in option
    # The script is a static file (no inline script under the Content-Security-Policy).
    assert re.search(r'<script src="[^"]*loans/apply\.js" defer></script>', html)
    assert "<script>" not in html


def test_the_script_narrows_terms_to_the_chosen_product():
    from pathlib import Path

    script = (Path(django_settings.BASE_DIR) / "loans" / "static" / "loans" / "apply.js").read_text()
    assert "data-min-term" in script and "data-max-term" in script and "term_months" in script


def test_the_chinese_form_names_products_and_terms_in_chinese(client, equipment):
    html = client.get(APPLY, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert ">设备贷款</option>" in html and "Equipment loan" not in html
    assert ">12 个月</option>" in html and "12 months" not in html
    assert "无锡" in html  # cities in Chinese
    english = client.get(APPLY, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert ">Equipment loan</option>" in english and ">12 months</option>" in english


def test_the_chinese_status_page_names_the_product_and_term_in_chinese(client, form_data):
    client.post(APPLY, form_data)
    app = LoanApplication.objects.get()
    html = client.post(
        STATUS, {"reference": app.reference, "phone": form_data["phone"]}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    assert "设备贷款" in html and "24 个月" in html
    assert "Equipment loan" not in html and "months" not in html


def test_the_reference_number_never_wraps(client, form_data):
    from pathlib import Path

    html = client.post(APPLY, form_data, follow=True).content.decode()
    assert 'id="reference" class="reference"' in html
    css = (Path(django_settings.BASE_DIR) / "static" / "loansite" / "public.css").read_text()
    assert re.search(r"\.reference \{[^}]*white-space: nowrap", css)


def test_cities_and_industries_on_the_form_come_from_the_reference_tables(client, form_data):
    from customers.models import City, Industry

    City.objects.filter(name_en="Wuxi").update(active=False)
    Industry.objects.filter(code="construction").update(active=False)
    html = client.get(APPLY).content.decode()
    assert 'value="Wuxi"' not in html and 'value="construction"' not in html and 'value="Changzhou"' in html
    response = client.post(APPLY, form_data)
    assert response.status_code == 400 and "city" in response.context["form"].errors


def test_a_copy_of_a_filed_form_sent_from_the_same_browser_files_nothing(client, form_data):
    """The back button serves the form again with everything typed but a new token."""
    client.post(APPLY, form_data)
    app = LoanApplication.objects.get()
    response = client.post(APPLY, {**form_data, "submission_token": "tok-" + "c" * 28}, follow=True)
    assert app.reference in response.content.decode()
    assert LoanApplication.objects.count() == 1
    # Another browser (another session) with the same details is another application.
    from django.test import Client

    Client().post(APPLY, {**form_data, "submission_token": "tok-" + "d" * 28})
    assert LoanApplication.objects.count() == 2
