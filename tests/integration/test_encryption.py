"""Resident ID numbers and phones on MariaDB: ciphertext in the columns, found by keyed hash."""

import pytest
from django.db import IntegrityError, connection, transaction

from customers.models import Customer

pytestmark = pytest.mark.integration

PHONE = "13800138000"
ID_NUMBER = "11010519491231002X"


@pytest.mark.django_db(transaction=True)
def test_mariadb_columns_hold_ciphertext_and_lookups_use_the_hash():
    customer = Customer.objects.create(
        kind="individual", name="Tea stall", id_number=ID_NUMBER, phone=PHONE, city="Hangzhou", industry="retail"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT phone, id_number, phone_hash, id_number_hash FROM customers_customer WHERE id = %s", [customer.pk]
        )
        phone, id_number, phone_hash, id_number_hash = cursor.fetchone()
        cursor.execute(
            "SELECT COUNT(*) FROM customers_customer WHERE phone LIKE %s OR id_number LIKE %s",
            ["%0013800%", "%19491231%"],
        )
        plain_matches = cursor.fetchone()[0]
    assert phone.startswith("e1:") and id_number.startswith("e1:")
    assert PHONE not in phone and ID_NUMBER not in id_number and plain_matches == 0
    assert len(phone_hash) == len(id_number_hash) == 64

    assert Customer.objects.get(pk=customer.pk).phone == PHONE
    assert Customer.objects.get(phone="+86 138-0013-8000") == customer
    assert Customer.objects.get(id_number__iexact=ID_NUMBER.lower()) == customer
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(name="Copy", credit_code="91350100M000100Y43", phone="0086 13800138000", city="X")
