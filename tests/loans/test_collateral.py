"""Collateral and guarantees: haircuts, registration, release, coverage and guarantor exposure."""

import datetime
from decimal import Decimal

import pytest

from audit.models import AuditEntry
from loans.models import Collateral, CollateralHaircut, Guarantee, LoanApplication
from loans.selectors.security import application_coverage, guarantor_exposure
from loans.services.collateral import (
    collateral_add,
    collateral_register,
    collateral_release,
    guarantee_add,
    guarantee_release,
)
from loansite.errors import InvalidTransition, NotAllowed, ValidationFailed
from tests.loans.factories import ApplicationFactory, CustomerFactory, LoanFactory

pytestmark = pytest.mark.django_db
DAY = datetime.date(2025, 3, 1)
VALID_ID = "11010519491231002X"


def _collateral(officer, app, **extra):
    values = {
        "kind": "equipment",
        "owner": "Owner Ltd",
        "description": "Two CNC lathes",
        "appraised_value": "200000",
        "appraisal_date": DAY,
        "appraiser": "Appraisal Co",
        **extra,
    }
    return collateral_add(actor=officer, application=app, **values)


def test_collateral_takes_the_configured_haircut_of_its_kind_and_is_audited(officer):
    CollateralHaircut.objects.filter(kind="equipment").update(haircut=Decimal("0.4500"))
    app = ApplicationFactory(status=LoanApplication.Status.UNDER_REVIEW)
    item = _collateral(officer, app)
    assert item.haircut == Decimal("0.4500") and item.status == Collateral.Status.PROPOSED
    assert item.value_after_haircut == Decimal("110000.00")
    assert AuditEntry.objects.filter(target_type="loans.collateral", target_id=str(item.pk), action="create").exists()
    own = _collateral(officer, app, haircut="0.1")
    assert own.haircut == Decimal("0.1000")


def test_coverage_ratio_is_value_after_haircuts_over_the_approved_amount(officer):
    app = ApplicationFactory(status=LoanApplication.Status.UNDER_REVIEW, amount=Decimal("100000"))
    _collateral(officer, app, kind="real_estate", appraised_value="100000")  # 70,000 after 30 %
    _collateral(officer, app, kind="deposit", appraised_value="20000")  # 19,000 after 5 %
    coverage = application_coverage(application=app)
    assert (coverage.value_after_haircuts, coverage.ratio) == (Decimal("89000.00"), Decimal("0.8900"))
    app.approved_amount = Decimal("50000")
    assert application_coverage(application=app).ratio == Decimal("1.7800")


def test_registration_and_release(officer, approver):
    app = ApplicationFactory(status=LoanApplication.Status.UNDER_REVIEW)
    item = _collateral(officer, app)
    with pytest.raises(ValidationFailed):
        collateral_register(actor=officer, collateral=item, registration_number="", registration_date=DAY)
    number = "京(2025)抵押123"
    item = collateral_register(actor=officer, collateral=item, registration_number=number, registration_date=DAY)
    assert item.status == Collateral.Status.REGISTERED
    with pytest.raises(InvalidTransition):
        collateral_register(actor=officer, collateral=item, registration_number="again", registration_date=DAY)
    with pytest.raises(NotAllowed):
        collateral_release(actor=officer, collateral=item, reason="repaid")
    with pytest.raises(ValidationFailed):
        collateral_release(actor=approver, collateral=item, reason=" ")
    item = collateral_release(actor=approver, collateral=item, reason="loan repaid elsewhere")
    assert item.status == Collateral.Status.RELEASED
    entry = AuditEntry.objects.filter(target_type="loans.collateral", action="transition").latest("seq")
    assert entry.changes["status"] == ["registered", "released"] and entry.reason == "loan repaid elsewhere"
    assert application_coverage(application=app).value_after_haircuts == Decimal("0.00")


def test_security_cannot_change_on_a_decided_against_application(officer):
    app = ApplicationFactory(status=LoanApplication.Status.REJECTED)
    with pytest.raises(InvalidTransition):
        _collateral(officer, app)


def test_a_named_guarantor_needs_a_valid_resident_id(officer):
    app = ApplicationFactory(status=LoanApplication.Status.UNDER_REVIEW)
    with pytest.raises(ValidationFailed):
        guarantee_add(actor=officer, application=app, guaranteed_amount="50000", guarantor_name="Wang Wei")
    with pytest.raises(ValidationFailed):
        guarantee_add(
            actor=officer,
            application=app,
            guaranteed_amount="50000",
            guarantor_name="Wang Wei",
            guarantor_id_number="110105194912310021",  # wrong check digit
        )
    guarantee = guarantee_add(
        actor=officer,
        application=app,
        guaranteed_amount="50000",
        guarantor_name="Wang Wei",
        guarantor_id_number=VALID_ID.lower(),
        kind="pledge",
    )
    assert guarantee.guarantor_id_number == VALID_ID and guarantee.kind == Guarantee.Kind.PLEDGE
    entry = AuditEntry.objects.get(target_type="loans.guarantee", target_id=str(guarantee.pk))
    assert VALID_ID not in str(entry.changes)  # encrypted field: a keyed hash in the trail
    with pytest.raises(ValidationFailed):
        guarantee_add(actor=officer, application=app, guaranteed_amount="1", guarantor_customer=app.customer)


def test_guarantor_exposure_counts_live_loans_only_capped_at_what_is_outstanding(officer, approver):
    guarantor = CustomerFactory()
    live = LoanFactory(outstanding_principal=Decimal("30000"))
    other = LoanFactory(outstanding_principal=Decimal("80000"))
    closed = LoanFactory(outstanding_principal=Decimal("70000"))
    for loan, amount in ((live, "50000"), (other, "40000"), (closed, "70000")):
        guarantee = guarantee_add(
            actor=officer, application=loan.application, guaranteed_amount=amount, guarantor_customer=guarantor
        )
        assert guarantee.loan == loan  # a disbursed application's security is its loan's
    type(closed).objects.filter(pk=closed.pk).update(status="closed", outstanding_principal=0)
    assert guarantor_exposure(customer=guarantor) == Decimal("70000.00")  # 30,000 + 40,000
    named = guarantee_add(
        actor=officer,
        application=live.application,
        guaranteed_amount="10000",
        guarantor_name="Li Na",
        guarantor_id_number=VALID_ID,
    )
    assert guarantor_exposure(id_number=VALID_ID) == Decimal("10000.00")
    guarantee_release(actor=approver, guarantee=named, reason="replaced")
    assert guarantor_exposure(id_number=VALID_ID) == Decimal("0.00")
    with pytest.raises(InvalidTransition):
        guarantee_release(actor=approver, guarantee=named, reason="again")


def test_admin_adds_collateral_through_the_service_and_shows_it_on_the_application(client, officer, approver):
    app = ApplicationFactory(status=LoanApplication.Status.UNDER_REVIEW)
    client.force_login(officer)
    response = client.post(
        "/admin/loans/collateral/add/",
        {
            "application": app.pk,
            "kind": "inventory",
            "owner": "Owner",
            "description": "Stock of tea",
            "appraised_value": "50000",
            "appraisal_date": "2025-02-01",
            "appraiser": "Appraiser",
            "haircut": "",
        },
    )
    assert response.status_code == 302
    item = Collateral.objects.get(application=app)
    assert item.haircut == Decimal("0.6000") and item.created_by == officer
    client.force_login(approver)
    page = client.get(f"/admin/loans/loanapplication/{app.pk}/change/").content.decode()
    assert 'id="collateral"' in page and "¥20,000.00" in page
    response = client.post(f"/admin/loans/collateral/{item.pk}/release/", {"reason": "swap"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == Collateral.Status.RELEASED
