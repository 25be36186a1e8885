"""Django's "History" and "Recent actions" read from the audit trail.

The services write the audit trail, not Django's admin log, so the stock pages were always
empty. ``history_rows`` gives an object's entries in the shape the admin's history template
reads; ``recent_actions`` the signed-in user's own latest entries for the index's sidebar.

What shows: who, when and what (the action's label). What changed (field, before and after,
choice values as their labels) only to users who may read the audit log, never for the
records that hold secrets (accounts, tokens, authenticator devices) and never a value whose
key names a secret (password, token, key, code, hash ...).
"""

import re
from dataclasses import dataclass

from django.apps import apps
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from audit.models import AuditAction, AuditEntry

# Records whose audit payloads are never shown outside the audit log itself.
SECRET_TARGET_TYPES = frozenset(
    {
        "auth.user",
        "auth.group",
        "token_blacklist.outstandingtoken",
        "token_blacklist.blacklistedtoken",
        "otp_totp.totpdevice",
        "otp_static.staticdevice",
        "otp_static.statictoken",
        "sessions.session",
    }
)
SECRET_KEY_PATTERN = re.compile(r"pass|token|secret|key|hash|code|otp|session|phone|id_number|ssn", re.I)
MAX_CHANGES_SHOWN = 6


@dataclass
class HistoryActor:
    name: str

    def get_username(self) -> str:
        return self.name

    def get_full_name(self) -> str:
        return ""


@dataclass
class HistoryRow:
    """One audit entry in the shape of Django's ``LogEntry`` for ``admin/object_history.html``."""

    action_time: object
    user: HistoryActor
    message: str

    def get_change_message(self) -> str:
        return self.message


def _choice_label(model, field_name: str, value):
    if model is None or not isinstance(value, str | int):
        return value
    try:
        field = model._meta.get_field(field_name)
    except Exception:  # noqa: BLE001 - not a field of the model: the value as recorded
        return value
    choices = dict(field.flatchoices) if getattr(field, "choices", None) else {}
    return choices.get(value, value)


def _shown(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, dict | list):
        return _("(details)")
    return str(value)


def entry_change_summary(entry: AuditEntry, model=None) -> str:
    """``Status: Under review → Approved; Amount: 1000 → 1200`` (choice values as labels)."""
    if entry.target_type in SECRET_TARGET_TYPES or not isinstance(entry.changes, dict):
        return ""
    parts = []
    for key, value in entry.changes.items():
        if SECRET_KEY_PATTERN.search(key):
            continue
        label = key
        if model is not None:
            try:
                label = str(model._meta.get_field(key).verbose_name)
            except Exception:  # noqa: BLE001 - a key that is not a field keeps its name
                label = key
        if isinstance(value, list) and len(value) == 2 and not isinstance(value[0], dict | list):
            before, after = (_choice_label(model, key, item) for item in value)
            parts.append(f"{label}: {_shown(before)} → {_shown(after)}")
        elif not isinstance(value, dict | list):
            parts.append(f"{label}: {_shown(_choice_label(model, key, value))}")
        if len(parts) >= MAX_CHANGES_SHOWN:
            break
    return "; ".join(parts)


def entry_message(entry: AuditEntry, *, with_changes: bool, model=None) -> str:
    message = entry.get_action_display()
    if with_changes:
        summary = entry_change_summary(entry, model)
        if summary:
            message = f"{message}: {summary}"
    if entry.reason and with_changes:
        message = f"{message} ({_('reason')}: {entry.reason})"
    return message


def user_reads_audit(user) -> bool:
    return user.has_perm("audit.view_auditentry")


def history_rows(obj, user, *, limit: int = 500) -> list[HistoryRow]:
    """``obj``'s audit entries, oldest first (the caller checked that ``user`` may view ``obj``)."""
    model = type(obj)
    with_changes = user_reads_audit(user)
    entries = AuditEntry.objects.filter(target_type=model._meta.label_lower, target_id=str(obj.pk)).order_by("-seq")[
        :limit
    ]
    return [
        HistoryRow(
            action_time=entry.created_at,
            user=HistoryActor(entry.actor_repr or _("system")),
            message=entry_message(entry, with_changes=with_changes, model=model),
        )
        for entry in reversed(list(entries))
    ]


@dataclass
class RecentAction:
    action: str
    target: str
    kind: str
    url: str
    is_deletion: bool


SIGN_IN_ACTIONS = (AuditAction.LOGIN, AuditAction.LOGOUT, AuditAction.LOGIN_FAILED, AuditAction.LOCKED_OUT)


def recent_actions(user, *, limit: int = 10) -> list[RecentAction]:
    """The user's own latest audited actions on records (sign-ins left out), each linked to
    its admin page when the user may view that kind of record."""
    if not getattr(user, "is_authenticated", False):
        return []
    entries = (
        AuditEntry.objects.filter(actor=user)
        .exclude(target_type="")
        .exclude(action__in=SIGN_IN_ACTIONS)
        .only("action", "target_type", "target_id", "target_repr", "seq")
        .order_by("-seq")[:limit]
    )
    rows = []
    for entry in entries:
        app_label, _dot, model_name = entry.target_type.partition(".")
        try:
            model = apps.get_model(app_label, model_name)
        except (LookupError, ValueError):
            model = None
        kind = str(model._meta.verbose_name) if model is not None else ""
        url = ""
        deleted = entry.action == AuditAction.DELETE
        if model is not None and entry.target_id and not deleted:
            may_view = user.has_perm(f"{app_label}.view_{model_name}") or user.has_perm(
                f"{app_label}.change_{model_name}"
            )
            if may_view:
                try:
                    url = reverse(f"admin:{app_label}_{model_name}_change", args=[entry.target_id])
                except NoReverseMatch:
                    url = ""
        rows.append(
            RecentAction(
                action=entry.get_action_display(),
                target=entry.target_repr or entry.target_id,
                kind=kind,
                url=url,
                is_deletion=deleted,
            )
        )
    return rows
