"""The risk admin: versioned rule edits, the event page and its handling, the workbench flags."""

import pytest
from django.test import Client

from audit.models import AuditEntry
from loansite.roles import CREDIT_APPROVER, LOAN_OFFICER
from risk.inputs import transaction_input
from risk.models import Alert, Device, RiskEvent, RiskRule, RiskRuleVersion, WatchListEntry
from risk.services.ingest import events_ingest
from tests.risk.factories import at

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def high_event(customer, **extra) -> RiskEvent:
    item, _ = transaction_input(
        {"customer": customer.pk, "amount": "50000", "occurred_at": at().isoformat(), "device": "fp-x", **extra}
    )
    login, _ = transaction_input(
        {"customer": customer.pk, "amount": "1", "occurred_at": at(seconds=-30).isoformat(), "city": "Shanghai"}
    )
    item.city = "Beijing"
    events_ingest(items=[login, item], source="api")
    return RiskEvent.objects.get(customer=customer)


def test_editing_a_rule_in_the_admin_makes_a_new_version(analyst):
    rule = RiskRule.objects.get(code="large_amount")
    url = f"/admin/risk/riskrule/{rule.pk}/change/"
    client = client_for(analyst)
    assert client.get(url).status_code == 200
    data = {
        "name": rule.name,
        "params": '{"min_amount": "20000.00"}',
        "points": 55,
        "enabled": "on",
        "description": "",
        "reason": "fewer false alarms",
        "versions-TOTAL_FORMS": "1",
        "versions-INITIAL_FORMS": "1",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    rule.refresh_from_db()
    assert (rule.version, rule.points, rule.params, rule.updated_by) == (2, 55, {"min_amount": "20000.00"}, analyst)
    assert list(RiskRuleVersion.objects.filter(rule=rule).values_list("version", "points")) == [(2, 55), (1, 50)]
    entry = AuditEntry.objects.get(target_type="risk.riskrule", action="update")
    assert entry.changes["version"] == [1, 2] and entry.reason == "fewer false alarms"


def test_bad_rule_parameters_are_a_form_error_not_a_500(analyst):
    rule = RiskRule.objects.get(code="velocity_10min")
    response = client_for(analyst).post(
        f"/admin/risk/riskrule/{rule.pk}/change/",
        {
            "name": rule.name,
            "params": '{"count": "many"}',
            "points": 30,
            "reason": "x",
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    rule.refresh_from_db()
    assert rule.version == 1


def test_rules_are_never_deleted(analyst, make_user):
    rule = RiskRule.objects.get(code="large_amount")
    admin_user = make_user("root", superuser=True)
    assert client_for(admin_user).get(f"/admin/risk/riskrule/{rule.pk}/delete/").status_code == 403


def test_the_event_page_shows_timeline_analysis_and_handling(analyst, customer):
    event = high_event(customer)
    response = client_for(analyst).get(f"/admin/risk/riskevent/{event.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="risk-timeline"' in html and 'id="form-resolve"' in html and 'id="risk-analysis"' in html
    assert "Call the customer" in html


def test_handling_on_the_event_page_in_order(analyst, customer):
    event = high_event(customer)
    client = client_for(analyst)
    base = f"/admin/risk/riskevent/{event.pk}/handle"
    assert client.post(f"{base}/assign/", {"assign-assignee": analyst.pk}).status_code == 302
    assert client.post(f"{base}/note/", {"note-text": "called the customer"}).status_code == 302
    device = Device.objects.get(fingerprint="fp-x")
    assert (
        client.post(f"{base}/flag_device/", {"flag-device": device.pk, "flag-reason": "not theirs"}).status_code == 302
    )
    assert (
        client.post(
            f"{base}/restrict/", {"restrict-kind": "applications", "restrict-reason": "until checked"}
        ).status_code
        == 302
    )
    assert client.post(f"{base}/watch/", {"watch-reason": "fraud ring"}).status_code == 302
    assert client.post(f"{base}/escalate/", {"escalate-reason": "ring"}).status_code == 302
    assert (
        client.post(f"{base}/resolve/", {"resolve-outcome": "confirmed", "resolve-note": "closed the ring"}).status_code
        == 302
    )
    event.refresh_from_db()
    assert (event.status, event.outcome, event.assignee, event.escalated) == ("resolved", "confirmed", analyst, True)
    kinds = list(event.entries.order_by("created_at", "id").values_list("kind", flat=True))
    assert kinds == ["created", "assigned", "note", "action", "action", "action", "escalated", "resolved"]
    device.refresh_from_db()
    assert device.flagged and device.flagged_by == analyst
    assert WatchListEntry.objects.filter(kind="customer", value=str(customer.pk), active=True).exists()
    assert customer.risk_restrictions.filter(kind="applications", active=True).exists()
    assert set(Alert.objects.filter(event=event).values_list("status", flat=True)) == {"closed"}
    audited = set(AuditEntry.objects.filter(actor=analyst).values_list("target_type", flat=True))
    assert {"risk.riskevent", "risk.device", "risk.watchlistentry", "risk.customerrestriction"} <= audited


def test_a_bad_handling_form_changes_nothing(analyst, customer):
    event = high_event(customer)
    response = client_for(analyst).post(
        f"/admin/risk/riskevent/{event.pk}/handle/resolve/", {"resolve-outcome": "nope"}
    )
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.status == "open"


@pytest.mark.parametrize("role", [CREDIT_APPROVER, LOAN_OFFICER])
def test_only_risk_analysts_handle_events(make_user, customer, role):
    event = high_event(customer)
    user = make_user("other", role=role)
    response = client_for(user).post(f"/admin/risk/riskevent/{event.pk}/handle/note/", {"note-text": "x"})
    assert response.status_code == 403
    assert not event.entries.filter(kind="note").exists()


def test_approvers_see_the_event_page_without_handling(make_user, customer):
    event = high_event(customer)
    response = client_for(make_user("approver", role=CREDIT_APPROVER)).get(f"/admin/risk/riskevent/{event.pk}/change/")
    assert response.status_code == 200
    assert 'id="form-resolve"' not in response.content.decode()


def test_the_workbench_flags_column_and_the_application_page_show_open_events(make_user, customer):
    from tests.loans.factories import ApplicationFactory

    application = ApplicationFactory(customer=customer, status="submitted")
    approver = client_for(make_user("approver", role=CREDIT_APPROVER))
    before = approver.get("/admin/loans/loanapplication/").content.decode()
    assert "large amount" not in before
    event = high_event(customer)
    page = approver.get("/admin/loans/loanapplication/").content.decode()
    # The rules by name, not by code.
    assert "High: another city within an hour, large amount" in page
    detail = approver.get(f"/admin/loans/loanapplication/{application.pk}/change/").content.decode()
    assert 'id="customer-risk-events"' in detail and f"RE-{event.pk}" in detail
    event.status = "resolved"
    event.save()
    assert "large amount" not in approver.get("/admin/loans/loanapplication/").content.decode()


def test_alert_actions(analyst, customer):
    high_event(customer)
    client = client_for(analyst)
    ids = [str(pk) for pk in Alert.objects.values_list("pk", flat=True)]
    response = client.post("/admin/risk/alert/", {"action": "acknowledge", "_selected_action": ids})
    assert response.status_code == 302
    assert set(Alert.objects.values_list("status", flat=True)) == {"acknowledged"}


def test_watch_list_in_the_admin(analyst):
    client = client_for(analyst)
    response = client.post(
        "/admin/risk/watchlistentry/add/", {"kind": "counterparty", "value": "Shell  Co", "reason": "mule"}
    )
    assert response.status_code == 302
    assert WatchListEntry.objects.get().value == "shell co"


def test_list_pages_open_for_analysts(analyst, customer):
    high_event(customer)
    client = client_for(analyst)
    for name in (
        "transaction",
        "loginevent",
        "device",
        "riskevent",
        "alert",
        "riskrule",
        "levelthreshold",
        "watchlistentry",
        "customerrestriction",
        "iprange",
    ):
        assert client.get(f"/admin/risk/{name}/").status_code == 200, name


def test_restrictions_are_answered_and_lifted(analyst, customer):
    from risk.models import CustomerRestriction
    from risk.selectors import customer_is_restricted
    from risk.services.events import customer_restrict, customer_restriction_lift

    assert not customer_is_restricted(customer.pk, "applications")
    restriction = customer_restrict(actor=analyst, customer=customer, kind="applications", reason="checking")
    assert customer_is_restricted(customer.pk, "applications") and not customer_is_restricted(customer.pk, "portal")
    customer_restriction_lift(actor=analyst, restriction=restriction, reason="cleared")
    assert not customer_is_restricted(customer.pk, "applications")
    assert CustomerRestriction.objects.get().lifted_at is not None
