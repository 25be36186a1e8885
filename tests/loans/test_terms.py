"""Decided terms: the approver decides amount, term, rate, method and conditions; a
counter-offer is recorded and shown to the applicant; the line is drawn with the approved
amount; the workbench warns before a decision."""

from decimal import Decimal

import pytest

from audit.models import AuditEntry
from loans import services
from loans.models import ApprovalDecision, LoanApplication
from loans.selectors.security import application_decision_warnings
from loans.services.terms import application_decided_terms, product_default_rate
from loansite.errors import ValidationFailed
from tests.loans.factories import ApplicationFactory, AuthorityFactory, CreditLineFactory, ProductFactory

pytestmark = pytest.mark.django_db
S = LoanApplication.Status


def _pending(officer, product, **extra):
    extra.setdefault("status", S.UNDER_REVIEW)
    return ApplicationFactory(product=product, created_by=officer, submitted_by=officer, review_round=1, **extra)


def test_default_terms_are_the_request_and_the_products_rate_for_the_grade(approver, officer, product):
    product.grade_rates = {"B": "0.0700"}
    product.save()
    app = _pending(officer, product, score_grade="B")
    services.application_approve(actor=approver, application=app)
    app.refresh_from_db()
    assert (app.approved_amount, app.approved_term_months, app.approved_method) == (
        app.amount,
        app.term_months,
        app.repayment_method,
    )
    assert app.approved_annual_rate == Decimal("0.0700")
    assert app.counter_offer is False
    decision = app.decisions.get(kind=ApprovalDecision.Kind.APPROVE)
    assert decision.terms["annual_rate"] == "0.0700" and decision.amount == app.amount


def test_rate_by_grade_runs_from_the_lowest_rate_for_a_to_the_highest_for_e(product):
    assert product_default_rate(product=product, grade="A") == product.annual_rate_min
    assert product_default_rate(product=product, grade="E") == product.annual_rate_max
    assert product_default_rate(product=product, grade="C") == Decimal("0.0825")  # halfway 4.5 % .. 12 %
    assert product_default_rate(product=product, grade="") == product.annual_rate_max
    product.grade_rates = {"A": "0.5"}  # outside the product's range: ignored
    assert product_default_rate(product=product, grade="A") == product.annual_rate_min


def test_a_counter_offer_draws_the_approved_amount_on_the_line(approver, officer, product):
    line = CreditLineFactory(limit=Decimal("500000"))
    app = _pending(officer, product, customer=line.customer, amount=Decimal("150000"))
    services.application_approve(
        actor=approver,
        application=app,
        reason="lower amount",
        approved_amount="80000",
        approved_term_months=6,
        approved_annual_rate="0.0900",
        approved_method="equal_principal",
        conditions_precedent=["Contract signed", "Mortgage registered", "Contract signed"],
    )
    app.refresh_from_db()
    line.refresh_from_db()
    assert line.used == Decimal("80000.00")
    assert app.credit_line_id == line.pk
    assert app.counter_offer is True
    assert app.conditions_precedent == ["Contract signed", "Mortgage registered"]
    entry = AuditEntry.objects.filter(target_type="loans.loanapplication", action="approve").latest("seq")
    assert entry.changes["counter_offer"] is True and entry.changes["terms"]["amount"] == "80000.00"
    services.application_cancel(actor=approver, application=app, reason="declined the offer")
    line.refresh_from_db()
    assert line.used == Decimal("0.00")


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        ({"approved_amount": "150000.01"}, "approved_amount"),  # above the request
        ({"approved_amount": "5000"}, "approved_amount"),  # below the product's minimum
        ({"approved_annual_rate": "0.2"}, "approved_annual_rate"),
        ({"approved_term_months": 60}, "approved_term_months"),
        ({"approved_method": "bullet"}, "approved_method"),  # not offered by this product
        ({"conditions_precedent": ["x" * 201]}, None),
    ],
)
def test_terms_outside_the_request_or_the_product_are_refused(approver, officer, product, terms, field):
    app = _pending(officer, product, amount=Decimal("150000"))
    with pytest.raises(ValidationFailed) as exc:
        services.application_approve(actor=approver, application=app, **terms)
    if field:
        assert field in exc.value.extra["errors"]
    app.refresh_from_db()
    assert app.status == S.UNDER_REVIEW and app.approved_amount is None


def test_authority_is_measured_on_the_approved_amount(approver, officer, product):
    app = _pending(officer, product, amount=Decimal("300000"))  # above the 200,000 authority
    services.application_approve(actor=approver, application=app, approved_amount="200000")
    app.refresh_from_db()
    assert app.status == S.APPROVED and app.counter_offer


def test_a_second_approver_confirms_the_first_approvers_terms(approver, approver2, officer, product):
    app = _pending(officer, product, amount=Decimal("300000"))
    services.application_approve(
        actor=approver, application=app, approved_amount="250000", conditions_precedent=["Contract signed"]
    )
    app.refresh_from_db()
    assert app.status == S.UNDER_REVIEW and app.approved_amount is None
    services.application_approve(actor=approver2, application=app)
    app.refresh_from_db()
    assert (app.status, app.approved_amount, app.conditions_precedent) == (
        S.APPROVED,
        Decimal("250000.00"),
        ["Contract signed"],
    )


def test_minimum_coverage_refuses_an_approval_with_a_clear_message(approver, officer, product, make_user):
    from loans.services.collateral import collateral_add

    product.min_coverage_ratio = Decimal("1.0")
    product.save()
    app = _pending(officer, product, amount=Decimal("100000"))
    with pytest.raises(ValidationFailed) as exc:
        services.application_approve(actor=approver, application=app)
    assert "requires at least" in str(exc.value.message)
    import datetime

    collateral_add(
        actor=officer,
        application=app,
        kind="real_estate",
        owner="Owner",
        description="Shop unit",
        appraised_value="130000",
        appraisal_date=datetime.date(2025, 1, 2),
        appraiser="Appraisal Co",
    )  # 130,000 x (1 - 0.3) = 91,000: still short
    with pytest.raises(ValidationFailed):
        services.application_approve(actor=approver, application=app)
    services.application_approve(actor=approver, application=app, approved_amount="91000")
    app.refresh_from_db()
    assert app.status == S.APPROVED


def test_decided_terms_of_an_application_approved_without_terms_fall_back_to_the_request(officer, product):
    app = ApplicationFactory(product=product, status=S.APPROVED, score_grade="A")
    terms = application_decided_terms(app)
    assert (terms.amount, terms.term_months, terms.annual_rate) == (app.amount, app.term_months, Decimal("0.0450"))


def test_workbench_warns_about_headroom_and_authority_before_the_decision(approver, officer, product):
    line = CreditLineFactory(limit=Decimal("500000"), used=Decimal("400000"))
    app = _pending(officer, product, customer=line.customer, amount=Decimal("250000"))
    warnings = application_decision_warnings(application=app, user=approver)
    assert any("headroom is 100000.00" in w for w in warnings)
    assert any("above your approval authority of 200000.00" in w for w in warnings)
    AuthorityFactory(user=officer, limit=Decimal("1000000"))
    assert application_decision_warnings(application=app, user=officer) == []  # no approve permission
    small = _pending(officer, product, amount=Decimal("50000"))
    assert application_decision_warnings(application=small, user=approver) == []


def test_the_application_page_and_the_approve_page_show_the_warnings(client, approver, officer, product):
    CreditLineFactory(limit=Decimal("100000"), used=Decimal("90000"), customer=(c := ApplicationFactory().customer))
    app = _pending(officer, product, customer=c, amount=Decimal("50000"))
    client.force_login(approver)
    page = client.get(f"/admin/loans/loanapplication/{app.pk}/change/").content.decode()
    assert 'id="decision-warnings"' in page and "10000.00" in page
    approve_page = client.get(f"/admin/loans/loanapplication/{app.pk}/decide/approve/").content.decode()
    assert 'id="decision-warnings"' in approve_page and 'name="approved_amount"' in approve_page
    response = client.post(
        f"/admin/loans/loanapplication/{app.pk}/decide/approve/",
        {"approved_amount": "10000", "approved_term_months": "6", "conditions_precedent": "Contract signed\n"},
    )
    assert response.status_code == 302
    app.refresh_from_db()
    assert (app.status, app.approved_amount, app.approved_term_months, app.counter_offer) == (
        S.APPROVED,
        Decimal("10000.00"),
        6,
        True,
    )


def test_the_status_page_shows_a_counter_offer(client, approver, officer):
    product = ProductFactory()
    app = _pending(officer, product, amount=Decimal("150000"), contact_phone="13900000001")
    services.application_approve(actor=approver, application=app, approved_amount="120000", approved_term_months=6)
    page = client.post("/apply/status/", {"reference": app.reference, "phone": "13900000001"}).content.decode()
    assert 'id="counter-offer"' in page and "¥120,000.00" in page and "6 months" in page
    plain = _pending(officer, product, contact_phone="13900000002")
    services.application_approve(actor=approver, application=plain)
    page = client.post("/apply/status/", {"reference": plain.reference, "phone": "13900000002"}).content.decode()
    assert 'id="counter-offer"' not in page
