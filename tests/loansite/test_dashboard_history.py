"""The dashboard's portfolio charts read from the daily snapshots, each against the hand-computed
book of ``tests/loans/test_portfolio.py``; officers' own-book scoping; the page, the tables and
the exports; the cache version bumped by set-wise writes once they commit."""

import datetime as dt
from decimal import Decimal
from io import BytesIO

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from loans.models import Loan
from loans.services.portfolio import portfolio_backfill
from loansite import roles
from loansite.dashboard import history, selectors
from loansite.dashboard.periods import period_from
from tests.loans.test_portfolio import build_book


@pytest.fixture
def book(make_user):
    officer = make_user("officer", role=roles.LOAN_OFFICER)
    built = build_book(officer)
    portfolio_backfill()
    built["officer"] = officer
    return built


def test_book_history_at_month_ends(book):
    m1, m2 = book["m1"], book["m2"]
    block = history.book_history(by="dpd_bucket")
    assert block["dates"] == [m1, m2]
    got = {(r["date"], r["key"]): (r["loans"], r["outstanding"]) for r in block["rows"]}
    assert got == {
        (m1, "current"): (3, Decimal("180000.00")),
        (m1, "61-90"): (1, Decimal("200000.00")),
        (m2, "current"): (1, Decimal("95000.00")),
        (m2, "1-30"): (1, Decimal("50000.00")),
        (m2, "91-180"): (1, Decimal("200000.00")),
    }
    classes = history.book_history(by="risk_class", owner=book["owner"])
    got = {(r["date"], r["key"]): r["outstanding"] for r in classes["rows"]}
    assert got == {
        (m1, "normal"): Decimal("150000.00"),
        (m2, "normal"): Decimal("95000.00"),
        (m2, "special_mention"): Decimal("50000.00"),
    }


def test_book_on_a_day_and_the_kpis_previous_book(book):
    row = history.book_on(day=book["m2"])
    assert row["outstanding"] == Decimal("345000.00")
    assert row["par30"] == Decimal("200000.00") and row["npl"] == Decimal("200000.00")
    assert row["par30_ratio"] == Decimal("200000") / Decimal("345000")
    assert history.book_on(day=book["m2"], owner=book["owner"])["par30"] == 0
    assert history.book_on(day=book["m2"] - dt.timedelta(days=1)) is None
    assert selectors.book_at(day=book["m2"])["outstanding"] == Decimal("345000.00")


def test_roll_rates(book):
    rows = history.roll_rates()
    assert [r["date"] for r in rows] == [book["m2"]]
    rates = rows[0]["rates"]
    # current at m1: L1 100,000 stayed, L2 50,000 rolled to 1-30, L4 30,000 paid off.
    assert rates["current"] == Decimal("50000") / Decimal("180000")
    assert rates["61-90"] == 1
    assert rates["1-30"] is None and rates["91-180"] is None


def test_vintage_curves(book):
    curves = {c["cohort"]: c for c in history.vintage_curves()}
    a, b = curves[book["cohort_a"]], curves[book["cohort_b"]]
    assert a["points"] == {1: 0, 2: Decimal("200000") / Decimal("300000")}
    assert a["loans"] == 2 and a["principal"] == Decimal("300000.00") and a["defaulted_loans"] == 1
    assert b["points"] == {0: 0, 1: 0}
    own = {c["cohort"]: c for c in history.vintage_curves(owner=book["owner"])}
    assert own[book["cohort_a"]]["principal"] == Decimal("100000.00")
    assert own[book["cohort_a"]]["points"][2] == 0


def test_grades_with_realised_default_rate(book):
    rows = {r["item"]: (r["loans"], r["defaulted"], r["default_rate"]) for r in history.grade_distribution()}
    assert rows == {"A": (2, 0, 0), "B": (1, 0, 0), "C": (1, 1, 1)}


def test_radar_normalises_each_indicator_to_the_larger_group(book):
    radar = history.risk_radar()
    assert radar["customers"] == {"good": 1, "risky": 1}
    assert radar["averages"]["good"]["credit_score"] == 700 and radar["averages"]["risky"]["credit_score"] == 500
    assert radar["normalised"]["good"]["credit_score"] == 100
    assert radar["normalised"]["risky"]["credit_score"] == round(100 * 500 / 700, 1)
    assert radar["normalised"]["risky"]["employees"] == 40  # 4 of 10
    # An officer's book holds only the good customer.
    assert history.risk_radar(owner=book["owner"])["customers"] == {"good": 1, "risky": 0}


def test_customer_distribution_scoped_to_the_officer(book):
    everyone = history.customer_distribution()
    assert {r["item"]: r["customers"] for r in everyone["city"]} == {"Hangzhou": 1, "Shanghai": 1}
    own = history.customer_distribution(owner=book["owner"])
    assert [(r["item"], r["customers"], r["loans"], r["outstanding"]) for r in own["city"]] == [
        ("Hangzhou", 1, 2, Decimal("145000.00"))
    ]
    assert [r["item"] for r in own["tag"]] == ["VIP"]


def test_matching_effect_before_and_after_the_last_run(book):
    from customers.models import Assignment, Customer, MatchingRun, RelationshipManager

    manager = RelationshipManager.objects.get(user=book["officer"])
    c1 = Customer.objects.get(manager=manager)
    c2 = Customer.objects.exclude(pk=c1.pk).get()
    start = timezone.now() - dt.timedelta(hours=2)
    run = MatchingRun.objects.create(status="done", finished_at=start + dt.timedelta(minutes=10))
    MatchingRun.objects.filter(pk=run.pk).update(created_at=start)
    kept = Assignment.objects.create(customer=c1, manager=manager, kind="manual", score=0.8)
    new = Assignment.objects.create(customer=c2, manager=manager, kind="matching", score=0.6, run=run)
    Assignment.objects.filter(pk=kept.pk).update(created_at=start - dt.timedelta(days=1))
    Assignment.objects.filter(pk=new.pk).update(created_at=start + dt.timedelta(minutes=5))
    block = history.matching_effect(period=period_from("month"))
    assert block["run"]["id"] == run.pk
    (row,) = block["managers"]
    assert row["customers"] == 1 and row["utilisation"] == Decimal(1) / 50
    assert row["delinquency"] == 0  # nothing past 30 days in c1's loans at the last close
    assert row["match_score"] == pytest.approx(0.7)
    assert (row["customers_before"], row["customers_after"]) == (1, 2)
    assert row["score_before"] == pytest.approx(0.8) and row["score_after"] == pytest.approx(0.7)


# --- the page and the exports ---------------------------------------------------------------------

PORTFOLIO_CHARTS = {"aging_trend", "class_trend", "roll_rates", "vintage", "grades", "radar", "distribution_city"}


def test_admin_sees_the_portfolio_charts_with_tables(client, make_user, book):
    client.force_login(make_user("boss", superuser=True))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    charts = {c["name"]: c for c in response.context["dashboard"]["charts"]}
    assert set(charts) >= PORTFOLIO_CHARTS
    assert not any(charts[name]["empty"] for name in PORTFOLIO_CHARTS)
    page = response.content.decode()
    for name in PORTFOLIO_CHARTS:
        assert f'id="canvas-{name}"' in page and f'id="chart-data-{name}"' in page
    assert "66.67 %" in page  # cohort A's default rate at two months on book
    assert "27.78 %" in page  # the current bucket's roll rate
    vintage_rows = charts["vintage"]["display_rows"]
    assert vintage_rows[0][0] == book["cohort_a"].strftime("%Y-%m")


def test_analyst_first_view_is_risk_and_portfolio_quality(client, make_user, book):
    client.force_login(make_user("analyst", role=roles.RISK_ANALYST))
    names = {c["name"] for c in client.get(reverse("admin:index")).context["dashboard"]["charts"]}
    assert {"aging_trend", "roll_rates", "class_trend", "vintage", "grades", "radar", "dpd"} <= names
    assert "matching" not in names and "decision_queue" not in names


def test_officer_charts_and_exports_are_their_own(client, book):
    from openpyxl import load_workbook

    client.force_login(book["officer"])
    response = client.get(reverse("admin:index"))
    charts = {c["name"]: c for c in response.context["dashboard"]["charts"]}
    assert charts["distribution_city"]["rows"] == [["Hangzhou", 1, 2, Decimal("145000.00")]]
    assert "vintage" not in charts
    assert client.get(reverse("admin:dashboard_export", args=["vintage"])).status_code == 404
    export = client.get(reverse("admin:dashboard_export", args=["distribution_city"]))
    assert export.status_code == 200
    rows = list(load_workbook(BytesIO(export.content)).active.iter_rows(values_only=True))
    assert rows[1] == ("City", "Customers", "Live loans", "Outstanding principal (¥)")
    assert rows[2][0] == "Hangzhou" and rows[2][1] == 1 and float(rows[2][3]) == 145000.0


def test_vintage_export_keeps_rates_as_percent_cells(client, make_user, book):
    from openpyxl import load_workbook

    client.force_login(make_user("boss", superuser=True))
    export = client.get(reverse("admin:dashboard_export", args=["vintage"]))
    sheet = load_workbook(BytesIO(export.content)).active
    rows = list(sheet.iter_rows(min_row=3))
    cohort_a = next(r for r in rows if r[0].value == book["cohort_a"].strftime("%Y-%m"))
    assert cohort_a[5].value == pytest.approx(2 / 3, abs=1e-4) and cohort_a[5].number_format == "0.00%"


def test_chinese_labels(client, make_user, book):
    client.force_login(make_user("boss", superuser=True))
    response = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    charts = {c["name"]: c for c in response.context["dashboard"]["charts"]}
    assert charts["distribution_city"]["labels"][0] in ("杭州", "上海")


# --- the cache version and set-wise writes --------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_set_wise_writes_bump_the_cache_once_committed(make_user):
    build_book(make_user("officer", role=roles.LOAN_OFFICER))
    version = selectors.dashboard_version()
    Loan.objects.filter(status="active").update(days_past_due=0)  # a queryset update, autocommit
    assert selectors.dashboard_version() == version + 1
    with connection.cursor() as cursor:  # raw SQL, as the daily close writes
        cursor.execute(f"UPDATE {Loan._meta.db_table} SET days_past_due = days_past_due WHERE id > 0")
    assert selectors.dashboard_version() == version + 2
    with transaction.atomic():
        Loan.objects.update(penalty_accrued=0)
        Loan.objects.update(penalty_accrued=0)
        assert selectors.dashboard_version() == version + 2  # not before the commit
    assert selectors.dashboard_version() == version + 3  # once per transaction
    with pytest.raises(RuntimeError), transaction.atomic():
        Loan.objects.update(penalty_accrued=0)
        raise RuntimeError
    assert selectors.dashboard_version() == version + 3  # a rollback changes nothing
    Loan.objects.filter(pk__lt=0).exists()  # reads never bump
    assert selectors.dashboard_version() == version + 3


@pytest.mark.django_db(transaction=True)
def test_the_close_bumps_the_cache(make_user):
    from types import SimpleNamespace

    from loans.services.portfolio import portfolio_close_day

    book = build_book(make_user("officer", role=roles.LOAN_OFFICER))
    version = selectors.dashboard_version()
    portfolio_close_day(SimpleNamespace(date=book["m2"]))
    assert selectors.dashboard_version() == version + 1


def test_book_cards_and_charts_read_the_latest_close(client, make_user, book):
    latest = history.book_latest()
    assert latest["date"] == book["m2"]
    cards = selectors.kpis(period=period_from("month"), latest=latest)
    # At m2 the book was 345,000 with 200,000 past 30 days (the loan rows now say the same here,
    # but only the snapshot has L1 at 95,000 and no closed L4).
    assert cards["outstanding"]["value"] == Decimal("345000.00")
    assert cards["par30"]["value"] == Decimal("200000") / Decimal("345000")
    rows = {r["dpd_bucket"]: (r["count"], r["outstanding"]) for r in selectors.dpd_series(latest=latest)}
    assert rows == {
        "current": (1, Decimal("95000.00")),
        "1-30": (1, Decimal("50000.00")),
        "91-180": (1, Decimal("200000.00")),
    }
    client.force_login(make_user("boss", superuser=True))
    page = client.get(reverse("admin:index")).content.decode()
    assert f"as at the daily close of {book['m2']:%Y-%m-%d}" in page
