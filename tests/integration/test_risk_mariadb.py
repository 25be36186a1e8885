"""Risk ingestion on MariaDB: the multi-row INSERT ... RETURNING, new devices, events opened in
bulk with their audit entries, rows linked to their events, and a repeated external id."""

import pytest

from audit.models import AuditEntry
from risk.inputs import transaction_input
from risk.models import Alert, Device, DeviceCustomer, RiskEvent, Transaction
from risk.services.ingest import events_ingest
from tests.risk.factories import CustomerFactory, at, risk_defaults_write

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _default_rules(transactional_db):
    """The seed's rules as the migration wrote them: an earlier test's flush removes them."""
    risk_defaults_write()


@pytest.mark.django_db(transaction=True)
def test_a_batch_on_mariadb():
    customers = CustomerFactory.create_batch(30)
    items = []
    for i in range(600):
        raw = {
            "external_id": f"maria-{i}",
            "customer": customers[i % 30].pk,
            "amount": "12000.00" if i % 40 == 0 else "35.10",
            "occurred_at": at(seconds=i).isoformat(),
            "device": f"maria-dev-{i % 45}",
            "ip": f"10.2.0.{i % 200 + 1}",
            "city": "Hangzhou",
        }
        item, errors = transaction_input(raw)
        assert not errors
        items.append(item)
    outcomes = events_ingest(items=items, source="api")
    assert len({o.id for o in outcomes}) == 600 and all(o.id for o in outcomes)
    stored = dict(Transaction.objects.values_list("external_id", "id"))
    assert all(stored[f"maria-{i}"] == outcome.id for i, outcome in enumerate(outcomes))
    assert Device.objects.filter(fingerprint__startswith="maria-dev-").count() == 45
    assert DeviceCustomer.objects.count() == len({(i % 45, i % 30) for i in range(600)})
    large = [o for o in outcomes if o.level != "low"]
    assert large and all(o.event_id for o in large)
    events = RiskEvent.objects.all()
    assert events.count() == len({items[o.index].customer_id for o in large})
    assert Alert.objects.count() == events.count()
    assert AuditEntry.objects.filter(target_type="risk.riskevent", action="create").count() == events.count()
    linked = Transaction.objects.filter(event__isnull=False).count()
    assert linked == sum(1 for o in outcomes if o.event_id)
    again = events_ingest(items=items[:10], source="api")
    assert all(o.duplicate for o in again) and Transaction.objects.count() == 600
