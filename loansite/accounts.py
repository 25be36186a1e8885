"""Staff account services: registration, passwords, privileges, sign-out.

Every privilege change (active / staff / superuser flags, group membership, direct
permissions, a group's permissions, an account or group created or deleted, a password set
by someone else) writes a ``permission_change`` (or create / delete / password) audit entry
with the actor, the target and the values before and after, in the transaction of the change.
A change of the account's own privileges also ends all of its sessions and API tokens
(``loansite.security``).

The admin's user and group pages and the API call these services. Code that changes group
membership or permissions directly (``user.groups.add`` in a command, the shell, the role
sync after ``migrate``) is caught by the ``m2m_changed`` receivers in ``loansite.signals``,
which call the same services; ``privileges_recorded_here`` tells them a service records it.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record, changes_between
from loansite.errors import NotAllowed, ValidationFailed
from loansite.roles import ROLE_PERMISSIONS
from loansite.security import access_token_revoke, user_refresh_tokens_blacklist, user_security_stamp_rotate

# Account fields recorded on create / update / delete (never the password hash).
PROFILE_FIELDS = ("username", "first_name", "last_name", "email")
PRIVILEGE_KEYS = ("is_active", "is_staff", "is_superuser", "groups", "permissions")

_recorded_by_service: ContextVar[bool] = ContextVar("loansite_privileges_recorded", default=False)


@contextmanager
def privileges_recorded_here():
    """Within this block a service records the privilege changes itself (the m2m receivers stay quiet)."""
    token = _recorded_by_service.set(True)
    try:
        yield
    finally:
        _recorded_by_service.reset(token)


def privileges_recorded_by_service() -> bool:
    return _recorded_by_service.get()


def _permission_names(queryset) -> list[str]:
    return sorted(f"{app}.{codename}" for app, codename in queryset.values_list("content_type__app_label", "codename"))


def _set_change(before, after) -> dict:
    old, new = set(before or []), set(after or [])
    return {"before": sorted(old), "after": sorted(new), "added": sorted(new - old), "removed": sorted(old - new)}


def user_privileges(user) -> dict:
    """What the account may do, as recorded before and after a change (read from the database)."""
    if user is None or user.pk is None:
        return {}
    row = get_user_model().objects.filter(pk=user.pk).values("is_active", "is_staff", "is_superuser").first()
    if row is None:
        return {}
    return {
        **row,
        "groups": sorted(Group.objects.filter(user__pk=user.pk).values_list("name", flat=True)),
        "permissions": _permission_names(user.user_permissions.all()),
    }


def user_snapshot(user) -> dict:
    """Profile fields and privileges; ``{}`` for an account not saved yet."""
    if user is None or user.pk is None:
        return {}
    profile = get_user_model().objects.filter(pk=user.pk).values(*PROFILE_FIELDS).first() or {}
    return {**profile, **user_privileges(user)}


def group_snapshot(group) -> dict:
    if group is None or group.pk is None:
        return {}
    name = Group.objects.filter(pk=group.pk).values_list("name", flat=True).first()
    if name is None:
        return {}
    return {"name": name, "permissions": _permission_names(group.permissions.all())}


@transaction.atomic
def user_privileges_record(*, actor, user, before: dict, reason: str = "") -> dict:
    """Audit how ``user``'s privileges differ from ``before``; if they do, end their sessions and tokens.

    ``actor`` None: the person of the current request, if any (``audit_record``).
    """
    after = user_privileges(user)
    changes = changes_between(
        {key: before[key] for key in PRIVILEGE_KEYS if key in before},
        {key: after[key] for key in PRIVILEGE_KEYS if key in after},
    )
    for key in ("groups", "permissions"):
        if key in changes:
            changes[key] = _set_change(changes[key][0], changes[key][1])
    if changes:
        audit_record(action=AuditAction.PERMISSION_CHANGE, actor=actor, target=user, changes=changes, reason=reason)
        user_security_stamp_rotate(user=user)
    return changes


@transaction.atomic
def user_saved_record(*, actor, user, before: dict, created: bool) -> None:
    """After the admin saved an account (fields, then groups and permissions): audit it.

    A new account gets a create entry; profile fields an update entry; privileges a
    permission-change entry (and the account's sessions and tokens end).
    """
    after = user_snapshot(user)
    profile_before = {key: before.get(key) for key in PROFILE_FIELDS if key in before}
    profile_after = {key: after.get(key) for key in PROFILE_FIELDS}
    if created:
        audit_record(action=AuditAction.CREATE, actor=actor, target=user, changes=profile_after)
    else:
        changed = changes_between(profile_before, profile_after)
        if changed:
            audit_record(action=AuditAction.UPDATE, actor=actor, target=user, changes=changed)
    user_privileges_record(actor=actor, user=user, before={} if created else before)


@transaction.atomic
def user_delete(*, actor, user) -> None:
    """Delete an account; the audit entry keeps what it was and what it could do."""
    if user.is_superuser and not actor.is_superuser:
        raise NotAllowed(_("Only a superuser can delete a superuser."))
    if actor.pk == user.pk:
        raise NotAllowed(_("You cannot delete your own account."))
    snapshot = user_snapshot(user)
    target = (user._meta.label_lower, user.pk, user.get_username())
    user.delete()
    audit_record(action=AuditAction.DELETE, actor=actor, target=target, changes={"deleted": snapshot})


@transaction.atomic
def user_password_set_record(*, actor, user) -> None:
    """Someone set ``user``'s password (the admin's password page): audit it and end the
    account's API tokens (sessions end by Django's own password check; the stamp in every token
    covers the password too, this only marks the refresh tokens as blacklisted)."""
    changes = {"set_by": "self" if actor is not None and actor.pk == user.pk else "administrator"}
    if not user.has_usable_password():
        changes["password_login"] = "disabled"
    audit_record(action=AuditAction.PASSWORD_CHANGE, actor=actor, target=user, changes=changes)
    user_refresh_tokens_blacklist(user=user)


@transaction.atomic
def user_sign_out_everywhere(*, actor, user, reason: str = "") -> None:
    """End every session and API token of ``user`` now."""
    if user.is_superuser and not actor.is_superuser:
        raise NotAllowed(_("Only a superuser can sign out a superuser."))
    user_security_stamp_rotate(user=user)
    audit_record(
        action=AuditAction.PERMISSION_CHANGE,
        actor=actor,
        target=user,
        changes={"sessions_and_tokens": "revoked"},
        reason=reason,
    )


@transaction.atomic
def group_saved_record(*, actor, group, before: dict, created: bool) -> None:
    """After the admin saved a group (name, then permissions): audit what changed."""
    after = group_snapshot(group)
    changes = changes_between(before, after)
    if "permissions" in changes:
        changes["permissions"] = _set_change(before.get("permissions"), after.get("permissions"))
    if created:
        audit_record(action=AuditAction.CREATE, actor=actor, target=group, changes=changes)
    elif changes:
        audit_record(action=AuditAction.PERMISSION_CHANGE, actor=actor, target=group, changes=changes)


@transaction.atomic
def group_delete(*, actor, group) -> None:
    """Delete a group: its members lose it (each audited, their sessions and tokens end)."""
    members = list(get_user_model().objects.filter(groups=group))
    befores = {member.pk: user_privileges(member) for member in members}
    snapshot = {**group_snapshot(group), "members": sorted(member.get_username() for member in members)}
    target = (group._meta.label_lower, group.pk, group.name)
    with privileges_recorded_here():
        group.delete()
    audit_record(action=AuditAction.DELETE, actor=actor, target=target, changes={"deleted": snapshot})
    for member in members:
        user_privileges_record(actor=actor, user=member, before=befores[member.pk])


@transaction.atomic
def user_register(
    *, actor, username: str, password: str, email: str = "", first_name: str = "", last_name: str = "", roles=()
):
    """Create a staff account with the given roles. Only administrators may do this."""
    if not actor.has_perm("auth.add_user"):
        raise NotAllowed(_("Only administrators can create accounts."))
    User = get_user_model()
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationFailed(_("This username is taken."), extra={"field": "username"})
    unknown = set(roles) - set(ROLE_PERMISSIONS)
    if unknown:
        raise ValidationFailed(_("Unknown role: %(roles)s") % {"roles": ", ".join(sorted(unknown))})
    user = User(username=username, email=email, first_name=first_name, last_name=last_name, is_staff=True)
    try:
        password_validation.validate_password(password, user)
    except password_validation.ValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages), extra={"field": "password"}) from exc
    user.set_password(password)
    user.save()
    with privileges_recorded_here():
        user.groups.set(Group.objects.filter(name__in=roles))
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        target=user,
        changes={"username": username, "email": email, "roles": sorted(roles)},
    )
    user_privileges_record(actor=actor, user=user, before={})
    return user


@transaction.atomic
def user_change_password(*, user, old_password: str, new_password: str) -> None:
    """The user changes their own password: every API token issued before stops working, and
    every session but the caller's (the API view keeps a calling session)."""
    if not user.check_password(old_password):
        raise ValidationFailed(_("The current password is wrong."), extra={"field": "old_password"})
    try:
        password_validation.validate_password(new_password, user)
    except password_validation.ValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages), extra={"field": "new_password"}) from exc
    user.set_password(new_password)
    user.save(update_fields=["password"])
    audit_record(action=AuditAction.PASSWORD_CHANGE, actor=user, target=user)
    user_refresh_tokens_blacklist(user=user)


@transaction.atomic
def user_api_logout(*, user, refresh, access=None) -> None:
    """End the caller's refresh token and (when the call came with one) its access token.

    A refresh token of another account is refused and left alone.
    """
    from rest_framework_simplejwt.settings import api_settings

    if str(refresh.get(api_settings.USER_ID_CLAIM)) != str(user.pk):
        raise NotAllowed(_("This refresh token does not belong to you."))
    refresh.blacklist()
    if access is not None and hasattr(access, "payload") and access.get(api_settings.JTI_CLAIM):
        access_token_revoke(token=access, user=user)
    audit_record(action=AuditAction.LOGOUT, actor=user, target=user, changes={"channel": "api"})
