"""Starting a review, returning for information and verifying an identity are steps of a
review, not final decisions: the history written before said "final" for them."""

from django.db import migrations

STEPS = ("review", "return", "verify_identity")


def steps_not_final(apps, schema_editor):
    ApprovalDecision = apps.get_model("loans", "ApprovalDecision")
    ApprovalDecision.objects.filter(kind__in=STEPS, final=True).update(final=False)


class Migration(migrations.Migration):
    dependencies = [
        ("loans", "0019_close_defaults"),
    ]

    operations = [
        migrations.RunPython(steps_not_final, migrations.RunPython.noop, elidable=True),
    ]
