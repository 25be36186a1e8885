"""The reports on MariaDB: the same hand-computed book as on SQLite gives the same figures,
months cut at Asia/Shanghai midnight without the server's time zone tables, and the
loan-level export's plain-cursor rows (MySQL gives Decimals and dates, SQLite floats and text)."""

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest

from loansite.dashboard import reports, reports_services
from loansite.dashboard.reports import ReportFilters
from loansite.dashboard.reports_xlsx import XlsxStream
from tests.loansite.test_reports import TODAY, book, month  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
D = Decimal
ALL = ReportFilters()


def test_funnel_months_either_side_of_shanghai_midnight(book):  # noqa: F811
    months = {row["month"]: row["submitted"] for row in reports.funnel_report(filters=ALL)["rows"]}
    assert months == {dt.date(2026, 10, 1): 1, dt.date(2026, 11, 1): 4}
    assert reports.funnel_report(filters=ReportFilters(period=month(2026, 11)))["total"]["submitted"] == 4


def test_portfolio_flows_overdue_and_five_category(book):  # noqa: F811
    total = reports.portfolio_report(filters=ALL, by="month")["total"]
    assert (total["loans"], total["outstanding"], total["provisions"]) == (4, D("120000.00"), D("6400.00"))
    flows = {(r["month"], r["product_label"]): r for r in reports.flows_report(filters=ALL, today=TODAY)["rows"]}
    nov = flows[(dt.date(2026, 11, 1), "Working capital")]
    assert (nov["scheduled"], nov["on_time"], nov["late"], nov["repaid"]) == (D("12700.00"), 1, 1, D("12700.00"))
    assert reports.overdue_report(filters=ALL)["total"]["overdue_amount"] == D("3320.00")
    five = reports.risk_class_report(filters=ALL, today=TODAY)
    assert five["total"]["balance_change"] == D("10000.00")
    assert {(m["from_class"], m["to_class"]) for m in five["movement"]} == {
        ("normal", "normal"),
        ("normal", "special_mention"),
        ("normal", "exited"),
        ("new", "substandard"),
    }


def test_loan_level_export_rows_on_mariadb(book):  # noqa: F811
    buffer = io.BytesIO()
    with XlsxStream(buffer) as workbook:
        rows = reports_services.loans_export_write(workbook, ALL)
    assert rows == 4
    sheet = openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).active
    values = {row[0]: row for row in sheet.iter_rows(min_row=3, values_only=True)}
    l3 = values[book["l3"].loan_number]
    assert l3[6] == dt.datetime(2026, 5, 1) and l3[8] == 20000 and l3[12] == 5000
    assert values[book["l4"].loan_number][12] == 0  # closed: no provision
