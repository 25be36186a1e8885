"""Admin mixins that route plain edits, deletes and exports into the audit trail,
and one for the records nobody edits by hand (the trail itself, runs, scores, history).

Domain state changes (transitions, approvals, assignments) go through services, which
audit themselves; these mixins cover the generic create/update/delete screens and
django-import-export's export views. Imports go through the import services (customers and
loans), which audit every record and the import itself.
"""

from django.db import transaction

from audit.models import AuditAction
from audit.services import audit_record, changes_between, model_snapshot


class AuditedModelAdmin:
    """Records create, update and delete made through an admin change form."""

    def save_model(self, request, obj, form, change):
        before = model_snapshot(type(obj).objects.get(pk=obj.pk)) if change and obj.pk else {}
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            after = model_snapshot(obj)
            audit_record(
                action=AuditAction.UPDATE if change else AuditAction.CREATE,
                actor=request.user,
                target=obj,
                changes=changes_between(before, after),
            )

    def delete_model(self, request, obj):
        snapshot, target = model_snapshot(obj), (obj._meta.label_lower, obj.pk, str(obj))
        with transaction.atomic():
            super().delete_model(request, obj)
            audit_record(action=AuditAction.DELETE, actor=request.user, target=target, changes={"deleted": snapshot})

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for obj in queryset:
                audit_record(
                    action=AuditAction.DELETE,
                    actor=request.user,
                    target=obj,
                    changes={"deleted": model_snapshot(obj)},
                )
            super().delete_queryset(request, queryset)


class AuditedExportMixin:
    """Records every export (django-import-export) with its row count."""

    def get_data_for_export(self, request, queryset, **kwargs):
        data = super().get_data_for_export(request, queryset, **kwargs)
        audit_record(
            action=AuditAction.EXPORT,
            actor=request.user,
            target=(self.model._meta.label_lower, "", str(self.model._meta.verbose_name_plural)),
            changes={"rows": len(data), "filters": dict(request.GET.items())},
        )
        return data


class ReadOnlyAdminMixin:
    """A record screen that only shows: no add, change or delete, for anyone. Such rows are
    written by services (which audit themselves), never through the admin form."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
