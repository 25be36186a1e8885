"""The transaction import's template: its columns (English and Chinese names) and one example row."""

import datetime
from decimal import Decimal

from django.utils import timezone

from loansite.import_templates import TemplateColumn


def _chinese(aliases) -> str:
    return next((a for a in aliases if any(ord(ch) > 0x2E7F for ch in a)), aliases[0])


def transaction_import_template_columns() -> list[TemplateColumn]:
    from risk.services.imports import HEADERS

    when = timezone.localtime().replace(microsecond=0, second=0)
    examples = {
        "kind": lambda: "交易" if _is_chinese() else "transaction",
        "external_id": "TX-0001",
        "customer": 1,
        "account": "6222020000000001",
        "amount": Decimal("1200.00"),
        "currency": "CNY",
        "direction": "out",
        "channel": "mobile",
        "counterparty": "Example shop",
        "occurred_at": when.replace(tzinfo=None) if isinstance(when, datetime.datetime) else when,
        "device": "",
        "user_agent": "",
        "ip": "",
        "city": "Hangzhou",
        "success": "",
    }
    return [
        TemplateColumn(english=aliases[0], chinese=_chinese(aliases), example=examples.get(name), kind=None)
        for name, aliases in HEADERS.items()
    ]


def _is_chinese() -> bool:
    from django.utils import translation

    return (translation.get_language() or "").startswith("zh")
