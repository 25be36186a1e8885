import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import Assignment, Customer, MatchingRun
from tests.customers.factories import CustomerFactory, ManagerFactory, TagFactory

pytestmark = pytest.mark.django_db

CSV_ZH = (
    "名称,统一社会信用代码,手机号,城市,行业,月均营收\n"
    "杭州茶馆有限公司,91350100M000100Y43,13800138000,Hangzhou,餐饮,80000\n"
    "坏代码公司,91350100M000100Y44,13800138001,Hangzhou,餐饮,1000\n"
)


@pytest.fixture
def officer_client(client, make_user):
    client.force_login(make_user("officer", role="Loan officer"))
    return client


@pytest.fixture
def admin_client_(client, make_user):
    client.force_login(make_user("boss", role="Administrator"))
    return client


def test_changelist_filters_and_query_count(officer_client, django_assert_max_num_queries):
    from django.contrib.auth import get_user_model

    # The officer's own book (an officer sees only their customers, loansite/scoping.py).
    manager = ManagerFactory(user=get_user_model().objects.get(username="officer"))
    tag = TagFactory(name="VIP")
    for customer in CustomerFactory.create_batch(20, manager=manager):
        customer.tags.add(tag)
    url = reverse("admin:customers_customer_changelist")
    with django_assert_max_num_queries(20):
        response = officer_client.get(url)
    assert response.status_code == 200
    assert officer_client.get(url, {"revenue": "50k-100k"}).context["cl"].result_count == 0
    assert officer_client.get(url, {"revenue": "100k-300k"}).context["cl"].result_count == 20
    assert officer_client.get(url, {"q": "Customer"}).status_code == 200
    assert officer_client.get(url, {"tags__id__exact": tag.pk}).context["cl"].result_count == 20


def test_change_page_shows_breakdown_and_history(admin_client_, make_user):
    from customers.services import assignment_run_matching

    ManagerFactory()
    customer = CustomerFactory()
    assignment_run_matching(actor=make_user("system"))
    response = admin_client_.get(reverse("admin:customers_customer_change", args=[customer.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert "match-breakdown" in content and "Industry expertise" in content
    assert reverse("admin:customers_customer_reassign", args=[customer.pk]) in content


def test_add_customer_goes_through_the_service(officer_client):
    data = {
        "kind": "enterprise",
        "name": "Admin Co.",
        "credit_code": "91350100M000100Y43",
        "phone": "+86 138 0013 8000",
        "city": "Hangzhou",
        "city_tier": 2,
        "industry": "retail",
        "years_in_business": 1,
        "employees": 1,
        "area_m2": "10",
        "monthly_revenue": "1000",
        "monthly_cost": "500",
        "monthly_foot_traffic": 0,
        "credit_lines-TOTAL_FORMS": 0,
        "credit_lines-INITIAL_FORMS": 0,
        "assignments-TOTAL_FORMS": 0,
        "assignments-INITIAL_FORMS": 0,
    }
    response = officer_client.post(reverse("admin:customers_customer_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Customer.objects.get().phone == "13800138000"
    bad = officer_client.post(
        reverse("admin:customers_customer_add"), {**data, "credit_code": "", "phone": "13900000000"}
    )
    assert bad.status_code == 200 and "credit_code" in bad.context["adminform"].form.errors


def test_import_reports_errors_then_imports_valid_rows_on_confirm(officer_client):
    url = reverse("admin:customers_customer_import")
    upload = SimpleUploadedFile("c.csv", CSV_ZH.encode("utf-8-sig"), content_type="text/csv")
    response = officer_client.post(url, {"import_file": upload, "format": "csv"})
    assert response.status_code == 200
    report = response.context["report"]
    assert [(e.row, e.column) for e in report.errors] == [(3, "统一社会信用代码")]
    assert Customer.objects.count() == 0
    confirm = response.context["confirm_form"].initial
    assert confirm["skip_invalid"] is True
    response = officer_client.post(url, confirm)
    assert response.status_code == 302
    assert list(Customer.objects.values_list("name", flat=True)) == ["杭州茶馆有限公司"]


def test_import_xlsx(officer_client):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Name", "Credit code", "Phone", "City", "Industry", "Monthly revenue"])
    sheet.append(["Excel Co.", "91310000MA1FL1MMXL", 13900000001, "Shanghai", "retail", 1000.5])
    buffer = io.BytesIO()
    book.save(buffer)
    url = reverse("admin:customers_customer_import")
    upload = SimpleUploadedFile("c.xlsx", buffer.getvalue())
    response = officer_client.post(url, {"import_file": upload, "format": "xlsx"})
    assert not response.context["report"].errors
    officer_client.post(url, response.context["confirm_form"].initial)
    assert Customer.objects.get().phone == "13900000001"


def test_import_needs_permission(client, make_user):
    client.force_login(make_user("approver", role="Credit approver"))
    assert client.get(reverse("admin:customers_customer_import")).status_code == 403


def test_reassign_view(admin_client_):
    first, second = ManagerFactory(), ManagerFactory()
    customer = CustomerFactory(manager=first)
    url = reverse("admin:customers_customer_reassign", args=[customer.pk])
    response = admin_client_.post(url, {"manager": second.pk, "reason": ""})
    assert response.status_code == 200 and not Assignment.objects.exists()
    response = admin_client_.post(url, {"manager": second.pk, "reason": "Customer asked"})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.manager == second


def test_reassign_view_needs_permission(client, make_user):
    # Officers reassign (they are the relationship managers); approvers do not.
    client.force_login(make_user("approver", role="Credit approver"))
    customer = CustomerFactory()
    assert client.get(reverse("admin:customers_customer_reassign", args=[customer.pk])).status_code == 403


def test_matching_button_queues_a_run_and_shows_progress(admin_client_, django_capture_on_commit_callbacks):
    ManagerFactory()
    CustomerFactory.create_batch(3)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_.post(reverse("admin:customers_customer_matching"), {"scope": "unassigned"})
    run = MatchingRun.objects.get()
    assert response.url == reverse("admin:customers_matchingrun_change", args=[run.pk])
    assert run.status == MatchingRun.Status.DONE and run.assigned == 3
    page = admin_client_.get(response.url)
    assert page.status_code == 200 and "<progress" in page.content.decode()


def test_workload_view(officer_client):
    manager = ManagerFactory(capacity=4)
    CustomerFactory.create_batch(2, manager=manager)
    response = officer_client.get(reverse("admin:customers_relationshipmanager_changelist"))
    assert response.status_code == 200 and "50%" in response.content.decode()


def test_export_with_chinese_headers(officer_client):
    CustomerFactory(name="导出公司")
    url = reverse("admin:customers_customer_export")
    response = officer_client.post(url, {"format": "0", "resource": "1", "export_items": []})
    assert response.status_code == 200
    assert "名称" in response.content.decode("utf-8-sig") or b"xlsx" in response.get("Content-Disposition", "").encode()


def test_officer_cannot_grant_credit_lines(officer_client):
    assert officer_client.get(reverse("admin:customers_creditline_add")).status_code == 403


def test_credit_line_admin_goes_through_the_services(client, make_user):
    client.force_login(make_user("approver", role="Credit approver"))
    import datetime
    from decimal import Decimal

    from audit.models import AuditAction, AuditEntry
    from customers.models import CreditLine
    from tests.customers.factories import CreditLineFactory

    customer = CustomerFactory()
    today = datetime.date.today()
    add = client.post(
        reverse("admin:customers_creditline_add"),
        {
            "customer": customer.pk,
            "limit": "5000",
            "valid_from": today.isoformat(),
            "valid_to": (today + datetime.timedelta(days=90)).isoformat(),
            "status": "active",
        },
    )
    assert add.status_code == 302
    line = CreditLine.objects.get(customer=customer)
    assert line.created_by.username == "approver"
    assert AuditEntry.objects.filter(action=AuditAction.CREATE, target_type="customers.creditline").exists()

    used = CreditLineFactory(used=Decimal("800.00"))
    url = reverse("admin:customers_creditline_change", args=[used.pk])
    data = {"limit": "700", "valid_to": used.valid_to.isoformat(), "status": "active"}
    response = client.post(url, data)
    assert response.status_code == 200 and "limit" in response.context["adminform"].form.errors
    response = client.post(url, {**data, "limit": "900"})
    assert response.status_code == 302
    used.refresh_from_db()
    assert used.limit == Decimal("900.00")


def test_admin_add_detects_duplicate_phone_written_differently(officer_client):
    CustomerFactory(phone="13800138000", credit_code="91310000MA1FL1MMXL")
    data = {
        "kind": "enterprise",
        "name": "Dup Co.",
        "credit_code": "91350100M000100Y43",
        "phone": "+86 138-0013-8000",
        "city": "Hangzhou",
        "city_tier": 2,
        "industry": "retail",
        "years_in_business": 1,
        "employees": 1,
        "area_m2": "10",
        "monthly_revenue": "1000",
        "monthly_cost": "500",
        "monthly_foot_traffic": 0,
        "credit_lines-TOTAL_FORMS": 0,
        "credit_lines-INITIAL_FORMS": 0,
        "assignments-TOTAL_FORMS": 0,
        "assignments-INITIAL_FORMS": 0,
    }
    response = officer_client.post(reverse("admin:customers_customer_add"), data)
    assert response.status_code == 200 and "phone" in response.context["adminform"].form.errors
    assert Customer.objects.count() == 1


def test_big_import_runs_in_the_worker_and_reports(officer_client, settings, django_capture_on_commit_callbacks):
    from customers.models import ImportJob

    settings.CUSTOMER_IMPORT_ASYNC_ROWS = 0
    url = reverse("admin:customers_customer_import")
    upload = SimpleUploadedFile("big.csv", CSV_ZH.encode("utf-8"), content_type="text/csv")
    response = officer_client.post(url, {"import_file": upload, "format": "csv"})
    with django_capture_on_commit_callbacks(execute=True):
        response = officer_client.post(url, response.context["confirm_form"].initial)
    job = ImportJob.objects.get()
    assert response.url == reverse("admin:customers_importjob_change", args=[job.pk])
    assert job.status == ImportJob.Status.DONE and job.new == 1 and job.invalid_rows == 1
    assert job.report["errors"][0]["column"] == "统一社会信用代码"
    page = officer_client.get(response.url)
    assert page.status_code == 200 and "统一社会信用代码" in page.content.decode()
    assert Customer.objects.count() == 1


def test_confirm_refuses_a_forged_file_name(officer_client):
    url = reverse("admin:customers_customer_import")
    forged = {"upload": "../../settings.py", "skip_invalid": "on"}
    response = officer_client.post(url, forged)
    assert response.status_code == 200
    assert "no longer available" in str(list(response.context["messages"])[0])


def test_pages_speak_chinese(officer_client):
    officer_client.cookies["django_language"] = "zh-hans"
    page = officer_client.get(reverse("admin:customers_customer_import"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    content = page.content.decode()
    assert "上传文件" in content and "检查文件" in content


def test_manager_admin_picks_industries_and_refuses_non_staff(admin_client_, make_user):
    from django.contrib.auth.models import User

    from customers.models import RelationshipManager

    staff = make_user("rm1")
    outsider = User.objects.create_user("outsider")
    url = reverse("admin:customers_relationshipmanager_add")
    data = {"user": staff.pk, "city": "Hangzhou", "industries": ["retail", "catering"], "seniority": 2}
    response = admin_client_.post(url, {**data, "capacity": 30, "active": "on"})
    assert response.status_code == 302
    assert RelationshipManager.objects.get().industries == ["retail", "catering"]
    response = admin_client_.post(url, {**data, "user": outsider.pk, "capacity": 30})
    assert response.status_code == 200 and "user" in response.context["adminform"].form.errors


def test_search_by_phone_or_code_as_typed(officer_client):
    customer = CustomerFactory(phone="13800138000")
    CustomerFactory()
    url = reverse("admin:customers_customer_changelist")
    assert officer_client.get(url, {"q": "+86 138 0013 8000"}).context["cl"].result_count == 1
    assert officer_client.get(url, {"q": customer.credit_code.lower()}).context["cl"].result_count == 1
    assert officer_client.get(url, {"q": customer.name}).context["cl"].result_count == 1


def test_bulk_reassign_action_confirms_then_moves_all_or_none(admin_client_):
    leaving = ManagerFactory(capacity=5)
    taking = ManagerFactory(capacity=2)
    customers = CustomerFactory.create_batch(2, manager=leaving)
    url = reverse("admin:customers_customer_changelist")
    ids = [c.pk for c in customers]
    page = admin_client_.post(url, {"action": "reassign_selected", "_selected_action": ids})
    assert page.status_code == 200 and "confirm" in page.content.decode()
    assert Customer.objects.filter(manager=leaving).count() == 2
    response = admin_client_.post(
        url,
        {"action": "reassign_selected", "_selected_action": ids, "confirm": "yes", "manager": taking.pk,
         "reason": "Manager left"},
    )  # fmt: skip
    assert response.status_code == 302
    assert Customer.objects.filter(manager=taking).count() == 2
    # A third customer does not fit: nothing moves.
    third = CustomerFactory(manager=leaving)
    admin_client_.post(
        url,
        {"action": "reassign_selected", "_selected_action": [third.pk], "confirm": "yes", "manager": taking.pk,
         "reason": "x"},
    )  # fmt: skip
    third.refresh_from_db()
    assert third.manager == leaving


def test_rating_and_bureau_score_are_read_only_without_the_rating_permission(officer_client, client, make_user):
    customer = CustomerFactory(credit_score=600, rating="C")
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    page = officer_client.get(url)
    form = page.context["adminform"].form
    assert not {"credit_score", "rating", "rating_date", "rating_source"} & set(form.fields)
    assert "600" in page.content.decode()  # still shown
    data = {
        **{k: v for k, v in form.initial.items() if k in form.fields and v is not None},
        "tags": [],
        "needs": [],
        "interests": [],
        "credit_score": "850",
        "rating": "A",
        "notes": "checked",
        "credit_lines-TOTAL_FORMS": 0,
        "credit_lines-INITIAL_FORMS": 0,
        "assignments-TOTAL_FORMS": 0,
        "assignments-INITIAL_FORMS": 0,
    }
    response = officer_client.post(url, data)
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.credit_score, customer.rating, customer.notes) == (600, "C", "checked")
    client.force_login(make_user("analyst", role="Risk analyst"))
    assert "credit_score" in client.get(url).context["adminform"].form.fields
