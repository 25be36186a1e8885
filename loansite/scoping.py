"""Row-level scoping: the one place that says which customers (and their applications and
loans) a staff user may see.

- Users with ``customers.view_all_customers`` (credit approvers, risk analysts, model ops,
  collectors, auditors, administrators; superusers) see every row.
- Everyone else (loan officers, the relationship managers) sees their own book: customers
  whose relationship manager they are, customers without a manager yet (new applicants
  waiting for matching, whom any officer may pick up) and customers a supervisor granted
  them (``CustomerAccessGrant``, until it expires or is revoked). Applications and loans
  follow their customer; an application whose applicant is not yet linked to a customer
  (public form, identity not verified) is in the shared pool like an unassigned customer.

The admin (``ScopedAdminMixin``: lists, change pages, autocomplete, exports), the staff API
(``ScopedViewSetMixin``) and the pages that look rows up by id all filter through here; a
row
outside the book answers 404, as if it did not exist.
"""

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

SEE_ALL_PERMISSION = "customers.view_all_customers"


def scoping_applies(user) -> bool:
    """True when ``user`` sees only their own book."""
    return not (user is not None and user.is_active and user.has_perm(SEE_ALL_PERMISSION))


def _prefix(path: str) -> str:
    return f"{path}__" if path else ""


def _granted_customer_ids(user):
    from customers.models import CustomerAccessGrant

    return (
        CustomerAccessGrant.objects.filter(user_id=user.pk, revoked_at__isnull=True, expires_at__gt=timezone.now())
        .order_by()
        .values("customer_id")
    )


def visible_customer_ids(user):
    """A subquery of the ids of the customers ``user``'s book holds (scoped users only)."""
    from customers.models import Customer

    return Customer.objects.filter(customer_scope_q(user)).order_by().values("pk")


def customer_scope_q(user, *, path: str = "") -> Q:
    """A filter over the model reached by ``path`` (``""`` for Customer itself, ``"customer"``
    for an application or a loan, ``"loan__customer"`` ...) keeping the rows ``user`` may
    see; ``Q()`` for see-all users.

    On customers: ``manager IS NULL OR manager's user = me OR id IN (my active grants)``.
    On rows of customers: ``customer_id IN (that set)``, a set the database builds once
    (from the manager index) and probes per row, never a join per row.
    """
    if not scoping_applies(user):
        return Q()
    if user is None or not user.is_active:
        return Q(pk__in=[])
    if not path:
        return Q(manager__isnull=True) | Q(manager__user_id=user.pk) | Q(pk__in=_granted_customer_ids(user))
    # An application not linked to a customer yet (identity to verify) is in the pool.
    return Q(**{f"{path}__isnull": True}) | Q(**{f"{path}__in": visible_customer_ids(user)})


def scope_queryset(queryset: QuerySet, user, *, path: str | tuple = "") -> QuerySet:
    """``queryset`` restricted to what ``user`` may see (unchanged for see-all users).

    ``path`` may be a tuple of ways to a customer (collateral belongs to an application or
    a loan): a row is seen when one of them leads into the book (no shared pool then)."""
    if not scoping_applies(user):
        return queryset
    if user is None or not user.is_active:
        return queryset.none()
    if isinstance(path, tuple):
        visible = visible_customer_ids(user)
        either = Q(pk__in=[])
        for way in path:
            either |= Q(**{f"{way}__in": visible})
        return queryset.filter(either)
    return queryset.filter(customer_scope_q(user, path=path))


def scope_customers(queryset: QuerySet, user) -> QuerySet:
    return scope_queryset(queryset, user, path="")


def scope_by_customer(queryset: QuerySet, user) -> QuerySet:
    """Applications, loans, credit lines ...: rows with a ``customer`` foreign key."""
    return scope_queryset(queryset, user, path="customer")


def customer_in_scope(user, customer) -> bool:
    """May ``user`` see ``customer`` (an instance or ``None``)?"""
    from customers.models import Customer

    if not scoping_applies(user):
        return True
    if customer is None:
        return bool(user is not None and user.is_active)
    return scope_customers(Customer.objects.filter(pk=customer.pk), user).exists()


def customer_in_scope_or_404(user, customer) -> None:
    if not customer_in_scope(user, customer):
        raise Http404


class ScopedAdminMixin:
    """A ModelAdmin whose rows belong to customers: lists, change pages, the autocomplete it
    serves and its exports show only the user's book; another book's row answers 404.

    ``scope_path`` is the way from the model to its customer (``""`` for Customer).
    """

    scope_path = "customer"

    def get_queryset(self, request):
        return scope_queryset(super().get_queryset(request), request.user, path=self.scope_path)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # A customer (or an application or loan) picked on a form must be in the book.
        from customers.models import Customer

        related = db_field.related_model
        if "queryset" not in kwargs:
            if related is Customer:
                kwargs["queryset"] = scope_customers(Customer.objects.all(), request.user)
            elif any(
                getattr(f, "related_model", None) is Customer and f.name == "customer" for f in related._meta.fields
            ):
                # An application or a loan picked on a form (collateral, guarantees ...).
                kwargs["queryset"] = scope_by_customer(related._default_manager.all(), request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None and scoping_applies(request.user):
            # Out of the book (or missing): the same 404 either way, never "it exists".
            raise Http404
        return obj


class ScopedViewSetMixin:
    """A DRF view whose rows belong to customers (``scope_path`` as above): lists show the
    user's book, anything else answers 404."""

    scope_path = "customer"

    def get_queryset(self):
        return scope_queryset(super().get_queryset(), self.request.user, path=self.scope_path)
