"""Importing customer files: Chinese/English headers, row/column error reports, all-or-nothing."""

from decimal import Decimal

import pytest
import tablib

from audit.models import AuditAction, AuditEntry
from customers.importing import parse_dataset, parse_rows
from customers.models import Customer, Tag
from customers.services import customer_import
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db

ZH_HEADERS = ["名称", "统一社会信用代码", "手机号", "城市", "行业", "月均营收", "月均成本", "标签"]
GOOD_ROWS = [
    ["杭州茶馆有限公司", "91350100M000100Y43", "13800138000", "Hangzhou", "餐饮", "80,000", "60000", "VIP、新客户"],
    ["深圳电子有限公司", "91310000MA1FL1MMXL", "+86 139 0000 0001", "Shenzhen", "制造业", "420000.5", "300000", ""],
]


def _dataset(headers, rows):
    return tablib.Dataset(*rows, headers=headers)


def test_chinese_headers_import_with_aliases_and_tags(make_user):
    user = make_user("officer", role="Loan officer")
    report = customer_import(parsed=parse_dataset(_dataset(ZH_HEADERS, GOOD_ROWS)), actor=user, file_name="a.csv")
    assert report.written and (report.new, report.updated) == (2, 0)
    tea = Customer.objects.get(credit_code="91350100M000100Y43")
    assert tea.industry == "catering" and tea.monthly_revenue == Decimal("80000.00") and tea.city_tier == 2
    assert sorted(tea.tags.values_list("name", flat=True)) == ["VIP", "新客户"]
    plant = Customer.objects.get(phone="13900000001")
    assert plant.industry == "manufacturing" and plant.city_tier == 1
    entry = AuditEntry.objects.get(action=AuditAction.IMPORT)
    assert entry.changes["new"] == 2 and entry.actor == user


def test_bad_rows_are_reported_by_row_and_column_and_nothing_is_written(make_user):
    user = make_user("officer", role="Loan officer")
    rows = [
        GOOD_ROWS[0],
        ["坏代码公司", "91350100M000100Y44", "13800138001", "Hangzhou", "餐饮", "1000", "500", ""],
        ["未知行业公司", "91110000600037341L", "13800138002", "Hangzhou", "航天", "1000", "500", ""],
        ["负数公司", "91330106EFPX14RX0P", "13800138003", "Hangzhou", "零售", "-5", "abc", ""],
    ]
    report = customer_import(parsed=parse_dataset(_dataset(ZH_HEADERS, rows)), actor=user)
    assert not report.written and Customer.objects.count() == 0
    assert report.invalid_rows == 3 and report.new == 1
    cells = {(e.row, e.column) for e in report.errors}
    assert cells == {(3, "统一社会信用代码"), (4, "行业"), (5, "月均营收"), (5, "月均成本")}
    negative = next(e for e in report.errors if e.column == "月均营收")
    assert negative.value == "-5" and "negative" in negative.message
    assert not AuditEntry.objects.filter(action=AuditAction.IMPORT).exists()

    # The user confirms the valid rows only.
    report = customer_import(parsed=parse_dataset(_dataset(ZH_HEADERS, rows)), actor=user, skip_invalid=True)
    assert report.written and Customer.objects.count() == 1
    assert AuditEntry.objects.get(action=AuditAction.IMPORT).changes["skipped_invalid_rows"] == 3


def test_english_headers_update_existing_customers_instead_of_duplicating(make_user):
    user = make_user("officer", role="Loan officer")
    existing = CustomerFactory(credit_code="91350100M000100Y43", monthly_revenue=Decimal("1.00"), name="Old name")
    headers = ["Name", "credit_code", "PHONE", "City", "Industry", "Monthly revenue"]
    rows = [["New name", "91350100m000100y43", existing.phone, "Hangzhou", "Catering", "5000"]]
    report = customer_import(parsed=parse_dataset(_dataset(headers, rows)), actor=user)
    assert (report.new, report.updated) == (0, 1)
    existing.refresh_from_db()
    assert existing.name == "New name" and existing.monthly_revenue == Decimal("5000.00")
    assert Customer.objects.count() == 1


def test_duplicates_inside_the_file_and_conflicting_keys_are_errors(make_user):
    user = make_user("officer", role="Loan officer")
    a, b = CustomerFactory(), CustomerFactory()
    rows = [
        GOOD_ROWS[0],
        ["Again", "91350100M000100Y43", "13700000000", "Hangzhou", "零售", "1", "1", ""],
        ["Mixed", a.credit_code, b.phone, "Hangzhou", "零售", "1", "1", ""],
    ]
    report = customer_import(parsed=parse_dataset(_dataset(ZH_HEADERS, rows)), actor=user)
    assert [e.row for e in report.errors] == [3, 4]
    assert "row 2" in report.errors[0].message


def test_missing_required_columns_is_a_file_error(make_user):
    parsed = parse_rows(["名称", "手机号"], [["x", "13800138000"]])
    assert parsed.file_errors
    report = customer_import(parsed=parsed, actor=make_user("u"))
    assert report.has_errors and not report.written


def test_enterprise_row_without_credit_code_is_invalid():
    parsed = parse_rows(
        ["名称", "类型", "统一社会信用代码", "身份证号", "手机号", "城市", "行业"],
        [
            ["A", "企业", "", "11010519491231002X", "13800138000", "Hangzhou", "零售"],
            ["B", "个体工商户", "", "11010519491231002X", "13800138001", "Hangzhou", "零售"],
        ],
    )
    assert [(e.row, e.column) for e in parsed.errors] == [(2, "统一社会信用代码")]
    assert parsed.rows[0]["kind"] == "individual"


def test_reimport_replaces_tags(make_user):
    user = make_user("officer", role="Loan officer")
    customer_import(parsed=parse_dataset(_dataset(ZH_HEADERS, GOOD_ROWS[:1])), actor=user)
    row = [*GOOD_ROWS[0][:-1], "风险关注"]
    customer_import(parsed=parse_dataset(_dataset(ZH_HEADERS, [row])), actor=user)
    customer = Customer.objects.get()
    assert list(customer.tags.values_list("name", flat=True)) == ["风险关注"]
    assert Tag.objects.filter(name__in=["VIP", "新客户", "风险关注"]).count() == 3


def test_kind_is_inferred_without_a_kind_column(make_user):
    headers = ["名称", "统一社会信用代码", "身份证号", "手机号", "城市", "行业"]
    rows = [
        ["个体店", "", "11010519491231002X", "13800138000", "Beijing", "零售"],
        ["企业", "91350100M000100Y43", "", "13800138001", "Beijing", "零售"],
    ]
    report = customer_import(parsed=parse_dataset(_dataset(headers, rows)), actor=make_user("u"))
    assert report.written, report.as_dict()
    kinds = dict(Customer.objects.values_list("name", "kind"))
    assert kinds == {"个体店": "individual", "企业": "enterprise"}


def test_upsert_never_erases_a_known_identity(make_user):
    from customers.services import customer_upsert

    existing = CustomerFactory(kind="individual", credit_code=None, id_number="11010519491231002X")
    customer, created = customer_upsert(
        actor=make_user("u"),
        kind="individual",
        name="Renamed",
        phone=existing.phone,
        id_number=None,
        credit_code="",
        city="Beijing",
        industry="retail",
    )
    assert not created and customer.id_number == "11010519491231002X" and customer.name == "Renamed"


def test_blank_identity_cell_does_not_erase_the_one_on_record(make_user):
    existing = CustomerFactory(kind="individual", credit_code=None, id_number="11010519491231002X")
    headers = ["名称", "类型", "统一社会信用代码", "身份证号", "手机号", "城市", "行业"]
    rows = [["新名字", "个体工商户", "", "11010519491231002X", existing.phone, "Beijing", "零售"]]
    report = customer_import(parsed=parse_dataset(_dataset(headers, rows)), actor=make_user("u"))
    assert report.updated == 1
    rows = [["新名字", "个体工商户", "92440305YX2A71UP7E", "", existing.phone, "Beijing", "零售"]]
    report = customer_import(parsed=parse_dataset(_dataset(headers, rows)), actor=make_user("v"))
    assert report.updated == 1, report.as_dict()
    existing.refresh_from_db()
    assert existing.id_number == "11010519491231002X" and existing.credit_code == "92440305YX2A71UP7E"


# -- protected columns, per-record audit, control characters ---------------------------------


def _importer(make_user, username="importer", *, rate=False):
    from django.contrib.auth.models import Permission

    user = make_user(username)
    codenames = ["import_customer", "add_customer", "change_customer", *(["rate_customer"] if rate else [])]
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="customers", codename__in=codenames))
    return type(user).objects.get(pk=user.pk)  # fresh permission cache


RATED_HEADERS = ["名称", "统一社会信用代码", "手机号", "城市", "行业", "内部评级", "信用评分"]


def test_rating_and_bureau_score_columns_are_never_written_without_the_rating_permission(make_user):
    existing = CustomerFactory(credit_code="91350100M000100Y43", rating="D", credit_score=480)
    rows = [
        ["Rated Co.", existing.credit_code, existing.phone, "Hangzhou", "零售", "A", "850"],
        ["New Co.", "91310000MA1FL1MMXL", "13900000001", "Shanghai", "零售", "A", "850"],
    ]
    officer = _importer(make_user)
    report = customer_import(parsed=parse_dataset(_dataset(RATED_HEADERS, rows)), actor=officer)
    assert report.written and (report.new, report.updated) == (1, 1)
    existing.refresh_from_db()
    assert (existing.rating, existing.credit_score, existing.name) == ("D", 480, "Rated Co.")
    new = Customer.objects.get(phone="13900000001")
    assert (new.rating, new.credit_score) == ("", None)
    assert any("内部评级" in notice and "信用评分" in notice for notice in report.notices)
    assert not AuditEntry.objects.filter(changes__has_key="rating").exists()

    analyst = _importer(make_user, "analyst", rate=True)
    report = customer_import(parsed=parse_dataset(_dataset(RATED_HEADERS, rows)), actor=analyst)
    existing.refresh_from_db()
    assert (existing.rating, existing.credit_score) == ("A", 850) and not report.notices


def test_every_changed_customer_of_an_import_has_its_own_audit_entry(make_user, django_capture_on_commit_callbacks):
    from audit.selectors import audit_chain_verify

    changed = CustomerFactory(credit_code="91350100M000100Y43", monthly_revenue=Decimal("1.00"), name="Tea")
    same = CustomerFactory(
        credit_code="91310000MA1FL1MMXL", monthly_revenue=Decimal("7.00"), name="Same", city="Shanghai", city_tier=1
    )
    headers = ["名称", "统一社会信用代码", "手机号", "城市", "行业", "月均营收"]
    rows = [
        ["Tea", changed.credit_code, changed.phone, changed.city, changed.industry, "5000"],
        ["Same", same.credit_code, same.phone, "Shanghai", same.industry, "7"],
        ["Brand new", "91110000600037341L", "13700000009", "Beijing", "零售", "900.5"],
    ]
    user = _importer(make_user)
    with django_capture_on_commit_callbacks(execute=True):  # the chain head is published on commit
        report = customer_import(parsed=parse_dataset(_dataset(headers, rows)), actor=user, file_name="book.csv")
    assert report.written and (report.new, report.updated) == (1, 2)
    new = Customer.objects.get(phone="13700000009")

    update = AuditEntry.objects.get(action=AuditAction.UPDATE, target_type="customers.customer")
    assert update.target_id == str(changed.pk) and update.actor == user
    assert update.changes == {"monthly_revenue": ["1.00", "5000.00"]}
    assert "book.csv" in update.reason
    create = AuditEntry.objects.get(action=AuditAction.CREATE, target_type="customers.customer")
    assert create.target_id == str(new.pk) and create.target_repr == "Brand new"
    assert create.changes["monthly_revenue"] == [None, "900.50"] and create.changes["city"] == [None, "Beijing"]
    assert not AuditEntry.objects.filter(target_id=str(same.pk)).exists()  # nothing changed, nothing recorded
    summary = AuditEntry.objects.get(action=AuditAction.IMPORT)
    assert summary.changes["new"] == 1 and summary.changes["changed"] == 1
    assert audit_chain_verify().ok


def test_control_characters_in_text_cells_are_row_errors(make_user):
    headers = ["名称", "统一社会信用代码", "手机号", "城市", "行业", "地址", "备注"]
    rows = [
        ["Nul\x00Co", "91350100M000100Y43", "13800138000", "Hangzhou", "零售", "", ""],
        ["Bell Co", "91310000MA1FL1MMXL", "13900000001", "Hangzhou", "零售", "Road\x07 1", ""],
        ["Fine Co", "91110000600037341L", "13700000009", "Hangzhou", "零售", "Road 2", "line one\nline two"],
    ]
    report = customer_import(parsed=parse_dataset(_dataset(headers, rows)), actor=_importer(make_user))
    assert {(e.row, e.column) for e in report.errors} == {(2, "名称"), (3, "地址")}
    assert not report.written and Customer.objects.count() == 0
    report = customer_import(
        parsed=parse_dataset(_dataset(headers, rows)), actor=_importer(make_user, "u2"), skip_invalid=True
    )
    assert list(Customer.objects.values_list("name", "notes")) == [("Fine Co", "line one\nline two")]
