"""The lookups by customer, device and user still read an index after migration 0008 dropped
the single-column indexes that the composite ones start with."""

import pytest
from django.db import connection

from customers.models import Customer
from risk.models import DeviceCustomer, LoginEvent, Transaction

pytestmark = pytest.mark.django_db


def _indexes(table: str, *, unique: bool) -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {
        name: info["columns"]
        for name, info in constraints.items()
        if (info["index"] or (unique and info["unique"])) and not info["primary_key"]
    }


@pytest.mark.parametrize(
    ("model", "column"),
    [
        (Transaction, "customer_id"),
        (Transaction, "device_id"),
        (LoginEvent, "customer_id"),
        (LoginEvent, "user_id"),
        (DeviceCustomer, "customer_id"),
        (DeviceCustomer, "device_id"),
    ],
)
def test_no_single_column_index_where_a_composite_starts_with_the_column(model, column):
    assert [column] not in _indexes(model._meta.db_table, unique=False).values()
    composites = _indexes(model._meta.db_table, unique=True).values()
    assert any(columns[0] == column and len(columns) > 1 for columns in composites)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="EXPLAIN QUERY PLAN wording is SQLite's")
@pytest.mark.parametrize(
    "queryset",
    [
        lambda: Transaction.objects.filter(customer_id__in=[1, 2]),
        lambda: Transaction.objects.filter(customer_id=1).order_by("-occurred_at", "-id")[:20],
        lambda: Transaction.objects.filter(device_id__in=[1, 2]),
        lambda: LoginEvent.objects.filter(customer_id=1),
        lambda: LoginEvent.objects.filter(user_id__in=[1]),
        lambda: DeviceCustomer.objects.filter(customer_id__in=[1, 2]),
        lambda: DeviceCustomer.objects.filter(device_id__in=[1, 2]),
        lambda: Customer.objects.filter(risk_transactions__device_id=1),
    ],
)
def test_lookups_search_an_index(queryset):
    plan = queryset().explain()
    assert "SEARCH risk_" in plan, plan
    assert "SCAN risk_" not in plan, plan
