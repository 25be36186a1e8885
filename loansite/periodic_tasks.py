"""What beat may run, and the audited changes to its schedules.

Only the tasks in :data:`SCHEDULABLE_TASKS` can be scheduled, each with the keyword
arguments listed for it (and only their listed values): none of them acts for a person,
so a schedule never needs, and never gets, a user. The admin form offers only these, the
services below check them again before anything is saved or run, and the worker refuses a
task that beat (or the admin's "run selected tasks") published outside the list
(:func:`periodic_task_call_check`, called by the project's base task class).

Every change to a periodic task or to an interval, crontab, solar or clocked schedule,
and every "run now", writes an audit entry with the actor and before/after.
"""

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from audit.models import AuditAction
from audit.services import audit_record, changes_between, jsonable
from loansite.errors import ValidationFailed

logger = logging.getLogger("loansite.tasks")


def _model_kinds() -> list[str]:
    from scoring.models import ModelKind

    return list(ModelKind.values)


def _scoring_scopes() -> list[str]:
    from scoring.models import ScoringRun

    return list(ScoringRun.Scope.values)


@dataclass(frozen=True)
class Schedulable:
    """A task beat may run: its label and, per keyword argument, the allowed values."""

    label: str
    kwargs: dict[str, Callable[[], Iterable[str]]] = field(default_factory=dict)
    required: frozenset[str] = frozenset()


SCHEDULABLE_TASKS: dict[str, Schedulable] = {
    "audit.verify_chain": Schedulable(_("Verify the audit chain")),
    "scoring.batch_score": Schedulable(_("Score applications in batch"), kwargs={"scope": _scoring_scopes}),
    "scoring.model_train": Schedulable(
        _("Retrain a credit model"), kwargs={"kind": _model_kinds}, required=frozenset({"kind"})
    ),
    "loans.refresh_query_statistics": Schedulable(_("Refresh the loans tables' query statistics")),
    "loans.close_day": Schedulable(
        _("Close the day (days past due, penalties, classification, provisions, reminders)")
    ),
    "loans.application_days_refresh": Schedulable(
        _("Bring the dashboard's daily application sums up to date with what changed since")
    ),
    "loans.documents_orphans_sweep": Schedulable(_("Remove stored document files that no document names")),
    "risk.early_warnings_scan": Schedulable(_("Scan for early warnings (PD, credit lines, revenue, overdue loans)")),
    "risk.quality_checks_run": Schedulable(_("Run the data-quality checks")),
    "scoring.outcomes_refresh": Schedulable(_("Derive loan outcomes from servicing and backtest the PD models")),
    "risk.delinquency_signals_consume": Schedulable(
        _("Turn the daily close's delinquency signals into risk events (catch-up)")
    ),
    "loansite.monthly_report": Schedulable(_("Generate the monthly report of the month before")),
    # Installed by beat itself (results expire after a day).
    "celery.backend_cleanup": Schedulable(_("Delete expired task results")),
}

# The execution options a schedule may not set: message headers override the task name
# and id that the worker sees, exchange and routing key bypass the queue.
LOCKED_OPTIONS = ("headers", "exchange", "routing_key")


def schedulable_choices() -> list[tuple[str, str]]:
    return [(name, f"{spec.label} ({name})") for name, spec in SCHEDULABLE_TASKS.items()]


def periodic_task_arguments_errors(*, task: str, args, kwargs) -> dict[str, list[str]]:
    """Field errors (``task``, ``args``, ``kwargs``) for scheduling ``task`` with these
    arguments; ``args`` and ``kwargs`` are JSON text or already decoded values."""
    spec = SCHEDULABLE_TASKS.get(task)
    if spec is None:
        return {"task": [str(_("This task cannot be scheduled."))]}
    errors: dict[str, list[str]] = {}
    args, args_ok = _decoded(args, default=[])
    if not args_ok or args not in ([], None):
        errors["args"] = [str(_("Scheduled tasks take keyword arguments only: leave this as []."))]
    kwargs, kwargs_ok = _decoded(kwargs, default={})
    if not kwargs_ok or not isinstance(kwargs, dict):
        errors["kwargs"] = [str(_('Keyword arguments must be a JSON object, e.g. {"kind": "pd"}.'))]
        return errors
    problems = []
    for key, value in kwargs.items():
        allowed = spec.kwargs.get(key)
        if allowed is None:
            problems.append(_("%(task)s does not take %(key)s.") % {"task": task, "key": key})
        elif not isinstance(value, str) or value not in list(allowed()):
            problems.append(_("%(key)s must be one of: %(values)s.") % {"key": key, "values": ", ".join(allowed())})
    for key in sorted(spec.required - set(kwargs)):
        problems.append(_("%(task)s needs %(key)s.") % {"task": task, "key": key})
    if problems:
        errors["kwargs"] = [str(p) for p in problems]
    return errors


def _decoded(value, *, default):
    if value is None or value == "":
        return default, True
    if not isinstance(value, str):
        return value, True
    try:
        return json.loads(value), True
    except ValueError:
        return None, False


def _locked_options_set(periodic_task) -> list[str]:
    set_ = []
    for name in LOCKED_OPTIONS:
        value = getattr(periodic_task, name, None)
        if name == "headers":
            decoded, ok = _decoded(value, default={})
            if not ok or decoded not in ({}, None):
                set_.append(name)
        elif value:
            set_.append(name)
    return set_


def periodic_task_check(periodic_task) -> None:
    """Raise :class:`ValidationFailed` unless ``periodic_task`` is an allowed schedule."""
    errors = periodic_task_arguments_errors(
        task=periodic_task.task, args=periodic_task.args, kwargs=periodic_task.kwargs
    )
    for name in _locked_options_set(periodic_task):
        errors.setdefault(name, []).append(str(_("Schedules cannot set this option.")))
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(first, extra={"errors": errors})


# --- audit snapshots ------------------------------------------------------------------

_TASK_FIELDS = (
    "name",
    "task",
    "args",
    "kwargs",
    "enabled",
    "one_off",
    "start_time",
    "expires",
    "expire_seconds",
    "queue",
    "exchange",
    "routing_key",
    "headers",
    "priority",
    "description",
)
_SCHEDULE_KINDS = ("interval", "crontab", "solar", "clocked")


def periodic_task_snapshot(periodic_task) -> dict:
    """The fields that decide what runs and when; schedules by their id and their wording."""
    values = {name: getattr(periodic_task, name) for name in _TASK_FIELDS}
    for kind in _SCHEDULE_KINDS:
        schedule = getattr(periodic_task, kind)
        values[kind] = f"#{schedule.pk} {schedule}" if schedule is not None else None
    return jsonable(values)


def schedule_snapshot(schedule) -> dict:
    values = {f.name: getattr(schedule, f.attname) for f in schedule._meta.concrete_fields if f.name != "id"}
    values["description"] = str(schedule)
    return jsonable(values)


def _schedule_label(schedule) -> str:
    return schedule._meta.label_lower


# --- services ---------------------------------------------------------------------------


@transaction.atomic
def periodic_task_save(*, actor, periodic_task):
    """Create or change a periodic task; only allowed schedules are saved. Audited."""
    from django_celery_beat.models import PeriodicTask

    periodic_task_check(periodic_task)
    previous = None
    if periodic_task.pk is not None:
        previous = PeriodicTask.objects.select_for_update().filter(pk=periodic_task.pk).first()
    before = periodic_task_snapshot(previous) if previous is not None else {}
    periodic_task.save()
    after = periodic_task_snapshot(periodic_task)
    audit_record(
        action=AuditAction.UPDATE if previous is not None else AuditAction.CREATE,
        actor=actor,
        target=periodic_task,
        changes={"before": before, "after": after, "changed": sorted(changes_between(before, after))},
        reason=_("Periodic task saved"),
    )
    return periodic_task


@transaction.atomic
def periodic_task_delete(*, actor, periodic_task) -> None:
    before = periodic_task_snapshot(periodic_task)
    target = ("django_celery_beat.periodictask", periodic_task.pk, str(periodic_task)[:255])
    periodic_task.delete()
    audit_record(
        action=AuditAction.DELETE,
        actor=actor,
        target=target,
        changes={"before": before, "after": {}},
        reason=_("Periodic task deleted"),
    )


@transaction.atomic
def periodic_task_set_enabled(*, actor, periodic_task, enabled: bool) -> bool:
    """Switch a periodic task on or off; returns whether anything changed. Switching on
    needs an allowed schedule; switching off is always possible."""
    if periodic_task.enabled == enabled:
        return False
    if enabled:
        periodic_task_check(periodic_task)
    before = periodic_task_snapshot(periodic_task)
    periodic_task.enabled = enabled
    periodic_task.save()
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        target=periodic_task,
        changes={"before": before, "after": periodic_task_snapshot(periodic_task), "changed": ["enabled"]},
        reason=_("Periodic task enabled") if enabled else _("Periodic task disabled"),
    )
    return True


def periodic_task_run_now(*, actor, periodic_task) -> str:
    """Publish an allowed periodic task now, as beat would (the worker sees its schedule's
    name); returns the task id. Audited with the actor who pressed the button."""
    from loansite.celery import app

    periodic_task_check(periodic_task)
    app.loader.import_default_modules()
    task = app.tasks.get(periodic_task.task)
    if task is None:
        raise ValidationFailed(_("Task %(task)s is not known to this installation.") % {"task": periodic_task.task})
    kwargs, _ok = _decoded(periodic_task.kwargs, default={})
    options = {"headers": {"periodic_task_name": periodic_task.name}}
    if periodic_task.queue:
        options["queue"] = periodic_task.queue
    with transaction.atomic():
        audit_record(
            action=AuditAction.SYSTEM,
            actor=actor,
            target=periodic_task,
            changes={"event": "run_now", "task": periodic_task.task, "kwargs": kwargs},
            reason=_("Periodic task run now"),
        )
    return task.apply_async(kwargs=kwargs, **options).id


@transaction.atomic
def schedule_save(*, actor, schedule):
    """Create or change an interval, crontab, solar or clocked schedule. Audited, with the
    periodic tasks that run on it (they all move with it)."""
    previous = type(schedule).objects.filter(pk=schedule.pk).first() if schedule.pk is not None else None
    before = schedule_snapshot(previous) if previous is not None else {}
    schedule.save()
    after = schedule_snapshot(schedule)
    audit_record(
        action=AuditAction.UPDATE if previous is not None else AuditAction.CREATE,
        actor=actor,
        target=schedule,
        changes={
            "before": before,
            "after": after,
            "changed": sorted(changes_between(before, after)),
            "periodic_tasks": _tasks_on(schedule),
        },
        reason=_("Schedule saved"),
    )
    return schedule


@transaction.atomic
def schedule_delete(*, actor, schedule) -> None:
    """Delete a schedule and (as the database cascades) the periodic tasks on it, each audited."""
    from django_celery_beat.models import PeriodicTask

    kind = schedule._meta.model_name.removesuffix("schedule")
    for periodic_task in PeriodicTask.objects.filter(**{kind: schedule}):
        periodic_task_delete(actor=actor, periodic_task=periodic_task)
    before = schedule_snapshot(schedule)
    target = (_schedule_label(schedule), schedule.pk, str(schedule)[:255])
    schedule.delete()
    audit_record(
        action=AuditAction.DELETE,
        actor=actor,
        target=target,
        changes={"before": before, "after": {}},
        reason=_("Schedule deleted"),
    )


def _tasks_on(schedule) -> list[str]:
    if schedule.pk is None:
        return []
    kind = schedule._meta.model_name.removesuffix("schedule")
    return sorted(schedule.periodictask_set.values_list("name", flat=True)) if kind in _SCHEDULE_KINDS else []


# --- worker side --------------------------------------------------------------------


def periodic_task_name_of(request) -> str | None:
    """The schedule a running task was published for (django-celery-beat's
    ``periodic_task_name`` header; beat's own ``celery_beat_task`` marks it too), or None."""
    headers = getattr(request, "headers", None) or {}
    name = getattr(request, "periodic_task_name", None) or headers.get("periodic_task_name")
    if name:
        return str(name)
    if getattr(request, "celery_beat_task", None) or headers.get("celery_beat_task"):
        return ""
    return None


def periodic_task_call_check(*, task: str, schedule: str, args, kwargs, task_id: str) -> None:
    """In the worker, before a task published by beat runs: it and its arguments must be on
    the allow-list, else the call is refused (audited, naming the schedule)."""
    errors = periodic_task_arguments_errors(task=task, args=list(args or []), kwargs=dict(kwargs or {}))
    if not errors:
        return
    from loansite.task_authorisation import task_refuse

    detail = "; ".join(message for messages in errors.values() for message in messages)
    task_refuse(task=task, task_id=task_id, why="not_schedulable", schedule=schedule, detail=detail)
