from django.db import migrations, models


class Migration(migrations.Migration):
    """Bank statements are an import kind of their own; an upload keeps the options chosen with it."""

    dependencies = [
        ("customers", "0009_reference_data"),
    ]

    operations = [
        migrations.AlterField(
            model_name="importupload",
            name="kind",
            field=models.CharField(
                choices=[
                    ("customers", "Customers"),
                    ("applications", "Loan applications"),
                    ("statements", "Bank statements"),
                ],
                max_length=16,
                verbose_name="kind",
            ),
        ),
        migrations.AlterField(
            model_name="importjob",
            name="kind",
            field=models.CharField(
                choices=[
                    ("customers", "Customers"),
                    ("applications", "Loan applications"),
                    ("statements", "Bank statements"),
                ],
                default="customers",
                max_length=16,
                verbose_name="kind",
            ),
        ),
        migrations.AddField(
            model_name="importupload",
            name="options",
            field=models.JSONField(blank=True, default=dict, verbose_name="import options"),
        ),
    ]
