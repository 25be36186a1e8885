"""A loan file in the retail seed's own format imports: headers by their synonyms (类型, 经营年份,
员工数, 月均客流量, 城市等级, 经营面积, 贷款金额, 期限, 评分), amounts in 万元 as chosen on the
form, product and term from the form's defaults, customers on file found without a phone, and
every column either read or reported as ignored."""

import io
import random
from decimal import Decimal

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditAction, AuditEntry
from customers.models import Customer
from customers.validators import make_credit_code
from loans.models import LoanApplication
from tests.loans.factories import CustomerFactory

pytestmark = pytest.mark.django_db

URL = "admin:loans_loanapplication_import"
# The retail seed's columns as its files give them: no product, no status, amounts in 万元,
# the industry under 类型, the year the shop opened under 经营年份, and columns of its own.
RETAIL_HEADERS = [
    "序号",
    "商户名称",
    "统一社会信用代码",
    "手机号",
    "类型",
    "城市",
    "城市等级",
    "经营年份",
    "员工数",
    "经营面积",
    "月均客流量",
    "月营业额",
    "评分",
    "贷款金额",
    "期限",
    "是否违约",
]
NEW_CODE = make_credit_code(random.Random(21), city="Hangzhou")
OTHER_CODE = make_credit_code(random.Random(22), city="Hangzhou")


def _rows(on_file: Customer):
    return [
        # A customer on file, found by its credit code: no phone needed, its phone is kept.
        [1, "老字号面馆", on_file.credit_code, "", "餐饮", "杭州", 2, 2016, 6, 80, 4200, 180000, 712, 30, 12, 0],
        # A new customer: everything a new customer needs; no term, so the form's default.
        [2, "新开便利店", NEW_CODE, "13912345678", "零售", "杭州", 2, 2023, 3, 45, 2600, 90000, 655, 20, "", 1],
    ]


def _csv(rows) -> bytes:
    lines = [",".join(RETAIL_HEADERS)] + [",".join(str(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _xlsx(rows) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(RETAIL_HEADERS)
    for row in rows:
        sheet.append([None if v == "" else v for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def officer(make_user):
    return make_user("officer", role="Loan officer")


@pytest.fixture
def rater(make_user):
    """An officer who may also set bureau scores (the rating permission)."""
    user = make_user("rater", role="Loan officer")
    user.user_permissions.add(Permission.objects.get(codename="rate_customer"))
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def on_file(db):
    return CustomerFactory(name="老字号面馆", industry="catering", city="Hangzhou", city_tier=2, credit_score=None)


def _preview(client, content: bytes, name: str, product, **options):
    data = {
        "import_file": SimpleUploadedFile(name, content),
        "amount_unit": "10000",
        "default_product": product.pk,
        "default_term": "12",
        **options,
    }
    response = client.post(reverse(URL), data)
    assert response.status_code == 200
    return response


def _confirm(client, preview):
    return client.post(reverse(URL), preview.context["confirm_form"].initial)


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_a_retail_seed_file_imports_end_to_end(client, rater, product, on_file, file_format):
    phone_on_file = on_file.phone
    content = _csv(_rows(on_file)) if file_format == "csv" else _xlsx(_rows(on_file))
    client.force_login(rater)
    preview = _preview(client, content, f"retail.{file_format}", product)
    report = preview.context["report"]
    assert not report.file_errors and not report.errors, (report.file_errors, report.errors)
    # Every column is read (and says as what) or reported as ignored.
    ignored = " ".join(report.ignored_headers)
    assert "序号" in ignored and "是否违约" in ignored
    read = {entry.split(" → ")[0]: entry.split(" → ")[1] for entry in report.columns_read}
    assert set(read) | {"序号", "是否违约"} == set(RETAIL_HEADERS)
    assert "10,000" in read["贷款金额"] and read["类型"].lower() == "industry" and read["评分"] == "Credit score"
    html = preview.content.decode()
    assert "是否违约" in html and "序号" in html and "import-columns-ignored" in html

    response = _confirm(client, preview)
    assert response.status_code == 302
    noodles, shop = (
        LoanApplication.objects.get(customer=on_file),
        LoanApplication.objects.get(customer__credit_code=NEW_CODE),
    )
    # 30 万元 and 20 万元; the product and (for the second row) the term from the form.
    assert (noodles.amount, shop.amount) == (Decimal("300000.00"), Decimal("200000.00"))
    assert noodles.product == product and shop.product == product and shop.term_months == 12
    assert noodles.status == LoanApplication.Status.SUBMITTED and noodles.channel == "import"
    on_file.refresh_from_db()
    assert on_file.phone == phone_on_file and on_file.credit_score == 712 and on_file.employees == 6
    assert on_file.years_in_business == noodles.created_at.year - 2016
    new = shop.customer
    assert (new.name, new.phone, new.industry, new.city, new.city_tier) == (
        "新开便利店",
        "13912345678",
        "retail",
        "Hangzhou",
        2,
    )
    assert (new.employees, new.area_m2, new.monthly_foot_traffic, new.monthly_revenue, new.credit_score) == (
        3,
        Decimal("45.00"),
        2600,
        Decimal("90000.00"),
        655,
    )
    # Through the services: an audit entry per application and one for the file.
    assert AuditEntry.objects.filter(action=AuditAction.CREATE, target_type="loans.loanapplication").count() == 2
    summary = AuditEntry.objects.get(action=AuditAction.IMPORT, target_type="loans.loanapplication")
    assert summary.changes["created"] == 2


def test_the_score_column_without_the_rating_permission_is_reported_and_not_written(client, officer, product, on_file):
    client.force_login(officer)
    preview = _preview(client, _csv(_rows(on_file)), "retail.csv", product)
    report = preview.context["report"]
    assert not report.errors
    assert any("评分" in notice for notice in report.notices)
    _confirm(client, preview)
    on_file.refresh_from_db()
    assert on_file.credit_score is None
    assert Customer.objects.get(credit_code=NEW_CODE).credit_score is None


def test_without_the_forms_defaults_product_and_term_are_missing(client, officer, product, on_file):
    client.force_login(officer)
    response = client.post(reverse(URL), {"import_file": SimpleUploadedFile("r.csv", _csv(_rows(on_file)))})
    report = response.context["report"]
    assert any("产品" in error for error in report.file_errors)
    assert not LoanApplication.objects.exists()


def test_a_unit_in_the_header_wins_and_yuan_is_the_default(client, officer, product, on_file):
    client.force_login(officer)
    headers = "统一社会信用代码,贷款金额（万元）,月营业额\n"
    preview = _preview(
        client, (headers + f"{on_file.credit_code},25,120000\n").encode(), "a.csv", product, amount_unit="1"
    )
    assert not preview.context["report"].errors
    _confirm(client, preview)
    app = LoanApplication.objects.get()
    assert app.amount == Decimal("250000.00")
    on_file.refresh_from_db()
    assert on_file.monthly_revenue == Decimal("120000.00")
    # In 元 (the default) a plain header is read as it is.
    preview = _preview(
        client, (f"credit code,Loan Amount\n{on_file.credit_code},250000\n").encode(), "b.csv", product, amount_unit="1"
    )
    assert not preview.context["report"].errors and preview.context["report"].new == 1


def test_a_new_customer_without_phone_city_or_industry_is_a_row_error(client, officer, product):
    client.force_login(officer)
    content = f"统一社会信用代码,贷款金额,商户名称\n{OTHER_CODE},30,无名小店\n".encode()
    preview = _preview(client, content, "n.csv", product)
    errors = {(e.row, e.column) for e in preview.context["report"].errors}
    assert {(2, "手机号"), (2, "行业"), (2, "城市")} <= errors
    assert "confirm_form" not in preview.context
    assert not Customer.objects.exists()


def test_a_city_tier_that_contradicts_the_reference_is_a_row_error(client, officer, product, on_file):
    client.force_login(officer)
    content = f"统一社会信用代码,城市,城市等级,贷款金额\n{on_file.credit_code},杭州,4,30\n".encode()
    preview = _preview(client, content, "t.csv", product)
    assert {(e.row, e.column) for e in preview.context["report"].errors} == {(2, "城市等级")}


def test_headers_match_whatever_their_case_spaces_or_punctuation(client, officer, product, on_file):
    client.force_login(officer)
    content = (
        f"Credit_Code, LOAN  AMOUNT ,Term (Months),员工 数,Monthly-Foot-Traffic\n{on_file.credit_code},30,24,9,5100\n"
    ).encode()
    preview = _preview(client, content, "h.csv", product)
    report = preview.context["report"]
    assert not report.errors and not report.ignored_headers, (report.errors, report.ignored_headers)
    _confirm(client, preview)
    app = LoanApplication.objects.get()
    on_file.refresh_from_db()
    assert (app.amount, app.term_months, on_file.employees, on_file.monthly_foot_traffic) == (
        Decimal("300000.00"),
        24,
        9,
        5100,
    )


def test_a_big_retail_file_is_imported_by_a_worker_with_the_options_chosen(
    client, officer, product, on_file, settings, django_capture_on_commit_callbacks
):
    from customers.models import ImportJob

    settings.APPLICATION_IMPORT_ASYNC_ROWS = 1
    client.force_login(officer)
    preview = _preview(client, _csv(_rows(on_file)), "retail.csv", product)
    with django_capture_on_commit_callbacks(execute=True):
        response = _confirm(client, preview)
    job = ImportJob.objects.get()
    assert response.url == reverse("admin:customers_importjob_change", args=[job.pk])
    assert (job.status, job.new) == ("done", 2)
    # The worker read the amounts in 万元 and took the default product and term, as checked.
    assert sorted(LoanApplication.objects.values_list("amount", flat=True)) == [
        Decimal("200000.00"),
        Decimal("300000.00"),
    ]
    assert set(LoanApplication.objects.values_list("product", "term_months")) == {(product.pk, 12)}


def test_a_type_column_is_read_by_its_values():
    from loans.importing import map_application_headers

    mapping, _units, ignored = map_application_headers(["类型", "金额"], [["企业", "1"], ["个体工商户", "2"]])
    assert mapping == {0: "kind", 1: "amount"} and not ignored
    mapping, _units, ignored = map_application_headers(["Type", "Amount"], [["餐饮", "1"], ["Retail", "2"]])
    assert mapping == {0: "industry", 1: "amount"} and not ignored
    mapping, _units, ignored = map_application_headers(["行业", "类型"], [["餐饮", "餐饮"]])
    assert mapping == {0: "industry", 1: "kind"}
