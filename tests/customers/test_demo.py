import pytest

from customers.demo import seed_customers
from customers.models import Assignment, CreditLine, Customer, RelationshipManager
from customers.validators import validate_credit_code, validate_mobile_phone, validate_resident_id
from loansite.demo import DemoContext

pytestmark = pytest.mark.django_db


def test_seeder_builds_a_reproducible_tagged_book_with_managers():
    ctx = DemoContext(seed=7, customers=80, applications=0, log=lambda m: None)
    seed_customers(ctx)
    profiles, ids = ctx.made["customer_profiles"], ctx.made["customer_ids"]
    assert len(profiles) == len(ids) == 80 == Customer.objects.count()
    first = Customer.objects.get(pk=ids[0])
    assert first.industry == profiles.iloc[0].industry and first.city == profiles.iloc[0].city
    for customer in Customer.objects.all():
        validate_mobile_phone(customer.phone)
        if customer.credit_code:
            validate_credit_code(customer.credit_code)
        if customer.id_number:
            validate_resident_id(customer.id_number)
    managers = RelationshipManager.objects.select_related("user")
    assert managers.count() == 4
    assert all(m.user.is_staff and m.user.groups.filter(name="Loan officer").exists() for m in managers)
    assert Customer.objects.filter(manager__isnull=True).count() == 0
    assert Assignment.objects.filter(is_current=True).count() == 80
    assert Customer.objects.filter(tags__isnull=False).exists()
    assert CreditLine.objects.exists()

    # Seeding again with the same seed reuses the customers instead of failing on duplicates.
    again = DemoContext(seed=7, customers=80, applications=0, log=lambda m: None)
    seed_customers(again)
    assert again.made["customer_ids"] == ids and Customer.objects.count() == 80
