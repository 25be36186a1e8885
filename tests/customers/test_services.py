import datetime
from decimal import Decimal

import pytest

from audit.models import AuditAction, AuditEntry
from customers.models import CreditLine, Customer
from customers.selectors import credit_line_active, credit_line_headroom, customer_find_existing
from customers.services import (
    credit_line_change,
    credit_line_grant,
    credit_line_release,
    credit_line_use,
    customer_create,
    customer_update,
    customer_upsert,
)
from loansite.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from tests.customers.factories import CreditLineFactory, CustomerFactory, TagFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()


def _fields(**extra):
    base = {
        "kind": "enterprise",
        "name": "Hangzhou Tea House Co., Ltd.",
        "credit_code": "91350100M000100Y43",
        "phone": "+86 138 0013 8000",
        "city": "Hangzhou",
        "city_tier": 2,
        "industry": "catering",
        "monthly_revenue": Decimal("80000"),
        "monthly_cost": Decimal("60000"),
    }
    base.update(extra)
    return base


@pytest.fixture
def officer(make_user):
    return make_user("officer", role="Loan officer")


@pytest.fixture
def analyst(make_user):
    """Sets ratings and bureau scores (customers.rate_customer)."""
    return make_user("analyst", role="Risk analyst")


@pytest.fixture
def approver(make_user):
    """Grants and changes credit lines."""
    return make_user("approver", role="Credit approver")


def test_create_normalises_validates_and_audits(officer):
    tag = TagFactory(name="VIP")
    customer = customer_create(actor=officer, tags=["VIP"], **_fields(credit_code="91350100m000100y43"))
    assert customer.phone == "13800138000"
    assert customer.credit_code == "91350100M000100Y43"
    assert list(customer.tags.all()) == [tag]
    entry = AuditEntry.objects.get(action=AuditAction.CREATE, target_type="customers.customer")
    assert entry.actor == officer and entry.changes["tags"] == ["VIP"]


def test_create_rejects_bad_code_with_field_errors(officer):
    with pytest.raises(ValidationFailed) as exc:
        customer_create(actor=officer, **_fields(credit_code="91350100M000100Y44", phone="12345"))
    assert set(exc.value.extra["errors"]) == {"credit_code", "phone"}
    assert not Customer.objects.exists()


def test_enterprise_needs_a_credit_code_individual_an_id(officer):
    with pytest.raises(ValidationFailed):
        customer_create(actor=officer, **_fields(credit_code=None))
    customer = customer_create(
        actor=officer, **_fields(kind="individual", credit_code=None, id_number="11010519491231002x")
    )
    assert customer.id_number == "11010519491231002X"


def test_same_code_or_phone_cannot_create_two_customers(officer):
    existing = CustomerFactory(phone="13800138000")
    with pytest.raises(Conflict) as exc:
        customer_create(actor=officer, **_fields())
    assert exc.value.extra["existing_id"] == existing.pk
    assert Customer.objects.count() == 1


def test_upsert_updates_the_match_instead_of_duplicating(officer):
    existing = CustomerFactory(credit_code="91350100M000100Y43", monthly_revenue=Decimal("1"))
    customer, created = customer_upsert(actor=officer, **_fields(phone=existing.phone))
    assert not created and customer.pk == existing.pk
    assert customer.monthly_revenue == Decimal("80000")
    assert Customer.objects.count() == 1
    customer, created = customer_upsert(actor=officer, **_fields(credit_code="91310000MA1FL1MMXL", phone="13900000000"))
    assert created and Customer.objects.count() == 2


def test_upsert_with_keys_of_two_customers_is_a_conflict(officer):
    a = CustomerFactory()
    b = CustomerFactory()
    with pytest.raises(Conflict):
        customer_upsert(actor=officer, **_fields(credit_code=a.credit_code, phone=b.phone))


def test_update_audits_the_difference_and_refuses_manager(officer):
    customer = CustomerFactory(monthly_revenue=Decimal("100"))
    customer_update(actor=officer, customer=customer, monthly_revenue=Decimal("250.50"))
    entry = AuditEntry.objects.get(action=AuditAction.UPDATE, target_id=str(customer.pk))
    assert entry.changes["monthly_revenue"] == ["100.00", "250.50"]
    with pytest.raises(ValidationFailed):
        customer_update(actor=officer, customer=customer, manager=None)


def test_rating_change_is_audited(analyst):
    from customers.services import customer_rating_change

    customer = CustomerFactory()
    customer_rating_change(actor=analyst, customer=customer, rating="B", reason="annual review")
    customer.refresh_from_db()
    assert (customer.rating, customer.rating_source, customer.rating_date) == ("B", "Risk analyst", TODAY)
    assert AuditEntry.objects.filter(target_id=str(customer.pk), changes__rating=["", "B"]).exists()
    with pytest.raises(ValidationFailed):
        customer_rating_change(actor=analyst, customer=customer, rating="F", reason="x")


# -- protected fields: the internal rating and the bureau score ----------------------------------


def test_rating_service_refuses_users_who_may_not_rate(officer):
    from customers.services import customer_rating_change

    customer = CustomerFactory()
    with pytest.raises(NotAllowed):
        customer_rating_change(actor=officer, customer=customer, rating="A", reason="my own view")
    customer.refresh_from_db()
    assert customer.rating == ""


@pytest.mark.parametrize(("field", "value"), [("credit_score", 820), ("rating", "A"), ("rating_source", "me")])
def test_create_and_update_refuse_rating_fields_without_the_permission(officer, field, value):
    with pytest.raises(NotAllowed) as exc:
        customer_create(actor=officer, **_fields(**{field: value}))
    assert field in str(exc.value.message)
    assert not Customer.objects.exists()
    customer = CustomerFactory(credit_score=600)
    with pytest.raises(NotAllowed):
        customer_update(actor=officer, customer=customer, **{field: value})
    with pytest.raises(NotAllowed):
        customer_upsert(
            actor=officer, **_fields(credit_code=customer.credit_code, phone=customer.phone, **{field: value})
        )
    customer.refresh_from_db()
    assert (customer.credit_score, customer.rating, customer.rating_source) == (600, "", "")
    with pytest.raises(NotAllowed):
        customer_create(actor=None, **_fields(**{field: value}))  # nobody (the public form) rates either


def test_unchanged_rating_fields_pass_and_raters_may_change_the_bureau_score(officer, analyst):
    customer = CustomerFactory(credit_score=600, rating="B")
    # A full update that repeats the values on record is not a rating.
    customer_update(actor=officer, customer=customer, credit_score=600, rating="B", rating_source="", notes="visited")
    customer_update(actor=analyst, customer=customer, credit_score=710)
    customer.refresh_from_db()
    assert (customer.credit_score, customer.rating, customer.notes) == (710, "B", "visited")
    created = customer_create(actor=analyst, **_fields(credit_score=650))
    assert created.credit_score == 650
    # The internal rating itself is not a field anyone edits: analysts change it with a reason.
    with pytest.raises(NotAllowed):
        customer_update(actor=analyst, customer=customer, rating="A")
    with pytest.raises(NotAllowed):
        customer_create(actor=analyst, **_fields(credit_code="91310000MA1FL1MMXL", phone="13900000009", rating="A"))
    customer.refresh_from_db()
    assert customer.rating == "B"


def test_credit_lines_are_granted_and_changed_only_with_the_permission(officer, approver):
    customer = CustomerFactory()
    until = TODAY.replace(year=TODAY.year + 1)
    with pytest.raises(NotAllowed):
        credit_line_grant(customer=customer, limit="50000", valid_from=TODAY, valid_to=until, actor=officer)
    with pytest.raises(NotAllowed):
        credit_line_grant(customer=customer, limit="50000", valid_from=TODAY, valid_to=until, actor=None)
    assert not CreditLine.objects.exists()
    line = credit_line_grant(customer=customer, limit="50000", valid_from=TODAY, valid_to=until, actor=approver)
    with pytest.raises(NotAllowed):
        credit_line_change(credit_line=line, actor=officer, limit="90000")
    line.refresh_from_db()
    assert line.limit == Decimal("50000.00")


def test_find_existing_by_any_key():
    customer = CustomerFactory(phone="13800138000")
    assert customer_find_existing(phone="+86 138 0013 8000") == customer
    assert customer_find_existing(credit_code=customer.credit_code.lower()) == customer
    assert customer_find_existing(credit_code="91310000MA1FL1MMXL") is None
    assert customer_find_existing() is None


# -- credit lines ------------------------------------------------------------------------------


def test_grant_and_headroom(approver):
    customer = CustomerFactory()
    assert credit_line_headroom(customer=customer) == Decimal("0.00")
    line = credit_line_grant(
        customer=customer, limit="50000", valid_from=TODAY, valid_to=TODAY.replace(year=TODAY.year + 1), actor=approver
    )
    assert credit_line_active(customer=customer) == line
    assert credit_line_headroom(customer=customer) == Decimal("50000.00")
    assert credit_line_headroom(customer=customer, on=TODAY.replace(year=TODAY.year + 2)) == Decimal("0.00")
    with pytest.raises(Conflict):
        credit_line_grant(customer=customer, limit="1", valid_from=TODAY, valid_to=TODAY, actor=approver)


def test_use_never_exceeds_the_limit(officer):
    line = CreditLineFactory(limit=Decimal("1000.00"))
    credit_line_use(customer=line.customer, amount="600", actor=officer, reason="loan 1")
    with pytest.raises(ValidationFailed) as exc:
        credit_line_use(customer=line.customer, amount="400.01", actor=officer)
    assert exc.value.extra["available"] == "400.00"
    credit_line_use(customer=line.customer, amount="400", actor=officer)
    line.refresh_from_db()
    assert line.used == line.limit == Decimal("1000.00")
    assert credit_line_headroom(customer=line.customer) == Decimal("0.00")
    entries = AuditEntry.objects.filter(target_type="customers.creditline", action=AuditAction.UPDATE)
    assert entries.count() == 2


def test_use_rejects_non_positive_and_missing_line(officer):
    line = CreditLineFactory()
    with pytest.raises(ValidationFailed):
        credit_line_use(customer=line.customer, amount="0", actor=officer)
    with pytest.raises(ValidationFailed):
        credit_line_use(customer=CustomerFactory(), amount="1", actor=officer)


def test_suspended_line_cannot_be_drawn(officer, approver):
    line = CreditLineFactory()
    credit_line_change(credit_line=line, actor=approver, status=CreditLine.Status.SUSPENDED, reason="risk watch")
    with pytest.raises(ValidationFailed):
        credit_line_use(customer=line.customer, amount="1", actor=officer)


def test_release_gives_back_and_never_below_zero(officer):
    line = CreditLineFactory(used=Decimal("300.00"))
    credit_line_release(customer=line.customer, amount="100", actor=officer, reason="repaid")
    line.refresh_from_db()
    assert line.used == Decimal("200.00")
    with pytest.raises(ValidationFailed):
        credit_line_release(customer=line.customer, amount="200.01", actor=officer)


def test_limit_cannot_drop_below_used_and_transitions_are_checked(approver):
    line = CreditLineFactory(used=Decimal("500.00"))
    with pytest.raises(ValidationFailed):
        credit_line_change(credit_line=line, actor=approver, limit="499.99")
    credit_line_change(credit_line=line, actor=approver, limit="500")
    credit_line_change(credit_line=line, actor=approver, status=CreditLine.Status.CLOSED)
    with pytest.raises(InvalidTransition):
        credit_line_change(credit_line=line, actor=approver, status=CreditLine.Status.ACTIVE)
    assert AuditEntry.objects.filter(action=AuditAction.TRANSITION, target_type="customers.creditline").count() == 1


def test_database_constraint_backs_the_limit():
    from django.db import IntegrityError

    line = CreditLineFactory(limit=Decimal("10.00"))
    with pytest.raises(IntegrityError):
        CreditLine.objects.filter(pk=line.pk).update(used=Decimal("10.01"))


def test_profile_labels_by_name_code_or_instance(officer):
    from customers.models import Interest, Need

    need = Need.objects.get(code="working_capital")
    customer = customer_create(
        actor=officer, needs=["working_capital", "Equipment"], interests=[Interest.objects.first().pk], **_fields()
    )
    assert need in customer.needs.all() and customer.needs.count() == 2
    assert customer.interests.count() == 1
    with pytest.raises(ValidationFailed):
        customer_update(actor=officer, customer=customer, tags=["no-such-tag"])
