"""Login, logout, failed login and lockout land in the audit trail."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.models import AuditAction
from audit.services import audit_record


def _user_target(user):
    return ("auth.user", user.pk, user.get_username()) if user is not None else None


@receiver(user_logged_in, dispatch_uid="audit.login")
def on_login(sender, request, user, **kwargs):
    audit_record(action=AuditAction.LOGIN, actor=user, target=_user_target(user))


@receiver(user_logged_out, dispatch_uid="audit.logout")
def on_logout(sender, request, user, **kwargs):
    audit_record(action=AuditAction.LOGOUT, actor=user, target=_user_target(user))


@receiver(user_login_failed, dispatch_uid="audit.login_failed")
def on_login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    audit_record(action=AuditAction.LOGIN_FAILED, target=("auth.user", "", username))


@receiver(user_locked_out, dispatch_uid="audit.locked_out")
def on_locked_out(sender, request, username, ip_address, **kwargs):
    audit_record(
        action=AuditAction.LOCKED_OUT,
        target=("auth.user", "", str(username or "")[:150]),
        changes={"ip": ip_address},
    )
