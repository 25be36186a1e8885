"""Writes to what the dashboard counts bump its cache version (the figures are recomputed).

Every write statement to a watched table counts, whatever sends it: ``save()`` and ``delete()``,
a queryset's ``update()``, ``bulk_create``, and the raw set-wise SQL of the daily close. A
database execute wrapper (installed on every new connection) reads the statement's target
table; the version is bumped once per transaction, after it commits (never for a rollback),
or at once outside a transaction. Reads cost one character comparison.
"""

import re

from django.db import connections
from django.db.backends.signals import connection_created

from loansite.dashboard.selectors import dashboard_invalidate

WATCHED = (
    "loans.LoanApplication",
    "loans.Loan",
    "loans.LoanDaySnapshot",
    "loans.PortfolioDay",
    "loans.PortfolioVintage",
    "loans.PortfolioRoll",
    "loans.PortfolioMix",
    "loans.ApplicationDay",
    "loans.ApplicationDaysSummed",
    "risk.RiskEvent",
    "scoring.ModelVersion",
    "scoring.Backtest",
    "scoring.TrainingRun",
    "scoring.ScoringRun",
    "customers.Customer",
    "customers.Assignment",
    "customers.MatchingRun",
)
_TARGET = re.compile(
    r"\s*(?:INSERT(?:\s+OR\s+\w+)?(?:\s+IGNORE)?\s+INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO)\s+[`\"]?(\w+)",
    re.IGNORECASE,
)
_WRITES = frozenset("IUDRiudr")
_tables: frozenset[str] = frozenset()


def written_table(sql: str) -> str | None:
    """The table a write statement changes (None for reads and anything else)."""
    head = sql.lstrip()[:1]
    if head not in _WRITES:
        return None
    match = _TARGET.match(sql)
    return match.group(1).lower() if match else None


def _bump_after_commit(connection) -> None:
    if not connection.in_atomic_block:
        dashboard_invalidate()
        return
    for _sids, func, _robust in connection.run_on_commit:
        if func is dashboard_invalidate:
            return  # already due when this transaction commits
    connection.on_commit(dashboard_invalidate)


def _watch(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    table = written_table(sql) if isinstance(sql, str) else None
    if table is not None and table in _tables:
        _bump_after_commit(context["connection"])
    return result


def _install(connection, **kwargs) -> None:
    if _watch not in connection.execute_wrappers:
        connection.execute_wrappers.append(_watch)


def connect() -> None:
    global _tables
    from django.apps import apps

    _tables = frozenset(apps.get_model(label)._meta.db_table.lower() for label in WATCHED)
    connection_created.connect(_install, dispatch_uid="dashboard.watch_writes")
    for connection in connections.all(initialized_only=True):
        _install(connection)
