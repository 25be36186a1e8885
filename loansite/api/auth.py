"""``/api/v1/auth/``: JWT login, refresh, logout, me, change-password, staff-only register."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from audit.models import AuditAction
from audit.services import audit_record
from loansite.accounts import user_change_password, user_register
from loansite.api.permissions import IsActiveStaff, require_perms
from loansite.api.throttles import AuthRateThrottle, LoginRateThrottle
from loansite.roles import ROLE_PERMISSIONS
from loansite.two_factor.api import TwoFactorTokenObtainPairSerializer


class LoginView(TokenObtainPairView):
    # {username, password, otp}: the second factor for accounts that use it.
    serializer_class = TwoFactorTokenObtainPairSerializer
    # One sign-in budget per address shared with the admin login, then the auth scope.
    throttle_classes = [LoginRateThrottle, AuthRateThrottle]
    throttle_scope = "auth"

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        if response.status_code == status.HTTP_200_OK:
            user = get_user_model().objects.get(username=request.data.get("username"))
            audit_record(action=AuditAction.LOGIN, actor=user, target=user, changes={"channel": "api"})
        return response


class RefreshView(TokenRefreshView):
    throttle_classes = [AuthRateThrottle]
    throttle_scope = "auth"


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class LogoutView(APIView):
    permission_classes = [IsActiveStaff]

    @extend_schema(request=LogoutSerializer, responses={205: None})
    def post(self, request):
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            RefreshToken(serializer.validated_data["refresh"]).blacklist()
        except TokenError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        audit_record(action=AuditAction.LOGOUT, actor=request.user, target=request.user, changes={"channel": "api"})
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
