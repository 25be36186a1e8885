"""Importing customer files: Chinese/English headers, row/column error reports, all-or-nothing."""

import io
import os
import zipfile
from decimal import Decimal

import openpyxl
import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

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

    # Raters import bureau scores; the internal rating is never imported (the rating service
    # or an analyst's reasoned change sets it).
    analyst = _importer(make_user, "analyst", rate=True)
    report = customer_import(parsed=parse_dataset(_dataset(RATED_HEADERS, rows)), actor=analyst)
    existing.refresh_from_db()
    assert (existing.rating, existing.credit_score) == ("D", 850)
    assert any("内部评级" in notice and "信用评分" not in notice for notice in report.notices)


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


# -- the import page: uploads bound to their owner and session, limits, bad files ----------------

IMPORT_URL = "admin:customers_customer_import"
GOOD_CSV = (
    "名称,统一社会信用代码,手机号,城市,行业,月均营收\n"
    "杭州茶馆有限公司,91350100M000100Y43,13800138000,Hangzhou,餐饮,80000\n"
)
MORE_ROWS = "B,91310000MA1FL1MMXL,13900000001,Shanghai,零售,1\nC,91110000600037341L,13700000009,Beijing,零售,1\n"


@pytest.fixture
def officer_client(client, make_user):
    client.force_login(make_user("officer", role="Loan officer"))
    return client


def _post_file(client, content: bytes, name: str = "c.csv"):
    return client.post(reverse(IMPORT_URL), {"import_file": SimpleUploadedFile(name, content), "format": "csv"})


def _file_error(response) -> str:
    assert response.status_code == 200, response.status_code
    return " ".join(response.context["form"].errors.get("import_file", []))


def _xlsx(rows) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_confirm_accepts_only_the_uploaders_own_upload_from_the_same_session(client, make_user):
    from customers.models import ImportUpload

    owner = make_user("owner", role="Loan officer")
    client.force_login(owner)
    preview = _post_file(client, GOOD_CSV.encode())
    confirm = preview.context["confirm_form"].initial
    upload = ImportUpload.objects.get()
    assert upload.owner == owner and upload.rows == 1 and upload.file_name == "c.csv"
    assert set(confirm) == {"upload", "skip_invalid", "history"}  # an id, never a path

    other = make_user("other", role="Loan officer")
    client.force_login(other)
    response = client.post(reverse(IMPORT_URL), confirm)
    assert response.status_code == 200 and "no longer available" in str(list(response.context["messages"])[0])
    client.force_login(owner)  # the same user in a new session
    response = client.post(reverse(IMPORT_URL), confirm)
    assert "no longer available" in str(list(response.context["messages"])[0])
    assert Customer.objects.count() == 0 and ImportUpload.objects.count() == 1


def test_confirm_never_touches_a_path_named_by_the_form(officer_client, tmp_path):
    victim = tmp_path / "victim.csv"
    victim.write_text(GOOD_CSV)
    for forged in (str(victim), "../../var/secret_key", "x" * 32):
        response = officer_client.post(reverse(IMPORT_URL), {"upload": forged, "skip_invalid": "on"})
        assert response.status_code == 200
        assert "no longer available" in str(list(response.context["messages"])[0])
    assert victim.exists() and Customer.objects.count() == 0


def test_expired_uploads_are_refused_and_purged(officer_client):
    import datetime

    from django.utils import timezone

    from customers.models import ImportUpload

    confirm = _post_file(officer_client, GOOD_CSV.encode()).context["confirm_form"].initial
    ImportUpload.objects.update(created_at=timezone.now() - datetime.timedelta(hours=3))
    response = officer_client.post(reverse(IMPORT_URL), confirm)
    assert "no longer available" in str(list(response.context["messages"])[0])
    assert not ImportUpload.objects.exists() and Customer.objects.count() == 0


def test_upload_size_limit_is_a_form_error(officer_client, settings):
    settings.IMPORT_MAX_UPLOAD_MB = 0.01  # about 10 KB
    response = _post_file(officer_client, GOOD_CSV.encode() + b"x" * 200_000)
    assert "larger than 0.01 MB" in _file_error(response) and Customer.objects.count() == 0
    assert response.wsgi_request.upload_too_large  # reading stopped at the limit, nothing kept
    assert not response.wsgi_request.FILES


def test_xlsx_expanding_beyond_the_limit_is_refused_before_openpyxl_opens_it(officer_client, settings, monkeypatch):
    import openpyxl as openpyxl_module

    settings.IMPORT_MAX_UNCOMPRESSED_MB = 1
    rows = [["名称", "统一社会信用代码", "手机号", "城市", "行业"]] + [["x" * 50, "", "", "", ""]] * 40_000
    bomb = _xlsx(rows)
    assert len(bomb) < 1024 * 1024  # compresses well: the expanded size is what counts

    def refuse(*args, **kwargs):
        raise AssertionError("openpyxl must not open a file over the limit")

    monkeypatch.setattr(openpyxl_module, "load_workbook", refuse)
    assert "expands to more than 1 MB" in _file_error(_post_file(officer_client, bomb, "bomb.xlsx"))


def test_zip_with_too_many_entries_is_refused(officer_client, settings):
    settings.IMPORT_MAX_ZIP_ENTRIES = 20
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(30):
            archive.writestr(f"xl/part{i}.xml", "<a/>")
    assert "more than 20 parts" in _file_error(_post_file(officer_client, buffer.getvalue(), "many.xlsx"))


def test_rows_beyond_the_maximum_stop_the_read_with_a_clear_error(officer_client, settings):
    settings.CUSTOMER_IMPORT_MAX_ROWS = 2
    content = (
        GOOD_CSV + "B,91310000MA1FL1MMXL,13900000001,Shanghai,零售,1\nC,91110000600037341L,13700000009,Beijing,零售,1\n"
    )
    assert "more than 2 rows" in _file_error(_post_file(officer_client, content.encode()))
    xlsx = _xlsx([row.split(",") for row in content.strip().splitlines()])
    assert "more than 2 rows" in _file_error(_post_file(officer_client, xlsx, "c.xlsx"))


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (os.urandom(4096), "random.xlsx", "neither an XLSX"),
        (b"PK\x03\x04" + os.urandom(2000), "broken.xlsx", "damaged"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "old.xls", ".xls"),
        (b"%PDF-1.7\n" + os.urandom(500), "scan.csv", "not a CSV or XLSX"),
        (b"\x00\x01\x02\x03" * 400, "nul.csv", "not a CSV or XLSX"),
        ("名称,手机号\n".encode() + b"\xff\xfe\xfa\xfb" * 20, "mixed.csv", "neither an XLSX"),
        (b"", "empty.csv", "empty"),
    ],
)
def test_malformed_files_are_form_errors_never_500(officer_client, content, name, expected):
    assert expected in _file_error(_post_file(officer_client, content, name))
    assert Customer.objects.count() == 0


def test_type_is_told_by_content_not_by_name_and_chinese_excel_csv_reads(officer_client):
    # A CSV named .xlsx is read as the CSV it is.
    preview = _post_file(officer_client, GOOD_CSV.encode("utf-8"), "really-a-csv.xlsx")
    assert not preview.context["report"].errors and preview.context["report"].new == 1
    # GB18030 (Chinese Excel "CSV") and UTF-8 with BOM.
    for encoding in ("gb18030", "utf-8-sig"):
        preview = _post_file(officer_client, GOOD_CSV.encode(encoding))
        assert preview.context["report"].new == 1, encoding
    # An XLSX named .csv is read as the workbook it is.
    xlsx = _xlsx([row.split(",") for row in GOOD_CSV.strip().splitlines()])
    preview = _post_file(officer_client, xlsx, "really-a-workbook.csv")
    assert preview.context["report"].new == 1
    officer_client.post(reverse(IMPORT_URL), preview.context["confirm_form"].initial)
    assert Customer.objects.get().name == "杭州茶馆有限公司"


def test_big_files_run_in_a_worker_with_progress(officer_client, settings, django_capture_on_commit_callbacks):
    from customers.models import ImportJob, ImportUpload

    settings.CUSTOMER_IMPORT_ASYNC_ROWS = 1
    content = GOOD_CSV + MORE_ROWS.splitlines(keepends=True)[0]
    preview = _post_file(officer_client, content.encode())
    with django_capture_on_commit_callbacks(execute=True):
        response = officer_client.post(reverse(IMPORT_URL), preview.context["confirm_form"].initial)
    job = ImportJob.objects.get()
    assert response.url == reverse("admin:customers_importjob_change", args=[job.pk])
    assert (job.kind, job.status, job.total_rows, job.processed, job.new) == ("customers", "done", 2, 2, 2)
    assert job.file_sha256 and not ImportUpload.objects.exists()  # the stored file is gone once imported
    page = officer_client.get(response.url)
    assert "100%" in page.content.decode()
