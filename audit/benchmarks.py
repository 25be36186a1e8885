from django.db import connection, transaction

from audit.models import AuditEntry
from audit.selectors import audit_chain_verify
from audit.services import audit_record
from loansite.bench import Figure, Timer, benchmark


@benchmark(name="audit", order=5)
def bench_audit(ctx) -> list[Figure]:
    n = ctx.n(20_000)
    changes = {"status": ["submitted", "under_review"], "amount": "150000.00"}

    with Timer() as chained:
        for i in range(n):
            with transaction.atomic():
                audit_record(action="transition", target=("loans.loanapplication", i, f"APP-{i}"), changes=changes)

    # Baseline: the same rows as plain inserts, one transaction each, no lock, no hash.
    table = connection.ops.quote_name("bench_plain_audit")
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, action VARCHAR(32), target VARCHAR(100), changes TEXT)"
        )
    with Timer() as plain:
        for i in range(n):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {table} (action, target, changes) VALUES (%s, %s, %s)",
                    ["transition", f"loans.loanapplication:{i}", str(changes)],
                )

    with Timer() as verify:
        report = audit_chain_verify()
    assert report.ok, report.problems
    with Timer() as scan:
        for _row in AuditEntry.objects.order_by("seq").values_list("hash", "changes").iterator(chunk_size=5000):
            pass
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {table}")
    return [
        Figure(
            "audit_record, one transaction each",
            n / chained.seconds,
            "entries/s",
            "plain INSERT per transaction",
            n / plain.seconds,
        ),
        Figure(
            "verify_audit over the chain",
            report.checked / verify.seconds,
            "entries/s",
            "reading the same rows",
            report.checked / scan.seconds,
        ),
    ]
