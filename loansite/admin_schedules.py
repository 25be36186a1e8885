"""The django-celery-beat admin, restricted and audited.

django-celery-beat's own admin lets anyone who may add a periodic task pick any registered
task with any arguments and message headers, and its actions change rows without a trace.
These replace it on the project's admin site: the task is chosen from the schedule
allow-list, arguments are checked per task, headers / exchange / routing key cannot be set,
and every save, delete, switch on or off and "run now" goes through the audited services
of :mod:`loansite.periodic_tasks`.
"""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from loansite.errors import ApplicationError
from loansite.periodic_tasks import (
    LOCKED_OPTIONS,
    periodic_task_arguments_errors,
    periodic_task_delete,
    periodic_task_run_now,
    periodic_task_save,
    periodic_task_set_enabled,
    schedulable_choices,
    schedule_delete,
    schedule_save,
)


class SchedulablePeriodicTaskForm(beat_admin.PeriodicTaskForm):
    """Only allow-listed tasks, with the arguments each takes; checked on the server."""

    regtask = None
    task = forms.ChoiceField(
        label=_("Task"),
        choices=(),
        help_text=_("Only these tasks can be scheduled; none of them acts for a person."),
    )

    class Meta(beat_admin.PeriodicTaskForm.Meta):
        exclude = LOCKED_OPTIONS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["task"].choices = [("", "---------"), *schedulable_choices()]

    def clean(self):
        # Not django-celery-beat's clean (its registered/custom task pair is gone here).
        data = super(beat_admin.PeriodicTaskForm, self).clean()
        if data.get("expire_seconds") is not None and data.get("expires"):
            raise forms.ValidationError(_("Only one can be set, in expires and expire_seconds"))
        task = data.get("task")
        if task and "args" not in self.errors and "kwargs" not in self.errors:
            errors = periodic_task_arguments_errors(task=task, args=data.get("args"), kwargs=data.get("kwargs"))
            for name, problems in errors.items():
                for problem in problems:
                    self.add_error(name if name in self.fields else None, problem)
        return data


def _report(model_admin, request, exc: ApplicationError) -> None:
    model_admin.message_user(request, str(exc.message), level=messages.ERROR)


class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin):
    form = SchedulablePeriodicTaskForm
    fieldsets = (
        (None, {"fields": ("name", "task", "enabled", "description"), "classes": ("extrapretty", "wide")}),
        (
            _("Schedule"),
            {
                "fields": (
                    "interval",
                    "crontab",
                    "crontab_translation",
                    "solar",
                    "clocked",
                    "start_time",
                    "last_run_at",
                    "one_off",
                ),
                "classes": ("extrapretty", "wide"),
            },
        ),
        (_("Arguments"), {"fields": ("args", "kwargs"), "classes": ("extrapretty", "wide")}),
        (
            _("Execution Options"),
            {"fields": ("expires", "expire_seconds", "queue", "priority"), "classes": ("extrapretty", "wide")},
        ),
    )

    def save_model(self, request, obj, form, change):
        periodic_task_save(actor=request.user, periodic_task=obj)

    def delete_model(self, request, obj):
        periodic_task_delete(actor=request.user, periodic_task=obj)

    def delete_queryset(self, request, queryset):
        for periodic_task in queryset:
            periodic_task_delete(actor=request.user, periodic_task=periodic_task)

    def _set_enabled(self, request, queryset, enabled):
        changed = 0
        for periodic_task in queryset:
            target = (not periodic_task.enabled) if enabled is None else enabled
            try:
                changed += periodic_task_set_enabled(actor=request.user, periodic_task=periodic_task, enabled=target)
            except ApplicationError as exc:
                _report(self, request, exc)
        return changed

    @admin.action(description=_("Enable selected tasks"), permissions=["change"])
    def enable_tasks(self, request, queryset):
        n = self._set_enabled(request, queryset, True)
        self.message_user(request, ngettext("%(n)s task enabled.", "%(n)s tasks enabled.", n) % {"n": n})

    @admin.action(description=_("Disable selected tasks"), permissions=["change"])
    def disable_tasks(self, request, queryset):
        n = self._set_enabled(request, queryset, False)
        self.message_user(request, ngettext("%(n)s task disabled.", "%(n)s tasks disabled.", n) % {"n": n})

    @admin.action(description=_("Toggle activity of selected tasks"), permissions=["change"])
    def toggle_tasks(self, request, queryset):
        n = self._set_enabled(request, queryset, None)
        self.message_user(request, ngettext("%(n)s task toggled.", "%(n)s tasks toggled.", n) % {"n": n})

    @admin.action(description=_("Run selected tasks"), permissions=["change"])
    def run_tasks(self, request, queryset):
        started = 0
        for periodic_task in queryset:
            try:
                periodic_task_run_now(actor=request.user, periodic_task=periodic_task)
            except ApplicationError as exc:
                self.message_user(
                    request,
                    _("%(name)s was not run: %(why)s") % {"name": periodic_task.name, "why": exc.message},
                    level=messages.ERROR,
                )
            else:
                started += 1
        if started:
            self.message_user(
                request, ngettext("%(n)s task started.", "%(n)s tasks started.", started) % {"n": started}
            )


class AuditedScheduleAdmin:
    """Saves and deletes of a schedule through the audited services."""

    def save_model(self, request, obj, form, change):
        schedule_save(actor=request.user, schedule=obj)

    def delete_model(self, request, obj):
        schedule_delete(actor=request.user, schedule=obj)

    def delete_queryset(self, request, queryset):
        for schedule in queryset:
            schedule_delete(actor=request.user, schedule=schedule)


class IntervalScheduleAdmin(AuditedScheduleAdmin, beat_admin.IntervalScheduleAdmin):
    pass


class CrontabScheduleAdmin(AuditedScheduleAdmin, beat_admin.CrontabScheduleAdmin):
    pass


class SolarScheduleAdmin(AuditedScheduleAdmin, beat_admin.SolarScheduleAdmin):
    pass


class ClockedScheduleAdmin(AuditedScheduleAdmin, beat_admin.ClockedScheduleAdmin):
    pass


REPLACEMENTS = {
    PeriodicTask: PeriodicTaskAdmin,
    IntervalSchedule: IntervalScheduleAdmin,
    CrontabSchedule: CrontabScheduleAdmin,
    SolarSchedule: SolarScheduleAdmin,
    ClockedSchedule: ClockedScheduleAdmin,
}


def schedules_admin_register(site) -> None:
    """Replace django-celery-beat's admin classes on ``site`` with these."""
    for model, model_admin in REPLACEMENTS.items():
        if site.is_registered(model):
            site.unregister(model)
        site.register(model, model_admin)
