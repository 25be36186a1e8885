"""The dashboard in Chromium: with data its charts draw (non-blank canvases), the console stays
clean and no request leaves the test server. Screenshots go to ``$ARTIFACTS_DIR`` (default
``var/artifacts``, not committed)."""

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.utils import timezone

from loans.models import LoanApplication, LoanDaySnapshot
from loans.services.portfolio import portfolio_backfill
from loansite import roles
from tests.loans.factories import ApplicationFactory, CustomerFactory, LoanFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR") or Path(settings.BASE_DIR) / "var" / "artifacts")
CHARTS = (
    "growth",
    "industry",
    "status",
    "dpd",
    "risk_class",
    # From the daily portfolio snapshots.
    "aging_trend",
    "class_trend",
    "vintage",
    "grades",
    "radar",
    "distribution_city",
)
# Pixels a chart drew: a blank canvas reads as all transparent.
DRAWN = """(id) => {
  const c = document.getElementById(id);
  const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let drawn = 0;
  for (let i = 3; i < data.length; i += 4) { if (data[i] !== 0) { drawn++; } }
  return drawn;
}"""


def _book():
    now = timezone.now()
    # Submitted and decided earlier this month (local time), whatever the hour of the month.
    month_start = timezone.localtime(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    submitted, decided = month_start + (now - month_start) / 3, month_start + (now - month_start) * 2 / 3
    loans = []
    for i, (industry, score) in enumerate((("retail", 700), ("catering", 620), ("retail", 560))):
        customer = CustomerFactory(industry=industry, credit_score=score)
        status = (LoanApplication.Status.APPROVED, LoanApplication.Status.REJECTED, LoanApplication.Status.SUBMITTED)[i]
        ApplicationFactory(
            customer=customer,
            status=status,
            amount=Decimal("100000.00") * (i + 1),
            approved_amount=Decimal("90000.00") if i == 0 else None,
            submitted_at=submitted,
            decided_at=decided if i < 2 else None,
        )
        loans.append(
            LoanFactory(
                application__customer=customer,
                application__score_grade="ABC"[i],
                principal=Decimal("80000.00"),
                outstanding_principal=Decimal("60000.00"),
                disbursement_date=timezone.localdate() - dt.timedelta(days=2 + 40 * i),
                status="overdue" if i else "active",
                days_past_due=45 * i,
                dpd_bucket=("current", "31-60", "61-90")[i],
                risk_class=("normal", "special_mention", "special_mention")[i],
            )
        )
    # Two closes' per-loan snapshots (the last month end and yesterday), then their portfolio sums.
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    for day in sorted({yesterday.replace(day=1) - dt.timedelta(days=1), yesterday}):
        for loan in loans:
            if loan.disbursement_date <= day:
                LoanDaySnapshot.objects.create(
                    loan=loan,
                    date=day,
                    status=loan.status,
                    days_past_due=loan.days_past_due,
                    dpd_bucket=loan.dpd_bucket,
                    risk_class=loan.risk_class,
                    outstanding_principal=loan.outstanding_principal,
                )
    portfolio_backfill()


def test_dashboard_draws_its_charts_offline(page, admin_login, make_user):
    make_user("root", superuser=True, role=roles.ADMINISTRATOR)
    _book()
    errors, outside = [], []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "request",
        lambda req: (
            outside.append(req.url)
            if urlparse(req.url).scheme in ("http", "https")
            and urlparse(req.url).hostname not in ("127.0.0.1", "localhost")
            else None
        ),
    )
    page.set_viewport_size({"width": 1366, "height": 900})
    admin_login("root")
    page.goto("/admin/")
    page.wait_for_load_state("networkidle")
    for name in CHARTS:
        assert page.locator(f"#canvas-{name}").count() == 1, name
        assert page.evaluate(DRAWN, f"canvas-{name}") > 500, name
        # The chart's table is there too, with formatted money.
        assert page.locator(f"#chart-{name} table tbody tr").count() >= 1, name
    assert "¥180,000.00" in page.locator("#dashboard-kpis").inner_text()  # outstanding
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-1366-en.png"), full_page=True)
    with page.expect_navigation():
        page.select_option("#language-select", "zh-hans")
    page.goto("/admin/")
    page.wait_for_load_state("networkidle")
    assert page.evaluate(DRAWN, "canvas-growth") > 500
    page.screenshot(path=str(ARTIFACTS / "dashboard-1366-zh.png"), full_page=True)
    assert errors == []
    assert outside == []
