"""Writing the audit trail: one entry per state change, in the caller's transaction."""

import contextlib
import contextvars
import datetime
import functools
import hashlib
import hmac
import json
import logging
from decimal import Decimal

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from audit import anchor, context
from audit.models import AuditAction, AuditEntry, AuditHead

logger = logging.getLogger("audit.chain")

GENESIS_HASH = "0" * 64

# The fields that the hash covers, in order.
HASHED_FIELDS = (
    "seq",
    "created_at",
    "actor_id",
    "actor_repr",
    "action",
    "target_type",
    "target_id",
    "target_repr",
    "changes",
    "reason",
    "ip",
    "user_agent",
    "request_id",
    "prev_hash",
)


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def jsonable(value):
    """Plain JSON types only (Decimal as string), so a stored entry hashes as it was written."""
    return json.loads(json.dumps(value, default=_json_default))


def entry_digest(values: dict) -> str:
    created_at = values["created_at"]
    if isinstance(created_at, datetime.datetime):
        created_at = created_at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    canonical = {field: values.get(field) for field in HASHED_FIELDS}
    canonical["created_at"] = created_at
    canonical["actor_id"] = str(canonical["actor_id"]) if canonical["actor_id"] is not None else None
    canonical["ip"] = canonical["ip"] or None
    payload = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    return hmac.new(settings.AUDIT_HMAC_KEY.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _target_fields(target) -> tuple[str, str, str]:
    if target is None:
        return "", "", ""
    if isinstance(target, models.Model):
        return target._meta.label_lower, str(target.pk), str(target)[:255]
    if isinstance(target, tuple):
        target_type, target_id, *rest = target
        return target_type, str(target_id), (rest[0] if rest else "")[:255]
    raise TypeError(f"Unsupported audit target: {target!r}")


def audit_record(
    *,
    action: str,
    actor=None,
    target=None,
    changes: dict | None = None,
    reason: str = "",
    ip: str | None = None,
    user_agent: str | None = None,
    request_id: str | None = None,
) -> AuditEntry:
    """Append one entry to the chain.

    ``target`` is a model instance or a ``(type, id, repr)`` tuple. Runs inside the
    caller's transaction (opening one if there is none), so the entry and the change
    it records commit or roll back together. Appends are serialised by locking the
    single ``AuditHead`` row, so concurrent writers never fork the chain.
    """
    if action not in AuditAction.values:
        raise ValueError(f"Unknown audit action: {action}")
    ctx = context.current()
    if actor is None and ctx.user is not None and getattr(ctx.user, "is_authenticated", False):
        actor = ctx.user
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    target_type, target_id, target_repr = _target_fields(target)

    pending = _batch.get()
    if pending is not None and connection.in_atomic_block:
        # Appended with the others of the batch when its block ends (see audit_batch).
        entry = AuditEntry(
            actor=actor,
            actor_repr=actor.get_username() if actor is not None else ctx.actor_label,
            action=action,
            target_type=target_type,
            target_id=target_id,
            target_repr=target_repr,
            changes=jsonable(changes or {}),
            reason=reason or "",
            ip=ip if ip is not None else ctx.ip,
            user_agent=context.user_agent_clip(user_agent if user_agent is not None else ctx.user_agent),
            request_id=request_id if request_id is not None else ctx.request_id,
        )
        pending.append(entry)
        return entry

    # No savepoint: a failed append must fail the caller's whole transaction anyway.
    with transaction.atomic(savepoint=False):
        head = _lock_head()
        entry = AuditEntry(
            seq=head.seq + 1,
            created_at=timezone.now(),
            actor=actor,
            actor_repr=actor.get_username() if actor is not None else ctx.actor_label,
            action=action,
            target_type=target_type,
            target_id=target_id,
            target_repr=target_repr,
            changes=jsonable(changes or {}),
            reason=reason or "",
            ip=ip if ip is not None else ctx.ip,
            user_agent=context.user_agent_clip(user_agent if user_agent is not None else ctx.user_agent),
            request_id=request_id if request_id is not None else ctx.request_id,
            prev_hash=head.hash,
        )
        entry.hash = entry_digest(_values(entry))
        entry.save(force_insert=True)
        AuditHead.objects.filter(pk=head.pk).update(seq=entry.seq, hash=entry.hash)
        seq, digest = entry.seq, entry.hash
        transaction.on_commit(lambda: _publish_head(seq, digest))
    return entry


_batch: contextvars.ContextVar[list | None] = contextvars.ContextVar("audit_batch", default=None)


@contextlib.contextmanager
def audit_batch():
    """The entries ``audit_record`` writes inside the block, appended together when it ends.

    The same chain: each entry gets the next sequence number and is hashed over its
    predecessor's hash, but the head row is locked, read and advanced once for all of
    them and they are inserted in one statement. Use it inside the caller's transaction
    (outside one, entries are written at once as usual), around code whose exceptions
    leave the block: an entry recorded inside a savepoint rolled back within the block
    would still be appended. A block inside another one joins it.
    """
    if _batch.get() is not None:
        yield
        return
    pending: list[AuditEntry] = []
    token = _batch.set(pending)
    try:
        yield
    finally:
        _batch.reset(token)
    if pending:
        _append(pending)


def _append(entries: list[AuditEntry]) -> None:
    with transaction.atomic(savepoint=False):
        head = _lock_head()
        seq, digest = head.seq, head.hash
        now = timezone.now()
        for entry in entries:
            seq += 1
            # The time of the append, as audit_record stamps it: times follow the sequence.
            entry.seq, entry.prev_hash, entry.created_at = seq, digest, now
            entry.hash = digest = entry_digest(_values(entry))
        AuditEntry.objects.bulk_create(entries)
        AuditHead.objects.filter(pk=head.pk).update(seq=seq, hash=digest)
        transaction.on_commit(lambda: _publish_head(seq, digest))


def audit_record_many(
    *,
    action: str,
    actor=None,
    items,
    reason: str = "",
    batch_size: int = 2000,
) -> int:
    """Append one entry per ``(target, changes)`` of ``items`` (an import's records) in one go.

    The same chain as ``audit_record``: the head row is locked once, each entry gets the
    next sequence number and is hashed over its predecessor's hash, entries are inserted
    in batches and the head advances once, all in the caller's transaction. ``changes``
    must be plain JSON values (str, int, float, bool, None, lists, dicts): they are
    hashed as given. Returns the number of entries written.
    """
    if action not in AuditAction.values:
        raise ValueError(f"Unknown audit action: {action}")
    ctx = context.current()
    if actor is None and ctx.user is not None and getattr(ctx.user, "is_authenticated", False):
        actor = ctx.user
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    common = {
        "actor_id": actor.pk if actor is not None else None,
        "actor_repr": actor.get_username() if actor is not None else ctx.actor_label,
        "action": action,
        "reason": reason or "",
        "ip": ctx.ip,
        "user_agent": context.user_agent_clip(ctx.user_agent),
        "request_id": ctx.request_id or "",
    }
    fields = [f for f in AuditEntry._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = (
        f"INSERT INTO {connection.ops.quote_name(AuditEntry._meta.db_table)} ({columns}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    by_name = {f.attname: f for f in fields}
    written = 0
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        head = _lock_head()
        seq, prev_hash = head.seq, head.hash
        created_at = timezone.now()
        stamp = created_at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        # Values that are the same for every entry, adapted for the database once.
        fixed = {name: by_name[name].get_db_prep_save(common[name], connection) for name in common}
        fixed["created_at"] = by_name["created_at"].get_db_prep_save(created_at, connection)
        changes_field = by_name["changes"]
        batch: list[list] = []
        for target, changes in items:
            target_type, target_id, target_repr = _target_fields(target)
            seq += 1
            values = {
                **common,
                "seq": seq,
                "created_at": stamp,
                "target_type": target_type,
                "target_id": target_id,
                "target_repr": target_repr,
                "changes": changes or {},
                "prev_hash": prev_hash,
            }
            prev_hash = entry_digest(values)
            row = {
                **values,
                **fixed,
                "changes": changes_field.get_db_prep_save(values["changes"], connection),
                "hash": prev_hash,
            }
            batch.append([row[f.attname] for f in fields])
            if len(batch) >= batch_size:
                cursor.executemany(sql, batch)
                written += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            written += len(batch)
        if written:
            AuditHead.objects.filter(pk=head.pk).update(seq=seq, hash=prev_hash)
            transaction.on_commit(lambda: _publish_head(seq, prev_hash))
    return written


def _lock_head() -> AuditHead:
    try:
        return AuditHead.objects.select_for_update().get(pk=1)
    except AuditHead.DoesNotExist:
        # A migration creates the row; only a flushed database (tests) gets here.
        AuditHead.objects.get_or_create(pk=1)
        return AuditHead.objects.select_for_update().get(pk=1)


def _values(entry: AuditEntry) -> dict:
    return {field: getattr(entry, field) for field in HASHED_FIELDS}


def _publish_head(seq: int, digest: str) -> None:
    """Record the committed head outside the database: the log stream and the anchor file."""
    logger.info("audit head seq=%s hash=%s", seq, digest)
    anchor.anchor_advance(seq=seq, digest=digest)


def model_snapshot(instance: models.Model, fields: list[str] | None = None) -> dict:
    """The concrete field values of an instance, for before/after change records.

    An encrypted field is recorded as a short keyed hash (a change shows, the value never
    lands in the trail in plain text); its hash column is left out.
    """
    from loansite.fields import KeyedHashField

    concrete = {f.attname: f for f in instance._meta.concrete_fields}
    names = fields or [name for name, f in concrete.items() if not isinstance(f, KeyedHashField)]
    return jsonable({name: _snapshot_value(instance, concrete.get(name), name) for name in names})


def _snapshot_value(instance: models.Model, field, name: str):
    value = getattr(instance, name)
    audit_value = getattr(field, "audit_value", None)
    return audit_value(value) if audit_value is not None else value


def audit_encrypted_masked(model, changes: dict) -> dict:
    """``changes`` (``{field: [before, after]}``) with the values of ``model``'s encrypted
    fields replaced by short keyed hashes, for callers that build change records themselves."""
    for field in _encrypted_fields(model):
        if field.name in changes:
            changes[field.name] = [field.audit_value(value) for value in changes[field.name]]
    return changes


@functools.cache
def _encrypted_fields(model) -> tuple:
    return tuple(f for f in model._meta.concrete_fields if hasattr(f, "audit_value"))


def changes_between(before: dict, after: dict) -> dict:
    """``{field: [before, after]}`` for the fields that differ."""
    keys = set(before) | set(after)
    return {key: [before.get(key), after.get(key)] for key in sorted(keys) if before.get(key) != after.get(key)}
