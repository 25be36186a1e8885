"""Scoring what arrives: transactions and logins, one at a time or 1,000 per call.

Every entry point (the API, the batch endpoint, imports, the demo generator) goes through
:func:`events_ingest`, which works set-wise: one query each for the customers, devices,
device uses, the recent window and the watch lists of the whole batch; the engine scores
the events in time order (so events of one batch see each other), the rows are inserted
in bulk with their scores and the rule versions used, and medium and high results open or
update one risk event per customer. All of it in one transaction: a batch is written
whole or not at all.
"""

import contextlib
import datetime
import fcntl
import json
import logging
import os
import re
import threading
from bisect import bisect_right, insort
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from operator import attrgetter

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from loansite.errors import ValidationFailed
from risk.engine import LEVEL_ORDER, LOGIN, TRANSACTION, Activity, Context, RuleSet, event_score
from risk.inputs import EventInput
from risk.models import Device, DeviceCustomer, EventSource, LoginEvent, Transaction, WatchListEntry
from risk.selectors import ip_city, ruleset_cached

logger = logging.getLogger(__name__)

BATCH_MAX = 1000
LAST_SEEN_STEP = datetime.timedelta(seconds=60)
_AT = attrgetter("at")
_OCCURRED = attrgetter("occurred_at")
CENT = Decimal("0.01")


@dataclass
class Outcome:
    index: int
    kind: str
    id: int | None = None
    score: int = 0
    level: str = "low"
    rules_hit: list = field(default_factory=list)
    event_id: int | None = None
    duplicate: bool = False

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "score": self.score,
            "level": self.level,
            "rules_hit": self.rules_hit,
            "event": self.event_id,
            "duplicate": self.duplicate,
        }


@lru_cache(maxsize=4096)
def user_agent_parse(user_agent: str) -> tuple[str, str, str]:
    """``(browser, os, device)`` families by ua-parser (Browserscope's maintained regexes)."""
    if not user_agent:
        return "", "", ""
    from ua_parser import parse

    result = parse(user_agent)
    browser = result.user_agent.family if result.user_agent else ""
    os_family = result.os.family if result.os else ""
    device = result.device.family if result.device else ""
    return browser[:64], os_family[:64], device[:64]


def _epoch(when: datetime.datetime) -> int:
    return int(when.timestamp())


def _local_minute(when: datetime.datetime) -> int:
    local = timezone.localtime(when)
    return local.hour * 60 + local.minute


def _no_minute(when: datetime.datetime) -> int:
    return 0


def _q(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _marks(values) -> str:
    return ", ".join(["%s"] * len(values))


_FORMAT_MARK = re.compile(r"(?<!%)%s")


@lru_cache(maxsize=256)
def _qmark(sql: str) -> str:
    """``sql`` with SQLite's own ``?`` placeholders, as Django's SQLite cursor rewrites it."""
    return _FORMAT_MARK.sub("?", sql).replace("%%", "%")


def _fetch(sql: str, params) -> list[tuple]:
    """Rows of one plain SQL read (no queryset built: the ORM's query compilation cost more
    than the reads themselves on a one-event call). On SQLite the read runs on the driver's
    cursor with the statement's placeholders rewritten once per statement text (Django's
    cursor and its wrappers took a fifth of a one-event call's reads)."""
    if connection.vendor != "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = connection.connection.cursor()
        try:
            cursor.execute(_qmark(sql), params)
            return cursor.fetchall()
        finally:
            cursor.close()


def _dt_param(when: datetime.datetime):
    return _datetime_adapter()(when)


def _dt(value) -> datetime.datetime:
    """A stored time as read by plain SQL (text on SQLite, a naive UTC datetime on MariaDB)."""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=datetime.UTC)


def _money(value) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value)).quantize(CENT)


@dataclass(slots=True)
class _Dev:
    """What scoring needs of a device (read as plain values: no model instances per row)."""

    pk: int
    flagged: bool
    last_seen_at: datetime.datetime


def _devices_read(fingerprints) -> dict[str, _Dev]:
    fingerprints = list(fingerprints)
    rows = _fetch(
        f"SELECT fingerprint, id, flagged, last_seen_at FROM {_q(Device)} "
        f"WHERE fingerprint IN ({_marks(fingerprints)})",
        fingerprints,
    )
    return {fingerprint: _Dev(pk, bool(flagged), _dt(seen)) for fingerprint, pk, flagged, seen in rows}


def _devices_known(items: list[EventInput]) -> dict[str, _Dev]:
    """The devices already known, by fingerprint (read before the write transaction)."""
    fingerprints = {item.device for item in items if item.device}
    return _devices_read(fingerprints) if fingerprints else {}


def _devices_write(items: list[EventInput], devices: dict[str, _Dev]) -> None:
    """Create the devices first seen in ``items`` (user agent parsed) into ``devices``, and move
    known devices' last-seen times on."""
    firsts: dict[str, EventInput] = {}
    for item in items:
        if (
            item.device
            and item.device not in devices
            and (item.device not in firsts or item.occurred_at < firsts[item.device].occurred_at)
        ):
            firsts[item.device] = item
    if firsts:
        new = []
        for fingerprint, item in firsts.items():
            browser, os_family, family = user_agent_parse(item.user_agent)
            new.append(
                Device(
                    fingerprint=fingerprint,
                    user_agent=item.user_agent,
                    browser=browser,
                    os=os_family,
                    device_family=family,
                    first_seen_at=item.occurred_at,
                    last_seen_at=item.occurred_at,
                )
            )
        # Another call may create the same device meanwhile: ignore the conflict, read it back.
        Device.objects.bulk_create(new, ignore_conflicts=True)
        devices.update(_devices_read(firsts))
    last: dict[int, datetime.datetime] = {}
    # "Last seen" to the minute: a device busy every second is not rewritten every second. It
    # steps on in time order from the stored time (a device new here: its first use), as the
    # same events sent one at a time would move it.
    for item in sorted((item for item in items if item.device), key=_OCCURRED):
        device = devices[item.device]
        if item.occurred_at > last.get(device.pk, device.last_seen_at) + LAST_SEEN_STEP:
            last[device.pk] = item.occurred_at
    if last:
        field = Device._meta.get_field("last_seen_at")
        table, column = connection.ops.quote_name(Device._meta.db_table), connection.ops.quote_name(field.column)
        adapt = _datetime_adapter()
        values = [(pk, adapt(when)) for pk, when in last.items()]
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite" and connection.Database.sqlite_version_info >= (3, 33):
                # One statement for the whole batch, joined to its values (UPDATE ... FROM):
                # the same rows as one UPDATE per device at a third of the time.
                for start in range(0, len(values), 2000):
                    chunk = values[start : start + 2000]
                    cursor.execute(
                        f"UPDATE {table} SET {column} = v.column2 "
                        f"FROM (VALUES {', '.join(['(%s, %s)'] * len(chunk))}) AS v "
                        f"WHERE {table}.id = v.column1 AND {table}.{column} < v.column2",
                        [value for pair in chunk for value in pair],
                    )
            else:
                cursor.executemany(
                    f"UPDATE {table} SET {column} = %s WHERE id = %s AND {column} < %s",
                    [(value, pk, value) for pk, value in values],
                )


def _activity(kind: str, row: tuple) -> Activity:
    _per, _kind, _customer_id, occurred_at, device_id, ip, city, amount, counterparty = row
    return Activity(
        kind,
        occurred_at if isinstance(occurred_at, int) else _epoch(_dt(occurred_at)),
        _money(amount) if kind == TRANSACTION else None,
        str(device_id) if device_id else "",
        ip or "",
        city or "",
        (counterparty or "") if kind == TRANSACTION else "",
    )


# What the windowed rules read of the earlier events in their windows: velocity counts events
# of some kinds (per customer, device or address), geo-velocity compares the customer's cities.
# The windows of such rules are read without amounts and counterparties; a windowed rule of
# another kind gets every column of every window over the longest look-back.
_WINDOW_READS = {"velocity": None, "geo_velocity": "customer"}  # None: the rule's ``per``


def _window_spans(ruleset: RuleSet) -> tuple[dict[str, int], bool]:
    """How far back each window (customer, device, address) is read, and whether the rows
    may leave out amounts and counterparties."""
    spans = {"customer": 0, "device": 0, "ip": 0}
    lean = True
    for rule in ruleset.rules:
        if rule.window <= 0:
            continue
        if rule.kind not in _WINDOW_READS:
            lean = False
            for per in spans:
                spans[per] = max(spans[per], rule.window)
            continue
        per = _WINDOW_READS[rule.kind] or rule.per or "customer"
        spans[per] = max(spans[per], rule.window)
    return spans, lean


def _epoch_sql(column: str) -> str | None:
    """``column`` (a stored time) as whole epoch seconds in SQL, where the database can say it
    (no time parsed in Python per row); ``None`` elsewhere."""
    if connection.vendor == "sqlite":
        # Stored as UTC text; whole seconds (as int(timestamp()) gives after 1970).
        if connection.Database.sqlite_version_info >= (3, 38):
            return f"unixepoch({column})"
        return f"CAST(strftime('%%s', {column}) AS INTEGER)"
    return None


def _window_sql(per: str, column: str, keys: list, *, lean: bool) -> tuple[list[str], list]:
    """Both tables' rows of one window (customer, device or address), each read through its
    (column, occurred_at) index."""
    parts = []
    when = (_epoch_sql("occurred_at") or "occurred_at") if lean else "occurred_at"
    for model, kind, extra in (
        (Transaction, "t", "NULL, NULL" if lean else "amount, counterparty"),
        (LoginEvent, "l", "NULL, NULL"),
    ):
        parts.append(
            f"SELECT '{per}', '{kind}', customer_id, {when}, device_id, ip, city, {extra} FROM {_q(model)} "
            f"WHERE {column} IN ({_marks(keys)}) AND occurred_at >= %s AND occurred_at <= %s"
        )
    return parts, keys


def _windows(ruleset: RuleSet, items, devices, customer_ids):
    """Earlier activity per customer, device and address, each in time order and as far back
    as the rules reading it look: one query (a UNION ALL of the indexed reads of both tables)."""
    by_customer: dict[int, list[Activity]] = defaultdict(list)
    by_device: dict[str, list[Activity]] = defaultdict(list)
    by_ip: dict[str, list[Activity]] = defaultdict(list)
    spans, lean = _window_spans(ruleset)
    if not any(spans.values()):
        return by_customer, by_device, by_ip
    first = min(item.occurred_at for item in items)
    end = _dt_param(max(item.occurred_at for item in items))
    windows = []
    if spans["customer"]:
        windows.append(("c", "customer_id", sorted(customer_ids), spans["customer"]))
    if spans["device"]:
        device_ids = sorted(d.pk for d in devices.values())
        if device_ids:
            windows.append(("d", "device_id", device_ids, spans["device"]))
    if spans["ip"]:
        ips = sorted({item.ip for item in items if item.ip})
        if ips:
            windows.append(("i", "ip", ips, spans["ip"]))
    if not windows:
        return by_customer, by_device, by_ip
    parts, params = [], []
    for per, column, keys, span in windows:
        start = _dt_param(first - datetime.timedelta(seconds=span))
        sqls, _keys = _window_sql(per, column, keys, lean=lean)
        for sql in sqls:
            parts.append(sql)
            params += [*keys, start, end]
    for row in _fetch(" UNION ALL ".join(parts), params):
        activity = _activity(TRANSACTION if row[1] == "t" else LOGIN, row)
        per = row[0]
        if per == "c":
            by_customer[row[2]].append(activity)
        elif per == "d":
            by_device[activity.device].append(activity)
        else:
            by_ip[activity.ip].append(activity)
    for table in (by_customer, by_device, by_ip):
        for events in table.values():
            events.sort(key=_AT)
    return by_customer, by_device, by_ip


_turn_lock = threading.Lock()
_turn_files: dict[str, int] = {}


# SQLite's page cache for connections that store scored events, in KiB (the default is 2 MB).
WRITE_CACHE_KIB = 32768


def _page_cache_widen() -> None:
    """Give a SQLite connection a 32 MB page cache, once per connection. A 1,000-event batch
    adds an entry to most leaf pages of the per-customer, per-device and per-address indexes
    (about 2,000 pages once 100,000 transactions are stored); with the default 500-page cache
    SQLite spilled and re-read them during the insert. Measured over 100 batches: the inserts
    took 24 ms a batch instead of 30 to 35."""
    if connection.vendor != "sqlite":
        return
    connection.ensure_connection()
    raw = connection.connection
    if getattr(connection, "_risk_cache_widened", None) is not raw:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = -{WRITE_CACHE_KIB}")
        connection._risk_cache_widened = raw


def _own_sqlite_write() -> bool:
    """A write of its own on a SQLite file: not inside an outer transaction (which may hold the
    database's lock already and commits later) nor on an in-memory database."""
    return connection.vendor == "sqlite" and not connection.in_atomic_block and not connection.is_in_memory_db()


@contextlib.contextmanager
def _write_turn(events: int = 0):
    """On SQLite, scoring calls of every process on the machine take their write transactions
    in turn, waiting on a lock file beside the database: a waiter wakes the moment the lock is
    free. Without it, concurrent writers wait in SQLite's busy handler, which sleeps 1, 2, 5,
    10 ... 100 ms between tries, and a few calls out of hundreds waited a quarter of a second.
    (Other writers do not take the file lock; SQLite's own lock still orders them.) Not taken
    inside an outer transaction, which may hold the database's lock already.

    The turn also counts what was written (``events``) in the lock file for every process, and
    the call whose writes pass :data:`CHECKPOINT_WEIGHT` checkpoints once its turn is over (see
    :func:`_commit_unchecked`), in two steps:

    - first with the turn free: the bulk of the log is copied while the others go on writing;
    - then in a turn of its own: only what they wrote meanwhile is left, and with no writer
      adding to the log the checkpoint reaches its end, so the next write starts the log over
      from the beginning. A checkpoint never ends while another process keeps writing: under
      steady load the log only grew, by each 1,000-event batch's 14 MB, past 1 GB within 80
      batches (and writing into new space cost the kernel more than rewriting the file).

    Both steps are PASSIVE: a reader on an older snapshot is not waited for (the log then
    grows until the next checkpoint, as before)."""
    if not _own_sqlite_write():
        yield
        return
    path = f"{connection.settings_dict['NAME']}-risk-write.lock"
    with _turn_lock:
        fd = _turn_files.get(path)
        if fd is None:
            fd = _turn_files[path] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    with _turn_held(fd):
        yield
        due = _written_count(fd, events)
    if due:
        _checkpoint()
        with _turn_held(fd):
            _checkpoint()


@contextlib.contextmanager
def _turn_held(fd: int):
    """The write turn: the lock file held by this thread, for this process's other threads too."""
    with _turn_lock:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


@contextlib.contextmanager
def _commit_unchecked():
    """SQLite's automatic checkpoint off for the commit inside; :func:`_write_turn` has its
    work done once the turn is over.

    The automatic checkpoint runs in the commit that fills the log past
    ``wal_autocheckpoint`` pages, copying it into the database with two fsyncs, while every
    other scoring call waited for the turn: a one-event call stalled them all every few
    hundred calls, and a 1,000-event batch's commit took 47 ms instead of 18."""
    if not _own_sqlite_write():
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    kept = getattr(connection, "_risk_autocheckpoint", None)
    if kept is None or kept[0] is not raw:
        # The connection's own setting (init_command), read once per connection.
        kept = connection._risk_autocheckpoint = (raw, int(raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0]))
    automatic = kept[1]
    raw.execute("PRAGMA wal_autocheckpoint = 0")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA wal_autocheckpoint = {automatic}")


# Weight of the writes since the last checkpoint at which the call that passes it checkpoints:
# a call counts its events, and at least 10 (about the pages a one-event call adds to the log).
# Every 1,600 one-event calls or 16 1,000-event batches. Successive batches rewrite mostly the
# same index pages, which a checkpoint copies once however often they were logged: checkpoints
# every four batches (the weight was 4,000) took 16 ms a batch of copying and fsync waits, every
# 12 to 20 batches 5 to 7 ms (batch endpoint, two workers, three runs each: 18,500 to 19,800/s
# at 4,000; 20,500 to 21,800 at 12,000; 21,900 to 22,100 at 20,000). The log then holds up to
# about 230 MB between checkpoints (journal_size_limit in the settings keeps that much of the
# file). A steady 300/s of one-event calls kept its p99 (6 ms, 22 ms at 4,000 in the same run).
CHECKPOINT_WEIGHT = 16000


def _written_count(fd: int, events: int) -> bool:
    """Add a call of ``events`` to the weight kept in the lock file (held by the caller); True,
    and the weight back to 0, once it reaches :data:`CHECKPOINT_WEIGHT`. (SQLite's own count,
    the wal-index, is not read: a descriptor on its ``-shm`` file opened and closed in a
    process drops that process's SQLite locks on it.)"""
    text = os.pread(fd, 20, 0).strip()
    weight = (int(text) if text.isdigit() else 0) + max(10, events)
    due = weight >= CHECKPOINT_WEIGHT
    os.pwrite(fd, f"{0 if due else weight:<20}".encode(), 0)
    return due


def _checkpoint() -> None:
    """Checkpoint now, without holding anyone up (PASSIVE: writers go on meanwhile; another
    checkpoint running or a reader on an older snapshot leaves the rest to the next one).
    The events are stored already: a failure here is logged, not raised."""
    try:
        with connection.wrap_database_errors:
            connection.connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    except DatabaseError:
        logger.warning("risk: checkpoint after a write turn failed", exc_info=True)


def _upto(events: list[Activity], at: int) -> list[Activity]:
    """The events at or before ``at`` (a later one may be stored already: a late arrival)."""
    if not events or events[-1].at <= at:
        return events
    return events[: bisect_right(events, at, key=_AT)]


def events_ingest(*, items: list[EventInput], source: str, ruleset: RuleSet | None = None) -> list[Outcome]:
    """Score and store ``items`` (transactions and/or logins); one :class:`Outcome` each, in
    the order given. Raises :class:`ValidationFailed` (nothing written) for unknown customers.
    A transaction whose ``external_id`` is stored already is not stored again: its stored
    result comes back with ``duplicate`` set.

    Everything is read first, outside the write transaction, and the writes (new devices and
    device uses, the rows, the events) then take one short transaction: on SQLite the write
    lock is held for the writes only, so concurrent requests overlap their reads and scoring.
    Two calls that scored the same customer at the same instant may not see each other's
    event in their windows. If another call stored the same external id in between, the
    unique constraint refuses the insert and the call is read again (it then answers with
    the stored result).
    """
    if len(items) > BATCH_MAX:
        raise ValidationFailed(_("At most %(n)s events per call.") % {"n": BATCH_MAX})
    try:
        return _ingest(items, source, ruleset)
    except IntegrityError:
        return _ingest(items, source, ruleset)


def _ingest(items, source, ruleset) -> list[Outcome]:
    from customers.models import Customer

    outcomes = [Outcome(index, item.kind) for index, item in enumerate(items)]
    if not items:
        return outcomes
    customer_ids = sorted({item.customer_id for item in items})
    known = {
        pk for (pk,) in _fetch(f"SELECT id FROM {_q(Customer)} WHERE id IN ({_marks(customer_ids)})", customer_ids)
    }
    unknown = {i: {"customer": _("No such customer.")} for i, it in enumerate(items) if it.customer_id not in known}
    external = [item.external_id for item in items if item.external_id]
    seen_external: dict[str, int] = {}
    for index, item in enumerate(items):
        if item.external_id:
            if item.external_id in seen_external:
                unknown[index] = {"external_id": _("Repeated within this call.")}
            seen_external[item.external_id] = index
    if unknown:
        raise ValidationFailed(_("Some events are not valid; nothing was stored."), extra={"errors": unknown})
    stored = {}
    if external:
        stored = {
            row[0]: row
            for row in _fetch(
                f"SELECT external_id, id, score, level, rules_hit, event_id FROM {_q(Transaction)} "
                f"WHERE external_id IN ({_marks(external)})",
                external,
            )
        }
    todo = []
    for index, item in enumerate(items):
        previous = stored.get(item.external_id) if item.external_id else None
        if previous is not None:
            outcome = outcomes[index]
            _external, outcome.id, outcome.score, outcome.level, rules_hit, outcome.event_id = previous
            outcome.rules_hit = json.loads(rules_hit) if isinstance(rules_hit, str) else rules_hit
            outcome.duplicate = True
        else:
            todo.append(index)
    if todo:
        _score_and_store([items[i] for i in todo], [outcomes[i] for i in todo], source, ruleset)
    return outcomes


def _links_read(items, devices: dict[str, _Dev], customer_ids) -> dict[tuple[str, int], int]:
    """When each known device was first used by each customer of ``items``: ``{(device id as
    text, customer id): epoch seconds}`` (read so by SQLite), as the scoring compares them.
    On SQLite only the pairs in ``items`` are looked up, each through the (device, customer)
    key (a VALUES list joined to it: with two IN lists SQLite probed every combination,
    700 x 1,000 for one batch, and reading whole customers read 7 times the rows a batch
    needed); elsewhere by customer, through its index."""
    if connection.vendor == "sqlite":
        pairs = sorted({(devices[item.device].pk, item.customer_id) for item in items if item.device in devices})
        values = ", ".join(["(%s, %s)"] * len(pairs))
        rows = (
            _fetch(
                f"SELECT dc.device_id, dc.customer_id, {_epoch_sql('dc.first_seen_at')} FROM (VALUES {values}) AS v "
                f"JOIN {_q(DeviceCustomer)} AS dc ON dc.device_id = v.column1 AND dc.customer_id = v.column2",
                [value for pair in pairs for value in pair],
            )
            if pairs
            else []
        )
    else:
        device_ids = {d.pk for d in devices.values()}
        ids = sorted(customer_ids)
        rows = [
            row
            for row in _fetch(
                f"SELECT device_id, customer_id, {_epoch_sql('first_seen_at') or 'first_seen_at'} "
                f"FROM {_q(DeviceCustomer)} WHERE customer_id IN ({_marks(ids)})",
                ids,
            )
            if row[0] in device_ids
        ]
    return {
        (str(device_id), customer_id): seen if seen.__class__ is int else _epoch(_dt(seen))
        for device_id, customer_id, seen in rows
    }


def _score_and_store(items, outcomes, source, ruleset) -> None:
    _page_cache_widen()
    ruleset = ruleset or ruleset_cached()
    needs = ruleset.needs
    customer_ids = {item.customer_id for item in items}
    for item in items:
        if not item.city and item.ip:
            item.city = ip_city(item.ip)
    devices = _devices_known(items)
    links = _links_read(items, devices, customer_ids) if devices else {}
    watched_customers: set[int] = set()
    watched_counterparties: set[str] = set()
    if "watch_list" in needs:
        entries = WatchListEntry.objects.filter(active=True).filter(
            Q(kind=WatchListEntry.Kind.CUSTOMER, value__in=[str(c) for c in customer_ids])
            | Q(
                kind=WatchListEntry.Kind.COUNTERPARTY,
                value__in=list({item.counterparty_key for item in items if item.counterparty}),
            )
        )
        for kind, value in entries.values_list("kind", "value"):
            if kind == WatchListEntry.Kind.CUSTOMER:
                watched_customers.add(int(value))
            else:
                watched_counterparties.add(value)
    by_customer, by_device, by_ip = _windows(ruleset, items, devices, customer_ids)

    now = timezone.now()
    # The minute of the local day is read by the night-time rule only (a time zone conversion each).
    local_minute = _local_minute if "night_time" in needs else _no_minute
    order = sorted(range(len(items)), key=lambda i: (items[i].occurred_at, i))
    # Device uses first seen in this call: (device key, customer) -> time; a device not known
    # yet is keyed by its fingerprint until it is created.
    new_links: dict[tuple[str, int], datetime.datetime] = {}
    # A device's or an address's window is kept up to date only when a rule reads it.
    spans, _lean = _window_spans(ruleset)
    per_device, per_ip = spans["device"] > 0, spans["ip"] > 0
    rows: list = [None] * len(items)
    for i in order:
        item = items[i]
        device = devices.get(item.device) if item.device else None
        device_key = str(device.pk) if device else (f"new:{item.device}" if item.device else "")
        activity = Activity(
            item.kind,
            _epoch(item.occurred_at),
            item.amount,
            device_key,
            item.ip,
            item.city,
            item.counterparty,
            local_minute(item.occurred_at),
        )
        known = True
        if device_key:
            pair = (device_key, item.customer_id)
            first, batch_first = links.get(pair), new_links.get(pair)
            # To the second, as the replay of a simulation compares them.
            known = (first is not None and first < activity.at) or (
                batch_first is not None and _epoch(batch_first) < activity.at
            )
            if first is None and batch_first is None:
                new_links[pair] = item.occurred_at
        context = Context(
            _upto(by_customer.get(item.customer_id, []), activity.at),
            _upto(by_device.get(device_key, []), activity.at) if per_device and device_key else (),
            _upto(by_ip.get(item.ip, []), activity.at) if per_ip and item.ip else (),
            bool(device and device.flagged),
            known,
            item.customer_id in watched_customers,
            bool(item.counterparty) and item.counterparty_key in watched_counterparties,
        )
        result = event_score(activity, context, ruleset)
        insort(by_customer[item.customer_id], activity, key=_AT)
        if per_device and device_key:
            insort(by_device[device_key], activity, key=_AT)
        if per_ip and item.ip:
            insort(by_ip[item.ip], activity, key=_AT)
        outcome = outcomes[i]
        outcome.score, outcome.level = result.score, result.level
        outcome.rules_hit = [hit.as_dict() for hit in result.hits]
        row = {
            "customer_id": item.customer_id,
            "occurred_at": item.occurred_at,
            "device_id": device.pk if device else None,
            "ip": item.ip or None,
            "city": item.city,
            "source": source,
            "score": result.score,
            "level": result.level,
            "rules_hit": outcome.rules_hit,
            "rule_versions": result.versions,
            "event_id": None,
            "received_at": now,
        }
        if item.kind == TRANSACTION:
            row.update(
                external_id=item.external_id,
                account=item.account,
                amount=item.amount,
                currency=item.currency,
                direction=item.direction,
                channel=item.channel,
                counterparty=item.counterparty,
            )
        else:
            row.update(success=item.success, user_id=None)
        rows[i] = row

    # The rows' values are adapted for the database before the write lock is taken, which is
    # then held for the statements only; a device first seen here gets its id under the lock.
    inserts = []
    for model, kind in ((Transaction, TRANSACTION), (LoginEvent, LOGIN)):
        positions = [i for i, item in enumerate(items) if item.kind == kind]
        if positions:
            new_devices = [items[i].device if rows[i]["device_id"] is None else "" for i in positions]
            inserts.append((positions, _insert_prepare(model, [rows[i] for i in positions], new_devices)))

    with _write_turn(len(items)), _commit_unchecked(), transaction.atomic():
        _devices_write(items, devices)
        for item, row in zip(items, rows, strict=True):
            if item.device and row["device_id"] is None:
                row["device_id"] = devices[item.device].pk
        if new_links:
            pairs = []
            for (key, customer_id), at in new_links.items():
                device_id = int(key) if not key.startswith("new:") else devices[key[4:]].pk
                pairs.append(DeviceCustomer(device_id=device_id, customer_id=customer_id, first_seen_at=at))
            DeviceCustomer.objects.bulk_create(pairs, ignore_conflicts=True)
        ids: list = [None] * len(rows)
        for positions, prepared in inserts:
            for i, pk in zip(positions, _insert_run(prepared, devices), strict=True):
                ids[i] = pk
        for outcome, pk in zip(outcomes, ids, strict=True):
            outcome.id = pk
        _events_raise(items, outcomes, ids)


def _sqlite_utc_text(value: datetime.datetime) -> str:
    """What SQLite's ``adapt_datetimefield_value`` gives with the database in UTC (naive UTC
    text), without its settings and time zone look-ups per value."""
    if value.tzinfo is None:
        return str(value)
    if value.tzinfo is not datetime.UTC:
        value = value.astimezone(datetime.UTC)
    return str(value.replace(tzinfo=None))


def _datetime_adapter():
    if connection.vendor == "sqlite" and settings.USE_TZ and connection.timezone is datetime.UTC:
        return _sqlite_utc_text
    return connection.ops.adapt_datetimefield_value


def _adapter(field):
    """A fast value-to-database converter for one column (what ``get_db_prep_save`` gives)."""
    from django.db import models
    from django.db.backends.base.operations import BaseDatabaseOperations

    ops = connection.ops
    if isinstance(field, models.DecimalField):
        return lambda value: ops.adapt_decimalfield_value(value, field.max_digits, field.decimal_places)
    if isinstance(field, models.DateTimeField):
        return _datetime_adapter()
    if isinstance(field, models.JSONField):
        # What JSONField.get_db_prep_save gives (ops.adapt_json_value), without its layers.
        # The operations are bound here: ``connection`` is a thread-local proxy, and looking it up
        # for every row cost more than the encoding. Most rows hit no rule: "[]" as given.
        encoder, adapt_json = field.encoder, ops.adapt_json_value
        if type(ops).adapt_json_value is not BaseDatabaseOperations.adapt_json_value:
            return lambda value: adapt_json(value, encoder)
        return lambda value: "[]" if value == [] else adapt_json(value, encoder)
    return None


@dataclass
class _Prepared:
    """The INSERT statements of a batch's rows, values adapted, ready to run under the lock.

    ``patches``: (statement, parameter, fingerprint) of rows whose device is created under the
    lock. ``rows``: where the database returns no keys from bulk inserts (``bulk_create`` then).
    ``qmark``: the statements carry SQLite's own ``?`` placeholders and run on the driver's
    cursor (Django's rewrites every ``%s`` of a statement with a regular expression: 1.3 ms
    for each 500-row INSERT, held under the write lock)."""

    model: type
    statements: list = field(default_factory=list)
    patches: list = field(default_factory=list)
    rows: list | None = None
    qmark: bool = False


def _insert_plan(model) -> tuple:
    """What :func:`_insert_prepare` needs of ``model`` on this connection (its columns, their
    converters, the statement's head and one row's placeholders), worked out once per
    connection and model: building the converters took a tenth of a one-event call."""
    db = connections[DEFAULT_DB_ALIAS]
    plans = getattr(db, "_risk_insert_plans", None)
    if plans is None:
        plans = db._risk_insert_plans = {}
    plan = plans.get(model)
    if plan is None:
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        getters = [(f.attname, _adapter(f)) for f in fields]
        device_column = next(i for i, f in enumerate(fields) if f.attname == "device_id")
        quote = db.ops.quote_name
        head = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)})"
        qmark = db.vendor == "sqlite"
        one = "(" + ", ".join(["?" if qmark else "%s"] * len(fields)) + ")"
        plan = plans[model] = (fields, getters, device_column, head, one, qmark)
    return plan


def _insert_prepare(model, rows: list[dict], new_devices: list[str]) -> _Prepared:
    """The statements inserting ``rows`` (``{attname: value}``, every concrete column but the
    key): one multi-row INSERT ... RETURNING per 500 rows where the database returns rows from
    bulk inserts (SQLite, MariaDB), each value adapted once by its column's converter and no
    model instance built; ``bulk_create`` elsewhere. Several times faster than ``bulk_create``
    for these tables, whose per-row model and per-field preparation dominated a batch.
    ``new_devices``: per row, the fingerprint of a device not created yet (else "")."""
    if not connection.features.can_return_rows_from_bulk_insert:
        return _Prepared(model, rows=rows)
    fields, getters, device_column, head, one, qmark = _insert_plan(model)
    quote = connection.ops.quote_name
    prepared = _Prepared(model, qmark=qmark)
    # A value shared by every row of a batch (the receiving time, the rule versions) is adapted
    # once: the last object adapted per column is remembered.
    last: list = [(None, None)] * len(getters)
    attnames = [attname for attname, _adapt in getters]
    adapted_columns = [(column, adapt) for column, (_attname, adapt) in enumerate(getters) if adapt is not None]
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        params = []
        for offset, row in enumerate(chunk):
            if new_devices[start + offset]:
                position = offset * len(fields) + device_column
                prepared.patches.append((len(prepared.statements), position, new_devices[start + offset]))
            values = [row[attname] for attname in attnames]
            for column, adapt in adapted_columns:
                value = values[column]
                if value is not None:
                    seen, adapted = last[column]
                    if seen is not value:
                        adapted = adapt(value)
                        last[column] = (value, adapted)
                    values[column] = adapted
            params += values
        prepared.statements.append(
            (
                f"{head} VALUES {', '.join([one] * len(chunk))} RETURNING {quote(model._meta.pk.column)}",
                params,
            )
        )
    return prepared


def _insert_run(prepared: _Prepared, devices: dict[str, _Dev]) -> list[int]:
    """Run the prepared statements (devices created meanwhile filled in); the new keys in order."""
    if prepared.rows is not None:
        objects = [prepared.model(**row) for row in prepared.rows]
        prepared.model.objects.bulk_create(objects, batch_size=500)
        return [obj.pk for obj in objects]
    for statement, position, fingerprint in prepared.patches:
        prepared.statements[statement][1][position] = devices[fingerprint].pk
    pks: list[int] = []
    if prepared.qmark:
        # The driver's cursor on the same connection and transaction; its errors (a unique
        # external id stored meanwhile) are raised as Django's, as its own cursor raises them.
        with connection.wrap_database_errors:
            cursor = connection.connection.cursor()
            try:
                for sql, params in prepared.statements:
                    cursor.execute(sql, params)
                    pks += [pk for (pk,) in cursor.fetchall()]
            finally:
                cursor.close()
        return pks
    with connection.cursor() as cursor:
        for sql, params in prepared.statements:
            cursor.execute(sql, params)
            pks += [pk for (pk,) in cursor.fetchall()]
    return pks


def _events_raise(items, outcomes, ids) -> None:
    """One event per customer with medium or high results in this call."""
    from risk.services.events import risk_events_raise_many

    per_customer: dict[int, list[int]] = defaultdict(list)
    for index, outcome in enumerate(outcomes):
        if LEVEL_ORDER[outcome.level] >= LEVEL_ORDER["medium"]:
            per_customer[items[index].customer_id].append(index)
    if not per_customer:
        return
    specs, members = [], {}
    for customer_id, indexes in per_customer.items():
        indexes.sort(key=lambda i: (items[i].occurred_at, i))
        worst = max(indexes, key=lambda i: (LEVEL_ORDER[outcomes[i].level], outcomes[i].score))
        tx_ids = [ids[i] for i in indexes if items[i].kind == TRANSACTION]
        login_ids = [ids[i] for i in indexes if items[i].kind == LOGIN]
        reference = {}
        if tx_ids:
            reference["transactions"] = tx_ids
        if login_ids:
            reference["logins"] = login_ids
        specs.append(
            {
                "customer_id": customer_id,
                "level": outcomes[worst].level,
                "score": outcomes[worst].score,
                "rules": sorted({hit["rule"] for i in indexes for hit in outcomes[i].rules_hit}),
                "source": EventSource.TRANSACTION if tx_ids else EventSource.LOGIN,
                "reference": reference,
                "count": len(indexes),
            }
        )
        members[customer_id] = (indexes, tx_ids, login_ids)
    events = risk_events_raise_many(specs=specs)
    by_event_tx: dict[int, list[int]] = defaultdict(list)
    by_event_login: dict[int, list[int]] = defaultdict(list)
    for customer_id, (indexes, tx_ids, login_ids) in members.items():
        event = events[customer_id]
        by_event_tx[event.pk] += tx_ids
        by_event_login[event.pk] += login_ids
        for i in indexes:
            outcomes[i].event_id = event.pk
    for model, by_event in ((Transaction, by_event_tx), (LoginEvent, by_event_login)):
        pairs = [(event_id, pk) for event_id, ids in by_event.items() for pk in ids]
        if pairs:
            table = connection.ops.quote_name(model._meta.db_table)
            with connection.cursor() as cursor:
                cursor.executemany(f"UPDATE {table} SET event_id = %s WHERE id = %s", pairs)


def staff_login_record(*, user, ip: str | None) -> LoginEvent:
    """A staff sign-in as a login event (city from the configured ranges); not scored."""
    from risk.engine import ip_normalise

    address = ip_normalise(ip or "")
    return LoginEvent.objects.create(
        user=user,
        occurred_at=timezone.now(),
        ip=address or None,
        city=ip_city(address),
        success=True,
        source="system",
    )
