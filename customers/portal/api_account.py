"""``/api/v1/portal/auth/``: portal tokens (sign-in, refresh, logout) and the signed-in account."""

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.models import PortalCode, PortalRevokedToken
from customers.portal import services
from customers.portal.api_auth import (
    ACCOUNT_CLAIM,
    PortalAPIView,
    portal_token_account,
    portal_token_decode,
    portal_token_pair,
)
from customers.portal.auth import (
    account_customers,
    code_rate_message,
    code_sent_message,
    password_reset_message,
    portal_customer,
    registered_message,
)
from loansite.api.throttles import AuthRateThrottle, LoginRateThrottle
from loansite.errors import ApplicationError
from loansite.proxy import client_ip, client_key
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

    @extend_schema(request=TokenSerializer, responses={200: TokenPair}, auth=[])
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


@extend_schema_serializer(component_name="PortalRefreshRequest")
class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class RefreshView(APIView):
    """A new token pair for a refresh token; each refresh token works once, and the new one keeps
    the sign-in's expiry."""

    authentication_classes = [_Anonymous]
    permission_classes = [AllowAny]
    throttle_classes = [PortalAuthRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=RefreshSerializer, responses={200: TokenPair}, auth=[])
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


# --- registration and password reset by code (anonymous; the same checks as the web pages) ------


CodeSent = inline_serializer("PortalCodeSent", {"code_id": serializers.UUIDField(), "detail": serializers.CharField()})
Done = inline_serializer("PortalDone", {"detail": serializers.CharField()})


class PortalIdentitySerializer(serializers.Serializer):
    identifier = serializers.CharField(max_length=32, help_text="Unified social credit code or resident ID number.")
    phone = serializers.CharField(max_length=20, help_text="The mobile phone on file with the bank.")


class PortalResetCodeSerializer(serializers.Serializer):
    login = serializers.CharField(max_length=150, help_text="Mobile phone or username.")


class _PortalCodeAndPasswordSerializer(serializers.Serializer):
    code_id = serializers.UUIDField(help_text="From the code request's answer.")
    code = serializers.RegexField(r"^\d{6}\Z", help_text="The six digits sent by text message.")
    password = serializers.CharField(trim_whitespace=False, write_only=True, max_length=128)


class PortalRegisterSerializer(_PortalCodeAndPasswordSerializer):
    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150, required=False, allow_blank=True, default="")


class PortalResetSerializer(_PortalCodeAndPasswordSerializer):
    pass


class _CodeStepView(APIView):
    authentication_classes = [_Anonymous]
    permission_classes = [AllowAny]
    throttle_classes = [PortalAuthRateThrottle]
    throttle_scope = "auth"

    def _code_rate_check(self, request) -> None:
        if services.portal_code_rate_hit(key=client_key(request)):
            raise exceptions.Throttled(detail=code_rate_message())


class RegisterCodeView(_CodeStepView):
    """Step 1 of registration: the identifier and the phone on file. The answer is the same
    whether or not they match a customer (a code goes to the phone on file only if they do);
    keep ``code_id`` for step 2."""

    @extend_schema(request=PortalIdentitySerializer, responses={202: CodeSent}, auth=[])
    def post(self, request):
        body = PortalIdentitySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        self._code_rate_check(request)
        row = services.portal_code_request(purpose=PortalCode.Purpose.REGISTER, **body.validated_data)
        return Response({"code_id": str(row.pk), "detail": code_sent_message()}, status=status.HTTP_202_ACCEPTED)


class RegisterView(_CodeStepView):
    """Step 2 of registration: the code, a password and an optional username. The account's login
    phone is the phone on file; sign in with ``auth/token/`` afterwards."""

    @extend_schema(request=PortalRegisterSerializer, responses={201: Done}, auth=[])
    def post(self, request):
        body = PortalRegisterSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        services.portal_account_register(
            code_id=data["code_id"], code=data["code"], password=data["password"], username=data["username"]
        )
        return Response({"detail": registered_message()}, status=status.HTTP_201_CREATED)


class ResetCodeView(_CodeStepView):
    """Step 1 of a password reset: the phone or username. The same answer whether or not an
    account matches; keep ``code_id`` for step 2."""

    @extend_schema(request=PortalResetCodeSerializer, responses={202: CodeSent}, auth=[])
    def post(self, request):
        body = PortalResetCodeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        self._code_rate_check(request)
        row = services.portal_reset_request(login=body.validated_data["login"])
        detail = code_sent_message(reset=True)
        return Response({"code_id": str(row.pk), "detail": detail}, status=status.HTTP_202_ACCEPTED)


class ResetView(_CodeStepView):
    """Step 2 of a password reset: the code and the new password. Every session and token of the
    account ends and its lockouts are lifted."""

    @extend_schema(request=PortalResetSerializer, responses={200: Done}, auth=[])
    def post(self, request):
        body = PortalResetSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        services.portal_password_reset(code_id=data["code_id"], code=data["code"], password=data["password"])
        return Response({"detail": password_reset_message()})


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


@extend_schema_serializer(component_name="PortalMe")
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


# --- profile, change requests, messages, password (the selected customer: X-Customer-Id) -------


class ProfileSerializer(serializers.Serializer):
    """What a customer may change directly; identity fields go through a change request."""

    email = serializers.EmailField(required=False, allow_blank=True)
    address = serializers.CharField(required=False, allow_blank=True, max_length=300)
    needs = serializers.ListField(child=serializers.SlugField(max_length=32), required=False, max_length=50)
    interests = serializers.ListField(child=serializers.SlugField(max_length=32), required=False, max_length=50)
    marketing_consent = serializers.BooleanField(required=False)


class ProfileOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    credit_code = serializers.CharField(allow_null=True)
    id_number = serializers.CharField(allow_null=True, help_text="Masked.")
    phone = serializers.CharField(help_text="Masked.")
    email = serializers.CharField()
    address = serializers.CharField()
    needs = serializers.ListField(child=serializers.CharField())
    interests = serializers.ListField(child=serializers.CharField())
    marketing_consent = serializers.BooleanField()


def _profile_data(account, customer) -> dict:
    from customers.models import PortalAccess
    from loansite.sms import phone_masked

    access = PortalAccess.objects.get(account=account, customer=customer)
    id_number = customer.id_number
    return {
        "id": customer.pk,
        "name": customer.name,
        "kind": customer.kind,
        "credit_code": customer.credit_code,
        "id_number": f"{id_number[:3]}***********{id_number[-4:]}" if id_number else None,
        "phone": phone_masked(customer.phone),
        "email": customer.email,
        "address": customer.address,
        "needs": sorted(customer.needs.values_list("code", flat=True)),
        "interests": sorted(customer.interests.values_list("code", flat=True)),
        "marketing_consent": access.marketing_consent,
    }


class ProfileView(PortalAPIView):
    @extend_schema(responses=ProfileOutSerializer)
    def get(self, request):
        return Response(ProfileOutSerializer(_profile_data(request.user, portal_customer(request))).data)

    @extend_schema(request=ProfileSerializer, responses=ProfileOutSerializer)
    def patch(self, request):
        from customers.models import Interest, Need

        customer = portal_customer(request)
        serializer = ProfileSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        lists = {}
        for name, model in (("needs", Need), ("interests", Interest)):
            if name in data:
                found = list(model.objects.filter(code__in=data[name]))
                unknown = sorted(set(data[name]) - {item.code for item in found})
                if unknown:
                    raise exceptions.ValidationError({name: [_("Unknown: %(codes)s") % {"codes": ", ".join(unknown)}]})
                lists[name] = found
        try:
            services.portal_profile_update(
                account=request.user,
                customer=customer,
                contact={name: data[name] for name in services.CONTACT_FIELDS if name in data},
                needs=lists.get("needs"),
                interests=lists.get("interests"),
                marketing_consent=data.get("marketing_consent"),
            )
        except ApplicationError as exc:
            return Response({"detail": str(exc.message), **exc.extra}, status=exc.status_code)
        customer.refresh_from_db()
        return Response(ProfileOutSerializer(_profile_data(request.user, customer)).data)


class ChangeRequestSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    credit_code = serializers.CharField(required=False, allow_blank=True, max_length=18)
    id_number = serializers.CharField(required=False, allow_blank=True, max_length=18)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=20)
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class ChangeRequestView(PortalAPIView):
    """Ask the bank to change identity fields (an officer decides; nothing changes before)."""

    @extend_schema(
        request=ChangeRequestSerializer,
        responses={201: inline_serializer("PortalChangeRequestCreated", {"id": serializers.IntegerField()})},
    )
    def post(self, request):
        customer = portal_customer(request)
        serializer = ChangeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        note = data.pop("note", "")
        try:
            change = services.portal_change_request_create(
                account=request.user, customer=customer, changes=data, note=note
            )
        except ApplicationError as exc:
            return Response({"detail": str(exc.message), **exc.extra}, status=exc.status_code)
        return Response({"id": change.pk}, status=status.HTTP_201_CREATED)


class MessageSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.CharField()
    subject = serializers.CharField()
    body = serializers.CharField()
    new = serializers.BooleanField(help_text="Sent after the newest message this account marked seen.")


class MessagesSeenSerializer(serializers.Serializer):
    up_to = serializers.DateTimeField(help_text="The newest message shown (its ``at``).")


class MessagesView(PortalAPIView):
    """Reminders and notices sent to the selected customer, newest first; ``new`` marks those
    after the last one this account marked seen (``POST messages/seen/``)."""

    @extend_schema(responses=MessageSerializer(many=True))
    def get(self, request):
        from customers.portal.selectors_accounts import portal_messages

        items = portal_messages(customer=portal_customer(request), account=request.user)
        return Response(MessageSerializer([item.__dict__ for item in items], many=True).data)


class MessagesSeenView(PortalAPIView):
    """Mark the selected customer's messages seen up to ``up_to`` (never moves back, and never
    past now)."""

    @extend_schema(request=MessagesSeenSerializer, responses={204: None})
    def post(self, request):
        body = MessagesSeenSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        up_to = min(body.validated_data["up_to"], timezone.now())
        services.portal_messages_seen(account=request.user, customer=portal_customer(request), up_to=up_to)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordSerializer(serializers.Serializer):
    old_password = serializers.CharField(trim_whitespace=False)
    new_password = serializers.CharField(trim_whitespace=False)


class PasswordView(PortalAPIView):
    """Change the password: every other session and token of the account ends; the answer holds
    a new token pair for this app."""

    throttle_classes = [PortalAuthRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=PasswordSerializer, responses={200: TokenPair})
    def post(self, request):
        serializer = PasswordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            account = services.portal_password_change(account=request.user, **serializer.validated_data)
        except ApplicationError as exc:
            return Response({"detail": str(exc.message)}, status=exc.status_code)
        return Response(portal_token_pair(account=account))
