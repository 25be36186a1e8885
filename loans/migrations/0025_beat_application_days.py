from django.db import migrations

NAME = "Loans: dashboard application sums (every 10 minutes)"
SWEEP = "Loans: stored document files without a document (nightly)"


def schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="*/10", hour="*", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Shanghai"
    )
    PeriodicTask.objects.get_or_create(
        name=NAME, defaults={"task": "loans.application_days_refresh", "crontab": crontab, "enabled": True}
    )
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="40", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Shanghai"
    )
    PeriodicTask.objects.get_or_create(
        name=SWEEP, defaults={"task": "loans.documents_orphans_sweep", "crontab": nightly, "enabled": True}
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[NAME, SWEEP]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("loans", "0024_application_days"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
