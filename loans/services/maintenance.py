"""Keeping the workbench queries fast as the application table grows."""

from django.db import connection

from loans.models import ApprovalDecision, LoanApplication


def application_tables_analyze() -> list[str]:
    """Refresh the query planner's statistics of the loans tables.

    SQLite prefers the pending-queue partial index only once it has statistics; without
    them it sorts every pending row for one page. ``analysis_limit`` keeps the run short
    on large tables (approximate statistics are enough for the planner).
    """
    tables = [LoanApplication._meta.db_table, ApprovalDecision._meta.db_table]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit = 2000")
            for table in tables:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
        elif connection.vendor == "mysql":
            for table in tables:
                cursor.execute(f"ANALYZE TABLE {connection.ops.quote_name(table)}")
                cursor.fetchall()
        elif connection.vendor == "postgresql":
            for table in tables:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    return tables
