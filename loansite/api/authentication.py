"""API authentication: a JWT counts only while the account is as it was when the token was issued."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings

from loansite.security import token_stamp_matches, token_user_cached, token_user_load


class StampedJWTAuthentication(JWTAuthentication):
    """simplejwt's bearer authentication, plus: the token's ``sst`` claim must match the user's
    current stamp (password, flags, security stamp) and the token must not have been ended by
    a logout. One query, like the stock class, and none while this process keeps the token's
    user (``token_user_cached``: a few seconds, dropped on any change to accounts, stamps,
    revocations or permissions)."""

    def get_user(self, validated_token):
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken(_("Token contained no recognizable user identification")) from exc
        jti = str(validated_token.get(api_settings.JTI_CLAIM, ""))
        user = token_user_cached(user_id=user_id, jti=jti, load=lambda: token_user_load(user_id=user_id, jti=jti))
        if user is None or not user.is_active:
            raise AuthenticationFailed(_("No active account found for the given token."), code="user_inactive")
        if user.token_revoked or not token_stamp_matches(validated_token, user):
            raise AuthenticationFailed(_("This token has been revoked."), code="token_revoked")
        return user


class StampedJWTScheme(SimpleJWTScheme):
    """In the API docs it is simplejwt's bearer scheme."""

    target_class = StampedJWTAuthentication
