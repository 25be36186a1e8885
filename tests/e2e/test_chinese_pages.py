"""No English on Chinese pages: an administrator walks the main pages in Simplified Chinese
(index and dashboard, workbench, customer list and a customer, an application and its
history, a loan, delinquency, collections, risk events, models, the audit trail, the public
form and the status page) and every visible word written in Latin letters is flagged unless
it is a code (no lower-case letter: WC, API, LA-260101-T00001), carries a digit (pd-v1,
2026-11-30), is a user name or on the short allow-list of proper names. Screenshots of each
page in both languages go to ``$ARTIFACTS_DIR`` (default ``var/artifacts``, not committed)."""

import datetime as dt
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record
from loans.models import ApprovalDecision, LoanApplication
from loansite import roles
from risk.models import RiskEvent
from scoring.models import ModelKind, ModelVersion
from tests.customers.factories import ManagerFactory
from tests.loans.factories import ApplicationFactory, CustomerFactory, LoanFactory, ProductFactory
from tests.scoring.factories import ModelVersionFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR") or Path(settings.BASE_DIR) / "var" / "artifacts")
USERS = {"root", "reviewer_li", "officer_wang", "manager_zhao"}
# Proper names and product names that stay as they are in Chinese: the language switch offers
# "English"; exports are "Excel"; keyboard keys in Django's help for multiple choices.
PROPER_NAMES = {"English", "Excel", "Control", "Command", "Mac", "Axes", "Celery", "Swagger", "ReDoc", "WoE"}
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.'’@/:\-]*")
# Visible text nodes, leaving out what is recorded as it was written (the audit trail's names of
# records at the time) and what is not shown (hidden, scripts, the skip link's target).
VISIBLE_TEXT = """() => {
  const skip = "script, style, noscript, template, td.field-target_repr";
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest(skip)) { continue; }
    if (el.tagName !== "OPTION" && !el.checkVisibility({visibilityProperty: true})) { continue; }
    const text = node.textContent.trim();
    if (text) { out.push(text); }
  }
  return out.join("\\n");
}"""


def english_words(text: str) -> list[str]:
    """Words a Chinese reader would see in English (see the module's docstring for what is not)."""
    found = []
    for token in WORD.findall(text):
        token = token.strip(".:/'’-")
        if not token or not any(c.islower() for c in token) or any(c.isdigit() for c in token):
            continue
        if "@" in token or "://" in token or token in USERS or token in PROPER_NAMES:
            continue
        found.append(token)
    return found


def test_english_words_flagged():
    """The checker itself: raw codes and English labels are flagged, codes and numbers are not."""
    assert english_words("状态：under_review → approved · 城市 Beijing") == ["under_review", "approved", "Beijing"]
    assert english_words("LA-260101-T00001 · WC · ¥1,500,000.00 · pd-v1 · 2026-11-30 · 12 个月 · root") == []


def _book():
    product = ProductFactory(code="WC", name="Working capital", name_zh="流动资金贷款")
    manager = ManagerFactory(
        user__username="manager_zhao", city="Hangzhou", branch="杭州西湖支行", industries=["retail", "catering"]
    )
    reviewer = roles_user("reviewer_li", roles.CREDIT_APPROVER)
    officer = roles_user("officer_wang", roles.LOAN_OFFICER)
    customer = CustomerFactory(name="杭州西湖茶庄有限公司", city="Hangzhou", industry="retail", manager=manager)
    now = timezone.now()
    approved = ApplicationFactory(
        customer=customer,
        product=product,
        amount=Decimal("500000.00"),
        approved_amount=Decimal("500000.00"),
        status=LoanApplication.Status.DISBURSED,
        channel="public",
        created_by=officer,
        submitted_by=officer,
        submitted_at=now - dt.timedelta(days=60),
        reviewer=reviewer,
        decided_by=reviewer,
        decided_at=now - dt.timedelta(days=59),
        decision_reason="经营稳定，符合政策",
        score_points=640,
        score_grade="B",
        score_probability=Decimal("0.0410"),
    )
    for kind, final in (("review", False), ("approve", True)):
        ApprovalDecision.objects.create(
            application=approved,
            kind=kind,
            amount=approved.amount,
            final=final,
            decider=reviewer,
            review_round=1,
            reason="经营稳定，符合政策" if final else "",
        )
    audit_record(
        action=AuditAction.TRANSITION,
        actor=reviewer,
        target=approved,
        changes={"status": ["under_review", "approved"]},
        reason="经营稳定，符合政策",
    )
    ApplicationFactory(
        customer=CustomerFactory(name="宁波港城餐饮店", city="Ningbo", industry="catering", manager=manager),
        product=product,
        status=LoanApplication.Status.UNDER_REVIEW,
        channel="branch",
        submitted_at=now - dt.timedelta(hours=3),
        reviewer=reviewer,
        score_points=520,
        score_grade="E",
        risk_flags=["large_amount"],
    )
    loan = LoanFactory(
        application=approved,
        approved_amount=Decimal("500000.00"),
        principal=Decimal("500000.00"),
        outstanding_principal=Decimal("420000.00"),
        status="overdue",
        days_past_due=45,
        dpd_bucket="31-60",
        risk_class="special_mention",
        disbursement_date=timezone.localdate() - dt.timedelta(days=58),
    )
    RiskEvent.objects.create(
        customer=customer,
        level="high",
        score=90,
        rules_hit=["large_amount", "geo_velocity", "loan_overdue"],
        source="transaction",
    )
    ModelVersionFactory(kind=ModelKind.PD, status=ModelVersion.Status.ACTIVE)
    return approved, loan, customer


def roles_user(username, role):
    from django.contrib.auth.models import Group, User

    from loansite.accounts import privileges_recorded_here

    user = User.objects.create_user(username=username, password="s3cure-Passw0rd!", is_staff=True)
    with privileges_recorded_here():
        user.groups.add(Group.objects.get(name=role))
    return user


def test_no_english_on_chinese_pages(page, admin_login, make_user, live_server):
    make_user("root", superuser=True, role=roles.ADMINISTRATOR)
    application, loan, customer = _book()
    pages = {
        "index": "/admin/",
        "workbench": "/admin/loans/loanapplication/",
        "customers": "/admin/customers/customer/",
        "customer": f"/admin/customers/customer/{customer.pk}/change/",
        "application": f"/admin/loans/loanapplication/{application.pk}/change/",
        "application-history": f"/admin/loans/loanapplication/{application.pk}/history/",
        "loan": f"/admin/loans/loan/{loan.pk}/change/",
        "delinquency": "/admin/loans/delinquentloan/",
        "collections": "/admin/loans/delinquentloan/workbench/",
        "risk-events": "/admin/risk/riskevent/",
        "models": "/admin/scoring/modelversion/",
        "audit": "/admin/audit/auditentry/",
        "managers": "/admin/customers/relationshipmanager/",
        "public-form": "/apply/",
        "status": "/apply/status/",
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    admin_login("root")
    flagged = {}
    for language in ("zh-hans", "en"):
        page.goto("/admin/")
        if page.locator("html").get_attribute("lang") != language:
            with page.expect_navigation():
                page.select_option("#language-select", language)
        for name, path in pages.items():
            response = page.goto(path)
            assert response.status == 200, (name, response.status)
            assert page.locator("html").get_attribute("lang") == language, name
            if language == "zh-hans":
                words = english_words(page.evaluate(VISIBLE_TEXT))
                if words:
                    flagged[name] = sorted(set(words))
            page.screenshot(path=str(ARTIFACTS / f"page-{name}-{language}.png"), full_page=True)
        if language == "zh-hans":
            # The status page's answer names the product in Chinese.
            page.goto("/apply/status/")
            page.fill("input[name=reference]", application.reference)
            page.fill("input[name=phone]", application.contact_phone)
            page.locator("form button[type=submit], form input[type=submit]").last.click()
            page.wait_for_load_state()
            answer = page.evaluate(VISIBLE_TEXT)
            assert "流动资金贷款" in answer, answer
            words = english_words(answer)
            if words:
                flagged["status-answer"] = sorted(set(words))
            page.screenshot(path=str(ARTIFACTS / "page-status-answer-zh-hans.png"), full_page=True)
    assert not flagged, f"English on Chinese pages: {flagged}"
