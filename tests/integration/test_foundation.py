import threading

import pytest
from django.db import connection, connections

from audit.models import AuditEntry, AuditHead
from audit.selectors import audit_chain_verify
from audit.services import audit_record
from audit.tasks import audit_verify_chain

pytestmark = pytest.mark.integration


def test_runs_on_mariadb():
    assert connection.vendor == "mysql"


@pytest.mark.django_db(transaction=True)
def test_task_round_trip_through_real_broker_and_worker(celery_worker, settings):
    from tests.integration.conftest import _worker_anchor

    # One anchor file shared by every machine, as the README's multi-machine set-up has it:
    # the entries this process commits advance the file the worker's check reads.
    settings.AUDIT_ANCHOR_FILE = _worker_anchor[-1]
    for i in range(3):
        audit_record(action="system", target=("loans.loanapplication", i, f"APP-{i}"))
    result = audit_verify_chain.delay().get(timeout=60)
    # The worker is another process: it read the three committed entries from MariaDB.
    assert result == {"ok": True, "checked": 3, "head_seq": 3, "problems": []}


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_do_not_fork_the_chain():
    threads, per_thread, errors = 8, 25, []
    AuditHead.objects.get_or_create(pk=1)  # as the migration left it (the test flush removes it)

    def writer(n):
        try:
            for i in range(per_thread):
                audit_record(action="update", target=("customers.customer", f"{n}-{i}", "c"))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, threads * per_thread + 1))
    assert AuditEntry.objects.values("prev_hash").distinct().count() == threads * per_thread
    assert audit_chain_verify().ok


@pytest.mark.django_db(transaction=True)
def test_raw_sql_edit_is_caught_on_mariadb():
    for i in range(5):
        audit_record(action="update", target=("customers.customer", i, "c"), changes={"limit": ["1.00", "2.00"]})
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET reason = 'nothing happened' WHERE seq = 3")
    report = audit_chain_verify()
    assert not report.ok
    assert (report.problems[0].seq, report.problems[0].kind) == (3, "edited")
