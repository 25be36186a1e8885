"""Importing loan applications: the same services and checks as hand entry; history is a permission
of its own; uploads bound to their owner; limits and bad files; big files in a worker."""

import io
import os
import random
import tempfile
from decimal import Decimal

import openpyxl
import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditAction, AuditEntry
from customers.models import Customer, ImportJob
from customers.validators import make_credit_code
from loans.models import LoanApplication
from loans.resources import COLUMNS
from tests.loans.factories import ApplicationFactory, CustomerFactory

pytestmark = pytest.mark.django_db

S = LoanApplication.Status
URL = "admin:loans_loanapplication_import"
CODE = make_credit_code(random.Random(5), city="Hangzhou")
CODE2 = make_credit_code(random.Random(6), city="Hangzhou")
HEADERS = "商户名称,统一社会信用代码,手机号,行业,城市,信用评分,产品,申请金额,期限（月）,日期,状态\n"


def _user(make_user, username, *codenames, role=None):
    """A staff user holding exactly these loans permissions (plus a role's, if given)."""
    user = make_user(username, role=role)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="loans", codename__in=codenames))
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def importer(make_user):
    """What an officer holds for imports: import, add, submit; not the history permission."""
    return _user(make_user, "importer", "import_loanapplication", "add_loanapplication", "submit_loanapplication")


@pytest.fixture
def historian(make_user):
    return _user(
        make_user,
        "historian",
        "import_loanapplication",
        "add_loanapplication",
        "submit_loanapplication",
        "import_history_loanapplication",
    )


def _preview(client, content, name="apps.csv", **extra):
    if isinstance(content, str):
        content = content.encode("utf-8")
    data = {"import_file": SimpleUploadedFile(name, content), "format": "0", "resource": "0", **extra}
    response = client.post(reverse(URL), data)
    assert response.status_code == 200, response.status_code
    return response


def _confirm(client, preview, **override):
    return client.post(reverse(URL), {**preview.context["confirm_form"].initial, **override})


def _cells(preview):
    return {(e.row, e.column) for e in preview.context["report"].errors}


# -- item 3: no decided applications, no limits bypass -------------------------------------------


def test_an_officer_cannot_import_approved_applications_or_amounts_beyond_the_product(client, importer, product):
    client.force_login(importer)
    csv = (
        HEADERS + f"Big Shop,{CODE},13812345678,retail,Hangzhou,700,WC,50000000,12,2026-03-01,approved\n"
        f"Fine Shop,{CODE2},13812345679,retail,Hangzhou,,WC,200000,12,,submitted\n"
    )
    preview = _preview(client, csv)
    assert {(2, "状态"), (2, "申请金额")} <= _cells(preview)
    assert "history" not in preview.context["form"].fields  # the box is not even offered
    _confirm(client, preview)  # "import the valid rows only"
    assert not LoanApplication.objects.filter(status=S.APPROVED).exists()
    assert not LoanApplication.objects.filter(amount__gt=product.max_amount).exists()
    assert list(LoanApplication.objects.values_list("status", flat=True)) == [S.SUBMITTED]


@pytest.mark.parametrize("status", ["under_review", "rejected", "cancelled", "returned_for_info", "已批准"])
def test_every_status_but_draft_or_submitted_is_a_row_error_without_history(client, importer, product, status):
    client.force_login(importer)
    preview = _preview(client, HEADERS + f"Shop,{CODE},13812345678,retail,Hangzhou,,WC,200000,12,,{status}\n")
    assert _cells(preview) == {(2, "状态")}
    assert "confirm_form" not in preview.context
    assert not LoanApplication.objects.exists()


def test_forging_the_history_flag_changes_nothing_without_the_permission(client, importer, product):
    client.force_login(importer)
    csv = HEADERS + f"Shop,{CODE},13812345678,retail,Hangzhou,,WC,200000,12,2026-03-01,approved\n"
    preview = _preview(client, csv, history="on")
    assert _cells(preview) == {(2, "状态")}
    ok = _preview(client, HEADERS + f"Shop,{CODE},13812345678,retail,Hangzhou,,WC,200000,12,,submitted\n")
    _confirm(client, ok, history="on")
    app = LoanApplication.objects.get()
    assert app.status == S.SUBMITTED and not AuditEntry.objects.filter(changes__history=True).exists()


def test_imported_rows_go_through_the_application_services(
    client, importer, product, django_capture_on_commit_callbacks
):
    client.force_login(importer)
    csv = (
        HEADERS + f"Good Shop,{CODE},13812345678,retail,Hangzhou,,WC,200000,12,2020-01-01,submitted\n"
        f"Other Shop,{CODE},13812345678,零售,杭州,,WC,150000,6,,草稿\n"
    )
    preview = _preview(client, csv)
    assert not preview.context["report"].errors
    assert any("日期" in notice for notice in preview.context["report"].notices)  # dates only in history
    with django_capture_on_commit_callbacks() as callbacks:
        response = _confirm(client, preview)
    assert response.status_code == 302
    submitted, draft = LoanApplication.objects.order_by("amount").reverse()
    assert (submitted.status, draft.status) == (S.SUBMITTED, S.DRAFT)
    assert submitted.customer_id == draft.customer_id  # matched by credit code, not duplicated
    assert submitted.created_by == importer and submitted.submitted_by == importer
    assert submitted.submitted_at.year == timezone.now().year  # not back-dated to 2020
    assert {a.channel for a in (submitted, draft)} == {"import"}
    assert len(callbacks) >= 1  # scoring queued for the submitted one, as for hand entry
    created = AuditEntry.objects.filter(action=AuditAction.CREATE, target_type="loans.loanapplication")
    assert set(created.values_list("target_id", flat=True)) == {str(submitted.pk), str(draft.pk)}
    summary = AuditEntry.objects.get(action=AuditAction.IMPORT, target_type="loans.loanapplication")
    assert summary.changes["created"] == 2 and summary.changes["history"] is False and summary.changes["sha256"]


def test_bad_rows_are_reported_by_row_and_column_and_nothing_is_imported(client, importer, product):
    client.force_login(importer)
    csv = (
        HEADERS + f"Good Shop,{CODE},13812345678,retail,Hangzhou,700,WC,200000,12,2026-03-01,submitted\n"
        "Bad Shop,,12,nonsense,Atlantis,-3,ZZ,abc,0,2026-13-01,done\n"
    )
    preview = _preview(client, csv)
    columns = {column for row, column in _cells(preview) if row == 3}
    assert {"申请金额", "产品", "行业", "城市", "状态", "日期", "信用评分", "手机号"} <= columns
    assert not LoanApplication.objects.exists() and not Customer.objects.exists()


def test_a_row_the_services_refuse_rolls_back_the_whole_file(client, importer, product):
    """Keys pointing at two different customers: refused by the service, nothing written."""
    a, b = CustomerFactory(), CustomerFactory()
    client.force_login(importer)
    csv = (
        HEADERS + f"Good Shop,{CODE},13812345678,retail,Hangzhou,,WC,200000,12,,submitted\n"
        f"Mixed,{a.credit_code},{b.phone},retail,Hangzhou,,WC,200000,12,,submitted\n"
    )
    preview = _preview(client, csv)
    assert [e.row for e in preview.context["report"].errors] == [3]
    assert not LoanApplication.objects.exists()


def test_the_bureau_score_column_needs_the_rating_permission(client, importer, product):
    existing = CustomerFactory(credit_code=CODE, phone="13812345678", credit_score=600)
    client.force_login(importer)
    preview = _preview(client, HEADERS + f"Shop,{CODE},13812345678,retail,Hangzhou,900,WC,200000,12,,submitted\n")
    assert any("信用评分" in notice for notice in preview.context["report"].notices)
    _confirm(client, preview)
    existing.refresh_from_db()
    assert existing.credit_score == 600 and LoanApplication.objects.count() == 1


def test_control_characters_in_names_are_row_errors(client, importer, product):
    client.force_login(importer)
    preview = _preview(client, HEADERS + f"Nul\x00Shop,{CODE},13812345678,retail,Hangzhou,,WC,200000,12,,\n")
    assert _cells(preview) == {(2, "商户名称")}


# -- history: its own permission, labelled, audited ------------------------------------------------


def test_history_import_is_a_labelled_permission_and_audited_as_such(client, historian, product):
    client.force_login(historian)
    page = client.get(reverse(URL))
    assert "Import history: decided applications, no decision checks" in page.content.decode()
    csv = HEADERS + f"Old Shop,{CODE},13812345678,retail,Hangzhou,,WC,5000000,12,2021-03-01,approved\n"
    # Unticked, even the historian imports only drafts and submissions.
    assert _cells(_preview(client, csv)) == {(2, "状态"), (2, "申请金额")}
    preview = _preview(client, csv, history="on")
    assert not preview.context["report"].errors  # no decision checks: a decided amount stands as decided
    assert "Import history" in preview.content.decode()
    _confirm(client, preview)
    app = LoanApplication.objects.get()
    assert app.status == S.APPROVED and timezone.localtime(app.decided_at).date().isoformat() == "2021-03-01"
    entry = AuditEntry.objects.get(action=AuditAction.IMPORT, target_id=str(app.pk))
    assert entry.changes["history"] is True and entry.changes["decision_checks"] is False
    assert "no decision checks" in entry.reason
    summary = AuditEntry.objects.get(action=AuditAction.IMPORT, target_id="")
    assert summary.changes["history"] is True and summary.changes["statuses"] == {"approved": 1}


def test_only_administrators_hold_the_history_permission(make_user):
    from django.contrib.auth.models import Group

    holders = Group.objects.filter(permissions__codename="import_history_loanapplication")
    assert set(holders.values_list("name", flat=True)) <= {"Administrator"}


# -- item 10: the confirm step names an upload of this user and session, never a file --------------


def test_no_admin_runs_django_import_export_s_own_import_flow():
    for model_admin in admin.site._registry.values():
        assert not hasattr(model_admin, "process_import"), type(model_admin)


def test_confirm_cannot_read_or_delete_files_in_the_temp_folder(client, importer, product):
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as victim:
        victim.write(HEADERS + f"Shop,{CODE},13812345678,retail,Hangzhou,,WC,200000,12,,submitted\n")
    name = os.path.basename(victim.name)
    client.force_login(importer)
    try:
        for url in (reverse(URL), "/admin/loans/loanapplication/process_import/"):
            client.post(url, {"import_file_name": name, "original_file_name": "x.csv", "format": "0", "resource": "0"})
            client.post(url, {"upload": name, "skip_invalid": "on"})
        assert os.path.exists(victim.name)
        assert not LoanApplication.objects.exists()
    finally:
        os.unlink(victim.name)


def test_tmp_storage_of_django_import_export_accepts_only_its_own_random_names(settings, tmp_path):
    from django.utils.module_loading import import_string

    from loansite.tabular import TabularFileError

    settings.MEDIA_ROOT = tmp_path
    storage_class = import_string(settings.IMPORT_EXPORT_TMP_STORAGE_CLASS)
    storage = storage_class(read_mode="rb")
    storage.save(b"a,b\n")
    assert storage_class(name=storage.name, read_mode="rb").read() == b"a,b\n"
    for forged in ("../../var/secret_key", "/etc/passwd", "x.csv"):
        with pytest.raises(TabularFileError):
            storage_class(name=forged).read()


def test_another_users_upload_is_refused(client, importer, make_user, product):
    client.force_login(importer)
    preview = _preview(client, HEADERS + f"Shop,{CODE},13812345678,retail,Hangzhou,,WC,200000,12,,submitted\n")
    other = _user(make_user, "other", "import_loanapplication", "add_loanapplication", "submit_loanapplication")
    client.force_login(other)
    response = _confirm(client, preview)
    assert response.status_code == 200 and "no longer available" in str(list(response.context["messages"])[0])
    assert not LoanApplication.objects.exists()


# -- items 11 and 12: limits, bad files ------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (os.urandom(3000), "apps.xlsx", "neither an XLSX"),
        (b"PK\x03\x04" + os.urandom(1000), "apps.xlsx", "damaged"),
        (HEADERS.encode("utf-8") + b"\xff\xfe\xfd" * 10, "apps.csv", "neither an XLSX"),
    ],
)
def test_bad_files_are_form_errors(client, importer, product, content, name, expected):
    client.force_login(importer)
    response = _preview(client, content, name)
    assert expected in " ".join(response.context["form"].errors["import_file"])


def test_row_and_size_limits(client, importer, product, settings):
    client.force_login(importer)
    settings.APPLICATION_IMPORT_MAX_ROWS = 1
    csv = HEADERS + "".join(f"S{i},{CODE},13812345678,retail,Hangzhou,,WC,200000,12,,\n" for i in range(2))
    assert "more than 1 rows" in " ".join(_preview(client, csv).context["form"].errors["import_file"])
    settings.IMPORT_MAX_UPLOAD_MB = 0.0001
    assert "MB" in " ".join(_preview(client, csv).context["form"].errors["import_file"])


def test_gb18030_csv_and_xlsx_by_content(client, importer, product):
    client.force_login(importer)
    csv = HEADERS + f"杭州茶馆,{CODE},13812345678,零售,杭州,,WC,200000,12,,submitted\n"
    assert _preview(client, csv.encode("gb18030"), "apps.csv").context["report"].new == 1
    book = openpyxl.Workbook()
    for line in csv.strip().splitlines():
        book.active.append(line.split(","))
    buffer = io.BytesIO()
    book.save(buffer)
    assert _preview(client, buffer.getvalue(), "named-like-a.csv").context["report"].new == 1


# -- big files: a worker with progress -------------------------------------------------------------


def test_big_application_files_run_in_a_worker_with_progress(
    client, importer, product, settings, django_capture_on_commit_callbacks
):
    settings.APPLICATION_IMPORT_ASYNC_ROWS = 1
    client.force_login(importer)
    csv = HEADERS + "".join(f"Shop {i},{CODE},13812345678,retail,Hangzhou,,WC,{100000 + i},12,,\n" for i in range(3))
    preview = _preview(client, csv)
    with django_capture_on_commit_callbacks(execute=True):
        response = _confirm(client, preview)
    job = ImportJob.objects.get()
    assert response.url == reverse("admin:customers_importjob_change", args=[job.pk])
    assert (job.kind, job.status, job.total_rows, job.processed, job.new) == ("applications", "done", 3, 3, 3)
    assert LoanApplication.objects.filter(status=S.SUBMITTED, created_by=importer).count() == 3
    assert "100%" in client.get(response.url).content.decode()


# -- round trip ------------------------------------------------------------------------------------


def test_xlsx_export_imports_back(client, make_user, importer, product):
    source = ApplicationFactory(product=product, status=S.SUBMITTED, submitted_at=timezone.now())
    client.force_login(make_user("auditor", role="Auditor"))
    exported = client.post(
        reverse("admin:loans_loanapplication_export") + "?status=all",
        {"format": "1", "resource": "0", **{f"applicationresourceenglish_{key}": "on" for key in COLUMNS}},
    )
    assert "spreadsheetml" in exported["Content-Type"]
    client.force_login(importer)
    preview = _preview(client, exported.content, "apps.xlsx")
    assert not preview.context["report"].errors, preview.context["report"].errors
    assert _confirm(client, preview).status_code == 302
    assert LoanApplication.objects.filter(customer=source.customer).count() == 2
    assert Customer.objects.count() == 1 and source.amount == Decimal(str(source.amount))


def test_the_workbench_offers_import_to_importers_only(client, officer, make_user):
    changelist = reverse("admin:loans_loanapplication_changelist")
    client.force_login(officer)
    assert reverse(URL) in client.get(changelist).content.decode()
    client.force_login(make_user("auditor", role="Auditor"))
    page = client.get(changelist).content.decode()
    assert reverse(URL) not in page and client.get(reverse(URL)).status_code == 403
