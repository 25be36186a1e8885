"""Progress pages that refresh themselves: a run's page, and the list of runs, reload every
few seconds while a run is queued or running and stop once none is (``loansite/auto_refresh.js``,
a static script: no inline code under the Content-Security-Policy)."""

ACTIVE_STATUSES = ("queued", "running")
REFRESH_SECONDS = 2


class ProgressRefreshMixin:
    """For admins of runs with a ``status`` of queued / running / done / failed."""

    change_form_template = "admin/progress/change_form.html"
    change_list_template = "admin/progress/change_list.html"

    def changelist_view(self, request, extra_context=None):
        active = self.get_queryset(request).filter(status__in=ACTIVE_STATUSES).exists()
        extra_context = {**(extra_context or {}), "progress_refresh": REFRESH_SECONDS if active else None}
        return super().changelist_view(request, extra_context=extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "progress_refresh": REFRESH_SECONDS}
        return super().change_view(request, object_id, form_url, extra_context=extra_context)
