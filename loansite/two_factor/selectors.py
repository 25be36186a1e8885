"""Who must use two-factor authentication, who has it, and whether a session passed it."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from loansite import roles

# Roles whose members must sign in with a second factor; superusers always must.
TWO_FACTOR_REQUIRED_ROLES = (roles.ADMINISTRATOR, roles.CREDIT_APPROVER, roles.MODEL_OPS)


def two_factor_required(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_superuser or user.groups.filter(name__in=TWO_FACTOR_REQUIRED_ROLES).exists()


def two_factor_enrolled(user) -> bool:
    """The user has a confirmed authenticator (TOTP device)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def two_factor_applies(user) -> bool:
    """Required by the user's role, or chosen by the user: either way the second step is asked.

    One query, remembered on the user object for the rest of the request.
    """
    if not getattr(user, "is_authenticated", False):
        return False
    cached = getattr(user, "_two_factor_applies", None)
    if cached is None:
        cached = user.is_superuser or (
            get_user_model()
            .objects.filter(pk=user.pk)
            .filter(
                Q(groups__name__in=TWO_FACTOR_REQUIRED_ROLES)
                | Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
            )
            .exists()
        )
        user._two_factor_applies = cached
    return cached


def two_factor_session_verified(request) -> bool:
    """The session's user passed the second factor in this session (django-otp's OTPMiddleware)."""
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified and is_verified())


def two_factor_session_passes(request) -> bool:
    """Either the second factor does not apply to this user or this session passed it."""
    return two_factor_session_verified(request) or not two_factor_applies(request.user)


def two_factor_totp_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-pk").first()


def two_factor_recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@dataclass(frozen=True)
class StaffTwoFactorRow:
    user_id: int
    username: str
    full_name: str
    required: bool
    enrolled: bool
    last_used_at: object
    recovery_codes_left: int


def two_factor_staff_overview() -> list[StaffTwoFactorRow]:
    """Every active staff account with its two-factor state, for administrators. No secrets."""
    User = get_user_model()
    in_required_role = Exists(
        User.groups.through.objects.filter(user_id=OuterRef("pk"), group__name__in=TWO_FACTOR_REQUIRED_ROLES)
    )
    users = list(
        User.objects.filter(is_active=True, is_staff=True)
        .annotate(in_required_role=in_required_role)
        .order_by("username")
        .only("pk", "username", "first_name", "last_name", "is_superuser")
    )
    devices = {
        device.user_id: device
        for device in TOTPDevice.objects.filter(user__in=users, confirmed=True).only("user_id", "last_used_at")
    }
    codes = dict(
        StaticDevice.objects.filter(user__in=users, confirmed=True)
        .values("user_id")
        .annotate(left=Count("token_set"))
        .values_list("user_id", "left")
    )
    return [
        StaffTwoFactorRow(
            user_id=user.pk,
            username=user.get_username(),
            full_name=user.get_full_name(),
            required=user.is_superuser or user.in_required_role,
            enrolled=user.pk in devices,
            last_used_at=devices[user.pk].last_used_at if user.pk in devices else None,
            recovery_codes_left=codes.get(user.pk, 0),
        )
        for user in users
    ]
