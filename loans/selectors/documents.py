"""Reads of documents and document requests, and who may reach them.

Staff reach a document with ``loans.view_document`` and the document's customer in their book
(row scoping, ``loansite.scoping``); a portal account reaches the documents of the customers it
holds. Everything else answers "not found" (never "forbidden"), so ids reveal nothing. The one
place these checks live: the admin, the staff API and the portal call these.
"""

from django.db.models import QuerySet

from loans.models import Document, DocumentRequest
from loansite.errors import NotFound

PERM_VIEW_DOCUMENT = "loans.view_document"
PERM_VIEW_REQUEST = "loans.view_documentrequest"


def _scoping():
    try:
        from loansite import scoping
    except ImportError:  # pragma: no cover - row scoping not installed
        return None
    return scoping


def _staff_ok(user, perm: str) -> bool:
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and user.has_perm(perm)
    )


def _scoped(queryset: QuerySet, user, *, path: str) -> QuerySet:
    scoping = _scoping()
    if scoping is None:
        return queryset
    return scoping.scope_queryset(queryset, user, path=path)


def document_customer_accessible(user, customer_id: int) -> bool:
    """May staff ``user`` work with this customer's documents (the customer is in their book)?"""
    from customers.models import Customer

    if user is None or not getattr(user, "is_active", False):
        return False
    return _scoped(Customer.objects.filter(pk=customer_id), user, path="").exists()


def document_list_for_staff(user) -> QuerySet:
    """The documents ``user`` may see and download (none without ``loans.view_document``)."""
    if not _staff_ok(user, PERM_VIEW_DOCUMENT):
        return Document.objects.none()
    queryset = Document.objects.select_related("customer", "application", "loan", "uploaded_by")
    return _scoped(queryset, user, path="customer")


def document_get_for_staff(user, pk) -> Document:
    """One document for a staff download, or ``NotFound`` (missing, no permission, other book)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound() from None
    document = document_list_for_staff(user).filter(pk=pk).first()
    if document is None:
        raise NotFound()
    return document


def document_portal_customer_ids(portal_account) -> set[int]:
    """The customers a portal account holds (``PortalAccess``)."""
    if portal_account is None or portal_account.pk is None or not getattr(portal_account, "is_active", True):
        return set()
    try:
        from customers.models_portal import PortalAccess
    except ImportError:  # pragma: no cover - portal not installed
        return set()
    return set(PortalAccess.objects.filter(account_id=portal_account.pk).values_list("customer_id", flat=True))


def document_list_for_customer(customer, *, application=None, loan=None) -> QuerySet:
    """A customer's documents (the portal: ``customer`` is the one the portal selected)."""
    queryset = Document.objects.filter(customer=customer).select_related("application", "loan")
    if application is not None:
        queryset = queryset.filter(application=application)
    if loan is not None:
        queryset = queryset.filter(loan=loan)
    return queryset


def document_get_for_portal(customer, pk) -> Document:
    """One of the selected customer's documents, or ``NotFound`` (someone else's id too)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound() from None
    document = Document.objects.filter(customer=customer, pk=pk).first()
    if document is None:
        raise NotFound()
    return document


def document_requests_for_application(application, *, open_only: bool = False) -> QuerySet:
    """An application's document requests, open first, then newest."""
    queryset = DocumentRequest.objects.filter(application=application).select_related(
        "requested_by", "fulfilled_by", "cancelled_by"
    )
    if open_only:
        queryset = queryset.filter(status=DocumentRequest.Status.OPEN)
    return queryset.order_by("-status", "-created_at", "-id") if not open_only else queryset


def document_requests_open_for_customer(customer) -> QuerySet:
    """What a customer's applications still need (the portal's "documents asked for")."""
    return (
        DocumentRequest.objects.filter(application__customer=customer, status=DocumentRequest.Status.OPEN)
        .select_related("application")
        .order_by("application_id", "created_at")
    )


def document_request_list_for_staff(user) -> QuerySet:
    if not _staff_ok(user, PERM_VIEW_REQUEST):
        return DocumentRequest.objects.none()
    queryset = DocumentRequest.objects.select_related("application", "application__customer", "requested_by")
    return _scoped(queryset, user, path="application__customer")
