"""The dashboard: each figure against a hand-computed book, Shanghai month boundaries, the
empty database, the cache and what each role sees."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from loans.models import LoanApplication
from loansite import roles
from loansite.dashboard import selectors
from loansite.dashboard.periods import Period, period_from
from tests.loans.factories import ApplicationFactory, CustomerFactory, LoanFactory

SH = ZoneInfo("Asia/Shanghai")
S = LoanApplication.Status
# November 2026 in Shanghai; the previous period is the 30 days before it.
NOV = Period("custom", dt.datetime(2026, 11, 1, tzinfo=SH), dt.datetime(2026, 12, 1, tzinfo=SH))
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=SH)


def local(*args):
    return dt.datetime(*args, tzinfo=SH)


@pytest.fixture
def book(db):
    """Four applications and four loans whose figures are worked out by hand below."""
    good = CustomerFactory(credit_score=700, industry="retail")
    fair = CustomerFactory(credit_score=600, industry="catering")
    unknown = CustomerFactory(credit_score=None, industry="retail")
    # 00:30 on 1 November in Shanghai is still 31 October in UTC: it counts in November.
    a1 = ApplicationFactory(
        customer=good,
        status=S.APPROVED,
        amount=Decimal("100000.00"),
        approved_amount=Decimal("80000.00"),
        score_grade="A",
        submitted_at=local(2026, 11, 1, 0, 30),
        decided_at=local(2026, 11, 5, 10, 0),
        created_at=local(2026, 11, 1, 0, 20),
    )
    # 23:30 on 31 October in Shanghai: the previous period, and October in the trend.
    ApplicationFactory(
        customer=fair,
        status=S.REJECTED,
        amount=Decimal("50000.00"),
        score_grade="E",
        submitted_at=local(2026, 10, 31, 23, 30),
        decided_at=local(2026, 10, 31, 23, 50),
        created_at=local(2026, 10, 31, 23, 0),
    )
    ApplicationFactory(
        customer=fair,
        status=S.REJECTED,
        amount=Decimal("60000.00"),
        score_grade="C",
        submitted_at=local(2026, 11, 10, 9, 0),
        decided_at=local(2026, 11, 12, 9, 0),
        created_at=local(2026, 11, 10, 9, 0),
    )
    ApplicationFactory(
        customer=unknown,
        status=S.UNDER_REVIEW,
        amount=Decimal("40000.00"),
        submitted_at=local(2026, 11, 20, 9, 0),
        created_at=local(2026, 11, 20, 9, 0),
    )
    LoanFactory(
        application__created_at=local(2026, 1, 5, 9, 0),
        application__customer=good,
        principal=Decimal("80000.00"),
        outstanding_principal=Decimal("80000.00"),
        disbursement_date=dt.date(2026, 11, 6),
        status="active",
    )
    LoanFactory(
        application__created_at=local(2026, 1, 5, 9, 0),
        application__customer=fair,
        principal=Decimal("50000.00"),
        outstanding_principal=Decimal("40000.00"),
        disbursement_date=dt.date(2026, 8, 1),
        status="overdue",
        days_past_due=45,
        dpd_bucket="31-60",
        risk_class="special_mention",
    )
    LoanFactory(
        application__created_at=local(2026, 1, 5, 9, 0),
        application__customer=fair,
        principal=Decimal("30000.00"),
        outstanding_principal=Decimal("20000.00"),
        disbursement_date=dt.date(2026, 5, 1),
        status="overdue",
        days_past_due=120,
        dpd_bucket="91-180",
        risk_class="substandard",
    )
    LoanFactory(
        application__created_at=local(2026, 1, 5, 9, 0),
        application__customer=good,
        principal=Decimal("10000.00"),
        outstanding_principal=Decimal("0.00"),
        disbursement_date=dt.date(2026, 10, 20),
        status="closed",
    )
    return {"a1": a1, "good": good, "fair": fair}


def test_period_this_month_starts_at_shanghai_midnight():
    # 20:00 UTC on 31 October is already 1 November in Shanghai.
    period = period_from("month", now=dt.datetime(2026, 10, 31, 20, 0, tzinfo=dt.UTC))
    assert period.start == local(2026, 11, 1)
    assert period.first_day == dt.date(2026, 11, 1)
    assert period.previous.end == period.start
    assert period.previous.end - period.previous.start == period.end - period.start


def test_period_custom_is_inclusive():
    period = period_from("custom", start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 31))
    assert (period.start, period.end) == (local(2026, 1, 1), local(2026, 2, 1))
    assert period.last_day == dt.date(2026, 1, 31)


def test_application_figures_against_the_hand_computed_book(book):
    now = selectors.application_figures(period=NOV)
    assert now["applications"] == 3  # the 00:30 one, the 10th and the 20th
    assert now["decided"] == 2 and now["approved"] == 1
    assert now["approval_rate"] == Decimal("0.5")
    assert now["amount_approved"] == Decimal("80000.00")
    assert now["credit_score"] == 650  # (700 + 600) / 2, the unscored customer left out
    assert now["grade_points"] == 2  # A = 1, C = 3
    before = selectors.application_figures(period=NOV.previous)
    assert before["applications"] == 1 and before["approval_rate"] == 0
    assert before["grade_points"] == 5


def test_loan_figures_against_the_hand_computed_book(book):
    row = selectors.loan_figures(period=NOV)
    assert row["disbursed"] == Decimal("80000.00")
    assert row["outstanding"] == Decimal("140000.00")  # the closed loan left out
    assert row["par30"] == Decimal("60000.00")
    assert row["par30_ratio"] == Decimal("60000") / Decimal("140000")
    assert row["npl_ratio"] == Decimal("20000") / Decimal("140000")
    assert selectors.loan_figures(period=NOV.previous)["disbursed"] == Decimal("10000.00")


def test_kpis_carry_the_change_against_the_previous_period(book):
    cards = selectors.kpis(period=NOV)
    assert cards["applications"]["value"] == 3 and cards["applications"]["change"] == 2
    assert cards["amount_disbursed"]["change"] == Decimal("70000.00")
    assert cards["approval_rate"]["change"] == Decimal("0.5")
    # No daily close yet: no outstanding to compare with.
    assert cards["outstanding"]["previous"] is None


def test_growth_series_cuts_months_at_shanghai_midnight(book):
    series = {row["month"]: row for row in selectors.growth_series(months=3, now=NOW)}
    assert list(series) == [dt.date(2026, 9, 1), dt.date(2026, 10, 1), dt.date(2026, 11, 1)]
    assert series[dt.date(2026, 11, 1)]["applications"] == 3
    assert series[dt.date(2026, 10, 1)]["applications"] == 1
    assert series[dt.date(2026, 11, 1)]["approvals"] == 1
    assert series[dt.date(2026, 11, 1)]["disbursed"] == Decimal("80000.00")
    assert series[dt.date(2026, 10, 1)]["disbursed"] == Decimal("10000.00")
    assert series[dt.date(2026, 9, 1)] == {
        "month": dt.date(2026, 9, 1),
        "applications": 0,
        "approvals": 0,
        "disbursed": Decimal("0"),
    }


def test_industry_status_and_dpd_series(book):
    industries = {r["industry"]: r for r in selectors.industry_series(period=NOV)}
    assert industries["retail"]["count"] == 2 and industries["retail"]["amount"] == Decimal("140000.00")
    assert industries["retail"]["credit_score"] == 700
    assert industries["catering"]["count"] == 1
    statuses = {r["status"]: r["count"] for r in selectors.status_series(period=NOV)}
    assert statuses == {"approved": 1, "rejected": 1, "under_review": 1}
    dpd = [(r["dpd_bucket"], r["count"], r["outstanding"]) for r in selectors.dpd_series()]
    assert dpd == [
        ("current", 1, Decimal("80000.00")),
        ("31-60", 1, Decimal("40000.00")),
        ("91-180", 1, Decimal("20000.00")),
    ]


def test_decision_queue_ages(book):
    queue = selectors.decision_queue(now=local(2026, 11, 25, 9, 0))
    assert queue["total"] == 1 and queue["d3_7"] == 1


@pytest.mark.django_db(transaction=True)
def test_cache_is_bumped_by_writes(book):
    sections = frozenset({"kpis"})
    first = selectors.dashboard_data(period=NOV, sections=sections)
    assert first["kpis"]["applications"]["value"] == 3
    ApplicationFactory(customer=book["good"], submitted_at=local(2026, 11, 21, 9, 0), status=S.SUBMITTED)
    assert selectors.dashboard_data(period=NOV, sections=sections)["kpis"]["applications"]["value"] == 4


def test_cache_serves_without_queries(book, django_assert_num_queries):
    sections = frozenset({"kpis", "growth"})
    selectors.dashboard_data(period=NOV, sections=sections)
    with django_assert_num_queries(0):
        selectors.dashboard_data(period=NOV, sections=sections)


# --- the page -------------------------------------------------------------------------------------


def test_empty_database_shows_no_data_yet_everywhere(client, make_user):
    client.force_login(make_user("boss", superuser=True))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    page = response.content.decode()
    dashboard = response.context["dashboard"]
    assert len(dashboard["charts"]) >= 6
    # Signing in is audited: the audit chart has that entry; every other widget has nothing.
    charts = [chart for chart in dashboard["charts"] if chart["name"] != "audit"]
    assert all(chart["empty"] for chart in charts)
    assert dashboard["cards"] and all(card["empty"] for card in dashboard["cards"])
    assert page.count("No data yet") >= len(charts) + len(dashboard["cards"]) + 2  # models, jobs
    for chart in charts:
        section = page.split(f'id="chart-{chart["name"]}"', 1)[1].split("</div>", 1)[0]
        assert "No data yet" in section
    assert page.count("<canvas") == sum(not chart["empty"] for chart in dashboard["charts"]) <= 1
    assert 'id="recent-actions-module"' in page  # the admin's own block stays


def test_dashboard_with_data_renders_cards_charts_and_tables(client, make_user, book):
    client.force_login(make_user("boss", superuser=True))
    response = client.get(reverse("admin:index"), {"period": "custom", "start": "2026-11-01", "end": "2026-11-30"})
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="canvas-growth"' in page and 'id="chart-data-growth"' in page
    assert "¥140,000.00" in page  # outstanding, formatted
    assert "42.86 %" in page  # PAR30
    assert "<script>" not in page  # only JSON data and static files (CSP)


def test_chart_export_is_a_workbook_with_number_cells(client, make_user, book):
    from io import BytesIO

    from openpyxl import load_workbook

    client.force_login(make_user("boss", superuser=True))
    url = reverse("admin:dashboard_export", args=["dpd"])
    response = client.get(url)
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1] == ("Days past due", "Loans", "Outstanding principal (¥)")
    assert rows[2][1] == 1 and float(rows[2][2]) == 80000.0


def test_bad_period_is_a_form_error_not_a_500(client, make_user):
    client.force_login(make_user("boss", superuser=True))
    response = client.get(reverse("admin:index"), {"period": "custom", "start": "2026-12-01", "end": "2026-11-01"})
    assert response.status_code == 200
    assert "The start date is after the end date." in response.content.decode()


def _sections(response):
    return {chart["name"] for chart in response.context["dashboard"]["charts"]}


def test_officer_sees_own_book_only(client, make_user, book):
    from customers.models import RelationshipManager

    officer = make_user("officer", role=roles.LOAN_OFFICER)
    RelationshipManager.objects.create(user=officer, city="Hangzhou")
    book["good"].manager = officer.relationship_manager
    book["good"].save(update_fields=["manager"])
    client.force_login(officer)
    response = client.get(reverse("admin:index"), {"period": "custom", "start": "2026-11-01", "end": "2026-11-30"})
    dashboard = response.context["dashboard"]
    assert dashboard["own_book"] and dashboard["officer_queue"]["customers"] == 1
    cards = {card["key"]: card for card in dashboard["cards"]}
    assert cards["applications"]["value"] == "1"  # only the good customer's application
    assert cards["outstanding"]["value"] == "¥80,000.00"  # not the whole book's 140,000
    assert "open_high_risk" not in cards
    assert _sections(response) == {"growth", "status", "industry"} | {
        f"distribution_{d}" for d in ("city", "tier", "industry", "rating", "tag")
    }
    assert client.get(reverse("admin:dashboard_export", args=["dpd"])).status_code == 404
    assert client.get(reverse("admin:dashboard_export", args=["vintage"])).status_code == 404


@pytest.mark.parametrize(
    ("role", "present", "absent"),
    [
        (roles.CREDIT_APPROVER, {"decision_queue", "status"}, {"dpd", "audit"}),
        (roles.RISK_ANALYST, {"dpd", "risk_class", "risk_events"}, {"decision_queue", "audit"}),
        (roles.MODEL_OPS, set(), {"growth", "dpd", "audit"}),
        (roles.AUDITOR, {"audit"}, {"dpd", "decision_queue"}),
    ],
)
def test_each_role_sees_its_own_sections(client, make_user, role, present, absent):
    client.force_login(make_user("someone", role=role))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    names = _sections(response)
    assert present <= names and not (absent & names)
    if role == roles.MODEL_OPS:
        assert response.context["dashboard"]["models"] == [] and "dashboard-models" in response.content.decode()
        assert response.context["dashboard"]["cards"] == []
