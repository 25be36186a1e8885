"""Portal accounts: registration, sign-in, lockout, one-time codes, passwords, profile, requests.

Everything a customer or an officer changes about portal accounts goes through these
services, which write their audit entries. Answers that could tell whether an identity or a
login name exists are the same either way (see :func:`portal_code_request` and
:func:`portal_sign_in`).
"""

import contextlib
import datetime
import hashlib
import hmac
import secrets

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from customers.models import Customer, PortalAccess, PortalAccount, PortalChangeRequest, PortalCode, PortalLoginFailure
from customers.portal.auth import account_frozen, account_label, acting_as, frozen_message
from customers.validators import normalize_credit_code, normalize_mobile_phone, normalize_resident_id
from loansite.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from loansite.sms import SmsError, sms_send

# A password hash to check against when the login name matched nobody, so that a wrong name
# costs the same time as a wrong password.
_DUMMY_PASSWORD_HASH = None


def _dummy_hash() -> str:
    global _DUMMY_PASSWORD_HASH
    if _DUMMY_PASSWORD_HASH is None:
        _DUMMY_PASSWORD_HASH = make_password(secrets.token_urlsafe(16))
    return _DUMMY_PASSWORD_HASH


def _keyed(purpose: str, value: str) -> str:
    return hmac.new(
        f"{settings.SECRET_KEY}|customers.portal.{purpose}".encode(), value.encode(), hashlib.sha256
    ).hexdigest()


# --- one-time codes ----------------------------------------------------------------------------


def code_minutes() -> int:
    return int(getattr(settings, "PORTAL_CODE_MINUTES", 10))


def code_attempts() -> int:
    return int(getattr(settings, "PORTAL_CODE_ATTEMPTS", 5))


def customer_by_identity(*, identifier: str) -> Customer | None:
    """The customer whose unified social credit code (plain) or resident ID (by its keyed hash) is
    ``identifier``."""
    value = (identifier or "").strip()
    if not value:
        return None
    if len(normalize_credit_code(value)) == 18 and not normalize_resident_id(value)[:17].isdigit():
        return Customer.objects.filter(credit_code=normalize_credit_code(value)).first()
    customer = Customer.objects.filter(id_number=normalize_resident_id(value)).first()
    if customer is None:
        customer = Customer.objects.filter(credit_code=normalize_credit_code(value)).first()
    return customer


def _phones_match(stored: str, given: str) -> bool:
    a, b = normalize_mobile_phone(stored), normalize_mobile_phone(given)
    return bool(a) and hmac.compare_digest(a.encode(), b.encode())


def _code_issue(*, purpose: str, phone: str | None, customer=None, account=None) -> PortalCode:
    """A new code; the text message goes out only when someone real was matched (``phone``)."""
    code = f"{secrets.randbelow(10**6):06d}"
    # Codes are worth nothing once expired: the table keeps only the last day's.
    PortalCode.objects.filter(created_at__lt=timezone.now() - datetime.timedelta(days=1)).delete()
    row = PortalCode.objects.create(
        purpose=purpose,
        code_hash=_keyed("code", code),
        customer=customer,
        account=account,
        expires_at=timezone.now() + datetime.timedelta(minutes=code_minutes()),
    )
    if phone:
        text = _("Your verification code is %(code)s. It expires in %(minutes)s minutes. Never share it.") % {
            "code": code,
            "minutes": code_minutes(),
        }
        # The answer stays the same if the gateway fails; the customer asks for a new code.
        with contextlib.suppress(SmsError):
            sms_send(phone, text)
    return row


def code_target_limit() -> int:
    """Codes a customer or account may be sent per hour, from any number of addresses."""
    return int(getattr(settings, "PORTAL_CODE_PER_HOUR", 5))


def _recent_codes(**target) -> int:
    since = timezone.now() - datetime.timedelta(hours=1)
    return PortalCode.objects.filter(created_at__gte=since, **target).count()


def portal_code_rate_hit(*, key: str) -> bool:
    """Count one code request from ``key`` (the client's address); True once PORTAL_CODE_RATE
    (default five in ten minutes) is passed: the request is then refused, nothing is sent."""
    from loans import ratelimit

    return ratelimit.rate_limit_hit(scope="portal-code", key=key, rate=getattr(settings, "PORTAL_CODE_RATE", "5/10m"))


def portal_code_request(*, purpose: str, identifier: str, phone: str) -> PortalCode:
    """Registration / added access: ``identifier`` (credit code or resident ID) and the phone on
    file. A code goes to that phone only if both match one customer; the caller answers the same
    whatever happened ("if the details match, a code was sent") and keeps the returned id."""
    customer = customer_by_identity(identifier=identifier)
    matched = customer is not None and _phones_match(customer.phone, phone)
    if matched and _recent_codes(customer=customer) >= code_target_limit():
        matched = False  # no more texts to this phone this hour; the answer stays the same
    return _code_issue(
        purpose=purpose,
        phone=customer.phone if matched else None,
        customer=customer if matched else None,
    )


def portal_reset_request(*, login: str) -> PortalCode:
    """Password reset: a code to the account's phone when ``login`` (phone or username) names an
    active account; the same answer otherwise."""
    account = portal_account_by_login(login)
    if account is not None and (not account.is_active or _recent_codes(account=account) >= code_target_limit()):
        account = None
    return _code_issue(purpose=PortalCode.Purpose.RESET, phone=account.phone if account else None, account=account)


def _code_check(*, code_id, purpose: str, code: str, consume: bool = True) -> PortalCode:
    """The code row if ``code`` is right (and marks it used unless ``consume`` is False: the caller
    then takes it with :func:`_code_consume`); raises ``ValidationFailed`` with one message for
    every failure (wrong, expired, used up, or matched nobody). Each try counts, in a transaction
    of its own: call it outside the caller's transaction."""
    wrong = ValidationFailed(_("The code is not valid or has expired. Ask for a new code."))
    try:
        code_id = str(code_id or "")
        with transaction.atomic():
            row = (
                PortalCode.objects.select_for_update().filter(pk=code_id, purpose=purpose, used_at__isnull=True).first()
            )
            if row is None or row.expires_at <= timezone.now() or row.attempts >= code_attempts():
                raise wrong
            PortalCode.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
            right = hmac.compare_digest(row.code_hash, _keyed("code", (code or "").strip()))
            matched = row.customer_id is not None or row.account_id is not None
            if right and matched and consume:
                row.used_at = timezone.now()
                PortalCode.objects.filter(pk=row.pk).update(used_at=row.used_at)
    except (ValidationError, ValueError) as exc:  # not a UUID
        raise wrong from exc
    if not (right and matched):
        raise wrong
    return row


def _code_consume(row: PortalCode) -> None:
    """Take a checked code once (a concurrent use of the same code loses)."""
    if not PortalCode.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=timezone.now()):
        raise ValidationFailed(_("The code is not valid or has expired. Ask for a new code."))


def _password_check(password: str, account=None) -> None:
    try:
        validate_password(password, user=account)
    except ValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages), extra={"password": exc.messages}) from exc


# --- registration and access -------------------------------------------------------------------


def portal_account_register(*, code_id, code: str, password: str, username: str = "") -> PortalAccount:
    """Create an account for the customer a registration code was sent for: its login phone is
    the customer's phone on file (where the code went)."""
    username = (username or "").strip() or None
    _password_check(password, PortalAccount(username=username))
    # Whether a username is taken is told only to someone holding a right code (no enumeration
    # of login names); the code is kept for a second try with another name.
    row = _code_check(code_id=code_id, purpose=PortalCode.Purpose.REGISTER, code=code, consume=False)
    if username and PortalAccount.objects.filter(username__iexact=username).exists():
        raise Conflict(_("This username is taken. Choose another one."), extra={"username": True})
    customer = row.customer
    exists = _("An account already exists for this phone. Sign in, or reset the password.")
    if PortalAccount.objects.filter(phone=customer.phone).exists():
        raise Conflict(exists)
    account = PortalAccount(phone=normalize_mobile_phone(customer.phone), username=username)
    account.set_password(password)
    try:
        with transaction.atomic():
            _code_consume(row)
            account.save(force_insert=True)
            PortalAccess.objects.create(account=account, customer=customer, consent_updated_at=timezone.now())
            with acting_as(account):
                audit_record(
                    action=AuditAction.CREATE,
                    target=account,
                    changes={"portal_account": account.pk, "customer": customer.pk, "username": username or ""},
                )
    except IntegrityError as exc:
        raise Conflict(exists) from exc
    return account


def portal_access_add(*, account: PortalAccount, code_id, code: str) -> PortalAccess:
    """Give a signed-in account access to one more customer (proven like a registration)."""
    row = _code_check(code_id=code_id, purpose=PortalCode.Purpose.ADD_ACCESS, code=code)
    with transaction.atomic():
        access, created = PortalAccess.objects.get_or_create(account=account, customer=row.customer)
    if created:
        with transaction.atomic(), acting_as(account):
            audit_record(
                action=AuditAction.CREATE,
                target=access,
                changes={"portal_account": account.pk, "customer": row.customer_id},
            )
    return access


def portal_messages_seen(*, account: PortalAccount, customer: Customer, up_to) -> bool:
    """Mark this customer's messages up to ``up_to`` (the newest one shown) seen by ``account``;
    later messages then show as new. Never moves back. True (and audited) when it moved."""
    with transaction.atomic():
        moved = (
            PortalAccess.objects.filter(account=account, customer=customer)
            .filter(Q(messages_seen_at__isnull=True) | Q(messages_seen_at__lt=up_to))
            .update(messages_seen_at=up_to)
        )
        if moved:
            access = PortalAccess.objects.get(account=account, customer=customer)
            with acting_as(account):
                audit_record(action=AuditAction.UPDATE, target=access, changes={"messages_seen_at": up_to.isoformat()})
    return bool(moved)


# --- sign-in, lockout ---------------------------------------------------------------------------


def portal_account_by_login(login: str) -> PortalAccount | None:
    """The account named by a phone number or a username (case-insensitive)."""
    value = (login or "").strip()
    if not value:
        return None
    digits = normalize_mobile_phone(value)
    if digits.isdigit() and len(digits) == 11:
        account = PortalAccount.objects.filter(phone=digits).first()
        if account is not None:
            return account
    return PortalAccount.objects.filter(username__iexact=value).first()


def _failure_key(login: str, ip: str | None, account=None) -> str:
    """The lockout's (login name, address) pair: the account itself when the name found one, so
    that writing its phone another way ("+86 138-...") does not start a fresh count."""
    who = f"account:{account.pk}" if account is not None else f"name:{(login or '').strip().lower()}"
    return _keyed("lockout", f"{who}|{ip or ''}")


def lockout_limit() -> int:
    return int(getattr(settings, "AXES_FAILURE_LIMIT", 5))


def lockout_cooloff() -> datetime.timedelta:
    cool_off = getattr(settings, "AXES_COOLOFF_TIME", None)
    return cool_off if isinstance(cool_off, datetime.timedelta) else datetime.timedelta(minutes=15)


def portal_lockout_seconds(*, login: str, ip: str | None, account=None) -> int:
    """Seconds left of the lockout of this (login name, address) pair; 0 when not locked."""
    row = PortalLoginFailure.objects.filter(key=_failure_key(login, ip, account)).first()
    if row is None or row.failures < lockout_limit():
        return 0
    left = (row.last_at + lockout_cooloff() - timezone.now()).total_seconds()
    return max(int(left) + 1, 0)


# The account-wide count: failures from every address together (an attacker rotating addresses
# gets ``AXES_FAILURE_LIMIT`` tries per address, but no more than this many in all). A lock of
# the whole account is lifted by a password reset by code (the owner holds the phone).
ANY_ADDRESS = "*"


def account_failure_limit() -> int:
    return int(getattr(settings, "PORTAL_ACCOUNT_FAILURE_LIMIT", 20))


def account_lockout_cooloff() -> datetime.timedelta:
    return datetime.timedelta(minutes=int(getattr(settings, "PORTAL_ACCOUNT_COOLOFF_MINUTES", 60)))


def _account_lockout_seconds(*, login: str, account=None) -> int:
    """Seconds left of the account-wide lockout (every address); 0 when not locked."""
    row = PortalLoginFailure.objects.filter(key=_failure_key(login, ANY_ADDRESS, account)).first()
    if row is None or row.failures < account_failure_limit():
        return 0
    left = (row.last_at + account_lockout_cooloff() - timezone.now()).total_seconds()
    return max(int(left) + 1, 0)


def _failure_record(*, login: str, ip: str | None, account, cooloff=None) -> int:
    """Count one failed sign-in of the pair; the pair's count now."""
    key = _failure_key(login, ip, account)
    now = timezone.now()
    row = PortalLoginFailure.objects.filter(key=key).first()
    if row is not None and row.last_at + (cooloff or lockout_cooloff()) <= now:
        row.failures = 0  # the cool-off passed: count afresh
    if row is None:
        PortalLoginFailure.objects.create(key=key, account=account, failures=1, last_at=now)
        return 1
    PortalLoginFailure.objects.filter(pk=row.pk).update(failures=row.failures + 1, last_at=now, account=account)
    return row.failures + 1


class SignInRefused(ValidationFailed):
    """``reason``: "credentials", "locked" (``seconds`` left) or "frozen"."""

    status_code = 401

    def __init__(self, message, *, reason: str, seconds: int = 0, account=None):
        super().__init__(message)
        self.reason = reason
        self.seconds = seconds
        self.account = account


def _login_event(*, account, success: bool, ip: str | None, user_agent: str, device: str, channel: str) -> None:
    """One risk login event per customer of the account (scored by the risk engine)."""
    from risk.inputs import EventInput
    from risk.services.ingest import events_ingest

    if account is None:
        return
    from risk.engine import LOGIN

    now = timezone.now()
    items = [
        EventInput(
            kind=LOGIN,
            customer_id=customer_id,
            occurred_at=now,
            device=(device or "")[:128],
            user_agent=(user_agent or "")[:512],
            ip=ip or "",
            success=success,
        )
        for customer_id in account.accesses.values_list("customer_id", flat=True)
    ]
    if items:
        events_ingest(items=items, source="system")


def portal_sign_in(
    *, login: str, password: str, ip: str | None, user_agent: str = "", device: str = "", channel: str = "web"
) -> PortalAccount:
    """The account if ``login`` + ``password`` are right, it is not locked out and not frozen.

    Wrong name and wrong password give the same error after the same work (a password check
    either way). ``AXES_FAILURE_LIMIT`` failures per (login name, address) lock that pair for
    ``AXES_COOLOFF_TIME``. Every attempt on an existing account is a risk ``LoginEvent`` and
    every outcome is audited.
    """
    account = portal_account_by_login(login)
    seconds = portal_lockout_seconds(login=login, ip=ip, account=account) or _account_lockout_seconds(
        login=login, account=account
    )
    label = account_label(account) if account is not None else "portal:"
    audit_changes = {"channel": channel, "login_hash": _keyed("audit-login", login.strip().lower())[:16]}
    audit_target = account or ("customers.portalaccount", "", "")
    if seconds:
        # Refused unheard while locked (the lockout itself was audited when it began).
        raise SignInRefused(_("Too many failed sign-ins. Try again later."), reason="locked", seconds=seconds)
    right = account.check_password(password) if account is not None else _dummy_check(password)
    ok = right and account is not None and account.is_active
    event = {"ip": ip, "user_agent": user_agent, "device": device, "channel": channel}
    if not ok:
        with transaction.atomic():
            failures = _failure_record(login=login, ip=ip, account=account)
            everywhere = _failure_record(
                login=login, ip=ANY_ADDRESS, account=account, cooloff=account_lockout_cooloff()
            )
            with audit_context_label(label):
                audit_record(action=AuditAction.LOGIN_FAILED, target=audit_target, changes=audit_changes)
                if failures == lockout_limit():
                    audit_record(action=AuditAction.LOCKED_OUT, target=audit_target, changes=audit_changes)
                if everywhere == account_failure_limit():
                    audit_record(
                        action=AuditAction.LOCKED_OUT,
                        target=audit_target,
                        changes={**audit_changes, "all_addresses": True},
                    )
        _login_event(account=account if account is not None and account.is_active else None, success=False, **event)
        raise SignInRefused(_("The phone number / username or the password is not right."), reason="credentials")
    if account_frozen(account):
        with transaction.atomic(), acting_as(account):
            audit_record(action=AuditAction.LOGIN_FAILED, target=account, changes={"channel": channel, "frozen": True})
        _login_event(account=account, success=False, **event)
        raise SignInRefused(frozen_message(), reason="frozen", account=account)
    with transaction.atomic():
        PortalLoginFailure.objects.filter(
            key__in=[_failure_key(login, ip, account), _failure_key(login, ANY_ADDRESS, account)]
        ).delete()
        PortalAccount.objects.filter(pk=account.pk).update(last_login_at=timezone.now())
        with acting_as(account):
            audit_record(action=AuditAction.LOGIN, target=account, changes={"channel": channel})
    _login_event(account=account, success=True, **event)
    return account


def _dummy_check(password: str) -> bool:
    from django.contrib.auth.hashers import check_password

    check_password(password, _dummy_hash())
    return False


def audit_context_label(label: str):
    from audit import context as audit_context

    return audit_context.acting_as(label)


def portal_sign_out(*, account: PortalAccount, channel: str = "web") -> None:
    with acting_as(account):
        audit_record(action=AuditAction.LOGOUT, target=account, changes={"channel": channel})


# --- passwords ----------------------------------------------------------------------------------


def _stamp_rotate(account: PortalAccount) -> None:
    from customers.models_portal import portal_stamp_new

    account.security_stamp = portal_stamp_new()


def portal_password_reset(*, code_id, code: str, password: str) -> PortalAccount:
    """Set a new password with a reset code: every session and token of the account ends and its
    lockouts are lifted."""
    _password_check(password)
    row = _code_check(code_id=code_id, purpose=PortalCode.Purpose.RESET, code=code)
    with transaction.atomic():
        account = PortalAccount.objects.select_for_update().get(pk=row.account_id)
        account.set_password(password)
        _stamp_rotate(account)
        account.save(update_fields=["password", "security_stamp"])
        PortalLoginFailure.objects.filter(account=account).delete()
        with acting_as(account):
            audit_record(action=AuditAction.PASSWORD_CHANGE, target=account, changes={"reset": True})
    return account


@transaction.atomic
def portal_password_change(*, account: PortalAccount, old_password: str, new_password: str) -> PortalAccount:
    """Change the password knowing the old one: other sessions and every token end."""
    account = PortalAccount.objects.select_for_update().get(pk=account.pk)
    if not account.check_password(old_password):
        raise ValidationFailed(_("The current password is not right."), extra={"old_password": True})
    _password_check(new_password, account)
    account.set_password(new_password)
    _stamp_rotate(account)
    account.save(update_fields=["password", "security_stamp"])
    with acting_as(account):
        audit_record(action=AuditAction.PASSWORD_CHANGE, target=account, changes={"reset": False})
    return account


# --- administrators -----------------------------------------------------------------------------


@transaction.atomic
def portal_account_unlock(*, actor, account: PortalAccount) -> int:
    """Lift the sign-in lockouts of ``account`` (administrators)."""
    if not actor.has_perm("customers.unlock_portalaccount"):
        raise NotAllowed()
    removed, _detail = PortalLoginFailure.objects.filter(account=account).delete()
    audit_record(action=AuditAction.UPDATE, actor=actor, target=account, changes={"unlocked": removed})
    return removed


@transaction.atomic
def portal_account_set_active(*, actor, account: PortalAccount, active: bool, reason: str = "") -> PortalAccount:
    """Deactivate (every session and token ends) or reactivate an account (administrators)."""
    if not actor.has_perm("customers.unlock_portalaccount"):
        raise NotAllowed()
    account = PortalAccount.objects.select_for_update().get(pk=account.pk)
    if account.is_active == active:
        return account
    account.is_active = active
    _stamp_rotate(account)
    account.save(update_fields=["is_active", "security_stamp"])
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        target=account,
        changes={"is_active": [not active, active]},
        reason=reason,
    )
    return account


# --- profile and change requests ----------------------------------------------------------------

CONTACT_FIELDS = ("email", "address")


@transaction.atomic
def portal_profile_update(
    *, account: PortalAccount, customer: Customer, contact: dict, needs=None, interests=None, marketing_consent=None
) -> Customer:
    """What a customer may change directly: contact details (email, address), needs, interests
    and consent. Identity fields go through :func:`portal_change_request_create`."""
    from customers.services.customers import customer_update

    access = PortalAccess.objects.select_for_update().filter(account=account, customer=customer).first()
    if access is None:
        raise NotAllowed()
    fields = {name: contact[name] for name in CONTACT_FIELDS if name in contact}
    if needs is not None:
        fields["needs"] = list(needs)
    if interests is not None:
        fields["interests"] = list(interests)
    with acting_as(account):
        customer = customer_update(actor=None, customer=customer, reason=_("Changed by the customer"), **fields)
        if marketing_consent is not None and bool(marketing_consent) != access.marketing_consent:
            access.marketing_consent = bool(marketing_consent)
            access.consent_updated_at = timezone.now()
            access.save(update_fields=["marketing_consent", "consent_updated_at"])
            audit_record(
                action=AuditAction.UPDATE,
                target=access,
                changes={"marketing_consent": [not access.marketing_consent, access.marketing_consent]},
            )
    return customer


def _identity_value(customer: Customer, name: str):
    return getattr(customer, name) or ""


@transaction.atomic
def portal_change_request_create(
    *, account: PortalAccount, customer: Customer, changes: dict, note: str = ""
) -> PortalChangeRequest:
    """Ask the bank to change identity fields; nothing is written to the customer until an officer
    approves."""
    if not PortalAccess.objects.filter(account=account, customer=customer).exists():
        raise NotAllowed()
    wanted = {
        name: str(value).strip()
        for name, value in changes.items()
        if name in PortalChangeRequest.FIELDS
        and str(value or "").strip()
        and str(value).strip() != str(_identity_value(customer, name))
    }
    if not wanted:
        raise ValidationFailed(_("Nothing to change: enter at least one new value."))
    request = PortalChangeRequest.objects.create(account=account, customer=customer, changes=wanted, note=note)
    with acting_as(account):
        audit_record(
            action=AuditAction.CREATE,
            target=request,
            changes={"customer": customer.pk, "fields": sorted(wanted), "portal_account": account.pk},
        )
    return request


@transaction.atomic
def _account_phone_follow(*, actor, request: PortalChangeRequest, old_phone: str) -> None:
    """The account that asked signs in (and gets reset codes) by the phone it registered with, the
    customer's phone on file then. When that phone is the one approved away, the login phone
    follows to the new number: codes must not keep going to a number the customer gave up
    (carriers hand such numbers to someone else). An account that signs in with a phone of its
    own, or a new number another account already uses, is left as it is."""
    new_phone = request.changes.get("phone")
    if not new_phone or request.account_id is None:
        return
    account = PortalAccount.objects.select_for_update().get(pk=request.account_id)
    if not _phones_match(account.phone, old_phone):
        return
    digits = normalize_mobile_phone(new_phone)
    if PortalAccount.objects.filter(phone=digits).exclude(pk=account.pk).exists():
        return
    account.phone = digits
    account.save(update_fields=["phone", "phone_hash"])
    from loansite.sms import phone_masked

    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        target=account,
        changes={"phone": [phone_masked(old_phone), phone_masked(digits)], "change_request": request.pk},
        reason=_("The login phone follows the customer's phone on file (request %(id)s)") % {"id": request.pk},
    )


def portal_change_request_decide(*, actor, request: PortalChangeRequest, approve: bool, reason: str = ""):
    """An officer approves (the change is written through the customer service, validated and
    audited there) or rejects a pending request."""
    from customers.services.customers import customer_update

    if not actor.has_perm("customers.decide_portalchangerequest"):
        raise NotAllowed()
    request = PortalChangeRequest.objects.select_for_update().get(pk=request.pk)
    from loansite.scoping import customer_in_scope

    if not customer_in_scope(actor, request.customer):
        raise NotAllowed()
    if request.status != PortalChangeRequest.Status.PENDING:
        raise InvalidTransition(_("This request has been decided already."))
    if not approve and not (reason or "").strip():
        raise ValidationFailed(_("Give a reason for the rejection."), extra={"reason": True})
    if approve:
        old_phone = request.customer.phone
        customer_update(
            actor=actor,
            customer=request.customer,
            reason=_("Change requested by the customer in the portal (request %(id)s)") % {"id": request.pk},
            **request.changes,
        )
        _account_phone_follow(actor=actor, request=request, old_phone=old_phone)
    request.status = PortalChangeRequest.Status.APPROVED if approve else PortalChangeRequest.Status.REJECTED
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.reason = reason or ""
    request.save(update_fields=["status", "decided_by", "decided_at", "reason"])
    audit_record(
        action=AuditAction.APPROVE if approve else AuditAction.REJECT,
        actor=actor,
        target=request,
        changes={"customer": request.customer_id, "fields": sorted(request.changes)},
        reason=reason,
    )
    return request
