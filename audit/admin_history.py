"""The admin's "History" page of every model shows the object's audit trail (audit/history.py)."""

from django.contrib.admin.utils import unquote
from django.core.paginator import Paginator

from audit.history import history_rows


class AuditHistoryAdminMixin:
    def history_view(self, request, object_id, extra_context=None):
        # Django's own view checks that the user may view the object (403 otherwise) and 404s
        # a missing one; the rows it would read from the admin log are replaced.
        obj = self.get_object(request, unquote(object_id))
        context = dict(extra_context or {})
        if obj is not None and self.has_view_or_change_permission(request, obj):
            rows = history_rows(obj, request.user)
            page = Paginator(rows, max(len(rows), 1)).page(1)
            context.update({"action_list": page, "page_range": [1], "pagination_required": False})
        return super().history_view(request, object_id, context)
