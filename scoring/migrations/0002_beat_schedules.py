"""Beat schedules: weekly retraining of each model kind, pending applications scored every
five minutes. Rows in django-celery-beat's tables, so ops edit them in the admin."""

import json

from django.db import migrations

RETRAIN = [("approval", 0), ("pd", 20), ("limit", 40)]  # kind, minute past 02:00 on Sundays


def create(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    every5, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.get_or_create(
        name="scoring: score pending applications",
        defaults={"task": "scoring.batch_score", "interval": every5, "kwargs": json.dumps({"scope": "pending"})},
    )
    for kind, minute in RETRAIN:
        cron, _ = CrontabSchedule.objects.get_or_create(
            minute=str(minute), hour="2", day_of_week="0", day_of_month="*", month_of_year="*", timezone="Asia/Shanghai"
        )
        PeriodicTask.objects.get_or_create(
            name=f"scoring: weekly retrain ({kind})",
            defaults={"task": "scoring.model_train", "crontab": cron, "kwargs": json.dumps({"kind": kind})},
        )


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__startswith="scoring: ").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
