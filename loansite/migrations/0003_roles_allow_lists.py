from django.db import migrations


def resync_roles(apps, schema_editor):
    """Set each role to exactly its explicit allow-list (no more patterns).

    Removes what the patterns had matched beyond the lists (for the auditor: the JWT token
    tables, sessions, content types, admin log) and anything granted to a role by hand.
    """
    from django.contrib.auth.management import create_permissions

    from loansite.roles import roles_sync

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    roles_sync(
        group_model=apps.get_model("auth", "Group"),
        permission_model=apps.get_model("auth", "Permission"),
        exact=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("loansite", "0002_roles_resync"),
        ("audit", "0003_verify_schedule"),
        ("customers", "0005_permissions_history_rating"),
        ("loans", "0006_permissions_history_rating"),
        ("scoring", "0003_score_lean_indexes"),
    ]

    operations = [migrations.RunPython(resync_roles, migrations.RunPython.noop)]
