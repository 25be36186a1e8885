"""Portal API authentication: bearer JWTs with audience "portal", for the customers' mobile app.

Portal tokens are signed with a key of their own (derived from ``SECRET_KEY`` unless
``PORTAL_JWT_SIGNING_KEY`` is set), carry ``aud: "portal"`` and name the account in ``pid``
(never simplejwt's ``user_id``). Staff tokens carry ``aud: "staff"`` (``SIMPLE_JWT["AUDIENCE"]``):
each authentication class refuses the other's tokens. A token counts only while the account
is as it was when the token was issued (password, security stamp, active) and while none of
its customers is frozen; logout and a used refresh token end a token before it expires.
"""

import datetime
import uuid

import jwt
from django.conf import settings
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.views import APIView

from customers.portal.auth import account_frozen, account_stamp, account_stamp_matches, acting_as

AUDIENCE = "portal"
ALGORITHM = "HS256"
ACCOUNT_CLAIM = "pid"
STAMP_CLAIM = "sst"


def _signing_key() -> str:
    key = getattr(settings, "PORTAL_JWT_SIGNING_KEY", "")
    return key or salted_hmac("customers.portal.jwt", "signing-key", algorithm="sha256").hexdigest()


def access_lifetime() -> datetime.timedelta:
    return datetime.timedelta(minutes=int(getattr(settings, "PORTAL_JWT_ACCESS_MINUTES", 15)))


def refresh_lifetime() -> datetime.timedelta:
    return datetime.timedelta(days=int(getattr(settings, "PORTAL_JWT_REFRESH_DAYS", 1)))


def portal_token_encode(*, account, token_type: str, expires_at: datetime.datetime | None = None) -> str:
    now = timezone.now()
    lifetime = access_lifetime() if token_type == "access" else refresh_lifetime()
    payload = {
        "token_type": token_type,
        "aud": AUDIENCE,
        ACCOUNT_CLAIM: account.pk,
        STAMP_CLAIM: account_stamp(account),
        "jti": uuid.uuid4().hex,
        "iat": int(now.timestamp()),
        "exp": int((expires_at or now + lifetime).timestamp()),
    }
    return jwt.encode(payload, _signing_key(), algorithm=ALGORITHM)


def portal_token_pair(*, account, refresh_expires_at=None) -> dict:
    """``{"access": ..., "refresh": ...}``; a rotated refresh token keeps its login's expiry."""
    return {
        "access": portal_token_encode(account=account, token_type="access"),
        "refresh": portal_token_encode(account=account, token_type="refresh", expires_at=refresh_expires_at),
    }


def portal_token_decode(token: str, *, token_type: str) -> dict:
    """The claims of a valid portal token of ``token_type``; raises ``AuthenticationFailed``."""
    try:
        claims = jwt.decode(
            token,
            _signing_key(),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["exp", "aud", "jti", ACCOUNT_CLAIM]},
        )
    except jwt.PyJWTError as exc:
        raise exceptions.AuthenticationFailed(_("Token is invalid or expired."), code="token_not_valid") from exc
    if claims.get("token_type") != token_type:
        raise exceptions.AuthenticationFailed(_("Token has wrong type."), code="token_not_valid")
    return claims


def portal_token_account(claims: dict):
    """The active, unfrozen account a decoded token names, if the token was not ended."""
    from customers.models import PortalAccount, PortalRevokedToken

    account = PortalAccount.objects.filter(pk=claims[ACCOUNT_CLAIM], is_active=True).first()
    if account is None or not account_stamp_matches(claims.get(STAMP_CLAIM), account):
        raise exceptions.AuthenticationFailed(_("This token has been revoked."), code="token_revoked")
    if PortalRevokedToken.objects.filter(jti=claims["jti"]).exists():
        raise exceptions.AuthenticationFailed(_("This token has been revoked."), code="token_revoked")
    if account_frozen(account):
        from customers.portal.auth import frozen_message

        raise exceptions.AuthenticationFailed(frozen_message(), code="account_frozen")
    return account


class PortalJWTAuthentication(BaseAuthentication):
    """``Authorization: Bearer <portal access token>``; ``request.user`` is the PortalAccount."""

    keyword = b"bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid authorization header."))
        claims = portal_token_decode(header[1].decode("latin-1"), token_type="access")
        account = portal_token_account(claims)
        request._request.portal_account = account
        return account, claims

    def authenticate_header(self, request):
        return 'Bearer realm="portal"'


class PortalJWTScheme(OpenApiAuthenticationExtension):
    target_class = PortalJWTAuthentication
    name = "portalJWT"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


class IsPortalAccount(BasePermission):
    """Only a portal account authenticated by a portal token (never a staff user)."""

    def has_permission(self, request, view):
        from customers.models import PortalAccount

        return isinstance(request.user, PortalAccount) and request.user.is_active


class PortalAPIView(APIView):
    """Base of the portal API views: portal tokens only, portal accounts only; audit entries
    written by the view name the account. Use ``portal_customer(request)`` for the customer."""

    authentication_classes = [PortalJWTAuthentication]
    permission_classes = [IsPortalAccount]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self._portal_acting = acting_as(request.user)
        self._portal_acting.__enter__()

    def finalize_response(self, request, response, *args, **kwargs):
        acting = getattr(self, "_portal_acting", None)
        if acting is not None:
            self._portal_acting = None
            acting.__exit__(None, None, None)
        response = super().finalize_response(request, response, *args, **kwargs)
        response.headers.setdefault("Cache-Control", "no-store")
        return response
