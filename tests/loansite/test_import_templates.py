"""Import templates: CSV and XLSX in both languages next to every Import button, for the roles that
may import only, with the headers the importer reads and an example row it accepts."""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.importing import read_file
from loansite.tabular import tabular_read

pytestmark = pytest.mark.django_db

IMPORTS = [
    (
        "admin:customers_customer_import_template",
        "admin:customers_customer_changelist",
        "admin:customers_customer_import",
    ),
    (
        "admin:loans_loanapplication_import_template",
        "admin:loans_loanapplication_changelist",
        "admin:loans_loanapplication_import",
    ),
    ("admin:loans_repayment_import_template", "admin:loans_repayment_changelist", "admin:loans_repayment_import"),
]


@pytest.fixture
def product(db):
    from tests.loans.factories import ProductFactory

    return ProductFactory()


def _table(content: bytes):
    return tabular_read(content, max_rows=10)


@pytest.mark.parametrize("url_name,changelist,import_page", IMPORTS)
def test_templates_are_offered_to_importers_only(client, make_user, product, url_name, changelist, import_page):
    officer = make_user("officer", role="Loan officer")
    client.force_login(officer)
    for language in ("en", "zh"):
        for file_format in ("csv", "xlsx"):
            response = client.get(reverse(url_name, args=[language, file_format]))
            assert response.status_code == 200, (language, file_format)
            assert f"template-{language}.{file_format}" in response["Content-Disposition"]
            table = _table(response.content)
            assert table.file_format == file_format and len(table.rows) == 1
            if file_format == "csv":
                assert response.content.startswith(b"\xef\xbb\xbf")
    assert client.get(reverse(url_name, args=["fr", "csv"])).status_code == 404
    assert client.get(reverse(url_name, args=["en", "pdf"])).status_code == 404
    # Next to the Import button, and on the import page all four.
    assert reverse(url_name, args=["en", "xlsx"]) in client.get(reverse(changelist)).content.decode()
    page = client.get(reverse(import_page)).content.decode()
    assert all(reverse(url_name, args=[lang, fmt]) in page for lang in ("en", "zh") for fmt in ("csv", "xlsx"))

    client.force_login(make_user("auditor", role="Auditor"))
    assert client.get(reverse(url_name, args=["en", "xlsx"])).status_code == 403
    assert reverse(url_name, args=["en", "xlsx"]) not in client.get(reverse(changelist)).content.decode()


def test_the_customer_template_imports_as_it_is(client, make_user):
    from customers.services import customer_import

    officer = make_user("officer", role="Loan officer")
    client.force_login(officer)
    for language in ("en", "zh"):
        for file_format in ("csv", "xlsx"):
            content = client.get(
                reverse("admin:customers_customer_import_template", args=[language, file_format])
            ).content
            parsed = read_file(content)
            assert not parsed.file_errors and not parsed.errors and not parsed.ignored_headers, (language, file_format)
            report = customer_import(parsed=parsed, actor=officer, commit=False)
            assert report.new + report.updated == 1 and not report.errors


def test_the_application_template_imports_as_it_is(client, make_user, product):
    client.force_login(make_user("officer", role="Loan officer"))
    for language in ("en", "zh"):
        for file_format in ("csv", "xlsx"):
            content = client.get(
                reverse("admin:loans_loanapplication_import_template", args=[language, file_format])
            ).content
            if file_format == "xlsx":
                cells = list(openpyxl.load_workbook(io.BytesIO(content)).active.iter_rows(min_row=2))[0]
                assert any(c.data_type == "n" and c.number_format == "#,##0.00" for c in cells)
            response = client.post(
                reverse("admin:loans_loanapplication_import"),
                {"import_file": SimpleUploadedFile(f"t.{file_format}", content)},
            )
            report = response.context["report"]
            assert not report.file_errors and not report.errors and not report.ignored_headers, (
                language,
                file_format,
                report.file_errors,
                report.errors,
                report.ignored_headers,
            )
            assert report.new == 1


def test_the_statement_template_has_the_statement_headers(client, make_user):
    from loans.statements import parse_statement_rows

    client.force_login(make_user("officer", role="Loan officer"))
    for language in ("en", "zh"):
        content = client.get(reverse("admin:loans_repayment_import_template", args=[language, "xlsx"])).content
        table = _table(content)
        parsed = parse_statement_rows(table.headers, table.rows)
        assert not parsed.file_errors and not parsed.ignored_headers and not parsed.errors


def test_the_transaction_template_is_for_risk_analysts(client, make_user):
    from risk.services.imports import _columns

    client.force_login(make_user("analyst", role="Risk analyst"))
    assert (
        reverse("admin:risk_transaction_import_template", args=["zh", "xlsx"])
        in client.get(reverse("admin:risk_transaction_import")).content.decode()
    )
    for language in ("en", "zh"):
        for file_format in ("csv", "xlsx"):
            response = client.get(reverse("admin:risk_transaction_import_template", args=[language, file_format]))
            assert response.status_code == 200
            table = _table(response.content)
            columns, unknown = _columns(table.headers)
            assert not unknown and len(columns) == len(table.headers) and len(table.rows) == 1
    client.force_login(make_user("officer", role="Loan officer"))
    assert client.get(reverse("admin:risk_transaction_import_template", args=["en", "csv"])).status_code == 403
