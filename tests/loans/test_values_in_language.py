"""Chinese pages show values in Chinese: the workbench's cities, products and risk flags, the
range filters' from / to, the application page's customer city, risk events and audit excerpt
(choice labels, not ``under_review → approved``), a decision as its label."""

from decimal import Decimal

import pytest
from django.urls import reverse

from audit.models import AuditAction
from audit.services import audit_record
from loans.models import ApprovalDecision, LoanApplication
from loansite import roles
from risk.models import RiskEvent
from tests.loans.factories import ApplicationFactory, CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
WORKBENCH = reverse("admin:loans_loanapplication_changelist")


@pytest.fixture
def root(client, make_user):
    user = make_user("root", superuser=True, role=roles.ADMINISTRATOR)
    client.force_login(user)
    return user


@pytest.fixture
def application(root):
    product = ProductFactory(code="EQP", name="Equipment loan", name_zh="设备贷款")
    ProductFactory(code="WC", name="Working capital", name_zh="流动资金贷款")  # two: the filter shows
    customer = CustomerFactory(name="无锡太湖五金店", city="Wuxi", industry="retail")
    RiskEvent.objects.create(
        customer=customer, level="high", score=90, rules_hit=["large_amount", "geo_velocity"], source="transaction"
    )
    return ApplicationFactory(
        customer=customer,
        product=product,
        status=LoanApplication.Status.UNDER_REVIEW,
        amount=Decimal("200000.00"),
        review_round=1,
        risk_flags=["watch_list"],
    )


def test_workbench_names_cities_products_and_risk_rules_in_chinese(client, application):
    html = client.get(WORKBENCH, **ZH).content.decode()
    assert "零售 · 无锡" in html and ">Wuxi" not in html and "· Wuxi" not in html
    # The product filter names products in Chinese.
    assert "EQP 设备贷款" in html and "Equipment loan" not in html
    # Risk flags: the event's level and rules, and the application's own flag, by name.
    assert "高: 大额交易, 一小时内异地交易" in html
    assert "监控名单" in html
    for code in ("large_amount", "geo_velocity", "watch_list"):
        assert code not in html.replace(f"risk-level-{code}", "")


def test_workbench_in_english_keeps_english_names(client, application):
    html = client.get(WORKBENCH, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Retail · Wuxi" in html or "retail · Wuxi" in html.lower()
    assert "EQP Equipment loan" in html
    assert "High: large amount, another city within an hour" in html


def test_range_filters_read_from_and_to_not_a_status_change(client, application):
    html = client.get(WORKBENCH, **ZH).content.decode()
    assert "原状态" not in html and "新状态" not in html
    assert "从" in html and "至" in html


def test_application_page_city_risk_events_audit_excerpt_and_decisions_in_chinese(client, root, application):
    audit_record(
        action=AuditAction.TRANSITION,
        actor=root,
        target=application,
        changes={"status": ["under_review", "approved"]},
        reason="符合政策",
    )
    ApprovalDecision.objects.create(
        application=application, kind="review", amount=application.amount, final=False, decider=root, review_round=1
    )
    page = client.get(reverse("admin:loans_loanapplication_change", args=[application.pk]), **ZH)
    html = page.content.decode()
    assert page.status_code == 200
    assert "无锡 (" in html and "Wuxi" not in html
    assert "审查中 → 已批准" in html and "under_review" not in html
    assert "大额交易, 一小时内异地交易" in html and "large_amount" not in html
    # The decision history names the step by its label (the inline's row title).
    assert f"{application.reference} 开始审查" in html


def test_decision_and_product_read_in_the_language():
    from django.utils import translation

    decision = ApprovalDecision(application=LoanApplication(reference="LA-1"), kind="review")
    product = ProductFactory.build(code="EQP", name="Equipment loan", name_zh="设备贷款")
    with translation.override("en"):
        assert str(decision) == "LA-1 Started review"
        assert str(product) == "EQP Equipment loan"
    with translation.override("zh-hans"):
        assert str(decision) == "LA-1 开始审查"
        assert str(product) == "EQP 设备贷款"


def test_reminder_language_by_name():
    from django.contrib import admin
    from django.utils import translation

    from loans.admin_delinquency import ReminderAdmin
    from loans.models import Reminder

    shown = ReminderAdmin(Reminder, admin.site)
    with translation.override("zh-hans"):
        assert shown.language_name(Reminder(language="zh-hans")) == "简体中文"
        assert shown.language_name(Reminder(language="en")) == "英语"
