"""The main lists at a laptop's width (1366 x 900), in English and Chinese: the workbench
shows amount, score, grade, flags, status, channel and reviewer, the customer list its manager
and tags, without horizontal scrolling; money and dates formatted. Screenshots are kept in
``$ARTIFACTS_DIR`` (default ``var/artifacts``, not committed)."""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from loans.models import ApprovalDecision, LoanApplication
from loansite import roles
from tests.customers.factories import CustomerFactory, ManagerFactory, TagFactory
from tests.loans.factories import ApplicationFactory, ProductFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR") or Path(settings.BASE_DIR) / "var" / "artifacts")
WORKBENCH_COLUMNS = ["customer_name", "amount_cny", "score", "flags", "status", "channel", "reviewer_short"]
CUSTOMER_COLUMNS = ["name_short", "monthly_revenue_cny", "manager", "tag_list"]
LONG_NAMES = [
    "杭州西湖区龙井路某某餐饮管理有限公司第一分公司",
    "Zhejiang West Lake Longjing Tea & Catering Management Co., Ltd. (Branch No. 1)",
    "深圳市南山区科技园某某电子科技有限责任公司",
]


@pytest.fixture
def book(make_user):
    reviewer = make_user("senior_credit_approver_zhang", role=roles.CREDIT_APPROVER)
    make_user("laptop_officer", role=roles.LOAN_OFFICER)
    product = ProductFactory(code="WC", name="Working capital")
    manager = ManagerFactory()
    tags = [TagFactory(name=name) for name in ("VIP", "高成长", "Export")]
    now = timezone.now()
    for i in range(12):
        customer = CustomerFactory(
            name=LONG_NAMES[i % len(LONG_NAMES)] + f" {i}", manager=manager, monthly_revenue=Decimal("1250000.00")
        )
        customer.tags.add(*tags)
        app = ApplicationFactory(
            customer=customer,
            product=product,
            amount=Decimal("1500000.00"),
            status=LoanApplication.Status.UNDER_REVIEW if i % 2 else LoanApplication.Status.SUBMITTED,
            channel="public" if i % 3 else "branch",
            submitted_at=now - timedelta(hours=i),
            review_round=1,
            reviewer=reviewer,
            score_points=480 + i * 20,
            score_grade="ABCDE"[i % 5],
            risk_flags=["high_risk_event"] if i % 4 == 0 else [],
        )
        if i % 2:
            ApprovalDecision.objects.create(
                application=app, kind="approve", amount=app.amount, final=False, decider=reviewer, review_round=1
            )


def _fits(page, columns):
    """Every key column's header lies inside the viewport; the page does not scroll sideways."""
    width = page.viewport_size["width"]
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"horizontal scroll of {overflow}px"
    # Nor does the list inside its own box (the changelist scrolls there, not on the page).
    results = page.locator("#changelist .results")
    inner = page.evaluate(
        "(() => { const r = document.querySelector('#changelist .results'); return r.scrollWidth - r.clientWidth; })()"
    )
    assert inner <= 0, f"the list scrolls sideways by {inner}px"
    frame = results.bounding_box()
    for column in columns:
        header = page.locator(f"#result_list th.column-{column}")
        box = header.bounding_box()
        assert box is not None, column
        right = box["x"] + box["width"]
        assert box["x"] >= 0 and right <= width and right <= frame["x"] + frame["width"] + 1, (column, box, frame)
    # Names stay on one line.
    heights = page.evaluate(
        "[...document.querySelectorAll('#result_list .cell-truncate')].map(e => e.getBoundingClientRect().height)"
    )
    line = page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('#result_list .cell-truncate')).lineHeight) || 20"
    )
    assert heights and max(heights) <= line * 1.5, (heights, line)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_workbench_and_customer_list_fit_1366(page, admin_login, book, language):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    admin_login("senior_credit_approver_zhang")
    if language != "en":
        with page.expect_navigation():
            page.select_option("#language-select", language)
    page.goto("/admin/loans/loanapplication/")
    page.locator("#result_list").wait_for()
    assert page.locator("html").get_attribute("lang") == language
    text = page.locator("#result_list").inner_text()
    assert "¥1,500,000.00" in text
    assert timezone.localtime().strftime("%Y-%m-%d") in text or "-" in text
    page.screenshot(path=str(ARTIFACTS / f"workbench-1366-{language}.png"), full_page=False)
    try:
        _fits(page, WORKBENCH_COLUMNS)
    finally:
        page.screenshot(path=str(ARTIFACTS / f"workbench-1366-{language}.png"), full_page=False)

    page.goto("/admin/customers/customer/")
    page.locator("#result_list").wait_for()
    assert "¥1,250,000.00" in page.locator("#result_list").inner_text()
    page.screenshot(path=str(ARTIFACTS / f"customers-1366-{language}.png"), full_page=False)
    _fits(page, CUSTOMER_COLUMNS)
