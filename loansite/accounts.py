"""Staff account services: registration by an administrator, password change."""

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from loansite.errors import NotAllowed, ValidationFailed
from loansite.roles import ROLE_PERMISSIONS


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
    user.groups.set(Group.objects.filter(name__in=roles))
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        target=user,
        changes={"username": username, "email": email, "roles": sorted(roles)},
    )
    return user


@transaction.atomic
def user_change_password(*, user, old_password: str, new_password: str) -> None:
    if not user.check_password(old_password):
        raise ValidationFailed(_("The current password is wrong."), extra={"field": "old_password"})
    try:
        password_validation.validate_password(new_password, user)
    except password_validation.ValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages), extra={"field": "new_password"}) from exc
    user.set_password(new_password)
    user.save(update_fields=["password"])
    audit_record(action=AuditAction.PASSWORD_CHANGE, actor=user, target=user)
