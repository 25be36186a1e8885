"""Bank statement import: English or Chinese headers, a per-row report, nothing written for a
bad file unless the valid rows are confirmed, the same statement twice posts nothing twice,
large files in a worker; the batch posting gives exactly what posting one by one gives."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from customers.models import CreditLine, ImportJob
from loans.models import Installment, LedgerEntry, Loan, Repayment
from loans.selectors.ledger import ledger_problems
from loans.services.repayments import repayment_post, repayment_reverse
from loans.services.repayments_batch import PostingRow, repayment_post_many
from loans.services.statements import statement_import
from loansite.errors import NotAllowed
from loansite.tabular import tabular_read
from tests.loans.servicing import disbursed_loan

pytestmark = pytest.mark.django_db
D = Decimal
IMPORT_URL = "/admin/loans/repayment/import/"


@pytest.fixture
def loans(officer, approver):
    return [disbursed_loan(officer, approver, amount="10000", term=6, rate="0.12") for _ in range(3)]


def csv_file(rows, headers=("贷款编号", "还款金额", "还款日期", "流水号")) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def table(data: bytes):
    return tabular_read(data, max_rows=1000)


def test_a_chinese_statement_is_checked_then_posted_and_never_twice(officer, loans):
    a, b, c = loans
    data = csv_file(
        [
            (a.loan_number, "1725.48", "2025-02-15", "BK-1"),
            (b.loan_number, "1,000.00", "2025/02/15", "BK-2"),
            (c.loan_number, "¥5000", "20250215", "BK-3"),
        ]
    )
    check = statement_import(table=table(data), actor=officer, commit=False)
    assert (check.rows, check.new, check.invalid_rows, check.written) == (3, 3, 0, False)
    assert not Repayment.objects.exists()
    report = statement_import(table=table(data), actor=officer, file_name="statement.csv")
    assert (report.new, report.written) == (3, True)
    assert set(Repayment.objects.values_list("channel", flat=True)) == {"import"}
    a.refresh_from_db()
    c.refresh_from_db()
    assert a.outstanding_principal == D("8374.52") and c.credit_balance == D("1549.04")
    again = statement_import(table=table(data), actor=officer, skip_invalid=True)
    assert (again.new, again.invalid_rows, again.written) == (0, 3, False)
    assert {e.message for e in again.errors} == {"Posted already (skipped)."}
    assert Repayment.objects.count() == 3
    assert ledger_problems() == []


def test_bad_rows_are_reported_by_row_and_column_and_nothing_is_written_unless_confirmed(officer, loans):
    a, b, _c = loans
    data = csv_file(
        [
            (a.loan_number, "100", "2025-02-15", "BK-1"),
            ("LN-NOPE", "100", "2025-02-15", "BK-2"),
            (b.loan_number, "abc", "2025-02-15", "BK-3"),
            (b.loan_number, "100", "15/02/2025", "BK-4"),
            (b.loan_number, "100", "2025-02-15", "BK-1"),  # the same reference as row 2
            (b.loan_number, "100", "2099-01-01", "BK-6"),
            (b.loan_number, "100", "2025-02-16", "BK-7"),
        ],
        headers=("Loan number", "Amount", "Value date", "Bank reference"),
    )
    report = statement_import(table=table(data), actor=officer)
    assert report.written is False and not Repayment.objects.exists()
    assert {(e.row, e.column) for e in report.errors} == {
        (3, "Loan number"),
        (4, "Amount"),
        (5, "Value date"),
        (6, "Bank reference"),
        (7, "Value date"),
    }
    report = statement_import(table=table(data), actor=officer, skip_invalid=True)
    assert report.written and report.new == 2
    assert set(Repayment.objects.values_list("bank_reference", flat=True)) == {"BK-1", "BK-7"}


def test_a_file_without_the_columns_is_a_file_error(officer):
    report = statement_import(table=table(b"loan,sum\nLN-1,5\n"), actor=officer)
    assert report.file_errors and "流水号" in report.file_errors[0]


def test_roles(approver, loans):
    with pytest.raises(NotAllowed):
        statement_import(table=table(csv_file([])), actor=approver)


def test_batch_posting_is_exactly_posting_one_by_one(officer, approver):
    single = disbursed_loan(officer, approver, amount="20000", term=12, rate="0.09", method="equal_principal")
    batch = disbursed_loan(officer, approver, amount="20000", term=12, rate="0.09", method="equal_principal")
    payments = [
        ("2025-02-10", "500.00"),  # before the due date: to installment 1
        ("2025-02-15", "1500.00"),
        ("2025-04-01", "1000.00"),  # installment 2 overdue, 3 not yet
        ("2025-04-20", "9000.00"),  # more than the next: held as credit
    ]
    for n, (day, amount) in enumerate(payments):
        repayment_post(
            actor=officer,
            loan=single,
            amount=amount,
            value_date=datetime.date.fromisoformat(day),
            bank_reference=f"S-{n}",
        )
    rows = [
        PostingRow(n + 2, batch.loan_number, D(amount), datetime.date.fromisoformat(day), f"B-{n}")
        for n, (day, amount) in enumerate(payments)
    ]
    outcome = repayment_post_many(actor=officer, rows=rows, chunk=3)
    assert len(outcome.posted) == 4 and outcome.failed == []

    def picture(loan):
        loan = Loan.objects.get(pk=loan.pk)
        fields = [
            "outstanding_principal",
            "principal_repaid",
            "interest_paid",
            "credit_balance",
            "next_due_date",
            "next_due_amount",
            "status",
        ]
        installments = list(
            Installment.objects.filter(loan=loan)
            .order_by("number")
            .values_list("principal_paid", "interest_paid", "status", "paid_on")
        )
        ledger = list(
            LedgerEntry.objects.filter(loan=loan)
            .order_by("id")
            .values_list("kind", "amount", "principal", "interest", "credit", "balance_after")
        )
        repayments = list(
            Repayment.objects.filter(loan=loan)
            .order_by("id")
            .values_list("allocated_principal", "allocated_interest", "allocated_credit")
        )
        return [getattr(loan, f) for f in fields], installments, ledger, repayments

    assert picture(single) == picture(batch)
    assert CreditLine.objects.get(pk=single.credit_line_id).used == CreditLine.objects.get(pk=batch.credit_line_id).used
    assert ledger_problems() == []
    # A repayment posted in a batch is reversed like any other.
    latest = Repayment.objects.filter(loan=batch).latest("id")
    repayment_reverse(actor=approver, repayment=latest, reason="wrong loan")
    assert ledger_problems() == []


def test_a_statement_that_pays_a_loan_off_closes_it(officer, approver):
    loan = disbursed_loan(officer, approver, amount="10000", term=6, rate="0.12")
    rows = [PostingRow(2, loan.loan_number, D("10352.91"), datetime.date(2025, 7, 15), "ALL")]
    assert repayment_post_many(actor=officer, rows=rows).posted == [2]
    loan.refresh_from_db()
    assert loan.status == Loan.Status.CLOSED and loan.credit_balance == D("0.00")
    assert CreditLine.objects.get(pk=loan.credit_line_id).used == D("0.00")
    assert ledger_problems() == []


def _xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_admin_import_page_checks_then_posts_an_xlsx(client, officer, loans):
    a = loans[0]
    data = _xlsx(
        [
            ["贷款编号", "还款金额", "还款日期", "流水号"],
            [a.loan_number, 1725.48, datetime.datetime(2025, 2, 15), "X-1"],
        ]
    )
    client.force_login(officer)
    assert 'id="import-statement"' in client.get("/admin/loans/repayment/").content.decode()
    preview = client.post(IMPORT_URL, {"import_file": SimpleUploadedFile("statement.xlsx", data)})
    assert preview.status_code == 200 and preview.context["report"].new == 1
    response = client.post(IMPORT_URL, preview.context["confirm_form"].initial)
    assert response.status_code == 302
    assert Repayment.objects.get().bank_reference == "X-1"


def test_large_statements_are_posted_by_a_worker_with_progress(
    client, officer, loans, settings, django_capture_on_commit_callbacks
):
    settings.STATEMENT_IMPORT_ASYNC_ROWS = 1
    rows = [(loan.loan_number, "1725.48", "2025-02-15", f"W-{n}") for n, loan in enumerate(loans)]
    client.force_login(officer)
    preview = client.post(IMPORT_URL, {"import_file": SimpleUploadedFile("s.csv", csv_file(rows))})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(IMPORT_URL, preview.context["confirm_form"].initial)
    job = ImportJob.objects.get()
    assert response.url == f"/admin/customers/importjob/{job.pk}/change/"
    assert (job.kind, job.status, job.processed, job.new) == ("statements", "done", 3, 3)
    assert Repayment.objects.count() == 3 and ledger_problems() == []
