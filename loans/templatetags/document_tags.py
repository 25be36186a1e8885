"""``{% document_panel original %}``: the documents section of the customer, application and
loan pages (list with downloads, upload link, and on applications the documents asked for)."""

import datetime

from django import template
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

register = template.Library()

PANEL_ROWS = 50
TYPE_LABELS = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
}


def _size_label(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


@register.inclusion_tag("admin/loans/document/panel.html", takes_context=True)
def document_panel(context, obj):
    from customers.models import Customer
    from loans.models import Loan, LoanApplication
    from loans.selectors.documents import document_list_for_staff, document_requests_for_application
    from loans.services.documents import PERM_ADD_DOCUMENT, PERM_ADD_REQUEST, PERM_VIEW_DOCUMENT

    request = context.get("request")
    user = getattr(request, "user", None)
    if obj is None or getattr(obj, "pk", None) is None or user is None or not user.has_perm(PERM_VIEW_DOCUMENT):
        return {"hidden": True}
    documents = document_list_for_staff(user)
    show_requests = False
    requests = []
    if isinstance(obj, LoanApplication):
        if obj.customer_id is None:
            return {"hidden": True}
        documents = documents.filter(application=obj)
        upload_query = f"application={obj.pk}"
        more_query = f"application={obj.pk}"
        show_requests = user.has_perm("loans.view_documentrequest")
        if show_requests:
            requests = list(document_requests_for_application(obj)[:PANEL_ROWS])
    elif isinstance(obj, Loan):
        documents = documents.filter(Q(loan=obj) | Q(application_id=obj.application_id))
        upload_query = f"loan={obj.pk}"
        more_query = f"customer={obj.customer_id}"
    elif isinstance(obj, Customer):
        documents = documents.filter(customer=obj)
        upload_query = f"customer={obj.pk}"
        more_query = f"customer={obj.pk}"
    else:
        return {"hidden": True}
    rows = list(documents[: PANEL_ROWS + 1])
    new_since = timezone.now() - datetime.timedelta(days=int(getattr(settings, "DOCUMENTS_NEW_DAYS", 7)))
    table = [
        {
            "document": document,
            "type_label": TYPE_LABELS.get(document.content_type, document.content_type),
            "size_label": _size_label(document.size),
            "is_new": document.uploaded_through_portal and document.created_at >= new_since,
        }
        for document in rows[:PANEL_ROWS]
    ]
    return {
        "hidden": False,
        "target": obj,
        "documents": table,
        "more": len(rows) > PANEL_ROWS,
        "more_query": more_query,
        "new_count": sum(1 for row in table if row["is_new"]),
        "show_links": not isinstance(obj, LoanApplication),
        "show_requests": show_requests,
        "requests": requests,
        "can_request": show_requests and user.has_perm(PERM_ADD_REQUEST),
        "can_upload": user.has_perm(PERM_ADD_DOCUMENT),
        "can_download": True,
        "upload_query": upload_query,
    }
