"""``/api/v1/auth/``: JWT login, refresh, logout, me, change-password, staff-only register."""

from django.contrib.auth import update_session_auth_hash
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from audit.models import AuditAction
from audit.services import audit_record
from loansite.accounts import user_api_logout, user_change_password, user_register
from loansite.api.permissions import IsActiveStaff, require_perms
from loansite.api.throttles import AuthRateThrottle, LoginRateThrottle
from loansite.roles import ROLE_PERMISSIONS
from loansite.security import StampedRefreshToken, token_stamp_matches, token_user_load
from loansite.two_factor.api import TwoFactorTokenObtainPairSerializer


class LoginSerializer(TwoFactorTokenObtainPairSerializer):
    """Tokens bound to the account's current state (``loansite.security``); the username is
    taken as typed (no trimming: " officer" is not a username and gets the usual 401)."""

    token_class = StampedRefreshToken

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[self.username_field] = serializers.CharField(write_only=True, trim_whitespace=False)


class LoginView(TokenObtainPairView):
    # {username, password, otp}: the second factor for accounts that use it.
    serializer_class = LoginSerializer
    # One sign-in budget per address shared with the admin login, then the auth scope.
    throttle_classes = [LoginRateThrottle, AuthRateThrottle]
    throttle_scope = "auth"

    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        # Not in one transaction: a refused sign-in keeps its failed-login audit entry.
        try:
            serializer.is_valid(raise_exception=True)
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        # The account the credentials named, as authenticated (never looked up again by the raw
        # input, which a leading space turned into a 500).
        user = serializer.user
        audit_record(action=AuditAction.LOGIN, actor=user, target=user, changes={"channel": "api"})
        return Response(serializer.validated_data, status=status.HTTP_200_OK)


class RefreshSerializer(TokenRefreshSerializer):
    """Rotate a refresh token: only while the account is as it was at login (password, flags,
    roles, not signed out everywhere), only once per token (a second use of the same token is
    refused, so two parties holding it cannot both continue), and never beyond the login's
    refresh lifetime (rotation keeps the original expiry)."""

    token_class = StampedRefreshToken

    def validate(self, attrs):
        refresh = self.token_class(attrs["refresh"])
        user = token_user_load(user_id=refresh.get(jwt_settings.USER_ID_CLAIM), jti="")
        if user is None or not user.is_active or not token_stamp_matches(refresh, user):
            raise exceptions.AuthenticationFailed(_("This token has been revoked."), code="token_revoked")
        data = {"access": str(refresh.access_token)}
        _row, first_use = refresh.blacklist()
        if not first_use:
            raise exceptions.AuthenticationFailed(_("This token has been used already."), code="token_reused")
        refresh.set_jti()
        refresh.set_iat()
        refresh.outstand()
        data["refresh"] = str(refresh)
        return data


class RefreshView(TokenRefreshView):
    serializer_class = RefreshSerializer
    throttle_classes = [AuthRateThrottle]
    throttle_scope = "auth"

    def post(self, request, *args, **kwargs):
        with transaction.atomic():
            return super().post(request, *args, **kwargs)


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class LogoutView(APIView):
    """End the caller's refresh token and the access token of this call; only the caller's own."""

    permission_classes = [IsActiveStaff]

    @extend_schema(request=LogoutSerializer, responses={205: None})
    def post(self, request):
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            refresh = StampedRefreshToken(serializer.validated_data["refresh"])
        except TokenError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        user_api_logout(user=request.user, refresh=refresh, access=request.auth)
        return Response(status=status.HTTP_205_RESET_CONTENT)


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    is_superuser = serializers.BooleanField()
    roles = serializers.ListField(child=serializers.CharField())
    permissions = serializers.ListField(child=serializers.CharField())


class MeView(APIView):
    permission_classes = [IsActiveStaff]

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        user = request.user
        data = {
            "id": user.pk,
            "username": user.username,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "is_superuser": user.is_superuser,
            "roles": sorted(user.groups.values_list("name", flat=True)),
            "permissions": sorted(user.get_all_permissions()),
        }
        return Response(MeSerializer(data).data)


class ChangePasswordSerializer(serializers.Serializer):
    old_password = serializers.CharField(trim_whitespace=False)
    new_password = serializers.CharField(trim_whitespace=False)


class ChangePasswordView(APIView):
    permission_classes = [IsActiveStaff]
    throttle_classes = [AuthRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=ChangePasswordSerializer, responses={204: None})
    def post(self, request):
        serializer = ChangePasswordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user_change_password(user=request.user, **serializer.validated_data)
        if isinstance(request.successful_authenticator, SessionAuthentication):
            # The calling session stays signed in; the others and every API token end.
            update_session_auth_hash(request._request, request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RegisterSerializer(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    password = serializers.CharField(trim_whitespace=False, write_only=True)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    first_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=150)
    last_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=150)
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=list(ROLE_PERMISSIONS)), required=False, default=list
    )


class RegisterView(APIView):
    """Create a staff account. Administrators only; there is no public sign-up."""

    permission_classes = [require_perms("auth.add_user")]

    @extend_schema(
        request=RegisterSerializer,
        responses={
            201: inline_serializer(
                "RegisteredUser", {"id": serializers.IntegerField(), "username": serializers.CharField()}
            )
        },
    )
    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_register(actor=request.user, **serializer.validated_data)
        return Response({"id": user.pk, "username": user.username}, status=status.HTTP_201_CREATED)


LoginView.permission_classes = [AllowAny]
RefreshView.permission_classes = [AllowAny]
