"""The applicant's answer to a counter-offer.

On SQLite the new NOT NULL column rebuilds the applications table, which drops the partial
indexes of the queue (0002) and of the workbench (0023): they are created again at the end
(and at the start when going back).
"""

from importlib import import_module

from django.db import migrations, models

_queue_index = import_module("loans.migrations.0002_queue_partial_index")
_workbench_index = import_module("loans.migrations.0023_workbench_queue_index")


def _partial_indexes_create(apps, schema_editor):
    _queue_index.create(apps, schema_editor)
    _workbench_index.create(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("loans", "0025_beat_application_days"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, _partial_indexes_create),
        migrations.AddField(
            model_name="loanapplication",
            name="offer_responded_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="counter-offer answered"),
        ),
        migrations.AddField(
            model_name="loanapplication",
            name="offer_response",
            field=models.CharField(
                blank=True,
                choices=[
                    ("pending", "Waiting for the applicant's answer"),
                    ("accepted", "Accepted by the applicant"),
                    ("declined", "Declined by the applicant"),
                ],
                max_length=8,
                verbose_name="answer to the counter-offer",
            ),
        ),
        migrations.RunPython(_partial_indexes_create, migrations.RunPython.noop),
    ]
