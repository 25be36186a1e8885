"""The workbench's default view in submission order without a sort: a partial index on
(submitted_at, id) for the applications reviewers and officers still have to act on
(submitted, under review, returned for information), where the database supports partial
indexes (SQLite, PostgreSQL). Migration 0002's index covers only the reviewers' queue
(submitted, under review); since the workbench also lists returned applications, SQLite
walked the whole submission-date index for them. MariaDB has no partial indexes and uses
loan_app_queue_idx.
"""

from django.db import migrations

INDEX = "loan_app_workbench_idx"
TABLE = "loans_loanapplication"


def create(apps, schema_editor):
    if not schema_editor.connection.features.supports_partial_indexes:
        return
    qn = schema_editor.quote_name
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {qn(INDEX)} ON {qn(TABLE)} ({qn('submitted_at')}, {qn('id')}) "
        f"WHERE {qn('status')} IN ('submitted', 'under_review', 'returned_for_info')"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.features.supports_partial_indexes:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(INDEX)}")


class Migration(migrations.Migration):
    dependencies = [("loans", "0022_row_scoping")]

    operations = [migrations.RunPython(create, drop)]
