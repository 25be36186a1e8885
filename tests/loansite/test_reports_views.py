"""The reports page, its XLSX exports and the report files: who sees what, an empty database,
bad filters, number cells and Chinese headers, the monthly report by beat and on demand, the
loan-level export in the worker; each download audited."""

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from audit.models import AuditAction, AuditEntry
from loansite import roles
from loansite.dashboard.reports_models import ReportFile
from tests.loansite.test_reports import book  # noqa: F401  (the hand-computed book)

pytestmark = pytest.mark.django_db
REPORTS = ("portfolio", "funnel", "flows", "overdue", "risk_class")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def analyst(make_user):
    return make_user("analyst", role=roles.RISK_ANALYST)


@pytest.fixture
def approver(make_user):
    return make_user("approver", role=roles.CREDIT_APPROVER)


@pytest.fixture
def administrator(make_user):
    return make_user("administrator", role=roles.ADMINISTRATOR)


def _workbook(response):
    return openpyxl.load_workbook(
        io.BytesIO(b"".join(response.streaming_content) if response.streaming else response.content)
    )


@pytest.mark.parametrize("name", REPORTS)
def test_every_report_says_no_data_yet_on_an_empty_database(client, analyst, name):
    client.force_login(analyst)
    response = client.get(reverse("admin:reports"), {"report": name})
    assert response.status_code == 200
    assert "No data yet" in response.content.decode()
    export = client.get(reverse("admin:report_export", args=[name]))
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd.openxmlformats")


def test_the_page_shows_the_hand_computed_portfolio(client, analyst, book):  # noqa: F811
    client.force_login(analyst)
    page = client.get(reverse("admin:reports"), {"report": "portfolio", "by": "product"}).content.decode()
    assert "Working capital" in page and "¥150,000.00" in page and "¥6,400.00" in page
    assert "40.00 %" in page  # PAR30 of working capital


def test_an_officer_sees_their_own_book_only(client, book):  # noqa: F811
    from django.contrib.auth.models import Group

    from loansite.accounts import privileges_recorded_here

    officer = book["officer"]
    with privileges_recorded_here():
        officer.groups.add(Group.objects.get(name=roles.LOAN_OFFICER))
    client.force_login(officer)
    page = client.get(reverse("admin:reports"), {"report": "portfolio"}).content.decode()
    assert "¥110,000.00" in page  # L1 + L4, the officer's customer's loans
    assert "¥190,000.00" not in page and "Equipment" in page
    overdue = client.get(reverse("admin:reports"), {"report": "overdue"}).content.decode()
    assert book["l2"].loan_number not in overdue and book["l3"].loan_number not in overdue
    # The export follows the same scope.
    sheet = _workbook(client.get(reverse("admin:report_export", args=["portfolio"]))).active
    totals = [row for row in sheet.iter_rows(values_only=True) if row[0] == "Total"]
    assert totals[0][2] == 110000


def test_roles_without_reports_are_refused(client, make_user):
    ops = make_user("ops", role=roles.MODEL_OPS)
    client.force_login(ops)
    assert client.get(reverse("admin:reports")).status_code == 403
    assert client.get(reverse("admin:report_export", args=["portfolio"])).status_code == 403
    assert client.get(reverse("admin:report_files")).status_code == 403


@pytest.mark.parametrize(
    "query",
    [
        {"period": "custom", "start": "2026-11-30", "end": "2026-11-01"},
        {"period": "custom", "start": "not-a-date", "end": "2026-11-01"},
        {"period": "custom"},
        {"product": "999999"},
        {"product": "abc"},
        {"manager": "-1"},
        {"city": "Atlantis"},
        {"risk_class": "awful"},
        {"by": "planet"},
        {"report": "secret"},
        {"page": "-3"},
        {"page": "x" * 50},
    ],
)
def test_bad_filters_are_form_errors_not_500(client, analyst, query):
    client.force_login(analyst)
    response = client.get(reverse("admin:reports"), query)
    assert response.status_code == 200
    assert "Correct the filters to see the report." in response.content.decode()
    export = client.get(reverse("admin:report_export", args=["portfolio"]), query)
    assert export.status_code == 302


def test_unknown_report_export_is_404(client, analyst):
    client.force_login(analyst)
    assert client.get(reverse("admin:report_export", args=["nonsense"])).status_code == 404


def test_overdue_list_is_paginated(client, analyst, book, monkeypatch):  # noqa: F811
    from loansite.dashboard import reports_views

    monkeypatch.setattr(reports_views, "PAGE_SIZE", 1)
    client.force_login(analyst)
    first = client.get(reverse("admin:reports"), {"report": "overdue"}).content.decode()
    second = client.get(reverse("admin:reports"), {"report": "overdue", "page": 2}).content.decode()
    assert book["l3"].loan_number in first and book["l2"].loan_number not in first
    assert book["l2"].loan_number in second and "page 2 of 2" in second


def test_xlsx_has_number_cells_and_chinese_headers(client, approver, book):  # noqa: F811
    client.force_login(approver)
    response = client.get(
        reverse("admin:report_export", args=["portfolio"]), {"by": "product"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    sheet = _workbook(response).active
    rows = list(sheet.iter_rows())
    header = next(row for row in rows if row[0].value == "产品")
    assert [c.value for c in header][:4] == ["产品", "贷款笔数", "放款金额（¥）", "未还本金（¥）"]
    line = next(row for row in rows if row[0].value == "流动资金贷款")
    assert line[1].value == 2 and line[1].data_type == "n"
    assert line[2].value == 150000 and line[2].number_format == '"¥"#,##0.00'
    assert line[4].value == pytest.approx(0.4) and line[4].number_format == "0.00%"
    entry = AuditEntry.objects.filter(action=AuditAction.EXPORT, target_type="loansite.report").get()
    assert entry.actor == approver and entry.changes["rows"] == 3


def test_overdue_export_lists_the_loans(client, analyst, book):  # noqa: F811
    client.force_login(analyst)
    book_ = _workbook(client.get(reverse("admin:report_export", args=["overdue"])))
    assert len(book_.sheetnames) == 2
    loans = list(book_.worksheets[1].iter_rows(values_only=True))
    assert loans[1][0] == book["l3"].loan_number and loans[2][0] == book["l2"].loan_number
    assert loans[2][9] == 3320 and loans[1][9] == 0


# --- the monthly report -------------------------------------------------------------------------


def test_beat_schedules_the_monthly_report():
    task = PeriodicTask.objects.get(task="loansite.monthly_report")
    assert task.enabled and task.crontab.day_of_month == "1" and task.crontab.timezone.key == "Asia/Shanghai"


def test_the_beat_task_keeps_last_months_report(book, monkeypatch):  # noqa: F811
    from loansite.dashboard import reports_services, reports_tasks

    monkeypatch.setattr(reports_services.timezone, "localdate", lambda: dt.date(2026, 12, 1))
    result = reports_tasks.monthly_report.apply().get()
    report = ReportFile.objects.get(kind="monthly")
    assert result["month"] == "2026-11" and report.month == dt.date(2026, 11, 1)
    assert report.status == "done" and report.requested_by is None and report.rows > 0
    workbook = openpyxl.load_workbook(report.file.path)
    assert len(workbook.sheetnames) >= 9
    funnel = workbook.worksheets[5]
    values = list(funnel.iter_rows(values_only=True))
    assert any(row[0] == "2026-11" and row[1] == 4 for row in values)  # November's four submissions
    entry = AuditEntry.objects.get(action=AuditAction.CREATE, target_type="loansite.reportfile")
    assert entry.actor is None and entry.changes["month"] == "2026-11"
    # Again: the same row, a new file.
    reports_tasks.monthly_report.apply().get()
    assert ReportFile.objects.filter(kind="monthly").count() == 1


def test_an_administrator_generates_now_and_readers_download(
    client,
    administrator,
    analyst,
    make_user,
    book,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    client.force_login(administrator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:report_monthly_generate"), {"month": "2026-10"})
    assert response.status_code == 302
    report = ReportFile.objects.get(kind="monthly", month=dt.date(2026, 10, 1))
    assert report.status == "done" and report.requested_by == administrator
    files = client.get(reverse("admin:report_files")).content.decode()
    assert "2026-10" in files and reverse("admin:report_file", args=[report.pk]) in files

    client.force_login(analyst)
    assert "Generate the monthly report now" not in client.get(reverse("admin:report_files")).content.decode()
    assert client.post(reverse("admin:report_monthly_generate"), {"month": "2026-09"}).status_code == 403
    download = client.get(reverse("admin:report_file", args=[report.pk]))
    assert download.status_code == 200 and openpyxl.load_workbook(io.BytesIO(download.content))
    assert AuditEntry.objects.filter(
        action=AuditAction.EXPORT, actor=analyst, target_id=str(report.pk), changes__event="downloaded"
    ).exists()

    officer = make_user("officer9", role=roles.LOAN_OFFICER)
    client.force_login(officer)
    assert client.get(reverse("admin:report_file", args=[report.pk])).status_code == 404
    assert "2026-10" not in client.get(reverse("admin:report_files")).content.decode()


@pytest.mark.parametrize("month", ["2026-13", "next month", "2099-01"])
def test_generate_now_refuses_a_bad_month(client, administrator, month):
    client.force_login(administrator)
    response = client.post(reverse("admin:report_monthly_generate"), {"month": month}, follow=True)
    assert response.status_code == 200 and not ReportFile.objects.exists()


# --- loan-level exports -------------------------------------------------------------------------


def test_loan_level_export_in_the_worker_is_the_requesters_only(
    client,
    analyst,
    approver,
    book,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    client.force_login(analyst)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:report_loans_export"), {"city": "Shanghai"})
    assert response.status_code == 302
    report = ReportFile.objects.get(kind="loans")
    assert report.status == "done" and report.rows == 2 and report.requested_by == analyst
    sheet = openpyxl.load_workbook(report.file.path).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][0] == "Loan number" and {row[0] for row in rows[2:]} == {
        book["l2"].loan_number,
        book["l3"].loan_number,
    }
    provisions = {row[0]: row[12] for row in rows[2:]}
    assert provisions[book["l3"].loan_number] == 5000
    assert client.get(reverse("admin:report_file", args=[report.pk])).status_code == 200
    client.force_login(approver)
    assert client.get(reverse("admin:report_file", args=[report.pk])).status_code == 404


def test_the_reports_entry_is_in_the_sidebar_for_readers_only(client, analyst, make_user):
    client.force_login(analyst)
    assert reverse("admin:reports") in client.get(reverse("admin:index")).content.decode()
    client.force_login(make_user("ops2", role=roles.MODEL_OPS))
    assert reverse("admin:reports") not in client.get(reverse("admin:index")).content.decode()


def test_figures_are_cached_until_the_dashboard_version_moves(client, analyst, book):  # noqa: F811
    from loans.models import Loan
    from loansite.dashboard.selectors import dashboard_invalidate

    client.force_login(analyst)
    url = reverse("admin:reports")
    assert "¥190,000.00" in client.get(url, {"report": "portfolio"}).content.decode()
    Loan.objects.filter(pk=book["l1"].pk).update(principal=Decimal("100001.00"), approved_amount=Decimal("100001.00"))
    # Cached: the change shows once the version moves (what a committed write to the loans does).
    assert "¥190,000.00" in client.get(url, {"report": "portfolio"}).content.decode()
    dashboard_invalidate()
    assert "¥190,001.00" in client.get(url, {"report": "portfolio"}).content.decode()
