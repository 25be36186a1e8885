"""API authentication: a JWT counts only while the account is as it was when the token was issued."""

import threading
import time

from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings

from loansite.security import token_stamp_matches, token_user_cached, token_user_load

# Tokens whose signature and claims were checked, by their text: (token, expiry in epoch seconds).
_validated: dict[bytes, tuple] = {}
_validated_lock = threading.Lock()
VALIDATED_KEPT = 10_000


class StampedJWTAuthentication(JWTAuthentication):
    """simplejwt's bearer authentication, plus: the token's ``sst`` claim must match the user's
    current stamp (password, flags, security stamp) and the token must not have been ended by
    a logout. One query, like the stock class, and none while this process keeps the token's
    user (``token_user_cached``: a few seconds, dropped on any change to accounts, stamps,
    revocations or permissions)."""

    def get_validated_token(self, raw_token):
        """simplejwt's check of the signature and claims, kept by this process until the token
        expires: they cannot change, and checking them again (base64, HMAC, JSON) was a good
        part of a risk-scoring call. Whether the token still counts (its account, stamp and
        revocation) is checked on every call, in :meth:`get_user`."""
        kept = _validated.get(raw_token)
        if kept is not None and time.time() < kept[1]:
            return kept[0]
        token = super().get_validated_token(raw_token)
        expires = token.payload.get("exp")
        if isinstance(expires, int | float):
            with _validated_lock:
                if len(_validated) >= VALIDATED_KEPT:
                    _validated.clear()
                _validated[bytes(raw_token)] = (token, expires)
        return token

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
