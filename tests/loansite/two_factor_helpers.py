"""Two-factor helpers for tests: enrol an authenticator, compute its next code, verify a session."""

import time

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP, hotp
from django_otp.plugins.otp_totp.models import TOTPDevice

from loansite.two_factor.selectors import two_factor_enrolled, two_factor_required


def totp_device_enrol(user) -> TOTPDevice:
    """The user's confirmed authenticator (created when there is none)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="Test authenticator", confirmed=True)


def totp_code_for_key(key: bytes, *, after_t: int = -1, drift: int = 0) -> str:
    """The code an authenticator app shows now, or the next step's when this one was used.

    The server accepts one step either side (tolerance 1) and never a step twice, so a second
    sign-in within the same 30 seconds uses the next step's code, as a fast phone would.
    """
    totp = TOTP(key, drift=drift)
    t = totp.t()
    if after_t > t:  # this step and the next were both used: wait for the clock to catch up
        time.sleep((after_t - t) * 30 - time.time() % 30 + 0.1)
        t = totp.t()
    return f"{hotp(key, max(t, after_t + 1)):06d}"


def totp_code(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return totp_code_for_key(device.bin_key, after_t=device.last_t, drift=device.drift)


def session_two_factor_verify(client, user) -> None:
    """Mark the client's signed-in session as having passed the second factor, where it applies."""
    if not (two_factor_required(user) or two_factor_enrolled(user)):
        return
    device = totp_device_enrol(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
