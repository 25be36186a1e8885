"""Third-party admin pages, replaced so that no token, secret or request payload ever renders.

- simplejwt's token lists showed the full refresh token text (an auditor could copy a
  superuser's token and mint an access token with it). The text is no longer stored
  (``loansite.security``) and these pages show the account, dates and state only.
- django-celery-results showed (and searched) task arguments, keyword arguments, results and
  tracebacks, which may carry data; these pages show the task, status, worker and times.
- django-axes showed the GET and POST data of failed sign-ins (CSRF tokens, one-time codes);
  these pages show who, when, where from and the lockout state.

All of them are read-only for everyone; deleting an access attempt (to unlock a sign-in) is
the only write, for those with ``axes.delete_accessattempt``.
"""

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _
from django_celery_results.models import GroupResult, TaskResult
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from audit.admin_mixins import ReadOnlyAdminMixin


def _replace(model, admin_class) -> None:
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, admin_class)


class OutstandingTokenSafeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The API refresh tokens issued: whose, when, until when, whether revoked."""

    list_display = ("user", "created_at", "expires_at", "revoked")
    list_filter = ("expires_at",)
    search_fields = ("user__username",)
    list_select_related = ("user",)
    fields = ("user", "created_at", "expires_at", "revoked")
    readonly_fields = fields
    ordering = ("-created_at",)
    actions = None
    show_full_result_count = False

    def get_queryset(self, request):
        revoked = BlacklistedToken.objects.filter(token=OuterRef("pk"))
        return super().get_queryset(request).annotate(is_revoked=Exists(revoked)).defer("token")

    @admin.display(description=_("revoked"), boolean=True, ordering="is_revoked")
    def revoked(self, obj):
        return obj.is_revoked


class BlacklistedTokenSafeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("token_user", "token_created_at", "token_expires_at", "blacklisted_at")
    search_fields = ("token__user__username",)
    fields = ("token_user", "token_created_at", "token_expires_at", "blacklisted_at")
    readonly_fields = fields
    ordering = ("-blacklisted_at",)
    actions = None
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("token__user").defer("token__token")

    @admin.display(description=_("user"), ordering="token__user")
    def token_user(self, obj):
        return obj.token.user

    @admin.display(description=_("created at"), ordering="token__created_at")
    def token_created_at(self, obj):
        return obj.token.created_at

    @admin.display(description=_("expires at"), ordering="token__expires_at")
    def token_expires_at(self, obj):
        return obj.token.expires_at


class TaskResultSafeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Which task ran, when, where and how it ended; never its arguments, result or traceback."""

    date_hierarchy = "date_done"
    list_display = ("task_id", "periodic_task_name", "task_name", "date_done", "status", "worker")
    list_filter = ("status", "date_done", "periodic_task_name", "task_name", "worker")
    search_fields = ("task_name", "task_id", "status")
    fields = (
        "task_id",
        "task_name",
        "periodic_task_name",
        "status",
        "worker",
        "date_created",
        "date_started",
        "date_done",
    )
    readonly_fields = fields
    actions = None
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).only(*self.fields, "id")


class GroupResultSafeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    date_hierarchy = "date_done"
    list_display = ("group_id", "date_done")
    list_filter = ("date_done",)
    search_fields = ("group_id",)
    fields = ("group_id", "date_created", "date_done")
    readonly_fields = fields
    actions = None


class AccessAttemptSafeAdmin(AccessAttemptAdmin):
    """Sign-in attempts without the submitted form data; deleting one unlocks the sign-in."""

    fieldsets = (
        (None, {"fields": ("username", "path_info", "failures_since_start", "expiration")}),
        (_("Meta Data"), {"fields": ("user_agent", "ip_address", "http_accept")}),
    )
    readonly_fields = [
        "user_agent",
        "ip_address",
        "username",
        "http_accept",
        "path_info",
        "attempt_time",
        "failures_since_start",
        "expiration",
    ]
    actions = ["cleanup_expired_attempts"]

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).defer("get_data", "post_data")

    @admin.action(description=_("Clean up expired attempts"), permissions=["delete"])
    def cleanup_expired_attempts(self, request, queryset):
        return super().cleanup_expired_attempts(request, queryset)


class AccessLogSafeAdmin(ReadOnlyAdminMixin, AccessLogAdmin):
    actions = None


class AccessFailureLogSafeAdmin(ReadOnlyAdminMixin, AccessFailureLogAdmin):
    actions = None


_replace(OutstandingToken, OutstandingTokenSafeAdmin)
_replace(BlacklistedToken, BlacklistedTokenSafeAdmin)
_replace(TaskResult, TaskResultSafeAdmin)
_replace(GroupResult, GroupResultSafeAdmin)
_replace(AccessAttempt, AccessAttemptSafeAdmin)
_replace(AccessLog, AccessLogSafeAdmin)
_replace(AccessFailureLog, AccessFailureLogSafeAdmin)
