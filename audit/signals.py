"""Login, logout, failed login and lockout land in the audit trail.

Failed logins go through :mod:`audit.login_failures`: audited one by one up to a limit per
address and username, then folded into one entry per window. Lockouts are always audited.
"""

import datetime

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.utils import timezone

from audit import context
from audit.login_failures import login_failure_record, login_lockout_record
from audit.models import AuditAction
from audit.services import audit_record
from loansite.proxy import client_ip


def _user_target(user):
    return ("auth.user", user.pk, user.get_username()) if user is not None else None


def _request_ip(request) -> str | None:
    return context.current().ip or (client_ip(request) if request is not None else None)


@receiver(user_logged_in, dispatch_uid="audit.login")
def on_login(sender, request, user, **kwargs):
    audit_record(action=AuditAction.LOGIN, actor=user, target=_user_target(user))


@receiver(user_logged_out, dispatch_uid="audit.logout")
def on_logout(sender, request, user, **kwargs):
    audit_record(action=AuditAction.LOGOUT, actor=user, target=_user_target(user))


@receiver(user_login_failed, dispatch_uid="audit.login_failed")
def on_login_failed(sender, credentials, request=None, **kwargs):
    login_failure_record(username=str(credentials.get("username", "")), ip=_request_ip(request))


@receiver(user_locked_out, dispatch_uid="audit.locked_out")
def on_locked_out(sender, request, username, ip_address, **kwargs):
    # django-axes signals a lockout when an attempt crosses the failure limit (it counted
    # that attempt: ``axes_failures_since_start`` is set) and again for every attempt refused
    # while locked (not counted, AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT off). The
    # first is the lockout; the others are failed logins, already counted by on_login_failed.
    if getattr(request, "axes_failures_since_start", None) is None:
        return
    cool_off = settings.AXES_COOLOFF_TIME
    until = timezone.now() + cool_off if isinstance(cool_off, datetime.timedelta) else None
    login_lockout_record(username=username, ip=ip_address or _request_ip(request), until=until)
