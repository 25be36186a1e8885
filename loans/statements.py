"""Reading bank statement files: loan number, amount, value date and bank reference per row,
with English or Chinese headers (贷款编号 / 还款金额 / 还款日期 / 流水号). Pure: a header row
and raw rows in, cleaned rows and row/column errors out; ``loans.services.statements`` checks
them against the book and posts them."""

import datetime
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from customers.importing import CellError, RowError, parse_money
from loansite.exports import formula_unescape
from loansite.tabular import header_match, header_synonyms_index, text_has_control_characters

# key -> (English header, Chinese header)
COLUMNS = {
    "loan_number": ("Loan number", "贷款编号"),
    "amount": ("Amount", "还款金额"),
    "value_date": ("Value date", "还款日期"),
    "bank_reference": ("Bank reference", "流水号"),
}
ALIASES = {
    "loan": "loan_number",
    "loan no": "loan_number",
    "借据号": "loan_number",
    "金额": "amount",
    "repayment amount": "amount",
    "date": "value_date",
    "日期": "value_date",
    "交易日期": "value_date",
    "reference": "bank_reference",
    "transaction reference": "bank_reference",
    "交易流水号": "bank_reference",
}
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")


@dataclass
class StatementRow:
    row: int  # the spreadsheet row (the header is row 1)
    loan_number: str
    amount: object  # Decimal
    value_date: datetime.date
    bank_reference: str


@dataclass
class ParsedStatement:
    headers: dict[str, str]
    rows: list[StatementRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    ignored_headers: list[str] = field(default_factory=list)
    total_rows: int = 0


def _lookup() -> dict[str, str]:
    """Every name of a column, compared without case, spaces, punctuation or a unit in brackets."""
    names: dict[str, list[str]] = {key: [key, english, chinese] for key, (english, chinese) in COLUMNS.items()}
    for alias, key in ALIASES.items():
        names[key].append(alias)
    return header_synonyms_index(names)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return formula_unescape(text) if text[:1] == "'" else text


def parse_value_date(value) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = _text(value)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise CellError(_("Not a date (use YYYY-MM-DD)."))


def _reference(value, max_length) -> str:
    text = _text(value)
    if len(text) > max_length:
        raise CellError(_("Too long: at most %(n)s characters.") % {"n": max_length})
    if text_has_control_characters(text):
        raise CellError(_("Contains control characters (such as NUL); remove them."))
    return text


def parse_statement_rows(headers, rows) -> ParsedStatement:
    lookup = _lookup()
    mapping: dict[int, str] = {}
    unknown = []
    for index, header in enumerate(headers):
        text = str(header or "").replace("\ufeff", "").strip()
        key, _unit = header_match(text, lookup)
        if key and key not in mapping.values():
            mapping[index] = key
        elif text:
            unknown.append(text)
    written = {key: str(headers[i]).replace("\ufeff", "").strip() for i, key in mapping.items()}
    parsed = ParsedStatement(headers=written, ignored_headers=unknown)
    missing = [key for key in COLUMNS if key not in written]
    if missing:
        names = ", ".join(f"{COLUMNS[k][0]} / {COLUMNS[k][1]}" for k in missing)
        parsed.file_errors.append(_("Missing columns: %(names)s.") % {"names": names})
        return parsed
    parsers = {
        "loan_number": lambda v: _reference(v, 24).upper(),
        "amount": lambda v: parse_money(_text(v)),
        "value_date": parse_value_date,
        "bank_reference": lambda v: _reference(v, 64),
    }
    for number, raw in enumerate(rows, start=2):
        parsed.total_rows += 1
        clean, ok = {}, True
        for index, key in mapping.items():
            value = raw[index] if index < len(raw) else None
            shown = _text(value)
            if shown == "":
                parsed.errors.append(RowError(number, written[key], "", _("This value is required.")))
                ok = False
                continue
            try:
                clean[key] = parsers[key](value)
            except CellError as exc:
                parsed.errors.append(RowError(number, written[key], shown, str(exc)))
                ok = False
        if ok and clean["amount"] <= 0:
            parsed.errors.append(
                RowError(number, written["amount"], str(clean["amount"]), _("The amount must be greater than zero."))
            )
            ok = False
        if ok:
            parsed.rows.append(StatementRow(number, **clean))
    return parsed
