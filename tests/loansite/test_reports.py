"""The reports' figures against a small book worked out by hand; Shanghai month boundaries;
filters; an empty database."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from loans.models import Disbursement, Installment, LoanApplication, LoanDaySnapshot, ProvisionRate, Repayment
from loansite.dashboard import reports
from loansite.dashboard.periods import Period
from loansite.dashboard.reports import ReportFilters
from tests.customers.factories import ManagerFactory, UserFactory
from tests.loans.factories import ApplicationFactory, CustomerFactory, LoanFactory, ProductFactory

SH = ZoneInfo("Asia/Shanghai")
S = LoanApplication.Status
TODAY = dt.date(2026, 11, 30)
D = Decimal


def local(*args):
    return dt.datetime(*args, tzinfo=SH)


def month(year, number):
    start = dt.date(year, number, 1)
    end = dt.date(year + (number == 12), number % 12 + 1, 1)
    return Period("custom", local(start.year, start.month, 1), local(end.year, end.month, 1))


ALL = ReportFilters()


@pytest.fixture
def book(db):
    """Four loans, five applications, their schedules, disbursements, repayments and the
    close's snapshots of 31 October; every figure below is worked out from these by hand."""
    for risk_class, rate in {
        "normal": "0.0100",
        "special_mention": "0.0200",
        "substandard": "0.2500",
        "doubtful": "0.5000",
        "loss": "1.0000",
    }.items():
        ProvisionRate.objects.update_or_create(risk_class=risk_class, defaults={"rate": D(rate)})
    wc = ProductFactory(code="WC", name="Working capital", name_zh="流动资金贷款")
    eq = ProductFactory(code="EQ", name="Equipment", name_zh="设备贷款")
    officer = UserFactory(username="officer1", first_name="Tao", last_name="Yang")
    m1 = ManagerFactory(user=officer)
    m2 = ManagerFactory(user=UserFactory(username="officer2"), city="Shanghai")
    c1 = CustomerFactory(industry="retail", city="Hangzhou", manager=m1)
    c2 = CustomerFactory(industry="catering", city="Shanghai", manager=m2)
    c3 = CustomerFactory(industry="retail", city="Shanghai", manager=None)

    def loan(customer, product, principal, outstanding, disbursed, **extra):
        return LoanFactory(
            application__customer=customer,
            application__product=product,
            product=product,
            principal=D(principal),
            approved_amount=D(principal),
            outstanding_principal=D(outstanding),
            disbursement_date=disbursed,
            **extra,
        )

    l1 = loan(c1, wc, "100000.00", "60000.00", dt.date(2026, 10, 15), status="active")
    l2 = loan(
        c2,
        wc,
        "50000.00",
        "40000.00",
        dt.date(2026, 8, 1),
        status="overdue",
        days_past_due=45,
        dpd_bucket="31-60",
        risk_class="special_mention",
        overdue_since=dt.date(2026, 10, 17),
    )
    l3 = loan(
        c3,
        eq,
        "30000.00",
        "20000.00",
        dt.date(2026, 5, 1),
        status="overdue",
        days_past_due=120,
        dpd_bucket="91-180",
        risk_class="substandard",
        overdue_since=dt.date(2026, 8, 2),
    )
    l4 = loan(c1, eq, "10000.00", "0.00", dt.date(2026, 10, 20), status="closed")

    # Applications for the funnel. 00:30 on 1 November in Shanghai is still 31 October in UTC.
    reviewer = UserFactory(username="approver1")
    ApplicationFactory(
        customer=c1, product=wc, status=S.DISBURSED, reviewer=reviewer, submitted_at=local(2026, 11, 1, 0, 30)
    )
    ApplicationFactory(
        customer=c2, product=wc, status=S.REJECTED, reviewer=reviewer, submitted_at=local(2026, 11, 10, 9, 0)
    )
    ApplicationFactory(customer=c3, product=eq, status=S.SUBMITTED, submitted_at=local(2026, 11, 20, 9, 0))
    # Returned for information, then withdrawn: it was reviewed.
    ApplicationFactory(
        customer=c1, product=eq, status=S.WITHDRAWN, reviewer=reviewer, submitted_at=local(2026, 11, 15, 9, 0)
    )
    # 23:30 on 31 October in Shanghai: October.
    ApplicationFactory(
        customer=c2,
        product=wc,
        status=S.APPROVED,
        amount=D("100000.00"),
        approved_amount=D("80000.00"),
        reviewer=reviewer,
        submitted_at=local(2026, 10, 31, 23, 30),
    )

    def installment(loan, number, due, pay, principal, interest, **extra):
        return Installment.objects.create(
            loan=loan,
            schedule_version=extra.pop("schedule_version", 1),
            number=number,
            period_start=due - dt.timedelta(days=30),
            due_date=due,
            pay_date=pay,
            days=30,
            principal=D(principal),
            interest=D(interest),
            **extra,
        )

    installment(
        l1, 1, dt.date(2026, 11, 15), dt.date(2026, 11, 15), "8000.00", "400.00", status="paid",
        principal_paid=D("8000.00"), interest_paid=D("400.00"), paid_on=dt.date(2026, 11, 14),
    )  # fmt: skip
    installment(l1, 2, dt.date(2026, 12, 15), dt.date(2026, 12, 15), "8000.00", "400.00", status="future")
    # A superseded schedule version: not counted.
    installment(
        l1, 1, dt.date(2026, 11, 15), dt.date(2026, 11, 15), "9999.00", "1.00", status="due", schedule_version=9
    )
    installment(
        l2, 1, dt.date(2026, 10, 15), dt.date(2026, 10, 16), "4000.00", "300.00", status="overdue",
        principal_paid=D("1000.00"), penalty=D("20.00"),
    )  # fmt: skip
    installment(
        l2, 2, dt.date(2026, 11, 15), dt.date(2026, 11, 15), "4000.00", "300.00", status="paid",
        principal_paid=D("4000.00"), interest_paid=D("300.00"), paid_on=dt.date(2026, 11, 20),
    )  # fmt: skip

    def disbursement(loan, amount, value_date, status):
        return Disbursement.objects.create(
            application=loan.application,
            loan=loan,
            amount=D(amount),
            contract_number=loan.contract_number,
            account="6222000000000000",
            value_date=value_date,
            status=status,
            idempotency_key=f"d-{loan.pk}-{status}",
        )

    disbursement(l1, "100000.00", dt.date(2026, 10, 15), "authorised")
    disbursement(l2, "50000.00", dt.date(2026, 11, 2), "prepared")

    def repayment(loan, amount, value_date, principal, status="posted"):
        return Repayment.objects.create(
            loan=loan,
            amount=D(amount),
            value_date=value_date,
            bank_reference=f"B-{loan.pk}-{value_date}",
            allocated_principal=D(principal),
            status=status,
        )

    repayment(l1, "8400.00", dt.date(2026, 11, 14), "8000.00")
    repayment(l2, "4300.00", dt.date(2026, 11, 20), "4000.00")
    repayment(l2, "500.00", dt.date(2026, 11, 21), "500.00", status="reversed")

    # The close of 31 October: L1 and L2 normal, L4 still live; L3 not in it.
    for loan_, outstanding, provision in (
        (l1, "60000.00", "600.00"),
        (l2, "40000.00", "400.00"),
        (l4, "10000.00", "100.00"),
    ):
        LoanDaySnapshot.objects.create(
            loan=loan_,
            date=dt.date(2026, 10, 31),
            status="active",
            risk_class="normal",
            outstanding_principal=D(outstanding),
            provision=D(provision),
        )
    return {"wc": wc, "eq": eq, "m1": m1, "m2": m2, "officer": officer, "l1": l1, "l2": l2, "l3": l3, "l4": l4}


def _by(rows, key="label"):
    return {row[key]: row for row in rows}


def test_portfolio_by_product(book):
    result = reports.portfolio_report(filters=ALL, by="product")
    rows = _by(result["rows"])
    wc, eq = rows["Working capital"], rows["Equipment"]
    assert (wc["loans"], wc["amount"], wc["outstanding"]) == (2, D("150000.00"), D("100000.00"))
    assert wc["par30_ratio"] == D("0.4") and wc["npl_ratio"] == 0
    assert wc["provisions"] == D("1400.00")  # 60,000 x 1 % + 40,000 x 2 %
    assert (eq["loans"], eq["amount"], eq["outstanding"]) == (2, D("40000.00"), D("20000.00"))
    assert eq["par30_ratio"] == 1 and eq["npl_ratio"] == 1 and eq["provisions"] == D("5000.00")
    total = result["total"]
    assert (total["loans"], total["amount"], total["outstanding"]) == (4, D("190000.00"), D("120000.00"))
    assert total["par30_ratio"] == D("0.5") and total["npl_ratio"] == D(20000) / D(120000)
    assert total["provisions"] == D("6400.00")
    assert [row["label"] for row in result["rows"]] == ["Working capital", "Equipment"]  # biggest first


def test_portfolio_by_month_manager_industry_city(book):
    months = _by(reports.portfolio_report(filters=ALL, by="month")["rows"])
    assert list(months) == ["2026-05", "2026-08", "2026-10"]
    assert (months["2026-10"]["loans"], months["2026-10"]["amount"], months["2026-10"]["outstanding"]) == (
        2,
        D("110000.00"),
        D("60000.00"),
    )
    managers = _by(reports.portfolio_report(filters=ALL, by="manager")["rows"])
    assert managers["Tao Yang"]["loans"] == 2 and managers["—"]["loans"] == 1
    industries = _by(reports.portfolio_report(filters=ALL, by="industry")["rows"], "key")
    assert industries["retail"]["loans"] == 3 and industries["catering"]["outstanding"] == D("40000.00")
    cities = _by(reports.portfolio_report(filters=ALL, by="city")["rows"], "key")
    assert cities["Shanghai"]["loans"] == 2 and cities["Hangzhou"]["amount"] == D("110000.00")


def test_portfolio_labels_in_chinese(book):
    from django.utils import translation

    with translation.override("zh-hans"):
        rows = reports.portfolio_report(filters=ALL, by="product")["rows"]
        cities = reports.portfolio_report(filters=ALL, by="city")["rows"]
    assert {row["label"] for row in rows} == {"流动资金贷款", "设备贷款"}
    assert {row["label"] for row in cities} == {"上海", "杭州"}


def test_portfolio_filters(book):
    def total(**kwargs):
        return reports.portfolio_report(filters=ReportFilters(**kwargs), by="product")["total"]

    assert total(city="Shanghai")["loans"] == 2
    assert total(industry="retail")["amount"] == D("140000.00")
    assert total(product=book["eq"].pk)["loans"] == 2
    assert total(manager=book["m2"].pk)["outstanding"] == D("40000.00")
    assert total(risk_class="substandard")["loans"] == 1
    assert total(owner=book["officer"].pk)["amount"] == D("110000.00")  # L1 and L4 only
    assert total(period=month(2026, 10))["loans"] == 2
    assert total(city="Beijing") is None


def test_funnel_counts_rates_and_shanghai_months(book):
    result = reports.funnel_report(filters=ALL)
    months = {row["month"]: row for row in result["rows"]}
    assert list(months) == [dt.date(2026, 10, 1), dt.date(2026, 11, 1)]
    nov = months[dt.date(2026, 11, 1)]
    assert (nov["submitted"], nov["reviewed"], nov["approved"], nov["disbursed"], nov["rejected"]) == (4, 3, 1, 1, 1)
    assert nov["review_rate"] == D("0.75") and nov["approval_rate"] == D(1) / D(3)
    assert nov["disbursement_rate"] == 1 and nov["overall_rate"] == D("0.25")
    oct_ = months[dt.date(2026, 10, 1)]
    assert (oct_["submitted"], oct_["approved"], oct_["disbursed"]) == (1, 1, 0)
    assert oct_["amount_approved"] == D("80000.00")
    assert result["total"]["submitted"] == 5
    # A November period starts at Shanghai midnight: the 00:30 one is in, the 23:30 one is out.
    assert reports.funnel_report(filters=ReportFilters(period=month(2026, 11)))["total"]["submitted"] == 4


def test_funnel_for_an_officer_counts_their_own_book(book):
    own = reports.funnel_report(filters=ReportFilters(owner=book["officer"].pk))["total"]
    assert own["submitted"] == 2  # the two of c1, the officer's customer


def test_disbursement_and_repayment(book):
    result = reports.flows_report(filters=ALL, today=TODAY)
    rows = {(row["month"], row["product_label"]): row for row in result["rows"]}
    oct_ = rows[(dt.date(2026, 10, 1), "Working capital")]
    assert (oct_["disbursed"], oct_["disbursements"], oct_["scheduled"]) == (D("100000.00"), 1, D("4300.00"))
    assert (oct_["on_time"], oct_["late"], oct_["repaid"]) == (0, 1, ZERO)
    nov = rows[(dt.date(2026, 11, 1), "Working capital")]
    assert nov["disbursed"] == ZERO  # the prepared disbursement is not money out
    assert (nov["scheduled"], nov["installments"]) == (D("12700.00"), 2)  # the superseded version left out
    assert (nov["on_time"], nov["late"], nov["on_time_rate"]) == (1, 1, D("0.5"))
    assert (nov["repaid"], nov["repaid_principal"]) == (D("12700.00"), D("12000.00"))  # the reversal left out
    dec = rows[(dt.date(2026, 12, 1), "Working capital")]
    assert (dec["scheduled"], dec["on_time"], dec["late"]) == (D("8400.00"), 0, 0)
    assert result["total"]["repaid"] == D("12700.00") and result["total"]["disbursed"] == D("100000.00")
    november = reports.flows_report(filters=ReportFilters(period=month(2026, 11)), today=TODAY)
    assert [row["month"] for row in november["rows"]] == [dt.date(2026, 11, 1)]


ZERO = D("0.00")


def test_overdue_by_bucket_and_list(book):
    result = reports.overdue_report(filters=ALL)
    buckets = {row["dpd_bucket"]: row for row in result["rows"]}
    assert list(buckets) == ["31-60", "91-180"]
    assert (buckets["31-60"]["loans"], buckets["31-60"]["outstanding"]) == (1, D("40000.00"))
    assert buckets["31-60"]["overdue_amount"] == D("3320.00")  # 3,000 principal + 300 interest + 20 penalty
    assert buckets["91-180"]["overdue_amount"] == ZERO
    assert result["total"] == {"loans": 2, "outstanding": D("60000.00"), "overdue_amount": D("3320.00")}
    rows = list(reports.overdue_loans(filters=ALL))
    assert [row["loan_number"] for row in rows] == [book["l3"].loan_number, book["l2"].loan_number]
    assert rows[1]["overdue_amount"] == D("3320.00") and rows[0]["overdue_amount"] == ZERO
    assert [r["loan_number"] for r in reports.overdue_loans(filters=ALL, bucket="31-60")] == [book["l2"].loan_number]
    assert reports.overdue_report(filters=ReportFilters(owner=book["officer"].pk))["total"] is None


def test_five_category_against_the_previous_month_end(book):
    result = reports.risk_class_report(filters=ALL, today=TODAY)
    assert result["previous_end"] == dt.date(2026, 10, 31) and result["has_before"]
    rows = {row["risk_class"]: row for row in result["rows"]}
    normal, mention, sub = rows["normal"], rows["special_mention"], rows["substandard"]
    assert (normal["loans"], normal["balance"], normal["provision"]) == (1, D("60000.00"), D("600.00"))
    assert (normal["loans_before"], normal["balance_before"], normal["provision_before"]) == (
        3,
        D("110000.00"),
        D("1100.00"),
    )
    assert normal["balance_change"] == D("-50000.00")
    assert (mention["loans"], mention["provision"], mention["loans_before"]) == (1, D("800.00"), 0)
    assert (sub["balance"], sub["provision"]) == (D("20000.00"), D("5000.00"))
    assert rows["loss"]["loans"] == 0
    assert result["total"]["balance"] == D("120000.00") and result["total"]["balance_change"] == D("10000.00")
    assert normal["share"] == D("0.5")
    moves = {(m["from_class"], m["to_class"]): m for m in result["movement"]}
    assert set(moves) == {
        ("normal", "normal"),
        ("normal", "special_mention"),
        ("normal", "exited"),
        ("new", "substandard"),
    }
    assert (
        moves[("normal", "exited")]["balance_before"] == D("10000.00") and moves[("normal", "exited")]["balance"] == 0
    )
    assert moves[("new", "substandard")]["balance"] == D("20000.00")


def test_five_category_without_a_previous_close(book):
    result = reports.risk_class_report(filters=ALL, as_of=dt.date(2026, 10, 31))
    assert result["previous_end"] == dt.date(2026, 9, 30) and not result["has_before"]
    rows = {row["risk_class"]: row for row in result["rows"]}
    assert rows["normal"]["loans"] == 3 and rows["normal"]["provision"] == D("1100.00")
    assert rows["normal"]["loans_before"] is None and result["movement"] == []


def test_every_report_is_empty_on_an_empty_database(db):
    assert reports.portfolio_report(filters=ALL, by="product") == {"rows": [], "total": None}
    assert reports.funnel_report(filters=ALL) == {"rows": [], "total": None}
    assert reports.flows_report(filters=ALL) == {"rows": [], "total": None}
    assert reports.overdue_report(filters=ALL) == {"rows": [], "total": None}
    assert list(reports.overdue_loans(filters=ALL)) == []
    five = reports.risk_class_report(filters=ALL)
    assert five["rows"] == [] and five["total"] is None and five["movement"] == []
