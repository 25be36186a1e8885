"""Importing transactions and logins from CSV / XLSX, with a report by row.

English or Chinese headers (金额, 时间, 客户编号, 对手方, 城市 ...). Every row is read by the same
checks as the API (``risk.inputs``); unknown customers and external ids repeated in the file
are row errors. A file with bad rows writes nothing unless the importer asks for the valid
rows only. The rows are scored in time order, 1,000 at a time, all in one transaction, and
the import is audited with its counts.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from loansite.errors import NotAllowed
from loansite.tabular import tabular_read, text_has_control_characters
from risk.inputs import login_input, transaction_input
from risk.services.ingest import BATCH_MAX, events_ingest

HEADERS = {
    "kind": ("kind", "type", "类型"),
    "external_id": ("external_id", "reference", "流水号", "交易编号"),
    "customer": ("customer", "customer_id", "客户编号", "客户id"),
    "account": ("account", "账户", "账号"),
    "amount": ("amount", "金额", "交易金额"),
    "currency": ("currency", "币种"),
    "direction": ("direction", "方向"),
    "channel": ("channel", "渠道"),
    "counterparty": ("counterparty", "对手方", "交易对手"),
    "occurred_at": ("occurred_at", "time", "时间", "交易时间"),
    "device": ("device", "设备", "设备指纹"),
    "user_agent": ("user_agent", "ua", "浏览器标识"),
    "ip": ("ip", "ip地址"),
    "city": ("city", "城市"),
    "success": ("success", "成功"),
}
KINDS = {"transaction": "transaction", "交易": "transaction", "login": "login", "登录": "login", "": "transaction"}
DIRECTIONS = {"收入": "in", "转入": "in", "支出": "out", "转出": "out"}
TRUE = {"true", "1", "yes", "y", "是", "成功"}


@dataclass
class ImportReport:
    rows: int = 0
    valid: int = 0
    stored: int = 0
    duplicates: int = 0
    errors: list = field(default_factory=list)  # [(row number, {column: message})]
    levels: dict = field(default_factory=lambda: {"low": 0, "medium": 0, "high": 0})
    events: int = 0
    written: bool = False


def _columns(headers: list) -> tuple[dict[int, str], list[str]]:
    lookup = {alias.casefold(): name for name, aliases in HEADERS.items() for alias in aliases}
    columns, unknown = {}, []
    for index, header in enumerate(headers):
        name = lookup.get(str(header or "").strip().casefold())
        if name is None:
            if str(header or "").strip():
                unknown.append(str(header))
            continue
        columns[index] = name
    return columns, unknown


def _cell(value):
    if isinstance(value, float):
        return str(Decimal(repr(value)))
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, datetime.datetime):
        return value
    return "" if value is None else str(value).strip()


def _row_item(raw: dict):
    kind = KINDS.get(str(raw.pop("kind", "")).strip().lower())
    if kind is None:
        return None, {"kind": _("transaction or login")}
    for name, value in raw.items():
        if isinstance(value, str) and text_has_control_characters(value):
            return None, {name: _("Control characters are not allowed.")}
    if "direction" in raw:
        raw["direction"] = DIRECTIONS.get(raw["direction"], raw["direction"])
    if kind == "login":
        if "success" in raw:
            raw["success"] = str(raw["success"]).strip().lower() in TRUE
        return login_input(raw)
    raw.pop("success", None)
    return transaction_input(raw)


def transactions_import(*, actor, data: bytes, file_name: str, valid_only: bool = False) -> ImportReport:
    """Check, then (when there are no bad rows, or ``valid_only``) score and store the rows."""
    from customers.models import Customer
    from risk.models import Transaction

    if actor is None or not actor.has_perm("risk.import_transaction"):
        raise NotAllowed(_("You do not have the role needed for this action."))
    table = tabular_read(data, max_rows=getattr(settings, "RISK_IMPORT_MAX_ROWS", 50_000))
    columns, _unknown = _columns(table.headers)
    report = ImportReport(rows=len(table.rows))
    missing = {"customer", "occurred_at"} - set(columns.values())
    if missing:
        report.errors.append((1, {name: _("This column is missing.") for name in sorted(missing)}))
        return report
    items, row_numbers, seen = [], [], {}
    for number, row in enumerate(table.rows, start=2):
        raw = {name: _cell(row[index]) for index, name in columns.items() if index < len(row)}
        raw = {name: value for name, value in raw.items() if value != ""}
        item, errors = _row_item(raw)
        if item is not None and item.external_id:
            if item.external_id in seen:
                errors = {"external_id": _("Repeats row %(row)s.") % {"row": seen[item.external_id]}}
            seen.setdefault(item.external_id, number)
        if errors:
            report.errors.append((number, errors))
            continue
        items.append(item)
        row_numbers.append(number)
    known = set(Customer.objects.filter(pk__in={i.customer_id for i in items}).values_list("pk", flat=True))
    keep = []
    for item, number in zip(items, row_numbers, strict=True):
        if item.customer_id not in known:
            report.errors.append((number, {"customer": _("No such customer.")}))
        else:
            keep.append(item)
    report.errors.sort(key=lambda pair: pair[0])
    report.valid = len(keep)
    if report.errors and not valid_only:
        return report
    keep.sort(key=lambda item: item.occurred_at)
    events = set()
    with transaction.atomic():
        for start in range(0, len(keep), BATCH_MAX):
            for outcome in events_ingest(items=keep[start : start + BATCH_MAX], source="import"):
                if outcome.duplicate:
                    report.duplicates += 1
                    continue
                report.stored += 1
                report.levels[outcome.level] += 1
                if outcome.event_id:
                    events.add(outcome.event_id)
        report.events = len(events)
        audit_record(
            action=AuditAction.IMPORT,
            actor=actor,
            target=(Transaction._meta.label_lower, "", str(Transaction._meta.verbose_name_plural)),
            changes={
                "file": file_name[:200],
                "rows": report.rows,
                "stored": report.stored,
                "duplicates": report.duplicates,
                "rows_with_errors": len(report.errors),
                "levels": report.levels,
                "events": report.events,
            },
        )
    report.written = True
    return report
