"""A risk analyst handles a high risk event in a real browser: open, assign, note, resolve."""

import pytest

from loansite import roles
from risk.inputs import transaction_input
from risk.models import RiskEvent
from risk.services.ingest import events_ingest
from tests.risk.factories import CustomerFactory, at, risk_defaults_write

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _default_rules(transactional_db):
    """The seed's rules as the migration wrote them: an earlier browser test's flush removes them."""
    risk_defaults_write()


def test_an_analyst_handles_a_high_event(page, admin_login, make_user):
    make_user("analyst1", role=roles.RISK_ANALYST)
    customer = CustomerFactory(name="West Lake Trading")
    home, _ = transaction_input(
        {"customer": customer.pk, "amount": "80.00", "occurred_at": at().isoformat(), "city": "Hangzhou"}
    )
    away, _ = transaction_input(
        {"customer": customer.pk, "amount": "25000.00", "occurred_at": at(minutes=15).isoformat(), "city": "Kashgar"}
    )
    events_ingest(items=[home, away], source="api")
    event = RiskEvent.objects.get(customer=customer)
    assert event.level == "high"

    admin_login("analyst1")
    page.goto("/admin/risk/riskevent/?level__exact=high")
    page.get_by_role("link", name=f"RE-{event.pk}").click()
    page.locator("#risk-timeline").wait_for()
    assert "Created" in page.locator("#risk-timeline").inner_text()
    assert "Call the customer" in page.locator("#risk-analysis").inner_text()

    page.select_option("#id_assign-assignee", label="analyst1")
    page.locator("#form-assign input[type=submit]").click()
    page.locator(".messagelist").wait_for()
    assert "Assigned to analyst1" in page.locator(".messagelist").inner_text()

    page.fill("#id_note-text", "Called the customer: the Kashgar payment was not theirs.")
    page.locator("#form-note input[type=submit]").click()
    page.locator(".messagelist").wait_for()
    assert "Kashgar payment was not theirs" in page.locator("#risk-timeline").inner_text()

    page.select_option("#id_resolve-outcome", value="confirmed")
    page.fill("#id_resolve-note", "Card blocked, customer informed.")
    page.locator("#form-resolve input[type=submit]").click()
    page.locator(".messagelist").wait_for()
    assert "Resolved" in page.locator(".messagelist").inner_text()
    assert page.locator("#form-resolve").count() == 0  # nothing left to handle

    event.refresh_from_db()
    assert (event.status, event.outcome, event.assignee.username) == ("resolved", "confirmed", "analyst1")
    kinds = list(event.entries.order_by("created_at", "id").values_list("kind", flat=True))
    assert kinds == ["created", "assigned", "note", "resolved"]
