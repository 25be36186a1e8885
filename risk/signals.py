"""Staff sign-ins (already audited by the audit app) also become login events, with the
city of their address; a thin receiver that calls the service."""

import logging

from django.contrib.auth.signals import user_logged_in
from django.db import DatabaseError, transaction
from django.dispatch import receiver

logger = logging.getLogger("risk")


@receiver(user_logged_in, dispatch_uid="risk.staff_login")
def on_staff_login(sender, request, user, **kwargs):
    from loansite.proxy import client_ip
    from risk.services.ingest import staff_login_record

    if not getattr(user, "is_staff", False):
        return
    try:
        with transaction.atomic():
            staff_login_record(user=user, ip=client_ip(request) if request is not None else None)
    except DatabaseError:
        # A sign-in never fails because the risk record could not be written.
        logger.exception("staff login event not recorded for user %s", user.pk)
