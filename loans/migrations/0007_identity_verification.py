"""Identity verification of public applications: the pending_verification status, the
applicant's details and the customer on file kept on the application, a customer only
once verified, the verify-identity permission and its decision kinds.

On SQLite the column changes rebuild the table, which drops the queue's partial index
(created outside the model state by 0002): it is created again at the end.
"""

from importlib import import_module

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


_queue_index = import_module("loans.migrations.0002_queue_partial_index")


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0005_permissions_history_rating"),
        ("loans", "0006_permissions_history_rating"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="loanapplication",
            options={
                "ordering": ["-created_at"],
                "permissions": [
                    ("submit_loanapplication", "Can submit loan applications"),
                    ("review_loanapplication", "Can review loan applications"),
                    ("approve_loanapplication", "Can approve or reject loan applications"),
                    ("import_loanapplication", "Can import loan applications"),
                    ("export_loanapplication", "Can export loan applications"),
                    ("import_history_loanapplication", "Can import application history in decided states"),
                    ("verify_identity_loanapplication", "Can verify the identity behind public applications"),
                ],
                "verbose_name": "loan application",
                "verbose_name_plural": "loan applications",
            },
        ),
        migrations.AddField(
            model_name="loanapplication",
            name="claimed_identity",
            field=models.JSONField(blank=True, default=dict, verbose_name="details given by the applicant"),
        ),
        migrations.AddField(
            model_name="loanapplication",
            name="identity_match",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="customers.customer",
                verbose_name="customer on file to verify against",
            ),
        ),
        migrations.AlterField(
            model_name="approvaldecision",
            name="kind",
            field=models.CharField(
                choices=[
                    ("review", "Started review"),
                    ("approve", "Approved"),
                    ("reject", "Rejected"),
                    ("return", "Returned for information"),
                    ("withdraw", "Withdrawn"),
                    ("cancel", "Cancelled"),
                    ("verify_identity", "Identity verified"),
                    ("reject_identity", "Rejected: identity not verified"),
                ],
                max_length=16,
                verbose_name="decision",
            ),
        ),
        migrations.AlterField(
            model_name="loanapplication",
            name="customer",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="applications",
                to="customers.customer",
                verbose_name="customer",
            ),
        ),
        migrations.AlterField(
            model_name="loanapplication",
            name="status",
            field=models.CharField(
                choices=[
                    ("draft", "Draft"),
                    ("pending_verification", "Pending identity verification"),
                    ("submitted", "Submitted"),
                    ("under_review", "Under review"),
                    ("returned_for_info", "Returned for information"),
                    ("approved", "Approved"),
                    ("rejected", "Rejected"),
                    ("withdrawn", "Withdrawn"),
                    ("cancelled", "Cancelled"),
                    ("disbursed", "Disbursed"),
                ],
                default="draft",
                max_length=20,
                verbose_name="status",
            ),
        ),
        migrations.AddConstraint(
            model_name="loanapplication",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("customer__isnull", False),
                    ("status__in", ["pending_verification", "rejected", "withdrawn"]),
                    _connector="OR",
                ),
                name="loan_application_customer_unless_unverified",
            ),
        ),
        migrations.AddConstraint(
            model_name="loanapplication",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "pending_verification"), _negated=True),
                    ("customer__isnull", True),
                    _connector="OR",
                ),
                name="loan_application_unverified_has_no_customer",
            ),
        ),
        migrations.RunPython(_queue_index.create, migrations.RunPython.noop),
    ]
