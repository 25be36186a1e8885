"""Text messages (SMS) through a configurable backend, like Django's email backends.

``SMS_BACKEND`` names the class (default: :class:`LoggingSmsBackend`, which only logs the
message with the number masked); a gateway is a subclass of :class:`BaseSmsBackend` whose
``send`` raises :class:`SmsError` on failure. ``sms_send(phone, text)`` is the one entry point.
"""

import logging

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("loansite.sms")

DEFAULT_BACKEND = "loansite.sms.LoggingSmsBackend"


class SmsError(Exception):
    pass


def phone_masked(phone: str) -> str:
    digits = (phone or "").strip()
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"


class BaseSmsBackend:
    def send(self, phone: str, text: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class LoggingSmsBackend(BaseSmsBackend):
    """Writes the message to the ``loansite.sms`` log (the number masked)."""

    def send(self, phone: str, text: str) -> None:
        logger.info("SMS to %s: %s", phone_masked(phone), text)


# Messages sent by :class:`LocmemSmsBackend` (tests), as (phone, text).
outbox: list[tuple[str, str]] = []


class LocmemSmsBackend(BaseSmsBackend):
    def send(self, phone: str, text: str) -> None:
        outbox.append((phone, text))


def sms_backend() -> BaseSmsBackend:
    return import_string(getattr(settings, "SMS_BACKEND", DEFAULT_BACKEND) or DEFAULT_BACKEND)()


def sms_send(phone: str, text: str, *, backend: BaseSmsBackend | None = None) -> None:
    """Send one text message; raises :class:`SmsError` when the backend cannot."""
    if not phone:
        raise SmsError("no phone number")
    (backend or sms_backend()).send(phone, text)
