"""Public form submissions (one-time tokens, unique) and product names in Chinese."""

import django.db.models.deletion
from django.db import migrations, models

# The products the system ships with (loans.demo) in Chinese; others are named by administrators.
PRODUCT_NAMES_ZH = {
    "WC": "流动资金贷款",
    "INV": "存货融资",
    "EQP": "设备贷款",
    "EXP": "扩张贷款",
}


def name_products(apps, schema_editor):
    LoanProduct = apps.get_model("loans", "LoanProduct")
    for code, name in PRODUCT_NAMES_ZH.items():
        LoanProduct.objects.filter(code=code, name_zh="").update(name_zh=name)


class Migration(migrations.Migration):
    dependencies = [
        ("loans", "0013_collections"),
    ]

    operations = [
        migrations.AddField(
            model_name="loanproduct",
            name="name_zh",
            field=models.CharField(
                blank=True,
                help_text="Shown on Chinese pages; the name when empty.",
                max_length=120,
                verbose_name="name in Chinese",
            ),
        ),
        migrations.CreateModel(
            name="PublicSubmission",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("token", models.CharField(max_length=64, unique=True, verbose_name="submission token")),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True, verbose_name="submitted")),
                (
                    "application",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="public_submission",
                        to="loans.loanapplication",
                        verbose_name="application",
                    ),
                ),
            ],
            options={
                "verbose_name": "public form submission",
                "verbose_name_plural": "public form submissions",
                "default_permissions": (),
            },
        ),
        migrations.RunPython(name_products, migrations.RunPython.noop),
    ]
