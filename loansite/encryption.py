"""Encryption at rest of sensitive columns, and the keyed hash that finds them.

- Values are encrypted with AES-256-GCM (authenticated: a changed byte fails to decrypt)
  under the first key of ``FIELD_ENCRYPTION_KEYS``; every key of the list decrypts. A
  stored value reads ``e1:<key id>:<base64url(nonce | ciphertext | tag)>``; the key id
  (8 hex characters derived from the key, revealing nothing of it) says which key
  decrypts it, and which values ``manage.py rotate_field_keys`` still has to rewrite.
- Look-ups and uniqueness use HMAC-SHA256 under ``FIELD_HASH_KEY`` over the normalised
  value. While a hash key is being replaced, ``FIELD_HASH_KEY_PREVIOUS`` keeps the old
  hashes findable until the rotation command has rewritten them.

The keys live outside the database (environment, or ``var/`` files in development), so
a copy of the database alone reveals none of the values.
"""

import base64
import binascii
import hashlib
import hmac
import os
import threading
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

TOKEN_PREFIX = "e1:"
KEY_ID_LENGTH = 8
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32
# A hash key shorter than this is refused (characters; a generated key has 43).
HASH_KEY_MIN_LENGTH = 32
_HEADER = len(TOKEN_PREFIX) + KEY_ID_LENGTH + 1


class FieldKeyError(ImproperlyConfigured):
    """The encryption or hash keys are missing or malformed."""


class FieldDecryptionError(Exception):
    """A stored value cannot be decrypted with the configured keys."""


def key_generate() -> str:
    """A new random key, as ``FIELD_ENCRYPTION_KEYS`` and ``FIELD_HASH_KEY`` take it."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()


def key_decode(text: str) -> bytes:
    """A 32-byte key from its base64 (URL-safe or standard) text."""
    text = (text or "").strip()
    try:
        raw = base64.urlsafe_b64decode(text.replace("+", "-").replace("/", "_") + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise FieldKeyError(
            "Each FIELD_ENCRYPTION_KEYS entry must be 32 random bytes in base64 "
            "(generate one with `manage.py rotate_field_keys --generate-key`)."
        )
    return raw


def key_id(raw: bytes) -> str:
    return hmac.new(raw, b"loansite field key id", hashlib.sha256).hexdigest()[:KEY_ID_LENGTH]


def hash_key_check(text: str, *, name: str = "FIELD_HASH_KEY") -> bytes:
    if len(text or "") < HASH_KEY_MIN_LENGTH:
        raise FieldKeyError(f"{name} must be at least {HASH_KEY_MIN_LENGTH} characters long.")
    return text.encode()


@dataclass(frozen=True)
class Keyring:
    primary_id: str
    primary: AESGCM
    ciphers: dict  # key id -> AESGCM
    hashers: tuple  # HMAC objects keyed with the current hash key, then the previous one
    # Recent hashes under the current key: an import hashes each phone for its look-up, its
    # insert and its audit entry. Bounded; dropped with the keyring when the keys change.
    hash_memo: dict = field(default_factory=dict, compare=False, repr=False)


HASH_MEMO_SIZE = 1 << 16
_lock = threading.Lock()
_keyring: Keyring | None = None


def keyring() -> Keyring:
    """The configured keys, built once (cipher objects and keyed HMAC states are reused)."""
    global _keyring
    if _keyring is None:
        with _lock:
            if _keyring is None:
                _keyring = _build()
    return _keyring


def _build() -> Keyring:
    from django.conf import settings

    keys = getattr(settings, "FIELD_ENCRYPTION_KEYS", None) or []
    if isinstance(keys, str):
        keys = [k for k in keys.split(",") if k.strip()]
    if not keys:
        raise FieldKeyError("FIELD_ENCRYPTION_KEYS is not set.")
    ciphers = {}
    for text in keys:
        raw = key_decode(text)
        ciphers.setdefault(key_id(raw), AESGCM(raw))
    primary_id = key_id(key_decode(keys[0]))
    hash_keys = [hash_key_check(getattr(settings, "FIELD_HASH_KEY", ""))]
    previous = getattr(settings, "FIELD_HASH_KEY_PREVIOUS", "")
    if previous:
        hash_keys.append(hash_key_check(previous, name="FIELD_HASH_KEY_PREVIOUS"))
    hashers = tuple(hmac.new(key, digestmod=hashlib.sha256) for key in hash_keys)
    return Keyring(primary_id=primary_id, primary=ciphers[primary_id], ciphers=ciphers, hashers=hashers)


def keyring_reset() -> None:
    global _keyring
    with _lock:
        _keyring = None


@receiver(setting_changed)
def _on_setting_changed(setting, **kwargs):
    if setting in ("FIELD_ENCRYPTION_KEYS", "FIELD_HASH_KEY", "FIELD_HASH_KEY_PREVIOUS"):
        keyring_reset()


def field_encrypt(plain: str) -> str:
    ring = keyring()
    nonce = os.urandom(NONCE_BYTES)
    sealed = ring.primary.encrypt(nonce, plain.encode(), None)
    body = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()
    return f"{TOKEN_PREFIX}{ring.primary_id}:{body}"


def token_key_id(token: str) -> str | None:
    """The id of the key a stored value was encrypted with (``None``: not a token)."""
    if isinstance(token, str) and token.startswith(TOKEN_PREFIX) and token[_HEADER - 1 : _HEADER] == ":":
        return token[len(TOKEN_PREFIX) : _HEADER - 1]
    return None


def field_decrypt(token: str, *, where: str = "") -> str:
    kid = token_key_id(token)
    place = f" ({where})" if where else ""
    if kid is None:
        raise FieldDecryptionError(f"A stored value{place} is not an encrypted value.")
    cipher = keyring().ciphers.get(kid)
    if cipher is None:
        raise FieldDecryptionError(
            f"A stored value{place} was encrypted with key {kid}, which is not in FIELD_ENCRYPTION_KEYS: "
            "add that key back (after the current one) or restore the right keys."
        )
    body = token[_HEADER:]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], None).decode()
    except (binascii.Error, ValueError, InvalidTag):
        raise FieldDecryptionError(
            f"A stored value{place} does not decrypt with key {kid}: it was altered, or that key is not the one "
            "it was encrypted with."
        ) from None


def bytes_encrypt(data: bytes) -> bytes:
    """Bytes (a stored file part) sealed like a field value: ``e1:<key id>:`` + nonce + ciphertext + tag."""
    ring = keyring()
    nonce = os.urandom(NONCE_BYTES)
    return f"{TOKEN_PREFIX}{ring.primary_id}:".encode() + nonce + ring.primary.encrypt(nonce, data, None)


def bytes_decrypt(blob: bytes, *, where: str = "") -> bytes:
    header = blob[:_HEADER].decode("ascii", "replace")
    kid = token_key_id(header)
    place = f" ({where})" if where else ""
    cipher = keyring().ciphers.get(kid) if kid is not None else None
    if cipher is None:
        raise FieldDecryptionError(f"Stored bytes{place} are not encrypted with a key in FIELD_ENCRYPTION_KEYS.")
    raw = blob[_HEADER:]
    try:
        return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], None)
    except InvalidTag:
        raise FieldDecryptionError(f"Stored bytes{place} do not decrypt with key {kid}.") from None


def field_hash(normalised: str) -> str:
    """HMAC-SHA256 under the current hash key (hex)."""
    ring = keyring()
    found = ring.hash_memo.get(normalised)
    if found is None:
        state = ring.hashers[0].copy()
        state.update(normalised.encode())
        found = state.hexdigest()
        if len(ring.hash_memo) >= HASH_MEMO_SIZE:
            ring.hash_memo.clear()
        ring.hash_memo[normalised] = found
    return found


def field_hashes(normalised: str) -> list[str]:
    """The hash under every configured hash key (current first): what a look-up compares."""
    found = []
    for hasher in keyring().hashers:
        state = hasher.copy()
        state.update(normalised.encode())
        found.append(state.hexdigest())
    return found
