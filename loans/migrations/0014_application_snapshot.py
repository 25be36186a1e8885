# Application snapshots (point-in-time inputs), and their backfill for existing applications.

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def backfill(apps, schema_editor):
    """Every submitted application gets a snapshot from what is known now (its customer's
    record, prior counts from the applications created before it), marked backfilled."""
    from loans.services.snapshots import snapshot_backfill_sql

    connection = schema_editor.connection
    q = connection.ops.quote_name
    app = apps.get_model("loans", "LoanApplication")
    customer = apps.get_model("customers", "Customer")
    snapshot = apps.get_model("loans", "ApplicationSnapshot")
    sql = snapshot_backfill_sql(
        quote=q,
        app_table=q(app._meta.db_table),
        customer_table=q(customer._meta.db_table),
        snapshot_table=q(snapshot._meta.db_table),
        backfilled=True,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [connection.ops.adapt_datetimefield_value(django.utils.timezone.now())])


MONEY = {"decimal_places": 2, "max_digits": 16, "null": True, "blank": True}
RATIO = {"decimal_places": 4, "max_digits": 12, "null": True, "blank": True}


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0007_encrypt_identifiers"),
        ("loans", "0012_daily_close"),
    ]

    operations = [
        migrations.CreateModel(
            name="ApplicationSnapshot",
            fields=[
                (
                    "application",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="snapshot",
                        serialize=False,
                        to="loans.loanapplication",
                        verbose_name="application",
                    ),
                ),
                ("version", models.PositiveSmallIntegerField(default=1, verbose_name="snapshot format")),
                ("taken_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="taken")),
                ("backfilled", models.BooleanField(default=False, verbose_name="backfilled")),
                ("industry", models.CharField(blank=True, max_length=32, verbose_name="industry")),
                ("city", models.CharField(blank=True, max_length=64, verbose_name="city")),
                ("city_tier", models.PositiveSmallIntegerField(blank=True, null=True, verbose_name="city tier")),
                (
                    "years_in_business",
                    models.PositiveSmallIntegerField(blank=True, null=True, verbose_name="years in business"),
                ),
                ("employees", models.PositiveIntegerField(blank=True, null=True, verbose_name="employees")),
                (
                    "area_m2",
                    models.DecimalField(
                        blank=True, decimal_places=2, max_digits=10, null=True, verbose_name="business area (m²)"
                    ),
                ),
                ("monthly_revenue", models.DecimalField(**MONEY, verbose_name="monthly revenue")),
                ("monthly_cost", models.DecimalField(**MONEY, verbose_name="monthly cost")),
                (
                    "monthly_foot_traffic",
                    models.PositiveIntegerField(blank=True, null=True, verbose_name="monthly foot traffic"),
                ),
                (
                    "credit_score",
                    models.PositiveSmallIntegerField(blank=True, null=True, verbose_name="credit bureau score"),
                ),
                ("total_assets", models.DecimalField(**MONEY, verbose_name="total assets")),
                ("total_liabilities", models.DecimalField(**MONEY, verbose_name="total liabilities")),
                ("current_assets", models.DecimalField(**MONEY, verbose_name="current assets")),
                ("current_liabilities", models.DecimalField(**MONEY, verbose_name="current liabilities")),
                ("net_profit", models.DecimalField(**MONEY, verbose_name="net profit")),
                ("annual_revenue", models.DecimalField(**MONEY, verbose_name="annual revenue")),
                ("debt_ratio", models.DecimalField(**RATIO, verbose_name="debt ratio")),
                ("current_ratio", models.DecimalField(**RATIO, verbose_name="current ratio")),
                ("net_margin", models.DecimalField(**RATIO, verbose_name="net margin")),
                ("operating_margin", models.DecimalField(**RATIO, verbose_name="operating margin")),
                ("prior_applications", models.PositiveIntegerField(default=0, verbose_name="earlier applications")),
                (
                    "prior_approved",
                    models.PositiveIntegerField(default=0, verbose_name="earlier applications approved"),
                ),
                (
                    "prior_rejected",
                    models.PositiveIntegerField(default=0, verbose_name="earlier applications rejected"),
                ),
                ("rating", models.CharField(blank=True, max_length=1, verbose_name="internal rating")),
                ("rating_date", models.DateField(blank=True, null=True, verbose_name="rating date")),
                ("rating_source", models.CharField(blank=True, max_length=64, verbose_name="rating source")),
                ("grade", models.CharField(blank=True, max_length=1, verbose_name="grade")),
            ],
            options={
                "verbose_name": "application snapshot",
                "verbose_name_plural": "application snapshots",
                "default_permissions": ("view",),
            },
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
