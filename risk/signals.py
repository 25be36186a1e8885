"""Staff sign-ins, as the audit trail records them (the admin login and the API login alike),
also become login events with the city of their address: a thin receiver on the audit
entries that calls the service."""

import logging

from django.db import DatabaseError, transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from audit.models import AuditAction, AuditEntry

logger = logging.getLogger("risk")


@receiver(post_save, sender=AuditEntry, dispatch_uid="risk.staff_login")
def on_login_audited(sender, instance, created, **kwargs):
    from risk.services.ingest import staff_login_record

    if not created or instance.action != AuditAction.LOGIN or instance.actor_id is None:
        return
    user = instance.actor
    if user is None or not user.is_staff:
        return
    try:
        with transaction.atomic():
            staff_login_record(user=user, ip=instance.ip)
    except DatabaseError:
        # A sign-in never fails because the risk record could not be written.
        logger.exception("staff login event not recorded for user %s", user.pk)
