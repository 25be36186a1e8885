"""DRF throttles keyed on ``loansite.proxy.client_ip``, never on a client-written header.

DRF's own ``get_ident`` takes ``X-Forwarded-For`` as the identity when present (whatever
the client wrote there), so every API throttle of the project derives from
``ClientIPThrottleMixin``; a test walks the URLconf to keep it that way.
"""

from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, ScopedRateThrottle

from loansite.proxy import client_key
from loansite.throttling import login_rate_check


class ClientIPThrottleMixin:
    def get_ident(self, request):
        return client_key(request)


class AuthRateThrottle(ClientIPThrottleMixin, ScopedRateThrottle):
    """The ``auth`` scope (``API_AUTH_THROTTLE``) per caller: per user when signed in, else per address."""

    def get_rate(self):
        # Read at use, not at import, so settings overrides apply.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class LoginRateThrottle(ClientIPThrottleMixin, BaseThrottle):
    """The per-address sign-in limit (``LOGIN_IP_RATE``), the same budget as the admin login."""

    seconds = None

    def allow_request(self, request, view):
        if request.method != "POST":
            return True
        self.seconds = login_rate_check(request)
        return self.seconds is None

    def wait(self):
        return self.seconds
