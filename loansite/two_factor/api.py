"""The second factor on the API: the JWT login asks for ``otp``; sessions count once verified."""

from django.contrib.auth.models import update_last_login
from django.utils.translation import gettext_lazy as _
from drf_spectacular.authentication import SessionScheme
from rest_framework import exceptions, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenObtainSerializer
from rest_framework_simplejwt.settings import api_settings

from loansite.two_factor import selectors, services


class TwoFactorRequired(exceptions.AuthenticationFailed):
    default_detail = _("Two-factor code required.")
    default_code = "two_factor_required"


class TwoFactorEnrolmentRequired(exceptions.PermissionDenied):
    default_detail = _("Your role requires two-factor authentication: set it up by signing in to the admin first.")
    default_code = "two_factor_enrolment_required"


def _error(exc_class, detail=None):
    detail = detail or exc_class.default_detail
    return exc_class({"detail": detail, "code": exc_class.default_code})


def two_factor_api_check(*, user, code: str) -> None:
    """Raise unless ``user`` may have tokens: no second factor applies, or ``code`` passes it."""
    if not selectors.two_factor_enrolled(user):
        if selectors.two_factor_required(user):
            raise _error(TwoFactorEnrolmentRequired)
        return
    if not code:
        raise _error(TwoFactorRequired)
    result = services.two_factor_verify(user=user, code=code, channel="api")
    if result.throttled:
        detail = _("Too many wrong two-factor codes. Wait %(seconds)d seconds and try again.") % {
            "seconds": result.wait_seconds
        }
        raise exceptions.AuthenticationFailed({"detail": detail, "code": "two_factor_throttled"})
    if not result.ok:
        raise exceptions.AuthenticationFailed(
            {"detail": _("The two-factor code is not valid."), "code": "two_factor_invalid"}
        )


class TwoFactorTokenObtainPairSerializer(TokenObtainPairSerializer):
    """``{username, password, otp}``: ``otp`` is needed by users with two-factor authentication
    (a 6-digit authenticator code or a single-use recovery code)."""

    otp = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        max_length=32,
        help_text=_("Two-factor code (6 digits) or a recovery code; needed when the account uses two-factor."),
    )

    def validate(self, attrs):
        # The password first (django-axes lockout applies), then the second factor, then tokens.
        data = TokenObtainSerializer.validate(self, attrs)
        two_factor_api_check(user=self.user, code=attrs.get("otp", ""))
        refresh = self.get_token(self.user)
        data["refresh"] = str(refresh)
        data["access"] = str(refresh.access_token)
        if api_settings.UPDATE_LAST_LOGIN:
            update_last_login(None, self.user)
        return data


class TwoFactorSessionAuthentication(SessionAuthentication):
    """A session authenticates an API call only once it passed the second factor where that
    applies: the password step alone opens neither the admin nor the API."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None or not selectors.two_factor_session_passes(request._request):
            return None
        return result


class TwoFactorSessionScheme(SessionScheme):
    """The API schema documents the two-factor session like Django's own session."""

    target_class = TwoFactorSessionAuthentication
