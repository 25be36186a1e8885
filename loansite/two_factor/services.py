"""Two-factor state changes: enrolment, verification, recovery codes, removal and reset.

Every change writes its audit entry (actor and target user) in the same transaction. A wrong
code is a normal outcome, not an exception, so that django-otp's throttling counter (stored on
the device) is committed together with the audit entry of the failure.

Recovery codes are django-otp static tokens stored as a keyed hash: HMAC-SHA256 under the
``SECRET_KEY`` (and its fallbacks, so a key rotation keeps them working), base32, cut to the
16 characters the library's column holds (80 bits). A database dump alone does not reveal or
let anyone test a code; the codes themselves carry 50 random bits.
"""

import base64
import re
import secrets
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditAction
from audit.services import audit_record
from loansite.errors import NotAllowed, ValidationFailed
from loansite.security import user_security_stamp_rotate
from loansite.two_factor.selectors import two_factor_enrolled, two_factor_required

RECOVERY_CODE_COUNT = 10
# Administrators (and superusers) may remove other users' devices.
RESET_PERMISSION = "otp_totp.delete_totpdevice"
TOTP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"
_RECOVERY_SALT = "loansite.two_factor.recovery-code"
_TOTP_CODE = re.compile(r"^\d{6}$")


class Method:
    TOTP = "totp"
    RECOVERY_CODE = "recovery_code"


@dataclass
class VerifyResult:
    """The outcome of one code check: the device that accepted it, or why not."""

    device: Device | None = None
    method: str = ""
    wait_seconds: int = 0
    recovery_codes_left: int | None = None

    @property
    def ok(self) -> bool:
        return self.device is not None

    @property
    def throttled(self) -> bool:
        return self.wait_seconds > 0


@dataclass
class EnrolResult:
    device: TOTPDevice | None = None
    wait_seconds: int = 0
    recovery_codes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.device is not None


# ---------------------------------------------------------------------------
# Recovery codes
# ---------------------------------------------------------------------------
def recovery_code_normalise(code: str) -> str:
    return re.sub(r"[\s-]", "", str(code or "")).lower()


def _recovery_code_digests(code: str) -> list[str]:
    normalised = recovery_code_normalise(code)
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [
        base64.b32encode(salted_hmac(_RECOVERY_SALT, normalised, secret=key, algorithm="sha256").digest())
        .decode()[:16]
        .lower()
        for key in keys
    ]


def _recovery_code_new() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()[:10]  # 50 random bits
    return f"{raw[:5]}-{raw[5:]}"


def _recovery_codes_issue(*, user) -> list[str]:
    """Replace the user's recovery codes with fresh ones; the plain codes are returned once."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [_recovery_code_new() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(
        [StaticToken(device=device, token=_recovery_code_digests(code)[0]) for code in codes]
    )
    return codes


def _wait_seconds(device) -> int:
    allowed, info = device.verify_is_allowed()
    if allowed:
        return 0
    locked_until = (info or {}).get("locked_until")
    if locked_until is None:
        return 1
    return max(1, int((locked_until - timezone.now()).total_seconds() + 0.999))


def _audit_code_refused(*, user, channel: str, step: str, method: str, wait_seconds: int, device=None) -> None:
    """Every checked wrong code is audited (the back-off bounds how many there can be); of the
    attempts refused unchecked while backing off, the first of each back-off period."""
    if wait_seconds and device is not None:
        key = f"two-factor:throttled:{device.persistent_id}:{device.throttling_failure_count}"
        if not cache.add(key, 1, timeout=wait_seconds):
            return
    audit_record(
        action=AuditAction.LOGIN_FAILED,
        actor=user,
        target=user,
        changes={"two_factor": step, "method": method, "channel": channel, "throttled": wait_seconds > 0},
    )


# ---------------------------------------------------------------------------
# Enrolment
# ---------------------------------------------------------------------------
@transaction.atomic
def two_factor_enrolment_start(*, user, device_id: int | None = None) -> TOTPDevice:
    """The unconfirmed authenticator being set up: the one this sign-in started, or a new key.

    An unconfirmed device verifies nothing at sign-in; it becomes the user's authenticator only
    once a code from it is confirmed.
    """
    if device_id is not None:
        pending = TOTPDevice.objects.filter(pk=device_id, user=user, confirmed=False).first()
        if pending is not None:
            return pending
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)


def two_factor_enrolment_confirm(*, user, device_id: int, code: str, channel: str = "admin") -> EnrolResult:
    """Confirm the authenticator being set up with a code from it.

    On success it replaces any earlier authenticator, issues fresh recovery codes (returned
    once, in plain text) and is audited; a wrong code counts towards the device's throttle.
    """
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(pk=device_id, user=user, confirmed=False).first()
        if device is None:
            raise ValidationFailed(_("This set-up is no longer valid. Start again."))
        wait = _wait_seconds(device)
        if wait or not device.verify_token(str(code or "").strip()):
            _audit_code_refused(
                user=user, channel=channel, step="enrolment", method=Method.TOTP, wait_seconds=wait, device=device
            )
            return EnrolResult(wait_seconds=wait)
        replaced, _detail = TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _recovery_codes_issue(user=user)
        audit_record(
            action=AuditAction.CREATE,
            actor=user,
            target=user,
            changes={
                "two_factor": "enrolled",
                "channel": channel,
                "replaced_authenticators": replaced,
                "recovery_codes": len(codes),
            },
        )
        return EnrolResult(device=device, recovery_codes=codes)


# ---------------------------------------------------------------------------
# Verification (the second sign-in step, admin or API)
# ---------------------------------------------------------------------------
def two_factor_verify(*, user, code: str, channel: str) -> VerifyResult:
    """Check a 6-digit authenticator code or a recovery code (which is used up).

    Every refusal is audited, throttled ones included; a recovery code's use is audited with
    the number of codes left.
    """
    text = re.sub(r"\s", "", str(code or ""))
    method = Method.TOTP if _TOTP_CODE.match(text) else Method.RECOVERY_CODE
    model = TOTPDevice if method == Method.TOTP else StaticDevice
    with transaction.atomic():
        device = model.objects.select_for_update().filter(user=user, confirmed=True).order_by("-pk").first()
        wait = _wait_seconds(device) if device is not None else 0
        accepted = False
        if device is not None and not wait:
            if method == Method.TOTP:
                accepted = device.verify_token(text)
            else:
                digests = _recovery_code_digests(text)
                match = device.token_set.filter(token__in=digests).values_list("token", flat=True).first()
                accepted = device.verify_token(match or digests[0])
        if not accepted:
            _audit_code_refused(
                user=user, channel=channel, step="verify", method=method, wait_seconds=wait, device=device
            )
            return VerifyResult(method=method, wait_seconds=wait)
        result = VerifyResult(device=device, method=method)
        changes = {"two_factor": method, "channel": channel}
        if method == Method.RECOVERY_CODE:
            result.recovery_codes_left = changes["recovery_codes_left"] = device.token_set.count()
        audit_record(action=AuditAction.LOGIN, actor=user, target=user, changes=changes)
        return result


# ---------------------------------------------------------------------------
# Recovery codes, removal, reset
# ---------------------------------------------------------------------------
@transaction.atomic
def two_factor_recovery_codes_regenerate(*, user) -> list[str]:
    """New recovery codes for an enrolled user; the old ones stop working."""
    if not two_factor_enrolled(user):
        raise ValidationFailed(_("Set up two-factor authentication first."))
    codes = _recovery_codes_issue(user=user)
    audit_record(
        action=AuditAction.UPDATE,
        actor=user,
        target=user,
        changes={"two_factor": "recovery_codes_regenerated", "recovery_codes": len(codes)},
    )
    return codes


def _devices_delete(user) -> int:
    totp, _detail = TOTPDevice.objects.filter(user=user).delete()
    static = StaticDevice.objects.filter(user=user).count()
    StaticDevice.objects.filter(user=user).delete()
    return totp + static


@transaction.atomic
def two_factor_disable(*, user) -> None:
    """A user whose role does not require two-factor authentication turns it off."""
    if two_factor_required(user):
        raise NotAllowed(_("Your role requires two-factor authentication; it cannot be turned off."))
    removed = _devices_delete(user)
    audit_record(
        action=AuditAction.DELETE,
        actor=user,
        target=user,
        changes={"two_factor": "removed", "devices_removed": removed},
    )


@transaction.atomic
def two_factor_reset(*, actor, user, reason: str) -> dict:
    """An administrator removes another user's authenticator and recovery codes.

    Every session and API token of the user ends (their security stamp is rotated), so they
    sign in again and, in a role that requires it, enrol anew before using the admin or the API.
    """
    if not actor.has_perm(RESET_PERMISSION):
        raise NotAllowed(_("Only administrators can reset two-factor authentication."))
    if actor.pk == user.pk:
        raise NotAllowed(_("Reset your own two-factor authentication from your account page."))
    if user.is_superuser and not actor.is_superuser:
        raise NotAllowed(_("Only a superuser can reset a superuser's two-factor authentication."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give a reason for the reset."), extra={"field": "reason"})
    outcome = {"two_factor": "reset", "devices_removed": _devices_delete(user), "sessions_and_tokens": "revoked"}
    user_security_stamp_rotate(user=user)
    audit_record(action=AuditAction.DELETE, actor=actor, target=user, changes=outcome, reason=reason)
    return outcome
