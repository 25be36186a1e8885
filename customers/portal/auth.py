"""Who is signed in to the customer portal, and as which customer.

The portal keeps its own keys in the Django session (never ``_auth_user_id``: a portal
session is not a staff session): the account id, a keyed hash of the account's security
stamp and password, the customer selected and the time of the last request. A session ends
after ``PORTAL_IDLE_SECONDS`` without a request, when the account's password or stamp
changes, when it is deactivated, and when one of its customers is frozen by a risk analyst.

Views: ``@portal_login_required`` sets ``request.portal_account`` and
``request.portal_customer``. API views (``customers.portal.api_auth``) call
:func:`portal_customer`.
"""

import functools
import time

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.functional import SimpleLazyObject
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from audit import context as audit_context

SESSION_ACCOUNT = "_portal_account_id"
SESSION_STAMP = "_portal_stamp"
SESSION_CUSTOMER = "_portal_customer_id"
SESSION_SEEN = "_portal_last_seen"
SESSION_KEYS = (SESSION_ACCOUNT, SESSION_STAMP, SESSION_CUSTOMER, SESSION_SEEN)
CUSTOMER_HEADER = "X-Customer-Id"


def portal_idle_seconds() -> int:
    return int(getattr(settings, "PORTAL_IDLE_SECONDS", 15 * 60))


def account_stamp(account) -> str:
    """What a valid session or token of ``account`` carries: changes with the password, the
    security stamp and the active flag."""
    material = f"{account.pk}|{account.security_stamp}|{int(account.is_active)}|{account.password}"
    return salted_hmac("customers.portal.stamp", material, algorithm="sha256").hexdigest()[:40]


def account_stamp_matches(value: str, account) -> bool:
    return constant_time_compare(str(value or ""), account_stamp(account))


def account_label(account) -> str:
    """The audit trail's name for a portal account."""
    return f"portal:{account.pk}"


def acting_as(account):
    """Audit entries in the block name the portal account (``audit.context.acting_as``)."""
    return audit_context.acting_as(account_label(account))


def account_customers(account):
    """The customers ``account`` may act for, oldest access first."""
    from customers.models import Customer

    return Customer.objects.filter(portal_accesses__account=account).order_by("portal_accesses__created_at")


def account_frozen(account) -> bool:
    """Whether a risk analyst froze the portal of any customer the account holds: a person
    who may have lost control of the account is kept out of all of them."""
    from risk.models import CustomerRestriction

    customer_ids = account.accesses.values("customer_id")
    return CustomerRestriction.objects.filter(customer_id__in=customer_ids, kind="portal", active=True).exists()


def _customer_for(account, customer_id):
    """The customer ``customer_id`` if the account holds it (else ``None``); with no id, the first."""
    customers = account_customers(account)
    if customer_id in (None, ""):
        return customers.first()
    try:
        customer_id = int(customer_id)
    except (TypeError, ValueError):
        return None
    return customers.filter(pk=customer_id).first()


# --- web sessions ----------------------------------------------------------------------------


def portal_session_start(request, *, account, customer=None) -> None:
    """Sign ``account`` in on this browser: a new session key (no fixation), the portal keys."""
    request.session.cycle_key()
    request.session[SESSION_ACCOUNT] = account.pk
    request.session[SESSION_STAMP] = account_stamp(account)
    request.session[SESSION_CUSTOMER] = customer.pk if customer is not None else None
    request.session[SESSION_SEEN] = int(time.time())


def portal_session_end(request) -> None:
    """Sign the portal out on this browser (a staff session in the same browser stays)."""
    for key in SESSION_KEYS:
        request.session.pop(key, None)
    request.session.cycle_key()


def portal_session_account(request):
    """The account this session is signed in as, or ``None`` (and why: "idle", "frozen" or "")."""
    from customers.models import PortalAccount

    session = request.session
    account_id = session.get(SESSION_ACCOUNT)
    if account_id is None:
        return None, ""
    seen = session.get(SESSION_SEEN) or 0
    if time.time() - seen > portal_idle_seconds():
        portal_session_end(request)
        return None, "idle"
    account = PortalAccount.objects.filter(pk=account_id, is_active=True).first()
    if account is None or not account_stamp_matches(session.get(SESSION_STAMP), account):
        portal_session_end(request)
        return None, ""
    if account_frozen(account):
        portal_session_end(request)
        return None, "frozen"
    session[SESSION_SEEN] = int(time.time())
    return account, ""


def portal_customer_select(request, *, customer_id) -> bool:
    """Switch the session to another customer the account holds; False if it holds no such one."""
    customer = _customer_for(request.portal_account, customer_id)
    if customer is None:
        return False
    request.session[SESSION_CUSTOMER] = customer.pk
    request.portal_customer = customer
    return True


def frozen_message() -> str:
    return _("Your portal access has been suspended. Please contact the bank.")


# The answers of the code steps, the same on the web pages and in the API. A code request's
# answer never tells whether the details matched anyone.


def code_rate_message() -> str:
    return _("Too many codes were requested from this address. Try again later.")


def code_sent_message(*, reset: bool = False) -> str:
    from customers.portal.services import code_minutes

    if reset:
        return _("If an account matches, a verification code is on its way to its phone.")
    return _(
        "If the details match our records, a verification code is on its way to the phone on file. "
        "It expires in %(minutes)s minutes."
    ) % {"minutes": code_minutes()}


def registered_message() -> str:
    return _("Your account is ready. Sign in with your mobile phone and password.")


def password_reset_message() -> str:
    return _("Your password was changed. Sign in with the new password.")


def portal_login_url(request) -> str:
    url = reverse("portal:login")
    path = request.get_full_path()
    if url_has_allowed_host_and_scheme(path, allowed_hosts={request.get_host()}):
        from django.utils.http import urlencode

        url = f"{url}?{urlencode({'next': path})}"
    return url


def portal_login_required(view):
    """Views of signed-in customers: ``request.portal_account``, ``request.portal_customer`` (the
    one selected) and ``request.portal_customers`` (all the account holds) are set; anonymous,
    idle, changed and frozen sessions go to the sign-in page."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        account, why = portal_session_account(request)
        if account is None:
            if why == "idle":
                messages.info(request, _("You were signed out after a period of inactivity."))
            elif why == "frozen":
                messages.error(request, frozen_message())
            return redirect(portal_login_url(request))
        customers = list(account_customers(account))
        if not customers:  # an account without customers has nothing to show
            portal_session_end(request)
            return redirect(portal_login_url(request))
        selected = request.session.get(SESSION_CUSTOMER)
        customer = next((c for c in customers if c.pk == selected), customers[0])
        if customer.pk != selected:
            request.session[SESSION_CUSTOMER] = customer.pk
        request.portal_customers = customers
        request.portal_account = account
        request.portal_customer = customer
        # Messages after the last seen one, for the menu (counted only when a page shows it).
        from customers.portal.selectors_accounts import portal_messages_unread

        request.portal_unread = SimpleLazyObject(lambda: portal_messages_unread(account=account, customer=customer))
        with acting_as(account):
            response = view(request, *args, **kwargs)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return wrapped


def portal_customer(request):
    """The customer the request acts for.

    Web views: the one selected in the session (set by ``portal_login_required``). API views:
    the ``X-Customer-Id`` header, else the account's first customer; an id the account does
    not hold answers 404 (never 403: other customers' ids are not confirmed to exist).
    """
    customer = getattr(request, "portal_customer", None)
    if customer is not None:
        return customer
    account = getattr(request, "portal_account", None) or getattr(request, "user", None)
    from customers.models import PortalAccount

    if not isinstance(account, PortalAccount):
        raise Http404
    customer = _customer_for(account, request.headers.get(CUSTOMER_HEADER))
    if customer is None:
        raise Http404
    request.portal_customer = customer
    return customer
