"""Profile, identity change requests (decided by officers in the admin), messages, the admin."""

import datetime
from decimal import Decimal

import pytest

from audit.models import AuditAction, AuditEntry
from customers.models import Customer, PortalAccess, PortalAccount, PortalChangeRequest, PortalLoginFailure
from tests.customers.factories import CustomerFactory, InterestFactory, NeedFactory
from tests.customers.portal.factories import PORTAL_PASSWORD, portal_account_make

pytestmark = pytest.mark.django_db


def test_profile_saves_contact_needs_interests_and_consent(portal_client, customer, account):
    need, interest = NeedFactory(), InterestFactory()
    response = portal_client.post(
        "/portal/profile/",
        {
            "email": "owner@teahouse.example",
            "address": "1 Lake Road",
            "needs": [need.pk],
            "interests": [interest.pk],
            "marketing_consent": "on",
        },
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.email == "owner@teahouse.example" and customer.address == "1 Lake Road"
    assert list(customer.needs.all()) == [need] and list(customer.interests.all()) == [interest]
    assert PortalAccess.objects.get(account=account, customer=customer).marketing_consent is True
    entry = AuditEntry.objects.filter(action=AuditAction.UPDATE, target_type="customers.customer").latest("seq")
    assert entry.actor_id is None and entry.actor_repr == f"portal:{account.pk}"


def test_profile_never_writes_identity_fields(portal_client, customer):
    name = customer.name
    portal_client.post("/portal/profile/", {"email": "a@b.example", "name": "Renamed Ltd", "credit_code": "X"})
    customer.refresh_from_db()
    assert customer.name == name


def test_identity_change_goes_to_an_officer_and_is_written_only_on_approval(
    portal_client, customer, make_user, client_factory
):
    old_name = customer.name
    response = portal_client.post("/portal/profile/change-request/", {"name": "Teahouse Group Ltd", "note": "renamed"})
    assert response.status_code == 302
    request = PortalChangeRequest.objects.get(customer=customer)
    assert request.status == "pending" and request.changes == {"name": "Teahouse Group Ltd"}
    customer.refresh_from_db()
    assert customer.name == old_name  # not written straight into the record

    admin = make_user("portal-admin", role="Administrator")
    staff = client_factory()
    staff.force_login(admin)
    changelist = "/admin/customers/portalchangerequest/"
    assert staff.get(changelist).status_code == 200
    response = staff.post(changelist, {"action": "approve_selected", "_selected_action": [request.pk], "reason": ""})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.name == "Teahouse Group Ltd"
    request.refresh_from_db()
    assert request.status == "approved" and request.decided_by == admin
    assert AuditEntry.objects.filter(action=AuditAction.APPROVE, target_type="customers.portalchangerequest").exists()
    # The customer finds the decision under Messages.
    assert "approved" in portal_client.get("/portal/messages/").content.decode()


def test_rejection_needs_a_reason(customer, make_user, client_factory):
    account = portal_account_make(customer)
    request = PortalChangeRequest.objects.create(customer=customer, account=account, changes={"name": "X Ltd"})
    staff = client_factory()
    staff.force_login(make_user("portal-admin2", role="Administrator"))
    url = "/admin/customers/portalchangerequest/"
    staff.post(url, {"action": "reject_selected", "_selected_action": [request.pk], "reason": ""})
    request.refresh_from_db()
    assert request.status == "pending"
    staff.post(url, {"action": "reject_selected", "_selected_action": [request.pk], "reason": "No proof given"})
    request.refresh_from_db()
    assert request.status == "rejected" and request.reason == "No proof given"


def test_officer_decides_only_requests_of_their_book(customer, make_user, client_factory):
    account = portal_account_make(customer)
    other_manager_customer = CustomerFactory()
    from tests.customers.factories import ManagerFactory

    other_manager_customer.manager = ManagerFactory()
    other_manager_customer.save()
    request = PortalChangeRequest.objects.create(
        customer=other_manager_customer, account=account, changes={"name": "Not yours Ltd"}
    )
    staff = client_factory()
    staff.force_login(make_user("portal-officer", role="Loan officer"))
    url = "/admin/customers/portalchangerequest/"
    assert staff.get(f"{url}{request.pk}/change/").status_code == 404
    staff.post(url, {"action": "approve_selected", "_selected_action": [request.pk], "reason": ""})
    request.refresh_from_db()
    assert request.status == "pending"
    assert Customer.objects.get(pk=other_manager_customer.pk).name != "Not yours Ltd"


def test_messages_show_reminders_sent_to_this_customer_only(portal_client, customer):
    from loans.models import Installment
    from loans.models.delinquency import Reminder
    from tests.loans.factories import LoanFactory

    def reminder_for(cust, subject):
        loan = LoanFactory(application__customer=cust)
        installment = Installment.objects.create(
            loan=loan,
            schedule_version=1,
            number=1,
            period_start=datetime.date(2025, 1, 15),
            due_date=datetime.date(2025, 2, 15),
            pay_date=datetime.date(2025, 2, 15),
            days=31,
            principal=Decimal("100.00"),
            interest=Decimal("1.00"),
        )
        return Reminder.objects.create(
            installment=installment,
            loan=loan,
            date=datetime.date(2025, 2, 12),
            kind="before_due",
            channel="sms",
            status="sent",
            subject=subject,
            body="Please pay 101.00 by 2025-02-15.",
        )

    reminder_for(customer, "Instalment due soon")
    reminder_for(CustomerFactory(), "Someone else's reminder")
    page = portal_client.get("/portal/messages/").content.decode()
    assert "Instalment due soon" in page
    assert "Someone else" not in page


def test_admin_unlocks_and_deactivates_accounts_audited(client, customer, make_user, client_factory, settings):
    settings.AXES_FAILURE_LIMIT = 2
    account = portal_account_make(customer)
    for _ in range(2):
        client.post("/portal/login/", {"login": account.phone, "password": "wrong-password-x"})
    assert client.post("/portal/login/", {"login": account.phone, "password": PORTAL_PASSWORD}).status_code == 429
    staff = client_factory()
    staff.force_login(make_user("portal-admin3", role="Administrator"))
    url = "/admin/customers/portalaccount/"
    page = staff.get(url).content.decode()
    assert account.password not in page and account.security_stamp not in page
    staff.post(url, {"action": "unlock_selected", "_selected_action": [account.pk]})
    assert not PortalLoginFailure.objects.exists()
    assert client.post("/portal/login/", {"login": account.phone, "password": PORTAL_PASSWORD}).status_code == 302
    staff.post(url, {"action": "deactivate_selected", "_selected_action": [account.pk]})
    assert PortalAccount.objects.get(pk=account.pk).is_active is False
    assert client.get("/portal/").status_code == 302  # the running session ended
    assert AuditEntry.objects.filter(target_type="customers.portalaccount", action=AuditAction.UPDATE).count() == 2


def test_officer_cannot_open_the_portal_accounts_admin(make_user, client_factory):
    staff = client_factory()
    staff.force_login(make_user("portal-officer2", role="Loan officer"))
    assert staff.get("/admin/customers/portalaccount/").status_code == 403


@pytest.fixture
def client_factory():
    from django.test import Client

    return Client


def test_requested_id_number_is_masked_without_full_identifiers_and_audited_when_shown(
    customer, make_user, client_factory
):
    account = portal_account_make(customer)
    new_id = "110101199003071234"
    request = PortalChangeRequest.objects.create(customer=customer, account=account, changes={"id_number": new_id})
    url = f"/admin/customers/portalchangerequest/{request.pk}/change/"
    auditor = client_factory()
    auditor.force_login(make_user("portal-auditor", role="Auditor"))
    page = auditor.get(url).content.decode()
    assert new_id not in page and "110***********1234" in page
    admin = client_factory()
    admin.force_login(make_user("portal-admin4", role="Administrator"))
    assert new_id in admin.get(url).content.decode()
    assert AuditEntry.objects.filter(
        action=AuditAction.EXPORT, target_type="customers.portalchangerequest", target_id=str(request.pk)
    ).exists()


def test_admin_phone_search_keeps_the_list_filters(customer, make_user, client_factory):
    active = portal_account_make(customer, username="still-active")
    staff = client_factory()
    staff.force_login(make_user("portal-admin-search", role="Administrator"))
    url = "/admin/customers/portalaccount/"
    found = staff.get(url, {"q": active.phone}).content.decode()
    assert "still-active" in found
    inactive_only = staff.get(url, {"q": active.phone, "is_active__exact": "0"}).content.decode()
    assert "still-active" not in inactive_only


def test_an_approved_phone_change_moves_the_requesting_accounts_login_phone(customer, account, make_user):
    from customers.portal.services import (
        portal_account_by_login,
        portal_change_request_create,
        portal_change_request_decide,
    )

    old_phone, new_phone = account.phone, "13911112222"
    other = portal_account_make(CustomerFactory(), username="other-person")
    request = portal_change_request_create(account=account, customer=customer, changes={"phone": new_phone})

    portal_change_request_decide(actor=make_user("rm-admin", role="Administrator"), request=request, approve=True)

    account.refresh_from_db()
    assert account.phone == new_phone
    # Reset codes and sign-in follow the new number; the number given up names no one.
    assert portal_account_by_login(new_phone) == account
    assert portal_account_by_login(old_phone) is None
    other.refresh_from_db()
    assert other.phone != new_phone
    entry = AuditEntry.objects.get(action=AuditAction.UPDATE, target_type="customers.portalaccount")
    assert "phone" in entry.changes and new_phone not in str(entry.changes)


def test_an_account_with_a_phone_of_its_own_keeps_it(customer, make_user):
    from customers.portal.services import portal_change_request_create, portal_change_request_decide

    own = PortalAccount(phone="13722223333", username="own-phone")
    own.set_password(PORTAL_PASSWORD)
    own.save()
    PortalAccess.objects.create(account=own, customer=customer)
    request = portal_change_request_create(account=own, customer=customer, changes={"phone": "13911114444"})

    portal_change_request_decide(actor=make_user("rm-admin", role="Administrator"), request=request, approve=True)

    own.refresh_from_db()
    assert own.phone == "13722223333"


def _decided(customer, account, *, at, status="approved", reason="Checked."):
    return PortalChangeRequest.objects.create(
        customer=customer,
        account=account,
        changes={"email": "x@shop.example"},
        status=status,
        decided_at=at,
        reason=reason,
    )


def _menu_count(page: str) -> str | None:
    import re

    found = re.search(r'class="nav-count">(\d+)<', page)
    return found.group(1) if found else None


def test_new_messages_are_counted_in_the_menu_until_the_customer_opens_them(portal_client, customer, account):
    from django.utils import timezone

    now = timezone.now()
    assert _menu_count(portal_client.get("/portal/").content.decode()) is None  # nothing sent yet
    _decided(customer, account, at=now - datetime.timedelta(days=2))
    _decided(customer, account, at=now - datetime.timedelta(days=1), status="rejected", reason="No proof given")
    assert _menu_count(portal_client.get("/portal/").content.decode()) == "2"
    page = portal_client.get("/portal/messages/").content.decode()
    assert page.count('class="message-new"') == 2
    assert _menu_count(page) is None  # shown now, so no longer new
    access = PortalAccess.objects.get(account=account, customer=customer)
    assert access.messages_seen_at == now - datetime.timedelta(days=1)
    assert AuditEntry.objects.filter(target_type="customers.portalaccess", action=AuditAction.UPDATE).count() == 1
    # Opened again: nothing new, nothing moved, nothing audited.
    assert 'class="message-new"' not in portal_client.get("/portal/messages/").content.decode()
    assert AuditEntry.objects.filter(target_type="customers.portalaccess", action=AuditAction.UPDATE).count() == 1
    # A later decision is new again, and only that one.
    _decided(customer, account, at=now)
    assert _menu_count(portal_client.get("/portal/").content.decode()) == "1"
    assert portal_client.get("/portal/messages/").content.decode().count('class="message-new"') == 1


def test_seen_messages_are_kept_per_customer_of_the_account(customer, account):
    from django.utils import timezone

    from customers.portal.selectors_accounts import portal_messages_unread
    from customers.portal.services import portal_messages_seen

    other = CustomerFactory()
    PortalAccess.objects.create(account=account, customer=other)
    now = timezone.now()
    _decided(customer, account, at=now)
    _decided(other, account, at=now)
    assert portal_messages_seen(account=account, customer=customer, up_to=now)
    assert portal_messages_unread(account=account, customer=customer) == 0
    assert portal_messages_unread(account=account, customer=other) == 1
    # Never moves back.
    assert not portal_messages_seen(account=account, customer=customer, up_to=now - datetime.timedelta(days=1))
    assert PortalAccess.objects.get(account=account, customer=customer).messages_seen_at == now
