"""From the public form to an approval in the workbench, in a real browser."""

import random
from decimal import Decimal

import pytest

from audit.models import AuditAction, AuditEntry
from customers.validators import make_credit_code, make_mobile_phone
from loans.models import LoanApplication
from loansite import roles
from tests.loans.factories import AuthorityFactory, ProductFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_public_application_is_approved_in_the_workbench(page, admin_login, make_user):
    ProductFactory(code="WC", name="Working capital")
    approver = make_user("approver1", role=roles.CREDIT_APPROVER)
    AuthorityFactory(user=approver, limit=Decimal("1000000"))
    rng = random.Random(42)
    phone = make_mobile_phone(rng)

    # 1. The applicant fills in the public form on a phone-sized screen.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/apply/")
    page.get_by_label("Type of business").select_option("enterprise")
    page.get_by_label("Business name").fill("West Lake Noodles")
    page.get_by_label("Unified social credit code").fill(make_credit_code(rng, city="Hangzhou"))
    page.get_by_label("Mobile phone").fill(phone)
    page.get_by_label("City").select_option("Hangzhou")
    page.get_by_label("Industry").select_option("catering")
    page.get_by_label("Years in business").fill("6")
    page.get_by_label("Employees").fill("9")
    page.get_by_label("Average monthly revenue (CNY)").fill("85000")
    page.get_by_label("Average monthly cost (CNY)").fill("61000")
    page.get_by_label("Amount requested (CNY)").fill("180000")
    page.get_by_label("Term").select_option("12")
    page.get_by_label("I agree").check()
    page.get_by_role("button", name="Submit application").click()
    reference = page.locator("#reference").inner_text()
    assert reference.startswith("LA-")
    app = LoanApplication.objects.get(reference=reference)
    assert app.status == LoanApplication.Status.SUBMITTED

    # 2. The approver finds it in the queue and decides.
    page.set_viewport_size({"width": 1280, "height": 900})
    admin_login("approver1")
    page.goto("/admin/loans/loanapplication/")
    page.fill("#searchbar", reference)
    page.press("#searchbar", "Enter")
    page.get_by_role("link", name=reference).click()
    page.locator("#panel-customer").wait_for()
    page.locator("a.loan-action-review").click()
    page.get_by_role("button", name="Start review").click()
    page.locator(".messagelist").wait_for()
    assert "Under review" in page.locator(".messagelist").inner_text()
    page.locator("a.loan-action-approve").click()
    page.fill("#id_reason", "Healthy margins, modest amount.")
    page.get_by_role("button", name="Approve").click()
    assert "Approved" in page.locator(".messagelist").inner_text()
    # The reason shows in the decision history; the audit excerpt is for auditors only.
    assert "Healthy margins" in page.locator("#content").inner_text()
    assert page.locator("#loan-audit").count() == 0

    # 3. The decision is in the audit trail, by the approver, with the reason.
    app.refresh_from_db()
    assert app.status == LoanApplication.Status.APPROVED
    entry = AuditEntry.objects.get(
        target_type="loans.loanapplication", target_id=str(app.pk), action=AuditAction.APPROVE
    )
    assert entry.actor_id == approver.pk
    assert entry.reason == "Healthy margins, modest amount."
    assert entry.changes["status"] == ["under_review", "approved"]

    # 4. The applicant sees the outcome with reference and phone.
    page.goto("/apply/status/")
    page.get_by_label("Reference number").fill(reference)
    page.get_by_label("Mobile phone").fill(phone)
    page.get_by_role("button", name="Check status").click()
    assert page.locator("#status").inner_text() == "Approved"
