"""Safety net: group membership and permission changes made outside the account services.

The admin's user and group pages and the API record privilege changes through
``loansite.accounts``. Code can also change them directly (``user.groups.add`` in a command,
the shell, the role sync after ``migrate``, a third-party app); these receivers hand such a
change to the same services, so that it is audited (actor: the person of the current request,
if any) and a user whose roles changed is signed out everywhere. No business rule lives here:
they only record. Quiet while a service records the change itself.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed

from loansite import accounts

_BEFORE = "_loansite_privileges_before"


def _users_affected(instance, reverse: bool, action: str, pk_set):
    if not reverse:
        return [instance]
    if action == "pre_clear":
        return list(get_user_model().objects.filter(**{f"{_reverse_field(instance)}": instance}))
    return list(get_user_model().objects.filter(pk__in=pk_set or ()))


def _reverse_field(instance) -> str:
    # The user-side relation that points at ``instance`` (a Group or a Permission).
    return "groups" if isinstance(instance, Group) else "user_permissions"


def on_user_privileges_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    """``user.groups`` / ``user.user_permissions`` changed, from either side."""
    if accounts.privileges_recorded_by_service():
        return
    if action in ("pre_add", "pre_remove", "pre_clear"):
        if action != "pre_clear" and not pk_set:
            return
        users = _users_affected(instance, reverse, action, pk_set)
        setattr(instance, _BEFORE, [(user, accounts.user_privileges(user)) for user in users])
    elif action in ("post_add", "post_remove", "post_clear"):
        for user, before in getattr(instance, _BEFORE, None) or []:
            accounts.user_privileges_record(actor=None, user=user, before=before)
        if hasattr(instance, _BEFORE):
            delattr(instance, _BEFORE)


def _groups_affected(instance, reverse: bool, action: str, pk_set):
    if not reverse:
        return [instance]
    if action == "pre_clear":
        return list(instance.group_set.all())
    return list(Group.objects.filter(pk__in=pk_set or ()))


def on_group_permissions_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    """``group.permissions`` changed, from either side (the role sync after ``migrate`` too)."""
    if accounts.privileges_recorded_by_service():
        return
    if action in ("pre_add", "pre_remove", "pre_clear"):
        if action != "pre_clear" and not pk_set:
            return
        groups = _groups_affected(instance, reverse, action, pk_set)
        setattr(instance, _BEFORE, [(group, accounts.group_snapshot(group)) for group in groups])
    elif action in ("post_add", "post_remove", "post_clear"):
        for group, before in getattr(instance, _BEFORE, None) or []:
            accounts.group_saved_record(actor=None, group=group, before=before, created=False)
        if hasattr(instance, _BEFORE):
            delattr(instance, _BEFORE)


def on_auth_changed(sender, **kwargs):
    """Accounts, stamps, revocations, memberships or permissions changed: the API's per-process
    copies of token users (``loansite.security.token_user_cached``) are dropped everywhere."""
    from loansite.security import auth_changed

    auth_changed()


def _connect_auth_changed(User) -> None:
    from django.contrib.auth.models import Permission
    from django.db.models.signals import post_delete, post_save

    from loansite.models import RevokedToken, SecurityStamp

    for model in (User, SecurityStamp, RevokedToken, Group, Permission):
        label = model._meta.label_lower
        post_save.connect(on_auth_changed, sender=model, dispatch_uid=f"loansite.auth_changed.save.{label}")
        post_delete.connect(on_auth_changed, sender=model, dispatch_uid=f"loansite.auth_changed.delete.{label}")
    for through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
        uid = f"loansite.auth_changed.m2m.{through.__name__}"
        m2m_changed.connect(on_auth_changed, sender=through, dispatch_uid=uid)


def connect() -> None:
    User = get_user_model()
    _connect_auth_changed(User)
    m2m_changed.connect(on_user_privileges_changed, sender=User.groups.through, dispatch_uid="loansite.user_groups")
    m2m_changed.connect(
        on_user_privileges_changed, sender=User.user_permissions.through, dispatch_uid="loansite.user_permissions"
    )
    m2m_changed.connect(
        on_group_permissions_changed, sender=Group.permissions.through, dispatch_uid="loansite.group_permissions"
    )
