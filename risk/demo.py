"""Demo risk data: realistic streams of logins and transactions with planted fraud.

Each demo customer gets a phone or two (devices), a home city with its address range, and
two weeks of ordinary activity (a few logins and payments a day, in business hours, amounts
around the customer's scale). Planted on top, each on a few customers:

- bursts: six or more payments within ten minutes (velocity);
- large single payments of 10,000 and more;
- account takeover: a login from another city shortly after one at home, then a large
  transfer from the new place (another city within an hour + large amount = high);
- a mule ring: several customers on one device that an analyst flagged, paying one
  counterparty that is on the watch list.

Everything goes through the same ingestion service as the API (source "demo"), in time
order, so the events, alerts and timelines are the ones the rules make. Registered at
order 30 (after customers and loans).
"""

import datetime
import zlib
from decimal import Decimal

import numpy as np
from django.db import transaction
from django.utils import timezone

from loansite.demo import DemoContext, demo_seeder

DAYS = 14
MULE_COUNTERPARTY = "Quick Cash Trading Co."
USER_AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; 22081212C) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/118.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
]
COUNTERPARTIES = [
    "State Grid Power",
    "China Mobile",
    "Metro Wholesale",
    "Yonghui Supermarket",
    "SF Express",
    "Landlord rent",
    "Staff payroll",
    "Tax bureau",
    "Fresh Produce Market",
    "Packaging Supplies Ltd.",
]


def _ip(city_index: int, rng) -> str:
    return f"10.{city_index % 250 + 1}.{int(rng.integers(0, 255))}.{int(rng.integers(1, 254))}"


def demo_risk_stream(ctx: DemoContext, customers: list[tuple[int, str]]) -> tuple[list[dict], dict]:
    """The raw events (API-shaped dictionaries) for ``customers`` (``(id, city)``) and what was
    planted (customer ids per pattern). Pure: the same seed gives the same stream."""
    rng = ctx.child_rng("risk")
    cities = sorted({city for _id, city in customers})
    city_index = {city: i for i, city in enumerate(cities)}
    end = ctx.now.replace(microsecond=0) - datetime.timedelta(minutes=5)
    start = end - datetime.timedelta(days=DAYS)
    events: list[dict] = []
    n = len(customers)
    picks = rng.permutation(n)
    share = max(1, n // 40)
    planted = {
        "burst": [customers[i][0] for i in picks[:share]],
        "large": [customers[i][0] for i in picks[share : 2 * share]],
        "takeover": [customers[i][0] for i in picks[2 * share : 3 * share]],
        "ring": [customers[i][0] for i in picks[3 * share : 3 * share + min(5, max(2, share))]],
    }
    tx_counter = 0

    def tx(customer_id, when, amount, city, device, ip, counterparty=None, channel="mobile"):
        nonlocal tx_counter
        tx_counter += 1
        events.append(
            {
                "kind": "transaction",
                "external_id": f"demo-{ctx.seed}-{tx_counter}",
                "customer": customer_id,
                "amount": str(Decimal(str(round(float(amount), 2))).quantize(Decimal("0.01"))),
                "occurred_at": when,
                "city": city,
                "device": device,
                "ip": ip,
                "counterparty": counterparty or COUNTERPARTIES[int(rng.integers(0, len(COUNTERPARTIES)))],
                "channel": channel,
                "direction": "out",
            }
        )

    def login(customer_id, when, city, device, ip):
        events.append(
            {"kind": "login", "customer": customer_id, "occurred_at": when, "city": city, "device": device, "ip": ip}
        )

    for index, (customer_id, city) in enumerate(customers):
        device = f"demo-dev-{customer_id}"
        ip = _ip(city_index[city], rng)
        scale = float(np.exp(rng.normal(6.0, 0.7)))  # typical payment around 400
        for day in range(DAYS):
            day_start = start + datetime.timedelta(days=day)
            for _ in range(int(rng.poisson(2.5))):
                when = day_start + datetime.timedelta(hours=float(rng.uniform(8, 20)))
                login(customer_id, when, city, device, ip)
                for k in range(int(rng.integers(0, 3))):
                    amount = min(9500.0, max(5.0, scale * float(np.exp(rng.normal(0, 0.6)))))
                    tx(customer_id, when + datetime.timedelta(minutes=3 + 20 * k), amount, city, device, ip)
        del index
    # Bursts: seven payments within eight minutes.
    for customer_id in planted["burst"]:
        city = dict(customers)[customer_id]
        when = start + datetime.timedelta(days=float(rng.uniform(1, DAYS - 1)))
        for k in range(7):
            tx(
                customer_id,
                when + datetime.timedelta(seconds=70 * k),
                float(rng.uniform(200, 900)),
                city,
                f"demo-dev-{customer_id}",
                _ip(city_index[city], rng),
            )
    # Large single payments.
    for customer_id in planted["large"]:
        city = dict(customers)[customer_id]
        when = start + datetime.timedelta(days=float(rng.uniform(1, DAYS - 1)))
        tx(
            customer_id,
            when,
            float(rng.uniform(10_000, 80_000)),
            city,
            f"demo-dev-{customer_id}",
            _ip(city_index[city], rng),
            channel="transfer",
        )
    # Account takeover: home login, then another city 20 minutes later and a large transfer.
    away = cities[-1] if cities else "Urumqi"
    for customer_id in planted["takeover"]:
        city = dict(customers)[customer_id]
        other = away if away != city else (cities[0] if cities[0] != city else "Urumqi")
        when = start + datetime.timedelta(days=float(rng.uniform(1, DAYS - 1)))
        login(customer_id, when, city, f"demo-dev-{customer_id}", _ip(city_index[city], rng))
        thief = f"demo-thief-{customer_id}"
        stolen_ip = _ip(city_index.get(other, 249), rng)
        login(customer_id, when + datetime.timedelta(minutes=20), other, thief, stolen_ip)
        tx(
            customer_id,
            when + datetime.timedelta(minutes=24),
            float(rng.uniform(12_000, 50_000)),
            other,
            thief,
            stolen_ip,
            counterparty="Unknown beneficiary",
            channel="transfer",
        )
    # The mule ring: one shared device (flagged by the seeder before these payments), one payee.
    ring_when = start + datetime.timedelta(days=DAYS - 2)
    for k, customer_id in enumerate(planted["ring"]):
        city = dict(customers)[customer_id]
        tx(
            customer_id,
            ring_when + datetime.timedelta(hours=k),
            float(rng.uniform(3_000, 9_000)),
            city,
            "demo-dev-ring",
            "10.250.1.1",
            counterparty=MULE_COUNTERPARTY,
            channel="transfer",
        )
    events.sort(key=lambda raw: raw["occurred_at"])
    for raw in events:
        raw["occurred_at"] = raw["occurred_at"].isoformat()
        if raw["device"]:
            raw["user_agent"] = USER_AGENTS[zlib.crc32(raw["device"].encode()) % len(USER_AGENTS)]
    return events, planted


@demo_seeder(order=30)
def seed_risk(ctx: DemoContext) -> None:
    from customers.models import Customer
    from risk.inputs import login_input, transaction_input
    from risk.models import Device, IpRange, RiskRule, Transaction, WatchListEntry
    from risk.selectors import rules_changed
    from risk.services.ingest import BATCH_MAX, events_ingest

    if Transaction.objects.filter(source="demo").exists():
        ctx.log("  risk demo data present; skipped")
        return
    ids = [pk for pk in ctx.made.get("customer_ids", []) if pk] or list(
        Customer.objects.order_by("pk").values_list("pk", flat=True)[: ctx.customers]
    )
    customers = list(Customer.objects.filter(pk__in=ids).order_by("pk").values_list("pk", "city"))
    if not customers:
        return
    events, planted = demo_risk_stream(ctx, customers)
    cities = sorted({city for _id, city in customers})
    with transaction.atomic():
        for i, city in enumerate(cities):
            IpRange.objects.get_or_create(
                network=f"10.{i % 250 + 1}.0.0/16", defaults={"city": city, "note": "demo address range"}
            )
        device, _ = Device.objects.get_or_create(
            fingerprint="demo-dev-ring", defaults={"first_seen_at": timezone.now()}
        )
        Device.objects.filter(pk=device.pk).update(flagged=True, flag_reason="demo: device shared by a mule ring")
        WatchListEntry.objects.get_or_create(
            kind=WatchListEntry.Kind.COUNTERPARTY,
            value=" ".join(MULE_COUNTERPARTY.split()).casefold(),
            active=True,
            defaults={"reason": "demo: payee of a mule ring"},
        )
        RiskRule.objects.filter(code="watch_list").update(enabled=True)
        transaction.on_commit(rules_changed)
        rules_changed()
        items = []
        for raw in events:
            kind = raw.pop("kind")
            item, errors = (login_input if kind == "login" else transaction_input)(raw, now=ctx.now)
            if not errors:
                items.append(item)
        for start in range(0, len(items), BATCH_MAX):
            events_ingest(items=items[start : start + BATCH_MAX], source="demo")
    from risk.models import RiskEvent

    ctx.made["risk_planted"] = planted
    ctx.log(
        f"  {Transaction.objects.filter(source='demo').count()} transactions, "
        f"{RiskEvent.objects.count()} risk events ({', '.join(f'{k}: {len(v)}' for k, v in planted.items())} planted)"
    )
