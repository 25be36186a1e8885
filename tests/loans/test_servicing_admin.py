"""The loan book in the admin: the list (constant queries), the loan page with its schedule,
ledger, repayments and actions, the printable plan, XLSX exports, disbursement pages."""

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from audit.models import AuditEntry
from loans.models import Disbursement, Loan, Repayment
from loans.services.repayments import repayment_post
from tests.loans.factories import LoanFactory
from tests.loans.servicing import DAY, approved_application, disbursed_loan

pytestmark = pytest.mark.django_db
D = Decimal
LIST = "/admin/loans/loan/"


def page(loan):
    return f"{LIST}{loan.pk}/change/"


@pytest.fixture
def loan(officer, approver):
    return disbursed_loan(officer, approver, amount="10000", term=6, rate="0.12")


def test_loan_list_shows_the_book_with_a_constant_number_of_queries(client, approver, django_assert_num_queries):
    for _ in range(3):
        LoanFactory()
    client.force_login(approver)
    client.get(LIST)  # warm caches
    with django_assert_num_queries(_count := _queries(client)) as first:
        client.get(LIST)
    for _ in range(20):
        LoanFactory()
    with django_assert_num_queries(_count):
        response = client.get(LIST)
    assert response.status_code == 200 and len(first) == _count
    assert response.content.decode().count('class="field-loan_number"') == 23
    filtered = client.get(LIST, {"status__exact": "closed"}).content.decode()
    assert 'class="field-loan_number"' not in filtered


def _queries(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(LIST)
    return len(captured)


def test_loan_page_shows_terms_schedule_ledger_and_the_actions_of_the_role(client, officer, approver, loan):
    repayment_post(actor=officer, loan=loan, amount="1725.48", value_date=DAY.replace(month=2), bank_reference="B-1")
    client.force_login(officer)
    html = client.get(page(loan)).content.decode()
    assert 'id="schedule"' in html and "¥1,708.43" in html and 'class="installment-paid"' in html
    assert 'id="ledger"' in html and "B-1" in html
    assert "/act/repay/" in html and "/act/restructure/" not in html and "/reverse/" not in html
    client.force_login(approver)
    html = client.get(page(loan)).content.decode()
    assert "/act/restructure/" in html and "/act/repay/" not in html and "/reverse/" in html


def test_a_repayment_posted_in_the_admin_appears_and_can_be_reversed(client, officer, approver, loan):
    client.force_login(officer)
    url = f"{LIST}{loan.pk}/act/repay/"
    bad = client.post(url, {"amount": "100", "value_date": "2025-01-01", "bank_reference": "ADM-1"})
    assert bad.status_code == 200 and "before the loan" in bad.content.decode()  # before the last movement
    response = client.post(url, {"amount": "1725.48", "value_date": "2025-02-15", "bank_reference": "ADM-1"})
    assert response.status_code == 302
    repayment = Repayment.objects.get(bank_reference="ADM-1")
    assert repayment.channel == "admin" and "ADM-1" in client.get(page(loan)).content.decode()
    client.force_login(approver)
    reverse_url = f"{LIST}{loan.pk}/repayments/{repayment.pk}/reverse/"
    assert client.post(reverse_url, {"reason": ""}).status_code == 200  # the form again
    assert client.post(reverse_url, {"reason": "wrong loan"}).status_code == 302
    repayment.refresh_from_db()
    assert repayment.status == "reversed"


def test_payoff_quote_prepay_and_restructure_pages(client, officer, approver, loan):
    client.force_login(officer)
    quote = client.post(f"{LIST}{loan.pk}/act/payoff-quote/", {"on_date": "2025-02-01"}).content.decode()
    assert 'id="result"' in quote and "10000.00" in quote
    response = client.post(
        f"{LIST}{loan.pk}/act/prepay/",
        {"amount": "3000", "value_date": "2025-02-01", "bank_reference": "P-1", "mode": "lower_installment"},
    )
    assert response.status_code == 302
    client.force_login(approver)
    response = client.post(
        f"{LIST}{loan.pk}/act/restructure/", {"on_date": "2025-02-05", "term_months": "9", "reason": "extension"}
    )
    assert response.status_code == 302
    loan.refresh_from_db()
    assert loan.restructured and loan.schedule_version == 3
    assert client.get(f"{LIST}{loan.pk}/act/repay/").status_code == 403  # approvers do not post


def test_printable_repayment_plan(client, officer, loan):
    client.force_login(officer)
    html = client.get(f"{LIST}{loan.pk}/plan/").content.decode()
    assert 'id="plan-schedule"' in html and loan.loan_number in html and "10350.00" not in html
    assert "1725.51" in html and "<script>" not in html and "style=" not in html
    chinese = client.get(f"{LIST}{loan.pk}/plan/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "还款计划表" in chinese and "借款人（签字）" in chinese
    page_zh = client.get(page(loan), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "还款计划" in page_zh and "分户账" in page_zh


def test_schedule_and_repayment_exports_are_bilingual_escaped_and_audited(client, officer, make_user, loan):
    repayment_post(actor=officer, loan=loan, amount="100", value_date=DAY.replace(month=2), bank_reference="=1+2")
    client.force_login(officer)
    response = client.get(f"{LIST}{loan.pk}/export/schedule/")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:3] == ("No. / 期数", "Due date / 到期日", "Pay date / 还款日")
    assert len(rows) == 8 and rows[-1][4] == 1708.43
    response = client.get(f"{LIST}{loan.pk}/export/repayments/")
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[2][2] == "'=1+2"  # a formula in a bank reference stays text
    assert AuditEntry.objects.filter(action="export", target_type="loans.loan").count() == 2
    analyst = make_user("analyst", role="Risk analyst")
    client.force_login(analyst)
    assert client.get(f"{LIST}{loan.pk}/export/schedule/").status_code == 403


def test_disbursement_pages(client, officer, approver):
    app = approved_application(officer, approver, conditions=["Contract signed"])
    client.force_login(officer)
    app_page = client.get(f"/admin/loans/loanapplication/{app.pk}/change/").content.decode()
    assert 'id="prepare-disbursement"' in app_page
    url = f"/admin/loans/disbursement/prepare/{app.pk}/"
    form = {
        "amount": "10000",
        "contract_number": "HT-7",
        "account": "6222",
        "value_date": DAY.isoformat(),
    }
    missing = client.post(url, form)
    assert missing.status_code == 200 and "Contract signed" in missing.content.decode()
    assert client.post(url, {**form, "conditions_checked": ["Contract signed"]}).status_code == 302
    d = Disbursement.objects.get()
    assert client.get(f"/admin/loans/disbursement/{d.pk}/authorise/").status_code == 403
    client.force_login(approver)
    preview = client.get(f"/admin/loans/disbursement/{d.pk}/authorise/").content.decode()
    assert "2025-07-15" in preview  # the maturity of the schedule it will make
    response = client.post(f"/admin/loans/disbursement/{d.pk}/authorise/")
    loan = Loan.objects.get()
    assert response.status_code == 302 and response["Location"] == page(loan)
