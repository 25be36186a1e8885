import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("loans", "0014_application_snapshot"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
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
                    ("reopen", "Reopened for review"),
                ],
                max_length=16,
                verbose_name="decision",
            ),
        ),
        migrations.CreateModel(
            name="AutomatedDecision",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("review_round", models.PositiveSmallIntegerField(verbose_name="review round")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("approved", "Approved straight through"),
                            ("declined", "Declined automatically"),
                            ("recommend_decline", "Decline recommended"),
                            ("referred", "Referred to a reviewer"),
                        ],
                        max_length=20,
                        verbose_name="decision",
                    ),
                ),
                ("rules", models.JSONField(blank=True, default=list, verbose_name="rules hit")),
                ("checks", models.JSONField(blank=True, default=list, verbose_name="checks")),
                ("score_points", models.IntegerField(blank=True, null=True, verbose_name="score points")),
                ("score_grade", models.CharField(blank=True, max_length=1, verbose_name="grade")),
                (
                    "score_probability",
                    models.DecimalField(
                        decimal_places=4, max_digits=6, null=True, verbose_name="probability of default"
                    ),
                ),
                ("score_model_version", models.CharField(blank=True, max_length=64, verbose_name="model version")),
                ("actor_label", models.CharField(max_length=64, verbose_name="decided by")),
                ("sampled", models.BooleanField(default=False, verbose_name="sampled for review")),
                (
                    "review_status",
                    models.CharField(
                        choices=[
                            ("none", "Not sampled"),
                            ("pending", "Sampled: awaiting review"),
                            ("confirmed", "Reviewed: confirmed"),
                            ("reopened", "Reopened"),
                        ],
                        default="none",
                        max_length=16,
                        verbose_name="review",
                    ),
                ),
                ("reviewed_at", models.DateTimeField(blank=True, null=True, verbose_name="reviewed")),
                ("review_note", models.TextField(blank=True, verbose_name="review note")),
                ("reopen_until", models.DateTimeField(blank=True, null=True, verbose_name="reopenable until")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="decided")),
                (
                    "application",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="automated_decisions",
                        to="loans.loanapplication",
                        verbose_name="application",
                    ),
                ),
                (
                    "reviewed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="reviewed by",
                    ),
                ),
            ],
            options={
                "verbose_name": "automated decision",
                "verbose_name_plural": "automated decisions",
                "ordering": ["-created_at", "-id"],
                "permissions": [("review_automateddecision", "Can review and reopen automated decisions")],
                "indexes": [models.Index(fields=["review_status", "created_at"], name="loans_auto_review_idx")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("application", "review_round"), name="loans_one_automated_per_round"
                    )
                ],
            },
        ),
    ]
