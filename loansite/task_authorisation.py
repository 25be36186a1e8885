"""Signed authorisations for the tasks that act for a person.

A task never takes its acting user from its arguments: a beat schedule, the admin's "run
selected tasks" or any other caller can set those. The web request that asks for the work
issues an authorisation instead (:func:`task_queue_authorised`): a payload signed with the
project's key under its own salt, naming the person, the task, the id of the one message
that may carry it, the work's parameters, the permissions the work needs, the request
that issued it and a random nonce. The worker redeems it (:func:`task_authorised`), and
refuses, with an audit entry naming nobody, an authorisation that is forged or altered,
expired, issued for another task or another message, for a person no longer active or no
longer holding the permissions, or used again after its work finished.

Redemptions are recorded in the audit trail (``loansite.taskauthorisation`` entries keyed
by the nonce), checked and written while holding the audit chain's head row, so every
machine sees the same record and two workers can never both take a fresh authorisation.
A message redelivered after its worker was lost (``acks_late``) carries the same task id
and resumes: its work is idempotent, and the resumption is recorded as such.
"""

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from audit import context
from audit.models import AuditAction, AuditEntry, AuditHead
from audit.services import audit_record
from loansite.errors import NotAllowed

logger = logging.getLogger("loansite.tasks")

SALT = "loansite.task-authorisation"
TARGET_TYPE = "loansite.taskauthorisation"
VERSION = 1
KWARGS_SHOWN = repr({"authorisation": "<signed>"})


class TaskRefused(NotAllowed):
    """A task call refused before it did any work (always audited)."""

    default_message = _("This task call was refused.")


# Why an authorisation or a task call was refused: the code kept in the audit entry.
REFUSALS = {
    "bad_signature": _("The task authorisation is forged or altered."),
    "malformed": _("The task authorisation is malformed."),
    "expired": _("The task authorisation has expired."),
    "other_task": _("The task authorisation was issued for another task."),
    "other_message": _("The task authorisation was issued for another task message."),
    "replayed": _("The task authorisation was already used."),
    "inactive": _("The person who authorised the task is no longer active."),
    "permission": _("The person who authorised the task no longer holds the permission it needs."),
    "mismatch": _("The task authorisation does not match the record it names."),
    "missing": _("This task acts for a person and needs their authorisation."),
    "arguments": _("The task was called with arguments it does not take."),
    "not_schedulable": _("This task, or these arguments, cannot be run from a schedule."),
}


@dataclass(frozen=True)
class TaskAuthorisation:
    """What the issuing request hands to the broker: the signed token and the task id."""

    token: str
    task_id: str


@dataclass(frozen=True)
class TaskGrant:
    """A redeemed authorisation: the person the task acts for and the work's parameters."""

    actor: object
    params: dict
    task: str
    task_id: str
    nonce: str


def max_age() -> int:
    return int(getattr(settings, "TASK_AUTHORISATION_MAX_AGE", 6 * 3600))


def task_authorisation_issue(
    *, actor, task: str, params: dict, permissions: tuple[str, ...] = (), task_id: str | None = None
) -> TaskAuthorisation:
    """Sign an authorisation for ``actor`` to have ``task`` run once with ``params``.

    ``params`` must be plain JSON. The actor must hold ``permissions`` now; the worker checks
    them again when the task starts.
    """
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise NotAllowed(_("Only a signed-in, active user can start this task."))
    missing = [perm for perm in permissions if not actor.has_perm(perm)]
    if missing:
        raise NotAllowed()
    task_id = task_id or str(uuid.uuid4())
    payload = {
        "v": VERSION,
        "actor": actor.pk,
        "task": task,
        "task_id": task_id,
        "params": params,
        "perms": list(permissions),
        "nonce": uuid.uuid4().hex,
        "request_id": context.current().request_id,
    }
    return TaskAuthorisation(token=signing.dumps(payload, salt=SALT, compress=True), task_id=task_id)


def task_queue_authorised(
    task, *, actor, params: dict, permissions: tuple[str, ...] = (), task_id: str | None = None
) -> str:
    """Issue the authorisation and publish ``task`` with it (and nothing else) once the
    caller's transaction commits; returns the task id."""
    authorisation = task_authorisation_issue(
        actor=actor, task=task.name, params=params, permissions=permissions, task_id=task_id
    )
    token, message_id = authorisation.token, authorisation.task_id
    # The token never shows in worker logs or stored task results: only this stand-in does.
    transaction.on_commit(
        lambda: task.apply_async(kwargs={"authorisation": token}, task_id=message_id, kwargsrepr=KWARGS_SHOWN)
    )
    return message_id


@contextmanager
def task_authorised(task, token) -> Iterator[TaskGrant]:
    """Inside a bound task: redeem ``token`` for this task and this message, yield the grant,
    and record when the work finished (or failed)."""
    grant = task_authorisation_redeem(token=token, task=task.name, task_id=task.request.id or "")
    outcome = "failed"
    try:
        yield grant
        outcome = "succeeded"
    finally:
        audit_record(
            action=AuditAction.SYSTEM,
            actor=grant.actor,
            target=(TARGET_TYPE, grant.nonce, grant.task),
            changes={"event": "finished", "task": grant.task, "task_id": grant.task_id, "outcome": outcome},
        )


def task_authorisation_redeem(*, token, task: str, task_id: str) -> TaskGrant:
    """Check ``token`` for ``task`` carried by message ``task_id`` and record its use.

    Raises :class:`TaskRefused` (after writing the refusal to the audit trail) when it is
    not good; see the module docstring.
    """
    if not isinstance(token, str) or not token:
        task_refuse(task=task, task_id=task_id, why="missing")
    try:
        payload = signing.loads(token, salt=SALT, max_age=max_age())
    except signing.SignatureExpired:
        task_refuse(task=task, task_id=task_id, why="expired")
    except signing.BadSignature:
        task_refuse(task=task, task_id=task_id, why="bad_signature")
    if not _well_formed(payload):
        task_refuse(task=task, task_id=task_id, why="malformed")
    nonce, claimed = payload["nonce"], payload["actor"]
    facts = {"nonce": nonce, "claimed_actor": claimed, "issued_request_id": payload.get("request_id", "")}
    if payload["task"] != task:
        task_refuse(task=task, task_id=task_id, why="other_task", **facts)
    if payload["task_id"] != task_id:
        task_refuse(task=task, task_id=task_id, why="other_message", **facts)
    actor = get_user_model().objects.filter(pk=claimed, is_active=True).first()
    if actor is None:
        task_refuse(task=task, task_id=task_id, why="inactive", **facts)
    if not all(actor.has_perm(perm) for perm in payload["perms"]):
        task_refuse(task=task, task_id=task_id, why="permission", **facts)

    with transaction.atomic():
        # The audit chain's head row serialises every append; holding it while reading this
        # authorisation's entries makes "check, then record the use" one step on any database.
        AuditHead.objects.select_for_update().filter(pk=1).first()
        events = {
            changes.get("event")
            for changes in AuditEntry.objects.filter(target_type=TARGET_TYPE, target_id=nonce).values_list(
                "changes", flat=True
            )
        }
        replayed = "finished" in events
        if not replayed:
            audit_record(
                action=AuditAction.SYSTEM,
                actor=actor,
                target=(TARGET_TYPE, nonce, task),
                changes={
                    "event": "resumed" if "used" in events else "used",
                    "task": task,
                    "task_id": task_id,
                    "issued_request_id": payload.get("request_id", ""),
                    "params": _params_summary(payload["params"]),
                },
                reason=_("Task started with %(user)s's authorisation") % {"user": actor.get_username()},
            )
    if replayed:
        task_refuse(task=task, task_id=task_id, why="replayed", **facts)
    return TaskGrant(actor=actor, params=payload["params"], task=task, task_id=task_id, nonce=nonce)


def task_grant_check(grant: TaskGrant, *, holds: bool) -> None:
    """Refuse (audited) unless ``holds``: the record the grant names belongs to its actor."""
    if not holds:
        task_refuse(
            task=grant.task, task_id=grant.task_id, why="mismatch", nonce=grant.nonce, claimed_actor=grant.actor.pk
        )


def task_refuse(*, task: str, task_id: str, why: str, nonce: str = "", **facts) -> None:
    """Write the refusal to the audit trail (actor: nobody) and raise :class:`TaskRefused`."""
    message = REFUSALS.get(why, TaskRefused.default_message)
    logger.warning("task %s [%s] refused: %s %s", task, task_id, why, facts)
    with transaction.atomic():
        audit_record(
            action=AuditAction.SYSTEM,
            actor=None,
            target=(TARGET_TYPE if nonce else "celery.task", nonce or task_id or "", task),
            changes={"event": "refused", "why": why, "task": task, "task_id": task_id, **facts},
            reason=str(message),
        )
    raise TaskRefused(message)


def _well_formed(payload) -> bool:
    return (
        isinstance(payload, dict)
        and payload.get("v") == VERSION
        and isinstance(payload.get("actor"), int)
        and isinstance(payload.get("task"), str)
        and isinstance(payload.get("task_id"), str)
        and isinstance(payload.get("params"), dict)
        and isinstance(payload.get("perms"), list)
        and isinstance(payload.get("nonce"), str)
        and len(payload["nonce"]) == 32
        and isinstance(payload.get("request_id", ""), str)
    )


def _params_summary(params: dict) -> dict:
    """The parameters as the audit entry keeps them: lists by their length."""
    return {key: len(value) if isinstance(value, list) else value for key, value in params.items()}
