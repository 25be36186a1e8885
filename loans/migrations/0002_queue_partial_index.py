"""The reviewers' queue in submission order without a sort: a partial index on
(submitted_at, id) for pending applications, created where the database supports
partial indexes (SQLite, PostgreSQL). MariaDB has none and uses loan_app_queue_idx.

Not declared in the model's Meta: Django would emit CREATE INDEX ... WHERE on MariaDB
too (a syntax error there) and warn (models.W037) on every check.
"""

from django.db import migrations

INDEX = "loan_app_pending_idx"
TABLE = "loans_loanapplication"


def create(apps, schema_editor):
    if not schema_editor.connection.features.supports_partial_indexes:
        return
    qn = schema_editor.quote_name
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {qn(INDEX)} ON {qn(TABLE)} ({qn('submitted_at')}, {qn('id')}) "
        f"WHERE {qn('status')} IN ('submitted', 'under_review')"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.features.supports_partial_indexes:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(INDEX)}")


class Migration(migrations.Migration):
    dependencies = [("loans", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
