"""Binding sessions and API tokens to the state of the account they were issued for.

Every API token carries ``sst``: a keyed hash of the user's security stamp, password hash and
active / staff / superuser flags. Every staff session stores a keyed hash of the stamp and the
flags (Django already ties sessions to the password hash). Whatever changes one of these, by
any path (admin, API, ``changepassword``, a password reset, the shell), the tokens and sessions
issued before stop working; what cannot be seen on the user row (group membership, direct
permissions, deactivation followed by reactivation, "sign out everywhere") rotates the stamp.
Everything lives in the database, so it holds across any number of web servers.

Access tokens ended by a logout are kept in ``RevokedToken`` until they expire.
"""

import copy
import secrets
import threading
import time
from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken, Token

from loansite.models import RevokedToken, SecurityStamp

TOKEN_STAMP_CLAIM = "sst"
SESSION_STAMP_KEY = "_loansite_security_stamp"
# Stored in place of the token text: a refresh token is never kept in the database.
TOKEN_NOT_STORED = ""


def _stamp_value(user) -> str:
    try:
        return user.security_stamp.value
    except SecurityStamp.DoesNotExist:
        return ""


def _flags(user) -> str:
    return f"{int(user.is_active)}{int(user.is_staff)}{int(user.is_superuser)}"


def user_token_stamp(user) -> str:
    """What a valid API token of ``user`` carries in its ``sst`` claim."""
    material = f"{_stamp_value(user)}|{_flags(user)}|{user.password}"
    return salted_hmac("loansite.security.token", material, algorithm="sha256").hexdigest()[:40]


def user_session_stamp(user) -> str:
    """What a valid session of ``user`` stores (the password is checked by Django itself)."""
    material = f"{_stamp_value(user)}|{_flags(user)}"
    return salted_hmac("loansite.security.session", material, algorithm="sha256").hexdigest()[:40]


def token_stamp_matches(token, user) -> bool:
    return constant_time_compare(str(token.get(TOKEN_STAMP_CLAIM, "")), user_token_stamp(user))


def user_security_stamp_rotate(*, user) -> None:
    """End every session and API token of ``user`` (callers audit why)."""
    stamp, _created = SecurityStamp.objects.update_or_create(
        user_id=user.pk, defaults={"value": secrets.token_hex(16), "rotated_at": timezone.now()}
    )
    user.security_stamp = stamp
    user_refresh_tokens_blacklist(user=user)


def user_refresh_tokens_blacklist(*, user) -> int:
    """Mark the user's live refresh tokens as blacklisted (they are dead already when the stamp or
    password changed; this shows it in the token list and survives a change being undone)."""
    live = list(
        OutstandingToken.objects.filter(user_id=user.pk, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True)
    )
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token=token) for token in live], ignore_conflicts=True)
    return len(live)


def access_token_revoke(*, token, user) -> None:
    """End one access token before it expires (logout)."""
    expires_at = datetime.fromtimestamp(token["exp"], tz=UTC)
    RevokedToken.objects.filter(expires_at__lt=timezone.now()).delete()
    RevokedToken.objects.get_or_create(
        jti=token[api_settings.JTI_CLAIM], defaults={"user": user, "expires_at": expires_at}
    )


def token_user_load(*, user_id, jti: str):
    """The token's user with its stamp, and whether this token was revoked, in one query."""
    return (
        get_user_model()
        .objects.select_related("security_stamp")
        .annotate(token_revoked=Exists(RevokedToken.objects.filter(jti=jti, user_id=OuterRef("pk"))))
        .filter(**{api_settings.USER_ID_FIELD: user_id})
        .first()
    )


class StampedRefreshToken(RefreshToken):
    """A refresh token bound to the account's stamp, whose text is never stored.

    simplejwt keeps the full token text in ``OutstandingToken.token`` (and its admin showed it);
    only the id, user and expiry are needed to blacklist it, so the text is not written.
    """

    @classmethod
    def for_user(cls, user):
        token = Token.for_user.__func__(cls, user)
        token[TOKEN_STAMP_CLAIM] = user_token_stamp(user)
        token.outstand()
        return token

    def _outstanding(self):
        return OutstandingToken.objects.get_or_create(
            jti=self.payload[api_settings.JTI_CLAIM],
            defaults={
                "user_id": self.payload.get(api_settings.USER_ID_CLAIM),
                "created_at": self.current_time,
                "token": TOKEN_NOT_STORED,
                "expires_at": datetime.fromtimestamp(self.payload["exp"], tz=UTC),
            },
        )

    def outstand(self):
        return self._outstanding()

    def blacklist(self):
        """Blacklist this token; ``(row, created)``: ``created`` is False if it already was."""
        outstanding, _created = self._outstanding()
        return BlacklistedToken.objects.get_or_create(token=outstanding)


# --- API authentication, kept per process for a few seconds ---------------------------------
# Loading the token's user with its stamp and its permissions cost about a third of a small
# API call. A process keeps what it loaded for a token (the user, its stamp match and its
# permissions) for TOKEN_USER_TTL seconds while a shared generation stays the same; every
# change that can end a token or change what it may do moves the generation, at once and
# again on commit (``auth_changed``: users saved or deleted, stamps rotated, tokens revoked,
# group memberships and permissions changed; see loansite.signals), so every process reloads
# at its next call. A change that bypasses the model layer (a raw UPDATE) counts within
# TOKEN_USER_TTL seconds.
TOKEN_USER_TTL = 5.0
AUTH_GENERATION_KEY = "loansite:auth-generation"
_token_users: dict = {}
_token_users_lock = threading.Lock()


def _auth_generation() -> str:
    from django.core.cache import cache

    generation = cache.get(AUTH_GENERATION_KEY)
    if generation is None:
        cache.add(AUTH_GENERATION_KEY, secrets.token_hex(8), None)
        generation = cache.get(AUTH_GENERATION_KEY)
    return generation


def auth_changed() -> None:
    """Something that decides who a token is and what it may do changed: every process drops
    what it kept (now, and once more when the change is committed)."""
    from django.core.cache import cache

    def bump():
        cache.set(AUTH_GENERATION_KEY, secrets.token_hex(8), None)
        with _token_users_lock:
            _token_users.clear()

    bump()
    transaction.on_commit(bump)


def token_user_cached(*, user_id, jti: str, load):
    """The user ``load()`` gives for this token (with its permissions once read), from this
    process's copy while the generation is unchanged and it is younger than TOKEN_USER_TTL.
    Each call gets its own copy of the user object (the permission sets are shared, read only)."""
    generation = _auth_generation()
    key = (str(user_id), jti)
    now = time.monotonic()
    with _token_users_lock:
        kept = _token_users.get(key)
    if kept is not None and kept[1] == generation and now - kept[2] < TOKEN_USER_TTL:
        return copy.copy(kept[0])
    user = load()
    if user is not None:
        # Read the permissions now, so that the copy kept carries them.
        user.get_all_permissions()
        with _token_users_lock:
            if len(_token_users) > 10_000:
                _token_users.clear()
            _token_users[key] = (user, generation, now)
        user = copy.copy(user)
    return user
