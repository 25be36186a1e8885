from django.db import migrations


def resync_roles(apps, schema_editor):
    """Set each role to exactly its patterns again (credit lines moved from officers to approvers)."""
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
        ("loansite", "0001_roles"),
        ("customers", "0004_import_jobs"),
    ]

    operations = [migrations.RunPython(resync_roles, migrations.RunPython.noop)]
