"""Exports a spreadsheet shows as data: number and date cells with formats in XLSX, a UTF-8 BOM in
CSV, headers and values in the chosen language, columns named by their headers."""

import csv
import datetime
import io
import re
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from audit.services import audit_record
from customers.importing import COLUMNS as CUSTOMER_COLUMNS
from customers.importing import read_file
from loans.models import LoanApplication
from loans.resources import COLUMNS as APPLICATION_COLUMNS
from loansite.exports import BOM, csv_bytes, xlsx_bytes
from tests.loans.factories import ApplicationFactory, CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db


def _post(client, url, fmt, resource, prefix, names):
    response = client.post(url, {"format": fmt, "resource": resource, **{f"{prefix}_{n}": "on" for n in names}})
    assert response.status_code == 200, response.content[:300]
    return response.content


def _sheet(content: bytes):
    return openpyxl.load_workbook(io.BytesIO(content)).active


def _by_header(sheet):
    rows = list(sheet.iter_rows())
    headers = [c.value for c in rows[0]]
    return {h: rows[1][i] for i, h in enumerate(headers)}


@pytest.fixture
def book(db):
    customer = CustomerFactory(
        name="Tea House",
        kind="enterprise",
        industry="catering",
        city="Hangzhou",
        monthly_revenue=Decimal("1234567.89"),
        employees=12,
    )
    app = ApplicationFactory(
        customer=customer,
        product=ProductFactory(),
        status=LoanApplication.Status.APPROVED,
        amount=Decimal("1500000.00"),
        score_probability=Decimal("0.0425"),
    )
    return customer, app


def test_xlsx_and_csv_writers_keep_numbers_dates_and_a_bom():
    when = datetime.date(2026, 11, 30)
    content = xlsx_bytes(
        ["Amount", "Rate", "Count", "Date", "Text"],
        [[Decimal("1500000.00"), Decimal("0.125"), 7, when, "=1+1"]],
        kinds=[None, "percent", "count", None, None],
    )
    cells = list(_sheet(content).iter_rows(min_row=2))[0]
    assert [c.data_type for c in cells[:4]] == ["n", "n", "n", "d"]
    assert cells[0].number_format == "#,##0.00" and cells[1].number_format == "0.00%"
    assert cells[2].number_format == "#,##0" and cells[3].is_date and cells[3].value.date() == when
    assert cells[4].value == "'=1+1" and cells[4].data_type == "s"

    data = csv_bytes(["金额", "日期"], [[Decimal("1500000.00"), when]])
    assert data.startswith(BOM.encode("utf-8"))
    assert data.decode("utf-8-sig").splitlines() == ["金额,日期", "1500000.00,2026-11-30"]


def test_customer_xlsx_export_in_chinese_has_number_cells_and_chinese_values(client, make_user, book):
    customer, _app = book
    client.force_login(make_user("officer", role="Loan officer"))
    url = reverse("admin:customers_customer_export")
    content = _post(client, url, "1", "1", "customerchineseresource", [c.field for c in CUSTOMER_COLUMNS])
    cells = _by_header(_sheet(content))
    assert cells["类型"].value == "企业" and cells["行业"].value == "餐饮" and cells["城市"].value == "杭州"
    revenue = cells["月均营收"]
    assert revenue.data_type == "n" and revenue.number_format == "#,##0.00"
    assert Decimal(str(revenue.value)) == Decimal("1234567.89")
    assert cells["员工人数"].data_type == "n" and cells["员工人数"].value == 12

    # The English export says the same in English, whatever the page's language.
    client.post(reverse("set_language"), {"language": "zh-hans"})
    content = _post(client, url, "1", "0", "customerenglishresource", [c.field for c in CUSTOMER_COLUMNS])
    cells = _by_header(_sheet(content))
    assert (cells["Kind"].value, cells["Industry"].value, cells["City"].value) == ("Enterprise", "Catering", "Hangzhou")


def test_chinese_customer_export_imports_back(client, make_user, book):
    customer, _app = book
    client.force_login(make_user("officer", role="Loan officer"))
    url = reverse("admin:customers_customer_export")
    for fmt in ("0", "1"):
        parsed = read_file(_post(client, url, fmt, "1", "customerchineseresource", [c.field for c in CUSTOMER_COLUMNS]))
        assert not parsed.errors and not parsed.file_errors and not parsed.ignored_headers
        row = parsed.rows[0]
        assert (row["kind"], row["industry"], row["city"]) == ("enterprise", "catering", "Hangzhou")
        assert row["monthly_revenue"] == Decimal("1234567.89")


def test_csv_exports_carry_a_utf8_bom(client, make_user, book):
    client.force_login(make_user("admin", superuser=True))
    audit_record(action="update", target=("customers.customer", 1, "Tea House"), reason="checked")
    exports = [
        ("admin:customers_customer_export", "0", "customerenglishresource", [c.field for c in CUSTOMER_COLUMNS]),
        ("admin:loans_loanapplication_export", "0", "applicationresourceenglish", list(APPLICATION_COLUMNS)),
        ("admin:audit_auditentry_export", "0", "auditentryresource", ["seq", "action", "reason"]),
    ]
    for name, resource, prefix, fields in exports:
        url = reverse(name) + ("?status=all" if "loanapplication" in name else "")
        content = _post(client, url, "0", resource, prefix, fields)
        assert content.startswith(b"\xef\xbb\xbf"), name
        assert content.decode("utf-8-sig")


def test_application_export_in_chinese(client, make_user, book):
    _customer, app = book
    client.force_login(make_user("auditor", role="Auditor"))
    url = reverse("admin:loans_loanapplication_export") + "?status=all"
    content = _post(client, url, "1", "1", "applicationresourcechinese", list(APPLICATION_COLUMNS))
    cells = _by_header(_sheet(content))
    assert cells["状态"].value == "已批准" and cells["行业"].value == "餐饮" and cells["城市"].value == "杭州"
    assert cells["客户类型"].value == "企业"
    amount = cells["申请金额"]
    assert amount.data_type == "n" and amount.number_format == "#,##0.00" and amount.value == 1500000
    assert cells["违约概率"].number_format == "0.00%" and Decimal(str(cells["违约概率"].value)) == Decimal("0.0425")
    assert cells["日期"].is_date
    assert not any(re.search(r"[A-Za-z]{4,}", str(c.value)) for h, c in cells.items() if h in ("状态", "行业", "用途"))


def test_export_forms_name_columns_by_their_headers(client, make_user):
    client.force_login(make_user("admin", superuser=True))
    pages = [
        "admin:customers_customer_export",
        "admin:loans_loanapplication_export",
        "admin:audit_auditentry_export",
    ]
    for name in pages:
        html = client.get(reverse(name)).content.decode()
        labels = re.findall(r"<label[^>]*>([^<]+)</label>", html)
        assert "Credit code" in labels or "Target" in labels, name
        # Not django-import-export's "Field Name (header)".
        titled = re.compile(r"[A-Z][a-z0-9]+( [A-Z][a-z0-9]+)+ \(.+\)")
        assert not [label for label in labels if titled.fullmatch(label)], labels
        assert "Target Repr" not in html and "Credit Code (Credit code)" not in html
    html = client.get(reverse("admin:audit_auditentry_export")).content.decode()
    assert "对象" in html and "操作" in html  # the Chinese export's columns, named in Chinese


def test_audit_export_in_chinese(client, make_user):
    audit_record(action="approve", target=("loans.loanapplication", 7, "LA-1"), reason="ok")
    client.force_login(make_user("aud", role="Auditor"))
    url = reverse("admin:audit_auditentry_export")
    content = _post(client, url, "0", "1", "auditentrychineseresource", ["seq", "created_at", "action", "target_repr"])
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    header = rows[0]
    assert not [h for h in header if re.search(r"[A-Za-z]", h)], header
    action = header.index("操作")
    assert any(row[action] == "批准" for row in rows[1:])
    sheet = _sheet(_post(client, url, "1", "1", "auditentrychineseresource", ["seq", "created_at"]))
    first = list(sheet.iter_rows(min_row=2))[0]
    assert first[0].data_type == "n" and first[1].is_date
