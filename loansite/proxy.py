"""The client's address, decided in one place from the one trusted-proxy setting.

Login throttles (admin and API), the django-axes lockout, the public-form rate limits and
the audit trail all call :func:`client_ip`, so a header the client writes itself can never
give it a fresh throttle bucket, and a deployment behind a reverse proxy never locks out
everyone behind the proxy's own address.

``TRUSTED_PROXY_IP_HEADER`` (e.g. ``HTTP_X_FORWARDED_FOR``) names the header the reverse
proxy sets, ``TRUSTED_PROXY_COUNT`` how many trusted proxies append to it. Empty header:
``REMOTE_ADDR`` only, and any ``X-Forwarded-For`` is ignored.
"""

import ipaddress

from django.conf import settings


def _normalised(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip())) if value else None
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """``REMOTE_ADDR``, or the address the configured trusted proxies put in their header.

    Each trusted proxy appends the address it saw, so the client is ``TRUSTED_PROXY_COUNT``
    entries from the end; anything further left was written by the client and is ignored.
    ``None`` when the address is not a valid IP address.
    """
    meta = getattr(request, "META", {})
    header = getattr(settings, "TRUSTED_PROXY_IP_HEADER", "")
    raw = meta.get(header) if header else None
    if raw:
        hops = [part.strip() for part in raw.split(",") if part.strip()]
        if hops:
            count = max(int(getattr(settings, "TRUSTED_PROXY_COUNT", 1)), 1)
            return _normalised(hops[max(len(hops) - count, 0)])
    return _normalised(meta.get("REMOTE_ADDR"))


def client_key(request) -> str:
    """:func:`client_ip` as a throttle key (``"unknown"`` for an unparsable address)."""
    return client_ip(request) or "unknown"
