"""``/api/v1/portal/auth/``: portal tokens (sign-in, refresh, logout) and the signed-in account."""

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.models import PortalRevokedToken
from customers.portal import services
from customers.portal.api_auth import (
    ACCOUNT_CLAIM,
    PortalAPIView,
    portal_token_account,
    portal_token_decode,
    portal_token_pair,
)
from customers.portal.auth import account_customers, portal_customer
from loansite.api.throttles import AuthRateThrottle, LoginRateThrottle
from loansite.proxy import client_ip
from loansite.throttling import retry_message


class PortalAuthRateThrottle(AuthRateThrottle):
    """The ``auth`` rate, counted apart from staff accounts (portal account ids are not user ids)."""

    cache_format = "throttle_portal_%(scope)s_%(ident)s"


def _revoke(claims: dict, account_id) -> bool:
    """End one token; False if it had been ended already."""
    expires_at = datetime.datetime.fromtimestamp(claims["exp"], tz=datetime.UTC)
    PortalRevokedToken.objects.filter(expires_at__lt=timezone.now()).delete()  # expired ones fail anyway
    _row, created = PortalRevokedToken.objects.get_or_create(
        jti=claims["jti"], defaults={"account_id": account_id, "expires_at": expires_at}
    )
    return created


class _Anonymous(BaseAuthentication):
    """No credentials read (the body holds them); refusals answer 401 with the portal's scheme."""

    def authenticate(self, request):
        return None

    def authenticate_header(self, request):
        return 'Bearer realm="portal"'


class TokenSerializer(serializers.Serializer):
    login = serializers.CharField(max_length=150, trim_whitespace=False)
    password = serializers.CharField(trim_whitespace=False, write_only=True)
    device = serializers.CharField(max_length=128, required=False, allow_blank=True, default="")


TokenPair = inline_serializer(
    "PortalTokenPair", {"access": serializers.CharField(), "refresh": serializers.CharField()}
)


class TokenView(APIView):
    """Sign in with phone or username + password: the same lockout, throttles, freeze check and
    risk login event as the web sign-in."""

    authentication_classes = [_Anonymous]
    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle, PortalAuthRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=TokenSerializer, responses={200: TokenPair})
    def post(self, request):
        serializer = TokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            account = services.portal_sign_in(
                login=data["login"],
                password=data["password"],
                ip=client_ip(request),
                user_agent=request.headers.get("User-Agent", ""),
                device=data["device"],
                channel="api",
            )
        except services.SignInRefused as exc:
            if exc.reason == "locked":
                response = Response(
                    {"detail": retry_message(exc.seconds), "retry_after": exc.seconds},
                    status=status.HTTP_429_TOO_MANY_REQUESTS,
                )
                response["Retry-After"] = str(exc.seconds)
                return response
            code = "account_frozen" if exc.reason == "frozen" else "no_active_account"
            raise exceptions.AuthenticationFailed(str(exc.message), code=code) from exc
        return Response(portal_token_pair(account=account))


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class RefreshView(APIView):
    """A new token pair for a refresh token; each refresh token works once, and the new one keeps
    the sign-in's expiry."""

    authentication_classes = [_Anonymous]
    permission_classes = [AllowAny]
    throttle_classes = [PortalAuthRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=RefreshSerializer, responses={200: TokenPair})
    def post(self, request):
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        claims = portal_token_decode(serializer.validated_data["refresh"], token_type="refresh")
        with transaction.atomic():
            account = portal_token_account(claims)
            if not _revoke(claims, account.pk):
                raise exceptions.AuthenticationFailed(_("This token has been used already."), code="token_reused")
        expires_at = datetime.datetime.fromtimestamp(claims["exp"], tz=datetime.UTC)
        return Response(portal_token_pair(account=account, refresh_expires_at=expires_at))


class LogoutView(PortalAPIView):
    """End the caller's refresh token and the access token of this call (only the caller's own)."""

    throttle_classes = [PortalAuthRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=RefreshSerializer, responses={205: None})
    def post(self, request):
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        claims = portal_token_decode(serializer.validated_data["refresh"], token_type="refresh")
        if claims[ACCOUNT_CLAIM] != request.user.pk:
            raise exceptions.ValidationError({"refresh": [_("This token belongs to another account.")]})
        with transaction.atomic():
            _revoke(claims, request.user.pk)
            _revoke(request.auth, request.user.pk)
            services.portal_sign_out(account=request.user, channel="api")
        return Response(status=status.HTTP_205_RESET_CONTENT)


class MeCustomerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField(allow_null=True)
    phone = serializers.CharField(help_text="Masked.")
    customers = MeCustomerSerializer(many=True)
    selected_customer = serializers.IntegerField()


class MeView(PortalAPIView):
    """The signed-in account, the customers it holds and the one this call acts for
    (``X-Customer-Id``)."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        from loansite.sms import phone_masked

        account = request.user
        selected = portal_customer(request)
        data = {
            "id": account.pk,
            "username": account.username,
            "phone": phone_masked(account.phone),
            "customers": [{"id": c.pk, "name": c.name, "kind": c.kind} for c in account_customers(account)],
            "selected_customer": selected.pk,
        }
        return Response(MeSerializer(data).data)
