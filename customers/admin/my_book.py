""" "My book" in the admin: a relationship manager's customers, their applications and loans,
the manager's queue (drafts, applications returned) and tasks (documents missing, promises
to pay and instalments falling due). Read only; every link goes to the scoped admin pages."""

from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from customers.reference import city_label
from customers.selectors_book import DUE_AHEAD_DAYS, manager_of, my_book


def my_book_link_visible(request) -> bool:
    """Shown in the navigation to users with a relationship-manager profile (one small query,
    remembered for the request)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return False
    cached = getattr(request, "_my_book_link", None)
    if cached is None:
        cached = request._my_book_link = manager_of(user) is not None
    return cached


def my_book_view(request, admin_site):
    if not request.user.has_perm("customers.view_customer"):
        raise PermissionDenied
    book = my_book(user=request.user)
    context = {
        **admin_site.each_context(request),
        "title": _("My book"),
        "book": book,
        "due_days": DUE_AHEAD_DAYS,
        "manager_city": city_label(book.manager.city) if book.manager else "",
        "can_view_loans": request.user.has_perm("loans.view_loan"),
        "can_view_applications": request.user.has_perm("loans.view_loanapplication"),
    }
    return TemplateResponse(request, "admin/customers/my_book/my_book.html", context)
