"""Relationship-manager assignment: optimal matching runs and manual reassignment, with history."""

import datetime
import uuid
from collections import defaultdict
from collections.abc import Callable

import numpy as np
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from customers import matching
from customers.bulk import bulk_insert
from customers.models import RATING_POINTS, Assignment, Customer, MatchingRun, RelationshipManager
from loansite.errors import Conflict, InvalidTransition, NotFound, ValidationFailed

WRITE_CHUNK = 2000
STALE_RUN_AFTER = datetime.timedelta(hours=1)


def _city_tiers() -> dict[str, int]:
    """City -> tier from the reference data (customers.City)."""
    from customers.reference import city_tier_map

    return city_tier_map()


def _managers(*, release_all: bool, only: list[int] | None = None) -> matching.Managers:
    """Active managers (or ``only`` these) with their load and book quality."""
    query = RelationshipManager.objects.all()
    query = query.filter(pk__in=only) if only is not None else query.filter(active=True)
    rows = list(query.order_by("pk").values("pk", "city", "industries", "seniority", "capacity"))
    ids = [row["pk"] for row in rows]
    load = dict(
        Customer.objects.filter(manager_id__in=ids).values_list("manager_id").annotate(n=Count("pk")).order_by()
    )
    quality_sum, quality_n = defaultdict(float), defaultdict(int)
    for manager_id, rating, n in _rating_counts(ids):
        quality_sum[manager_id] += RATING_POINTS[rating] * n
        quality_n[manager_id] += n
    tiers = _city_tiers()
    return matching.Managers(
        ids=np.array(ids, dtype=np.int64),
        city=np.array([row["city"] for row in rows], dtype=object),
        tier=np.array([tiers.get(row["city"], 0) for row in rows], dtype=int),
        industries=[set(row["industries"] or []) for row in rows],
        seniority=np.array([row["seniority"] for row in rows], dtype=int),
        capacity=np.array([row["capacity"] for row in rows], dtype=int),
        load=np.array([0 if release_all else load.get(pk, 0) for pk in ids], dtype=int),
        book_quality=np.array(
            [quality_sum[pk] / quality_n[pk] if quality_n[pk] else 0.5 for pk in ids],
            dtype=float,
        ),
    )


def _rating_counts(manager_ids: list[int]):
    rows = (
        Customer.objects.filter(manager_id__in=manager_ids)
        .exclude(rating="")
        .values_list("manager_id", "rating")
        .annotate(n=Count("pk"))
        .order_by()
    )
    yield from rows


def _customers(rows: list[tuple], bands: np.ndarray) -> matching.Customers:
    return matching.Customers(
        ids=np.array([row[0] for row in rows], dtype=np.int64),
        industry=np.array([row[1] for row in rows], dtype=object),
        city=np.array([row[2] for row in rows], dtype=object),
        tier=np.array([row[3] for row in rows], dtype=int),
        value_band=bands,
    )


def matching_run_start(*, actor, scope: str = MatchingRun.Scope.UNASSIGNED) -> MatchingRun:
    """Record a run and queue the matching task once the run is committed; returns the run (with task id)."""
    if scope not in MatchingRun.Scope.values:
        raise ValidationFailed(_("Unknown matching scope: %(scope)s.") % {"scope": scope})
    from customers.tasks import MATCHING_PERMISSION, customers_match_managers
    from loansite.task_authorisation import task_queue_authorised

    with transaction.atomic():
        # A run whose task was lost (broker flushed, worker killed) must not block matching forever.
        MatchingRun.objects.filter(
            status__in=[MatchingRun.Status.QUEUED, MatchingRun.Status.RUNNING],
            created_at__lt=timezone.now() - STALE_RUN_AFTER,
        ).update(status=MatchingRun.Status.FAILED, error="stale: no progress recorded in time")
        if MatchingRun.objects.filter(status__in=[MatchingRun.Status.QUEUED, MatchingRun.Status.RUNNING]).exists():
            raise Conflict(_("A matching run is already queued or running; wait for it to finish."))
        run = MatchingRun.objects.create(scope=scope, started_by=actor, task_id=str(uuid.uuid4()))
        audit_record(
            action=AuditAction.ASSIGN,
            actor=actor,
            target=run,
            changes={"scope": scope, "status": run.status, "task_id": run.task_id},
            reason=_("Matching run queued"),
        )
        # The worker learns the actor and the run only from this signed authorisation.
        task_queue_authorised(
            customers_match_managers,
            actor=actor,
            params={"run_id": run.pk},
            permissions=(MATCHING_PERMISSION,),
            task_id=run.task_id,
        )
    return run


def assignment_run_matching(
    *,
    actor=None,
    scope: str = MatchingRun.Scope.UNASSIGNED,
    run: MatchingRun | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> MatchingRun:
    """Match customers to active managers, maximising the total score under capacity.

    ``unassigned``: customers without a manager go into the managers' free capacity.
    ``all``: the whole book is matched afresh (every manager's full capacity); customers
    whose manager does not change keep their current assignment row.
    Writes in chunks, each its own transaction; a customer whose manager changed since the
    scores were computed is skipped, so running again is safe.
    """
    if run is None:
        run = MatchingRun.objects.create(scope=scope, started_by=actor)
    updated = MatchingRun.objects.filter(
        pk=run.pk, status__in=[MatchingRun.Status.QUEUED, MatchingRun.Status.RUNNING]
    ).update(status=MatchingRun.Status.RUNNING)
    if updated != 1:
        raise InvalidTransition(_("This matching run has already finished."))
    run.refresh_from_db()
    release_all = run.scope == MatchingRun.Scope.ALL

    query = Customer.objects.order_by("pk")
    rows = list(query.values_list("pk", "industry", "city", "city_tier", "monthly_revenue", "manager_id"))
    bands = matching.value_bands([float(row[4]) for row in rows])
    if not release_all:
        keep = [i for i, row in enumerate(rows) if row[5] is None]
        rows, bands = [rows[i] for i in keep], bands[keep]
    customers = _customers(rows, bands)
    managers = _managers(release_all=release_all)
    run.customers_total = len(rows)
    run.save(update_fields=["customers_total"])

    components = matching.score_components(customers, managers)
    scores = matching.total_score(components)
    choice = matching.assign_optimal(scores, managers.free)
    run.total_score = round(matching.assignment_total(scores, choice), 2)
    run.greedy_score = round(matching.assignment_total(scores, matching.assign_greedy(scores, managers.free)), 2)

    assigned = released = 0
    for start in range(0, len(rows), WRITE_CHUNK):
        stop = min(start + WRITE_CHUNK, len(rows))
        chunk_assigned, chunk_released = _write_chunk(
            run=run,
            actor=actor,
            rows=rows[start:stop],
            choice=choice[start:stop],
            offset=start,
            managers=managers,
            components=components,
            scores=scores,
            release_all=release_all,
        )
        assigned, released = assigned + chunk_assigned, released + chunk_released
        MatchingRun.objects.filter(pk=run.pk).update(processed=stop, assigned=assigned)
        if progress:
            progress(stop, len(rows))

    with transaction.atomic():
        run.processed, run.assigned = len(rows), assigned
        run.unassigned = Customer.objects.filter(manager__isnull=True).count()
        run.status, run.finished_at = MatchingRun.Status.DONE, timezone.now()
        run.save()
        audit_record(
            action=AuditAction.ASSIGN,
            actor=actor,
            target=run,
            changes={
                "scope": run.scope,
                "customers": run.customers_total,
                "assigned": assigned,
                "unassigned": run.unassigned,
                "released": released,
                "total_score": run.total_score,
                "greedy_score": run.greedy_score,
            },
            reason=_("Matching run finished"),
        )
    return run


@transaction.atomic
def _write_chunk(*, run, actor, rows, choice, offset, managers, components, scores, release_all) -> tuple[int, int]:
    """Write one chunk of the plan; returns (assigned, released).

    Customers whose manager changed since the plan was made are skipped. In ``unassigned``
    scope the managers are locked and their load re-counted, so a manual reassignment made
    meanwhile can never push a manager past capacity. In ``all`` scope the plan covers the
    whole book, so a customer the optimum leaves out is released rather than left with a
    manager whose slots went to others.
    """
    ids = [row[0] for row in rows]
    expected = {row[0]: row[5] for row in rows}
    current = dict(Customer.objects.select_for_update().filter(pk__in=ids).values_list("pk", "manager_id"))
    now = timezone.now()
    planned: dict[int, list[tuple[int, int, int]]] = defaultdict(list)  # manager -> [(customer, i, j)]
    released = []
    for k, (row, j) in enumerate(zip(rows, choice, strict=True)):
        pk = row[0]
        if pk not in current or current[pk] != expected[pk]:
            continue
        if j < 0:
            if release_all and current[pk] is not None:
                released.append(pk)
            continue
        manager_id = int(managers.ids[j])
        if current[pk] != manager_id:
            planned[manager_id].append((pk, offset + k, int(j)))
    if not release_all and planned:
        locked = RelationshipManager.objects.select_for_update().filter(pk__in=list(planned))
        capacity = dict(locked.values_list("pk", "capacity"))
        load = dict(
            Customer.objects.filter(manager_id__in=list(planned))
            .values_list("manager_id")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for manager_id in planned:
            room = max(capacity.get(manager_id, 0) - load.get(manager_id, 0), 0)
            planned[manager_id] = planned[manager_id][:room]
    new_rows = [
        {
            "customer_id": pk,
            "manager_id": manager_id,
            "previous_manager_id": current[pk],
            "kind": Assignment.Kind.MATCHING,
            "score": round(float(scores[i, j]), 2),
            "components": matching.explain(components, i, j),
            "run_id": run.pk,
            "assigned_by_id": getattr(actor, "pk", None),
            "is_current": True,
        }
        for manager_id, items in planned.items()
        for pk, i, j in items
    ]
    moved = [row["customer_id"] for row in new_rows]
    Assignment.objects.filter(customer_id__in=moved + released, is_current=True).update(is_current=False, ended_at=now)
    bulk_insert(Assignment, new_rows)
    # One statement per chunk: each moved customer takes the manager of its new current assignment.
    if moved:
        Customer.objects.filter(pk__in=moved).update(
            manager_id=Subquery(
                Assignment.objects.filter(customer_id=OuterRef("pk"), is_current=True).values("manager_id")[:1]
            ),
            updated_at=now,
        )
    if released:
        Customer.objects.filter(pk__in=released).update(manager=None, updated_at=now)
    return len(new_rows), len(released)


def assignment_explain(*, customer: Customer, manager: RelationshipManager) -> tuple[float, dict]:
    """Score and breakdown of one customer with one manager (for manual moves and previews)."""
    below = Customer.objects.filter(monthly_revenue__lt=customer.monthly_revenue).count()
    same = Customer.objects.filter(monthly_revenue=customer.monthly_revenue).count()
    total = max(Customer.objects.count(), 1)
    percentile = (below + (same + 1) / 2) / total
    band = min(int(percentile * matching.VALUE_BANDS), matching.VALUE_BANDS - 1)
    row = (customer.pk, customer.industry, customer.city, customer.city_tier)
    customers = _customers([row], np.array([band]))
    managers = _managers(release_all=False, only=[manager.pk])
    components = matching.score_components(customers, managers)
    return round(float(matching.total_score(components)[0, 0]), 2), matching.explain(components, 0, 0)


@transaction.atomic
def customer_reassign(*, customer: Customer, manager: RelationshipManager, actor, reason: str) -> Assignment:
    """Move a customer to another manager by hand: a reason is required, capacity is respected."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give a reason for the reassignment."))
    manager = RelationshipManager.objects.select_for_update().filter(pk=manager.pk).first()
    if manager is None:
        raise NotFound(_("No such relationship manager."))
    if not manager.active:
        raise ValidationFailed(_("%(manager)s is not an active relationship manager.") % {"manager": manager})
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    previous = customer.manager_id
    if previous == manager.pk:
        raise ValidationFailed(_("The customer is already with %(manager)s.") % {"manager": manager})
    load = Customer.objects.filter(manager=manager).count()
    if load >= manager.capacity:
        raise ValidationFailed(
            _("%(manager)s is at capacity (%(load)s of %(capacity)s customers).")
            % {"manager": manager, "load": load, "capacity": manager.capacity}
        )
    score, components = assignment_explain(customer=customer, manager=manager)
    now = timezone.now()
    if Customer.objects.filter(pk=customer.pk, manager_id=previous).update(manager=manager, updated_at=now) != 1:
        raise Conflict()
    Assignment.objects.filter(customer=customer, is_current=True).update(is_current=False, ended_at=now)
    assignment = Assignment.objects.create(
        customer=customer,
        manager=manager,
        previous_manager_id=previous,
        kind=Assignment.Kind.MANUAL,
        score=score,
        components=components,
        reason=reason,
        assigned_by=actor,
    )
    audit_record(
        action=AuditAction.ASSIGN,
        actor=actor,
        target=customer,
        changes={"manager": [previous, manager.pk], "score": score},
        reason=reason,
    )
    return assignment


@transaction.atomic
def customers_reassign_many(*, customers, manager: RelationshipManager, actor, reason: str) -> list[Assignment]:
    """Move several customers to one manager (e.g. a manager leaves): all of them, or none."""
    return [
        customer_reassign(customer=customer, manager=manager, actor=actor, reason=reason)
        for customer in customers
        if customer.manager_id != manager.pk
    ]
