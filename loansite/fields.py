"""Model fields for sensitive identifiers: encrypted at rest, found by a keyed hash.

    phone = EncryptedCharField(_("mobile phone"), max_length=20)
    phone_hash = KeyedHashField(source="phone", normalizer="customers.validators.normalize_mobile_phone", unique=True)

The model inherits ``EncryptedFieldsModel``. Callers keep reading and writing plain
values: the column holds the ciphertext (``loansite.encryption``), the hash column the
HMAC of the normalised value, filled on every save, ``bulk_create``, ``bulk_update`` and
``update()``. ``filter(phone=x)``, ``phone__iexact`` and ``phone__in`` compare hashes (so
"+86 138-0013-8000" finds "13800138000"), ``isnull`` works as usual; any other lookup
(contains, ordering by value ...) cannot work on ciphertext and raises ``FieldError``.
Uniqueness is the hash column's (a database constraint), reported on the plain field
by model and form validation.
"""

import json
import math
from functools import cache

from django.core import checks
from django.core.exceptions import FieldError
from django.db import models
from django.db.models.expressions import Col
from django.db.models.lookups import In
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from loansite.encryption import (
    KEY_ID_LENGTH,
    NONCE_BYTES,
    TAG_BYTES,
    TOKEN_PREFIX,
    field_decrypt,
    field_encrypt,
    field_hash,
    field_hashes,
)

HASH_LENGTH = 64
HASHED_LOOKUPS = ("exact", "iexact", "in")
ALLOWED_LOOKUPS = (*HASHED_LOOKUPS, "isnull")


@cache
def _normalizer(path: str):
    return import_string(path) if path else None


def stored_length(max_length: int) -> int:
    """Characters a token needs for a value of ``max_length`` characters (4 UTF-8 bytes each at most)."""
    sealed = NONCE_BYTES + 4 * max_length + TAG_BYTES
    return len(TOKEN_PREFIX) + KEY_ID_LENGTH + 1 + math.ceil(sealed * 4 / 3)


class _Encrypted:
    encrypted = True

    def _where(self) -> str:
        """``app.Model.field``, for error messages."""
        model = getattr(self, "model", None)
        return f"{model._meta.label}.{self.name}" if model is not None else self.name


class EncryptedCharField(_Encrypted, models.CharField):
    """Text stored encrypted; ``max_length`` limits the plain value, the column is wider."""

    description = _("Encrypted text")

    @property
    def stored_length(self) -> int:
        return stored_length(self.max_length)

    def db_type(self, connection):
        data_type, data = connection.data_types["CharField"], {"max_length": self.stored_length}
        return data_type(data) if callable(data_type) else data_type % data

    def get_db_prep_value(self, value, connection, prepared=False):
        value = super().get_db_prep_value(value, connection, prepared)
        if value is None or value == "":
            return value  # blank stays blank: it reveals nothing
        return field_encrypt(value)

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return field_decrypt(value, where=self._where())

    # -- the companion hash and look-ups ------------------------------------------------

    @property
    def hash_field(self):
        """The ``KeyedHashField`` that hashes this field, or ``None``."""
        cached = self.__dict__.get("_hash_field")
        if cached is not None and cached.model is self.model:
            return cached
        for field in self.model._meta.concrete_fields:
            if isinstance(field, KeyedHashField) and field.source == self.name:
                self.__dict__["_hash_field"] = field
                return field
        return None

    def get_lookup(self, lookup_name):
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        if lookup_name in HASHED_LOOKUPS:
            return _LOOKUPS[lookup_name]
        raise FieldError(
            f"{self._where()} is encrypted: it can be looked up only with "
            f"{', '.join(ALLOWED_LOOKUPS)} (got {lookup_name!r})."
        )

    def audit_value(self, value) -> str | None:
        """What the audit trail records instead of the value: a short keyed hash."""
        if value is None or value == "":
            return value
        companion = self.hash_field
        digest = companion.hash_of(value) if companion is not None else field_hash(str(value))
        return f"hmac:{digest[:16]}" if digest else ""

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        if self._unique or self.db_index or self.primary_key:
            errors.append(
                checks.Error(
                    "An encrypted field cannot be unique or indexed: its ciphertext differs every time.",
                    hint="Put unique=True on its KeyedHashField.",
                    obj=self,
                    id="loansite.E101",
                )
            )
        if not issubclass(self.model, EncryptedFieldsModel):
            errors.append(
                checks.Error(
                    "A model with encrypted fields must inherit loansite.fields.EncryptedFieldsModel.",
                    obj=self,
                    id="loansite.E102",
                )
            )
        return errors


class EncryptedJSONField(_Encrypted, models.JSONField):
    """A JSON value stored encrypted as text: read and written whole, never looked into."""

    description = _("Encrypted JSON")

    def get_internal_type(self):
        return "TextField"  # a text column (no JSON type or JSON check on ciphertext)

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None:
            return None
        if hasattr(value, "as_sql"):
            raise FieldError(f"{self._where()} is encrypted: write it with a plain value.")
        return field_encrypt(json.dumps(value, cls=self.encoder))

    def get_db_prep_save(self, value, connection):
        return self.get_db_prep_value(value, connection)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return json.loads(field_decrypt(value, where=self._where()), cls=self.decoder)

    def get_lookup(self, lookup_name):
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        raise FieldError(f"{self._where()} is encrypted: it can be looked up only with isnull (got {lookup_name!r}).")

    def get_transform(self, name):
        raise FieldError(f"{self._where()} is encrypted: its keys cannot be queried (got {name!r}).")

    def audit_value(self, value) -> str | None:
        if value is None:
            return None
        return f"hmac:{field_hash(json.dumps(value, cls=self.encoder, sort_keys=True))[:16]}"


class KeyedHashField(models.CharField):
    """HMAC-SHA256 (hex) of another field's normalised value, filled on save."""

    def __init__(self, *args, source: str, normalizer: str = "", **kwargs):
        self.source, self.normalizer = source, normalizer
        for key, default in self._defaults().items():
            kwargs.setdefault(key, default)
        super().__init__(*args, **kwargs)

    @staticmethod
    def _defaults() -> dict:
        return {"max_length": HASH_LENGTH, "null": True, "blank": True, "editable": False}

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        for key, default in self._defaults().items():
            value = getattr(self, key)
            if value == default:
                kwargs.pop(key, None)
            else:
                kwargs[key] = value
        kwargs["source"] = self.source
        if self.normalizer:
            kwargs["normalizer"] = self.normalizer
        return name, path, args, kwargs

    def normalize(self, value) -> str:
        normalize = _normalizer(self.normalizer)
        return normalize(value) if normalize is not None else str(value)

    def hash_of(self, value) -> str | None:
        """The hash to store for a plain value (``None`` for a blank one)."""
        if value is None or value == "":
            return None
        normalised = self.normalize(value)
        return field_hash(normalised) if normalised else None

    def lookup_hashes(self, value) -> list[str]:
        """Every hash a stored copy of ``value`` may carry (current key, then the previous one)."""
        normalised = self.normalize(value) if value not in (None, "") else ""
        return field_hashes(normalised) if normalised else []

    def source_field(self) -> EncryptedCharField:
        return self.model._meta.get_field(self.source)

    def pre_save(self, model_instance, add):
        value = self.hash_of(getattr(model_instance, self.source_field().attname))
        setattr(model_instance, self.attname, value)
        return value

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        try:
            source = self.source_field()
        except Exception:  # noqa: BLE001 - reported as a check error
            source = None
        if not isinstance(source, EncryptedCharField):
            errors.append(
                checks.Error(f"source={self.source!r} is not an EncryptedCharField.", obj=self, id="loansite.E103")
            )
        if self.normalizer:
            try:
                _normalizer(self.normalizer)
            except ImportError:
                errors.append(
                    checks.Error(f"normalizer={self.normalizer!r} cannot be imported.", obj=self, id="loansite.E104")
                )
        return errors


class _HashedLookup(In):
    """``exact`` / ``iexact`` / ``in`` on an encrypted field, answered by its hash column."""

    def __init__(self, lhs, rhs):
        if rhs is None:  # exact None: the query turns it into isnull on the field itself
            self.lhs, self.rhs, self.bilateral_transforms = lhs, None, []
            return
        field = lhs.output_field
        companion = field.hash_field if isinstance(field, EncryptedCharField) else None
        if companion is None or not isinstance(lhs, Col):
            name = getattr(field, "name", field)
            raise FieldError(f"{name} is encrypted without a keyed hash: it cannot be looked up.")
        values = list(rhs) if self.lookup_name == "in" and not isinstance(rhs, str) else [rhs]
        if hasattr(rhs, "resolve_expression") or any(hasattr(v, "resolve_expression") for v in values):
            raise FieldError(f"{field._where()} is encrypted: compare it with plain values, not expressions.")
        hashes, blank = [], False
        for value in values:
            if value is None:
                continue
            found = companion.lookup_hashes(value)
            hashes.extend(found)
            blank = blank or not found
        if blank and hashes:
            raise FieldError(f"{field._where()}: look up blank and non-blank values separately.")
        if blank:
            super().__init__(lhs, [""])  # blank values are stored as they are
        else:
            super().__init__(Col(lhs.alias, companion), hashes)


class _HashedExact(_HashedLookup):
    lookup_name = "exact"


class _HashedIExact(_HashedLookup):
    lookup_name = "iexact"


class _HashedIn(_HashedLookup):
    lookup_name = "in"


_LOOKUPS = {"exact": _HashedExact, "iexact": _HashedIExact, "in": _HashedIn}


# -- models -------------------------------------------------------------------------------


def hash_fields(model) -> list[KeyedHashField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, KeyedHashField)]


def encrypted_fields(model) -> list[EncryptedCharField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedCharField)]


def _with_companions(model, names) -> list[str]:
    """Field names plus the hash fields of the encrypted ones among them."""
    names = list(names)
    for companion in hash_fields(model):
        source = companion.source_field()
        if (source.name in names or source.attname in names) and companion.name not in names:
            names.append(companion.name)
    return names


class EncryptedFieldsQuerySet(models.QuerySet):
    """``update()`` and ``bulk_update()`` keep the hash columns in step with the values."""

    def update(self, **kwargs):
        for companion in hash_fields(self.model):
            source = companion.source_field()
            if source.name in kwargs and companion.name not in kwargs:
                value = kwargs[source.name]
                if hasattr(value, "resolve_expression"):
                    raise FieldError(f"{source._where()} is encrypted: update it with a plain value.")
                kwargs[companion.name] = companion.hash_of(value)
        return super().update(**kwargs)

    update.alters_data = True

    def bulk_update(self, objs, fields, batch_size=None):
        objs = list(objs)
        names = _with_companions(self.model, fields)
        for companion in hash_fields(self.model):
            if companion.name in names and companion.name not in fields:
                attname = companion.source_field().attname
                for obj in objs:
                    setattr(obj, companion.attname, companion.hash_of(getattr(obj, attname)))
        return super().bulk_update(objs, names, batch_size=batch_size)

    bulk_update.alters_data = True


class EncryptedFieldsManager(models.Manager.from_queryset(EncryptedFieldsQuerySet)):
    pass


class EncryptedFieldsModel(models.Model):
    """Base of models with encrypted fields: saving only some fields saves their hashes too,
    and a unique hash is reported on its plain field by validation (forms, ``full_clean``)."""

    objects = EncryptedFieldsManager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = _with_companions(type(self), kwargs["update_fields"])
        return super().save(*args, **kwargs)

    save.alters_data = True

    def full_clean(self, *args, **kwargs):
        # Validation (constraints naming a hash column included) sees the hashes of the values as they are now.
        for companion in hash_fields(type(self)):
            setattr(self, companion.attname, companion.hash_of(getattr(self, companion.source_field().attname)))
        return super().full_clean(*args, **kwargs)

    def _get_unique_checks(self, exclude=None, include_meta_constraints=False):
        unique_checks, date_checks = super()._get_unique_checks(
            exclude=exclude, include_meta_constraints=include_meta_constraints
        )
        exclude = exclude or set()
        companions = hash_fields(type(self))
        # A hash attribute is only current after a save: check the plain field instead.
        hashed = {(companion.name,) for companion in companions}
        unique_checks = [check for check in unique_checks if tuple(check[1]) not in hashed]
        for companion in companions:
            if companion.unique and companion.source not in exclude:
                unique_checks.append((type(self), (companion.source,)))
        return unique_checks, date_checks
