"""The customer portal on a phone (390 x 844): a customer registers with the one-time code the
logged SMS backend writes, signs in, sees an application and a loan's schedule, uploads the
document the officer asked for; the officer then finds it on the application's page."""

import datetime
import logging
import re

import pytest
from django.utils import timezone

from loans.models import Document
from loansite import roles
from tests.customers.portal.pages_helpers import customer_with_line, document_request, returned_application
from tests.loans.document_samples import pdf_bytes
from tests.loans.factories import AuthorityFactory
from tests.loans.servicing import disbursed_loan

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "Lantern-harbour-42"
# Content-Security-Policy violations a page reports (the init script itself is not subject to it).
LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective));
"""


def test_register_see_loan_and_answer_a_document_request_on_a_phone(
    browser, live_server, page, admin_login, make_user, caplog, tmp_path, settings
):
    settings.DOCUMENTS_ROOT = tmp_path / "documents"
    officer = make_user("officer1", role=roles.LOAN_OFFICER)
    approver = make_user("approver1", role=roles.CREDIT_APPROVER)
    AuthorityFactory(user=approver, limit=1_000_000)
    customer = customer_with_line(name="Lantern Tea House")
    loan = disbursed_loan(
        officer, approver, customer=customer, amount="12000", term=6, rate="0.12",
        value_date=timezone.localdate() - datetime.timedelta(days=40),
    )  # fmt: skip
    app = returned_application(customer, officer, reason="Please send your 2024 bank statements.")
    document_request(app, officer, kind="bank_statements", note="All accounts, January to December")

    phone = browser.new_context(
        base_url=live_server.url, locale="en-US", viewport={"width": 390, "height": 844}, is_mobile=True
    )
    phone.set_default_timeout(15_000)
    customer_page = phone.new_page()
    customer_page.add_init_script(LISTEN)

    # Register: the credit code and the phone on file, then the code the SMS log shows.
    caplog.set_level(logging.INFO, logger="loansite.sms")
    customer_page.goto("/portal/register/")
    customer_page.fill("#id_identifier", customer.credit_code)
    customer_page.fill("#id_phone", customer.phone)
    customer_page.get_by_role("button", name="Send the code").click()
    customer_page.wait_for_url("**/portal/register/verify/")
    sent = [r.getMessage() for r in caplog.records if r.name == "loansite.sms"]
    code = re.search(r"\b(\d{6})\b", sent[-1]).group(1)
    customer_page.fill("#id_code", code)
    customer_page.fill("#id_password", PASSWORD)
    customer_page.fill("#id_password2", PASSWORD)
    customer_page.get_by_role("button", name="Create my account").click()

    # Sign in and land on the home page.
    customer_page.wait_for_url("**/portal/login/**")
    customer_page.fill("#id_login", customer.phone)
    customer_page.fill("#id_password", PASSWORD)
    customer_page.get_by_role("button", name="Sign in").click()
    customer_page.wait_for_selector("#home-loans")
    assert "1 application needs information from you." in customer_page.locator("#home-applications").inner_text()
    # Nothing is wider than the phone's screen, and nothing breaks the Content-Security-Policy.
    assert customer_page.evaluate("document.documentElement.scrollWidth") <= 390
    assert customer_page.evaluate("window.__csp") == []

    # The loan's schedule.
    customer_page.get_by_role("link", name=loan.loan_number).click()
    assert customer_page.locator("#schedule tbody tr").count() == 6
    assert customer_page.evaluate("document.documentElement.scrollWidth") <= 390
    assert customer_page.evaluate("window.__csp") == []

    # The application, what the officer asked for, and the upload.
    customer_page.get_by_role("link", name="My applications").click()
    customer_page.get_by_role("link", name=app.reference).click()
    assert "Please send your 2024 bank statements." in customer_page.locator("#returned").inner_text()
    assert "All accounts" in customer_page.locator("#document-requests").inner_text()
    statement = tmp_path / "statements-2024.pdf"
    statement.write_bytes(pdf_bytes())
    customer_page.select_option("#id_kind", "bank_statements")
    customer_page.set_input_files("#id_file", str(statement))
    customer_page.locator("#upload-submit").click()
    assert "Received: statements-2024.pdf." in customer_page.locator(".messages").inner_text()
    assert "Fulfilled" in customer_page.locator("#document-requests").inner_text()
    customer_page.locator("#answer-submit").click()
    assert "sent back to the bank" in customer_page.locator(".messages").inner_text()
    assert customer_page.evaluate("window.__csp") == []
    phone.close()

    document = Document.objects.get(application=app)
    assert document.uploaded_through_portal

    # The officer sees it arrive on the application's page.
    admin_login("officer1")
    page.goto(f"/admin/loans/loanapplication/{app.pk}/change/")
    documents = page.locator("#documents").inner_text()
    assert "statements-2024.pdf" in documents and "the customer (portal)" in documents
