"""Reads of the customer book: lookups, credit-line headroom, manager workload."""

import datetime
from decimal import Decimal

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from customers.models import Assignment, CreditLine, Customer, RelationshipManager
from customers.validators import normalize_credit_code, normalize_mobile_phone, normalize_resident_id
from loansite.money import ZERO


def customer_find_existing(*, credit_code=None, id_number=None, phone=None) -> Customer | None:
    """The customer holding any of these keys (credit code first, then ID number, then phone)."""
    keys = [
        ("credit_code", normalize_credit_code(credit_code) if credit_code else ""),
        ("id_number", normalize_resident_id(id_number) if id_number else ""),
        ("phone", normalize_mobile_phone(phone) if phone else ""),
    ]
    for field, value in keys:
        if value:
            found = Customer.objects.filter(**{field: value}).first()
            if found is not None:
                return found
    return None


def customer_matches(*, credit_code=None, id_number=None, phone=None) -> list[Customer]:
    """Every distinct customer holding one of the keys (more than one means the keys disagree)."""
    condition = Q(pk__in=[])
    if credit_code:
        condition |= Q(credit_code=normalize_credit_code(credit_code))
    if id_number:
        condition |= Q(id_number=normalize_resident_id(id_number))
    if phone:
        condition |= Q(phone=normalize_mobile_phone(phone))
    return list(Customer.objects.filter(condition).order_by("pk"))


def credit_line_active(*, customer) -> CreditLine | None:
    return CreditLine.objects.filter(customer=customer, status=CreditLine.Status.ACTIVE).first()


def credit_line_headroom(*, customer, on: datetime.date | None = None) -> Decimal:
    """What the customer can still draw: limit - used of the active line valid ``on`` (today)."""
    on = on or timezone.localdate()
    line = CreditLine.objects.filter(
        customer=customer, status=CreditLine.Status.ACTIVE, valid_from__lte=on, valid_to__gte=on
    ).first()
    if line is None:
        return ZERO
    return max(line.limit - line.used, ZERO)


def customer_assignment_history(*, customer) -> QuerySet[Assignment]:
    return (
        Assignment.objects.filter(customer=customer)
        .select_related("manager__user", "previous_manager__user", "assigned_by")
        .order_by("-created_at", "-id")
    )


def assignment_current(*, customer) -> Assignment | None:
    return Assignment.objects.filter(customer=customer, is_current=True).select_related("manager__user").first()


def manager_workload() -> QuerySet[RelationshipManager]:
    """Managers with ``load`` (current customers) and ``headroom`` (capacity - load)."""
    return (
        RelationshipManager.objects.select_related("user")
        .annotate(load=Count("customers", distinct=True))
        .order_by("-active", "city", "user__username")
    )


def manager_load(*, manager) -> int:
    return Customer.objects.filter(manager=manager).count()


def matching_effect() -> dict:
    """For the dashboard: the latest finished run (optimal vs greedy) and each manager's book and mean score."""
    from django.db.models import Avg

    from customers.models import MatchingRun

    latest = MatchingRun.objects.filter(status=MatchingRun.Status.DONE).order_by("-finished_at").first()
    scores = dict(
        Assignment.objects.filter(is_current=True)
        .values_list("manager_id")
        .annotate(mean=Avg("score"))
        .order_by()
        .values_list("manager_id", "mean")
    )
    managers = [
        {
            "manager": str(m),
            "load": m.load,
            "capacity": m.capacity,
            "mean_score": round(scores[m.pk], 2) if scores.get(m.pk) is not None else None,
        }
        for m in manager_workload().filter(active=True)
    ]
    run = None
    if latest is not None:
        run = {
            "finished_at": latest.finished_at,
            "assigned": latest.assigned,
            "total_score": latest.total_score,
            "greedy_score": latest.greedy_score,
        }
    return {"latest_run": run, "managers": managers, "unassigned": Customer.objects.filter(manager=None).count()}
