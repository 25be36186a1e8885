"""The public form in a browser at a laptop's width: a refresh after filing files nothing
more, and a rate-limited applicant keeps what they typed."""

import random

import pytest

from customers.validators import make_credit_code, make_mobile_phone
from loans.models import LoanApplication
from tests.loans.factories import ProductFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _fill(page, *, name: str, rng: random.Random):
    page.get_by_label("Business name").fill(name)
    page.get_by_label("Unified social credit code").fill(make_credit_code(rng))
    page.get_by_label("Mobile phone").fill(make_mobile_phone(rng))
    page.get_by_label("City").select_option("Wuxi")
    page.get_by_label("Industry").select_option("manufacturing")
    page.get_by_label("Years in business").fill("5")
    page.get_by_label("Employees").fill("20")
    page.get_by_label("Average monthly revenue (CNY)").fill("300000")
    page.get_by_label("Average monthly cost (CNY)").fill("200000")
    page.get_by_label("Loan product").select_option(label="Equipment loan")
    page.get_by_label("Amount requested (CNY)").fill("500000")
    page.get_by_label("Term").select_option("24")
    page.get_by_label("I agree").check()


@pytest.fixture
def laptop(page):
    page.set_viewport_size({"width": 1366, "height": 900})
    ProductFactory(code="EQP", name="Equipment loan", name_zh="设备贷款", min_term_months=12, max_term_months=36)
    return page


def test_refreshing_after_filing_files_no_second_application(laptop):
    page = laptop
    page.goto("/apply/")
    # The terms offered follow the product (12 to 36 months for this one).
    terms = page.locator("select[name=term_months] option:not([disabled])").all_inner_texts()
    assert terms == ["12 months", "18 months", "24 months", "36 months"]
    _fill(page, name="Wuxi Precision Parts", rng=random.Random(7))
    page.get_by_role("button", name="Submit application").click()
    reference = page.locator("#reference").inner_text()
    assert page.url.endswith("/apply/received/")
    page.reload()
    page.reload()
    assert page.locator("#reference").inner_text() == reference
    assert LoanApplication.objects.count() == 1
    assert LoanApplication.objects.get().customer.city == "Wuxi"


def test_a_rate_limited_applicant_keeps_what_they_typed(laptop, settings):
    settings.PUBLIC_APPLY_RATE = "1/h"
    page = laptop
    page.goto("/apply/")
    _fill(page, name="First Workshop", rng=random.Random(8))
    page.get_by_role("button", name="Submit application").click()
    page.locator("#reference").wait_for()
    page.goto("/apply/")
    _fill(page, name="Second Workshop", rng=random.Random(9))
    page.get_by_role("button", name="Submit application").click()
    page.locator("#retry-after").wait_for()
    assert "minute" in page.locator("#retry-after").inner_text()
    assert page.get_by_label("Business name").input_value() == "Second Workshop"
    assert page.get_by_label("Amount requested (CNY)").input_value() == "500000"
    assert page.get_by_label("City").input_value() == "Wuxi"
    assert page.get_by_label("Term").input_value() == "24"
    assert LoanApplication.objects.count() == 1


def test_back_and_submit_again_files_no_second_application(laptop):
    page = laptop
    page.goto("/apply/")
    _fill(page, name="Wuxi Gearbox Works", rng=random.Random(10))
    page.get_by_role("button", name="Submit application").click()
    reference = page.locator("#reference").inner_text()
    page.go_back()  # the browser serves the form again, as typed (with a new token)
    page.get_by_role("button", name="Submit application").click()
    assert page.locator("#reference").inner_text() == reference
    assert LoanApplication.objects.count() == 1
