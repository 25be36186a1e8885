"""Exports of a loan's schedule and repayment history (XLSX, bilingual headers), audited.

Every text cell goes through ``loansite.exports.formula_escape`` (a cell a spreadsheet would
run as a formula is shown as text); numbers and dates stay native cells.
"""

from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from loans.models import Installment, Loan, Repayment
from loans.selectors.loans import installment_display_status
from loans.services.accounts import require
from loansite.exports import xlsx_bytes

PERM_EXPORT_SCHEDULE = "loans.export_loan"
PERM_EXPORT_REPAYMENTS = "loans.export_repayment"

SCHEDULE_HEADERS = [
    ("No.", "期数"),
    ("Due date", "到期日"),
    ("Pay date", "还款日"),
    ("Days", "天数"),
    ("Principal", "本金"),
    ("Interest", "利息"),
    ("Penalty", "罚息"),
    ("Total", "应还合计"),
    ("Principal paid", "已还本金"),
    ("Interest paid", "已还利息"),
    ("Penalty paid", "已还罚息"),
    ("Status", "状态"),
    ("Paid on", "结清日"),
]
REPAYMENT_HEADERS = [
    ("Value date", "还款日期"),
    ("Amount", "还款金额"),
    ("Bank reference", "流水号"),
    ("Kind", "类型"),
    ("Channel", "渠道"),
    ("To principal", "归还本金"),
    ("To interest", "归还利息"),
    ("To penalty", "归还罚息"),
    ("To fees", "手续费"),
    ("To credit held", "转入溢缴款"),
    ("Status", "状态"),
    ("Posted by", "经办人"),
    ("Reversal reason", "冲正原因"),
]


def loan_workbook(title: str, loan: Loan, headers, rows) -> bytes:
    """Money as number cells in ``#,##0.00``, dates as date cells, text formula-escaped."""
    return xlsx_bytes(
        [f"{english} / {chinese}" for english, chinese in headers],
        rows,
        title=title,
        preamble=[[f"{loan.loan_number} {loan.customer.name}"]],
    )


def _audit(actor, loan: Loan, what: str, rows: int) -> None:
    audit_record(
        action=AuditAction.EXPORT,
        actor=actor,
        target=loan,
        changes={"export": what, "rows": rows, "format": "xlsx"},
    )


def loan_schedule_table(loan: Loan) -> list[list]:
    """The current schedule's rows as the exports write them (``SCHEDULE_HEADERS``)."""
    today = timezone.localdate()
    rows = []
    labels = dict(Installment.Status.choices)
    installments = Installment.objects.filter(loan=loan, schedule_version=loan.schedule_version).order_by("number")
    for row in installments:
        rows.append(
            [
                row.number,
                row.due_date,
                row.pay_date,
                row.days,
                row.principal,
                row.interest,
                row.penalty,
                row.principal + row.interest + row.penalty,
                row.principal_paid,
                row.interest_paid,
                row.penalty_paid,
                str(labels[installment_display_status(row, today)]),
                row.paid_on,
            ]
        )
    return rows


def loan_export_schedule(*, actor, loan: Loan) -> tuple[str, bytes]:
    """The current schedule as an XLSX file: (file name, content)."""
    require(actor, PERM_EXPORT_SCHEDULE)
    rows = loan_schedule_table(loan)
    content = loan_workbook(_("Schedule"), loan, SCHEDULE_HEADERS, rows)
    _audit(actor, loan, "schedule", len(rows))
    return f"{loan.loan_number}-schedule.xlsx", content


def loan_repayments_table(loan: Loan, *, staff: bool = True) -> list[list]:
    """The loan's repayments (reversed ones too) as the exports write them (``REPAYMENT_HEADERS``);
    ``staff=False`` (the customer's statement) leaves out the last two columns, who posted a
    repayment and the bank's internal reason for a reversal."""
    rows = []
    for repayment in Repayment.objects.filter(loan=loan).select_related("posted_by").order_by("value_date", "id"):
        row = [
            repayment.value_date,
            repayment.amount,
            repayment.bank_reference,
            str(repayment.get_kind_display()),
            str(repayment.get_channel_display()),
            repayment.allocated_principal,
            repayment.allocated_interest,
            repayment.allocated_penalty,
            repayment.allocated_fee,
            repayment.allocated_credit,
            str(repayment.get_status_display()),
        ]
        if staff:
            row += [repayment.posted_by.get_username() if repayment.posted_by else "", repayment.reversal_reason]
        rows.append(row)
    return rows


def loan_export_repayments(*, actor, loan: Loan) -> tuple[str, bytes]:
    """The loan's repayments (reversed ones too) as an XLSX file: (file name, content)."""
    require(actor, PERM_EXPORT_REPAYMENTS)
    rows = loan_repayments_table(loan)
    content = loan_workbook(_("Repayments"), loan, REPAYMENT_HEADERS, rows)
    _audit(actor, loan, "repayments", len(rows))
    return f"{loan.loan_number}-repayments.xlsx", content
