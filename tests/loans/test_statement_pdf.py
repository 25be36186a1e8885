"""The loan statement as a PDF: its facts, its rows and the totals of the repayments that stand."""

from decimal import Decimal

import pytest
from django.utils import translation

from loans.models import Installment
from loans.services.exports import REPAYMENT_HEADERS, loan_repayments_table
from loans.services.repayments import repayment_post, repayment_reverse
from loans.services.statement_pdf import loan_statement_facts, loan_statement_pdf, loan_statement_totals
from tests.loans.servicing import disbursed_loan

pytestmark = pytest.mark.django_db


@pytest.fixture
def approver(make_user):
    from tests.loans.factories import AuthorityFactory

    user = make_user("approver", role="Credit approver")
    AuthorityFactory(user=user, limit=Decimal("5000000.00"))
    return user


def test_totals_leave_reversed_repayments_out(officer, approver):
    loan = disbursed_loan(officer, approver, amount="10000", term=6)
    first = Installment.objects.filter(loan=loan).order_by("number").first()
    kept = repayment_post(actor=officer, loan=loan, amount=first.total, value_date=first.due_date, bank_reference="R1")
    wrong = repayment_post(
        actor=officer, loan=loan, amount=Decimal("500.00"), value_date=first.due_date, bank_reference="R2"
    )
    repayment_reverse(actor=approver, repayment=wrong, reason="Posted to the wrong loan")
    totals = loan_statement_totals(loan)
    kept.refresh_from_db()
    assert totals["amount"] == first.total
    assert totals["allocated_principal"] == kept.allocated_principal
    assert totals["allocated_interest"] == kept.allocated_interest
    facts = dict(loan_statement_facts(loan))
    assert facts["Loan number"] == loan.loan_number and facts["Principal disbursed"] == "¥10,000.00"


def test_the_pdf_is_built_with_and_without_repayments_in_both_languages(officer, approver):
    loan = disbursed_loan(officer, approver, amount="10000", term=6)
    headers = REPAYMENT_HEADERS[:11]
    empty = loan_statement_pdf(loan, headers=headers, rows=[])
    assert empty.startswith(b"%PDF") and f"{loan.loan_number} Loan statement".encode() in empty
    for number in range(1, 7):
        installment = Installment.objects.get(loan=loan, number=number)
        repayment_post(
            actor=officer, loan=loan, amount=installment.total, value_date=installment.due_date,
            bank_reference=f"R{number}",
        )  # fmt: skip
    rows = loan_repayments_table(loan, staff=False)
    assert len(rows) == 6 and len(rows[0]) == len(headers)
    with translation.override("zh-hans"):
        assert dict(loan_statement_facts(loan)).get("借据号") == loan.loan_number
        chinese = loan_statement_pdf(loan, headers=headers, rows=rows)
    assert chinese.startswith(b"%PDF") and b"STSong-Light" in chinese
    assert len(chinese) > len(empty)
