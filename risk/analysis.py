"""Event analysis (reads only): related customers, the customer's risk profile and the
suggested handling.

Related customers are found through a shared device, IP address, phone (a customer's phone
given as another's application contact), counterparty or guarantee, breadth first to depth
2; each link names what connects the two. Very common addresses and counterparties (shared
by more than ``COMMON`` customers, e.g. a carrier's NAT address or a utility) link nobody.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.apps import apps
from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from risk.models import Device, DeviceCustomer, LoginEvent, RiskEvent, Transaction

COMMON = 20
MAX_NODES = 40
IP_DAYS = 90

LINK_LABELS = {
    "device": gettext_lazy("shared device"),
    "ip": gettext_lazy("shared IP address"),
    "phone": gettext_lazy("shared phone"),
    "counterparty": gettext_lazy("shared counterparty"),
    "guarantor": gettext_lazy("guarantor"),
}


@dataclass(frozen=True)
class Link:
    a: int
    b: int
    kind: str
    via: str

    @property
    def label(self) -> str:
        return str(LINK_LABELS[self.kind])


@dataclass
class Graph:
    root: int
    nodes: dict[int, dict] = field(default_factory=dict)  # id -> {"name", "depth"}
    links: list[Link] = field(default_factory=list)
    truncated: bool = False


def _pairs_by_key(rows) -> dict[str, set[int]]:
    groups: dict[str, set[int]] = defaultdict(set)
    for key, customer_id in rows:
        if key:
            groups[str(key)].add(customer_id)
    return groups


def _links_of(customer_ids: set[int]) -> list[Link]:
    """Every link from ``customer_ids`` to any customer, each with what connects them."""
    links: list[Link] = []
    since = timezone.now() - datetime.timedelta(days=IP_DAYS)

    def add(kind, groups, labeller=str):
        for key, members in groups.items():
            if len(members) > COMMON:
                continue
            for a in members & customer_ids:
                for b in members - {a}:
                    links.append(Link(a, b, kind, labeller(key)))

    # Devices.
    device_ids = set(DeviceCustomer.objects.filter(customer_id__in=customer_ids).values_list("device_id", flat=True))
    if device_ids:
        names = dict(Device.objects.filter(pk__in=device_ids).values_list("pk", "fingerprint"))
        rows = DeviceCustomer.objects.filter(device_id__in=device_ids).values_list("device_id", "customer_id")
        add("device", _pairs_by_key(rows), lambda key: names.get(int(key), key)[:24])
    # IP addresses (recent activity).
    ips = set()
    for model in (Transaction, LoginEvent):
        ips |= set(
            model.objects.filter(customer_id__in=customer_ids, occurred_at__gte=since, ip__isnull=False)
            .values_list("ip", flat=True)
            .distinct()
        )
    if ips:
        rows = []
        for model in (Transaction, LoginEvent):
            rows += list(
                model.objects.filter(ip__in=ips, occurred_at__gte=since, customer_id__isnull=False)
                .values_list("ip", "customer_id")
                .distinct()
            )
        add("ip", _pairs_by_key(rows))
    # Counterparties.
    counterparties = set(
        Transaction.objects.filter(customer_id__in=customer_ids)
        .exclude(counterparty="")
        .values_list("counterparty", flat=True)
    )
    if counterparties:
        rows = Transaction.objects.filter(counterparty__in=counterparties).values_list("counterparty", "customer_id")
        add("counterparty", _pairs_by_key(rows.distinct()))
    # Phones: a customer's phone given as another customer's application contact.
    from customers.models import Customer
    from loans.models import LoanApplication

    phones = dict(Customer.objects.filter(pk__in=customer_ids).values_list("phone_hash", "pk"))
    contact_rows = list(
        LoanApplication.objects.filter(customer_id__isnull=False)
        .filter(Q(contact_phone_hash__in=[h for h in phones if h]) | Q(customer_id__in=customer_ids))
        .exclude(contact_phone_hash="")
        .values_list("contact_phone_hash", "customer_id")
        .distinct()
    )
    owner_rows = list(
        Customer.objects.filter(phone_hash__in=[h for h, _c in contact_rows if h]).values_list("phone_hash", "pk")
    )
    add("phone", _pairs_by_key(contact_rows + owner_rows), lambda key: _("phone on file"))
    # Guarantees.
    try:
        Guarantee = apps.get_model("loans", "Guarantee")
    except LookupError:
        Guarantee = None
    if Guarantee is not None:
        rows = Guarantee.objects.filter(guarantor_customer__isnull=False).filter(
            Q(guarantor_customer_id__in=customer_ids) | Q(application__customer_id__in=customer_ids)
        )
        for guarantor, borrower in rows.values_list("guarantor_customer_id", "application__customer_id"):
            if guarantor and borrower and guarantor != borrower:
                via = _("guarantees customer %(id)s") % {"id": borrower}
                for a, b in ((guarantor, borrower), (borrower, guarantor)):
                    if a in customer_ids:
                        links.append(Link(a, b, "guarantor", via))
    return links


def related_customers(customer_id: int, *, depth: int = 2) -> Graph:
    """The customers linked to ``customer_id`` within ``depth`` steps, and the links."""
    from customers.models import Customer

    graph = Graph(root=customer_id)
    depths = {customer_id: 0}
    frontier = {customer_id}
    seen_links = set()
    for level in range(1, depth + 1):
        if not frontier:
            break
        next_frontier = set()
        for link in _links_of(frontier):
            key = (min(link.a, link.b), max(link.a, link.b), link.kind, link.via)
            if key in seen_links:
                continue
            if link.b not in depths:
                if len(depths) >= MAX_NODES:
                    graph.truncated = True
                    continue
                depths[link.b] = level
                next_frontier.add(link.b)
            seen_links.add(key)
            graph.links.append(link)
        frontier = next_frontier
    names = dict(Customer.objects.filter(pk__in=depths).values_list("pk", "name"))
    graph.nodes = {
        pk: {"name": names.get(pk, str(pk)), "depth": d} for pk, d in sorted(depths.items(), key=lambda x: x[1])
    }
    graph.links.sort(key=lambda link: (depths.get(link.a, 9), link.a, link.b, link.kind))
    return graph


def graph_svg_layout(graph: Graph, *, width: int = 640, height: int = 360) -> dict:
    """Positions for an SVG drawing: the root in the middle, depth 1 and 2 on two rings."""
    import math

    cx, cy = width / 2, height / 2
    rings = defaultdict(list)
    for pk, node in graph.nodes.items():
        rings[node["depth"]].append(pk)
    positions = {}
    for depth, members in rings.items():
        radius = 0 if depth == 0 else (110 if depth == 1 else 165)
        for index, pk in enumerate(members):
            angle = 2 * math.pi * index / max(1, len(members)) + depth * 0.4
            positions[pk] = (round(cx + radius * 1.6 * math.cos(angle)), round(cy + radius * math.sin(angle)))
    nodes = [
        {"id": pk, "x": positions[pk][0], "y": positions[pk][1], "name": node["name"][:18], "depth": node["depth"]}
        for pk, node in graph.nodes.items()
    ]
    edges = []
    for link in graph.links:
        if link.a in positions and link.b in positions:
            (x1, y1), (x2, y2) = positions[link.a], positions[link.b]
            edges.append(
                {"x1": x1, "y1": y1, "x2": x2, "y2": y2, "kind": link.kind, "mx": (x1 + x2) // 2, "my": (y1 + y2) // 2}
            )
    return {"width": width, "height": height, "nodes": nodes, "edges": edges}


# --- the customer's risk profile ----------------------------------------------------------


def customer_risk_profile(customer_id: int) -> dict:
    """Events over time, loans and days past due, PD score trend and credit-line use."""
    from customers.models import CreditLine

    since = timezone.now() - datetime.timedelta(days=365)
    events_by_month = list(
        RiskEvent.objects.filter(customer_id=customer_id, opened_at__gte=since)
        .annotate(month=TruncMonth("opened_at"))
        .values("month")
        .annotate(total=Count("id"), high=Count("id", filter=Q(level="high")))
        .order_by("month")
    )
    profile = {
        "events_by_month": events_by_month,
        "events_total": RiskEvent.objects.filter(customer_id=customer_id).count(),
        "loans": [],
        "max_dpd": None,
        "scores": [],
        "credit_line": None,
    }
    try:
        Loan = apps.get_model("loans", "Loan")
        Installment = apps.get_model("loans", "Installment")
    except LookupError:
        Loan = Installment = None
    if Loan is not None:
        today = timezone.localdate()
        loans = list(Loan.objects.filter(customer_id=customer_id).order_by("-id")[:20])
        oldest_due = dict(
            Installment.objects.filter(loan__in=loans, due_date__lt=today)
            .exclude(status="paid")
            .values("loan_id")
            .annotate(first=models_min("due_date"))
            .values_list("loan_id", "first")
        )
        for loan in loans:
            dpd = (today - oldest_due[loan.pk]).days if loan.pk in oldest_due and loan.status != "closed" else 0
            profile["loans"].append(
                {
                    "id": loan.pk,
                    "label": str(loan),
                    "status": loan.get_status_display(),
                    "outstanding": loan.outstanding_principal,
                    "dpd": dpd,
                }
            )
        profile["max_dpd"] = max((loan["dpd"] for loan in profile["loans"]), default=None)
    from scoring.models import Score

    profile["scores"] = list(
        Score.objects.filter(application__customer_id=customer_id, model_version__kind="pd")
        .order_by("created_at", "id")
        .values("created_at", "probability", "points", "grade")[:24]
    )
    line = CreditLine.objects.filter(customer_id=customer_id, status=CreditLine.Status.ACTIVE).first()
    if line is not None and line.limit:
        profile["credit_line"] = {
            "limit": line.limit,
            "used": line.used,
            "percent": (line.used / line.limit * Decimal(100)).quantize(Decimal("0.1")),
        }
    return profile


def models_min(name):
    from django.db.models import Min

    return Min(name)


# --- suggested handling --------------------------------------------------------------------

SUGGESTIONS = {
    "large_amount": gettext_lazy("Call the customer on the phone on file to confirm the payment and its counterparty."),
    "velocity_10min": gettext_lazy(
        "Look for account takeover or card testing: freeze the portal account while you check."
    ),
    "velocity": gettext_lazy("Look for account takeover or card testing: freeze the portal account while you check."),
    "flagged_device": gettext_lazy("Review the other customers on the flagged device (related customers below)."),
    "geo_velocity": gettext_lazy(
        "Confirm the sign-in with the customer; if it was not them, freeze the portal account."
    ),
    "new_device": gettext_lazy("Confirm the new device with the customer."),
    "watch_list": gettext_lazy("Escalate: a watch-listed party is involved."),
    "night_time": gettext_lazy("Check whether night-time activity fits the customer's business."),
    "pd_rise": gettext_lazy("Review the credit line and ask for current financials."),
    "credit_line_use": gettext_lazy("Review the headroom; consider suspending further drawdowns."),
    "revenue_drop": gettext_lazy("Ask for management accounts and plan a site visit."),
    "loan_overdue": gettext_lazy(
        "Contact the customer about the overdue installment; hand over to collections if unpaid."
    ),
    "bucket_worse": gettext_lazy("Hand over to collections and freeze new applications."),
    "downgrade": gettext_lazy("Freeze new applications and review provisions with credit."),
}


def suggested_handling(event: RiskEvent) -> list[str]:
    suggestions = []
    for code in event.rules_hit:
        key = code if code in SUGGESTIONS else next((k for k in SUGGESTIONS if code.startswith(k)), None)
        if key and str(SUGGESTIONS[key]) not in suggestions:
            suggestions.append(str(SUGGESTIONS[key]))
    if event.level == "high":
        suggestions.append(
            str(
                _(
                    "High level: freeze new applications until this is resolved; "
                    "escalate if it is not resolved within a working day."
                )
            )
        )
    else:
        suggestions.append(str(_("Medium level: resolve within three working days.")))
    return suggestions


def risk_event_analysis(event: RiskEvent) -> dict:
    graph = related_customers(event.customer_id)
    return {
        "graph": graph,
        "svg": graph_svg_layout(graph),
        "profile": customer_risk_profile(event.customer_id),
        "suggestions": suggested_handling(event),
    }
