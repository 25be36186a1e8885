"""Drop the single-column foreign-key indexes that a composite index already starts with.

Transactions: ``customer_id`` and ``device_id`` (the (customer, time) and (device, time)
indexes serve every lookup by either); logins: ``customer_id`` and ``user_id`` (likewise);
device uses: ``device_id`` (the unique (device, customer)) and ``customer_id`` (the
(customer, first seen) index). Every insert paid for their upkeep and no query needs them.

On SQLite the indexes are dropped in place (Django's AlterField would copy each table twice);
elsewhere the schema editor alters the fields as AlterField does.
"""

import copy

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

FIELDS = [
    ("devicecustomer", "customer"),
    ("devicecustomer", "device"),
    ("loginevent", "customer"),
    ("loginevent", "user"),
    ("transaction", "customer"),
    ("transaction", "device"),
]


def _single_indexes(schema_editor, table: str, column: str) -> list[str]:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return [
        name
        for name, info in constraints.items()
        if info["columns"] == [column] and info["index"] and not info["unique"] and not info["primary_key"]
    ]


def _alter(apps, schema_editor, *, to_db_index: bool):
    for model_name, field_name in FIELDS:
        model = apps.get_model("risk", model_name)
        old = model._meta.get_field(field_name)
        new = copy.copy(old)
        new.db_index = to_db_index
        if schema_editor.connection.vendor == "sqlite":
            table, column = model._meta.db_table, old.column
            if to_db_index:
                schema_editor.execute(schema_editor._create_index_sql(model, fields=[new]))
            else:
                for index in _single_indexes(schema_editor, table, column):
                    schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(index)}")
        else:
            schema_editor.alter_field(model, old, new)


def forwards(apps, schema_editor):
    _alter(apps, schema_editor, to_db_index=False)


def backwards(apps, schema_editor):
    _alter(apps, schema_editor, to_db_index=True)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0012_portal_accounts"),
        ("risk", "0007_delinquency_signal_schedule"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.AlterField(
                    model_name="devicecustomer",
                    name="customer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="device_links",
                        to="customers.customer",
                    ),
                ),
                migrations.AlterField(
                    model_name="devicecustomer",
                    name="device",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="links",
                        to="risk.device",
                    ),
                ),
                migrations.AlterField(
                    model_name="loginevent",
                    name="customer",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="risk_logins",
                        to="customers.customer",
                        verbose_name="customer",
                    ),
                ),
                migrations.AlterField(
                    model_name="loginevent",
                    name="user",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="staff user",
                    ),
                ),
                migrations.AlterField(
                    model_name="transaction",
                    name="customer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="risk_transactions",
                        to="customers.customer",
                        verbose_name="customer",
                    ),
                ),
                migrations.AlterField(
                    model_name="transaction",
                    name="device",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="transactions",
                        to="risk.device",
                        verbose_name="device",
                    ),
                ),
            ],
        ),
    ]
