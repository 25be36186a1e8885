"""Reading customer files: English or Chinese headers, per-cell parsing, row/column error reports.

Pure: a tablib ``Dataset`` (or header + rows) in, cleaned row dicts and errors out. The
service in ``customers.services.imports`` matches them against the database and writes.
"""

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import CityTier, Customer, Rating
from customers.validators import (
    normalize_credit_code,
    normalize_mobile_phone,
    normalize_resident_id,
    validate_credit_code,
    validate_mobile_phone,
    validate_resident_id,
)
from loansite.exports import formula_unescape
from loansite.tabular import header_match, header_synonyms_index, money_unit_factor, text_has_control_characters

# Industry names an import may use besides the Industry table's codes and names.
INDUSTRY_ALIASES = {
    "技术": "technology",
    "交通运输": "transport",
    "物流": "transport",
}
KIND_ALIASES = {
    "企业": Customer.Kind.ENTERPRISE,
    "个体工商户": Customer.Kind.INDIVIDUAL,
    "个体": Customer.Kind.INDIVIDUAL,
}
_SPLIT_TAGS = re.compile(r"[,，;；、|]")


class CellError(ValueError):
    pass


def _text(max_length: int, *, multiline: bool = False) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if len(value) > max_length:
            raise CellError(_("Too long: at most %(n)s characters.") % {"n": max_length})
        if text_has_control_characters(value, multiline=multiline):
            raise CellError(_("Contains control characters (such as NUL); remove them."))
        return value

    return parse


def _email(value: str) -> str:
    value = _text(254)(value)
    try:
        validate_email(value)
    except ValidationError as exc:
        raise CellError(" ".join(exc.messages))
    return value


def _int(minimum: int = 0, maximum: int | None = None) -> Callable[[str], int]:
    def parse(value: str) -> int:
        if value.isdigit():  # the common case, without Decimal
            number = int(value)
            if number < minimum:
                raise CellError(_("Must not be negative."))
            if maximum is not None and number > maximum:
                raise CellError(_("At most %(n)s.") % {"n": maximum})
            return number
        try:
            number = Decimal(value.replace(",", ""))
        except InvalidOperation:
            raise CellError(_("Not a whole number."))
        if number != number.to_integral_value():
            raise CellError(_("Not a whole number."))
        if number < minimum:
            raise CellError(_("Must not be negative."))
        if maximum is not None and number > maximum:
            raise CellError(_("At most %(n)s.") % {"n": maximum})
        return int(number)

    return parse


def _years(value: str) -> int:
    """Years in business, or the year the business started (经营年份 "2016" is 10 years in 2026)."""
    number = _int()(value)
    this_year = datetime.date.today().year
    if 1900 <= number <= this_year:
        return this_year - number
    if number > 150:
        raise CellError(_("Neither a number of years nor a year the business started."))
    return number


_MONEY_LIMIT = Decimal("1e14")
_CENT = Decimal("0.01")
_MONEY_NOISE = re.compile(r"[,¥￥\s]")


def _money(*, signed: bool = False) -> Callable[[str], Decimal]:
    def parse(value: str) -> Decimal:
        if not value[-1:].isdigit() or not value.replace(".", "", 1).isdigit():
            value = _MONEY_NOISE.sub("", value)
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise CellError(_("Not an amount of money."))
        if not amount.is_finite():
            raise CellError(_("Not an amount of money."))
        if amount < 0 and not signed:
            raise CellError(_("Must not be negative."))
        if abs(amount) >= _MONEY_LIMIT:
            raise CellError(_("Amount too large."))
        return amount.quantize(_CENT, rounding=ROUND_HALF_UP)

    return parse


def _django(validator, normalise) -> Callable[[str], str]:
    def parse(value: str) -> str:
        value = normalise(value)
        try:
            validator(value)
        except ValidationError as exc:
            raise CellError(" ".join(exc.messages))
        return value

    return parse


def _choice(choices, aliases: dict | None = None) -> Callable[[str], str]:
    lookup: dict = {}

    def parse(value: str):
        if not lookup:  # built on first use, with the English labels (translations are not loaded at import)
            from django.utils import translation

            lookup.update({str(v).lower(): v for v in choices.values})
            for language in ("en", "zh-hans"):  # an export in either language reads back
                with translation.override(language):
                    lookup.update({str(label).lower(): v for v, label in choices.choices})
            lookup.update(aliases or {})
        found = lookup.get(value.lower(), lookup.get(value))
        if found is None:
            raise CellError(
                _("Unknown value %(value)s; use one of: %(choices)s.")
                % {"value": value, "choices": ", ".join(str(v) for v in choices.values)}
            )
        return found

    return parse


def _industry(value: str) -> str:
    """An industry from the reference table: its code, English or Chinese name."""
    from customers.reference import reference_lookups

    lookup = reference_lookups()["industry"]
    found = lookup.get(value.strip().lower()) or INDUSTRY_ALIASES.get(value.strip())
    if found is None:
        raise CellError(
            _("Unknown industry %(value)s; use one of: %(choices)s.")
            % {"value": value, "choices": ", ".join(sorted(set(lookup.values())))}
        )
    return found


def _city(value: str) -> str:
    """A city from the reference table (English or Chinese name, or its division code)."""
    from customers.reference import reference_lookups

    found = reference_lookups()["city"].get(value.strip().lower())
    if found is None:
        raise CellError(
            _("Unknown city %(value)s: give a prefecture-level city (e.g. Wuxi or 无锡).") % {"value": value}
        )
    return found.value


# For other imports that read the same kinds of cells (the application import).
parse_money = _money()
parse_count = _int()


def _tier(value: str) -> int:
    cleaned = value.replace("线", "").replace("Tier", "").replace("tier", "").strip()
    aliases = {"一": "1", "二": "2", "三": "3", "四": "4"}
    cleaned = aliases.get(cleaned, cleaned)
    if cleaned not in {"1", "2", "3", "4"}:
        raise CellError(_("City tier must be 1-4."))
    return CityTier(int(cleaned)).value


def _tags(value: str) -> list[str]:
    tags = [part.strip() for part in _SPLIT_TAGS.split(value) if part.strip()]
    for tag in tags:
        _text(64)(tag)
    return tags


@dataclass(frozen=True)
class Column:
    field: str
    english: str
    chinese: str
    parse: Callable
    required: bool = False
    label: object = None


COLUMNS = [
    Column("kind", "Kind", "类型", _choice(Customer.Kind, KIND_ALIASES), label=gettext_lazy("Kind")),
    Column("name", "Name", "名称", _text(200), required=True, label=gettext_lazy("Name")),
    Column(
        "credit_code",
        "Credit code",
        "统一社会信用代码",
        _django(validate_credit_code, normalize_credit_code),
        label=gettext_lazy("Credit code"),
    ),
    Column(
        "id_number",
        "ID number",
        "身份证号",
        _django(validate_resident_id, normalize_resident_id),
        label=gettext_lazy("ID number"),
    ),
    Column(
        "phone",
        "Phone",
        "手机号",
        _django(validate_mobile_phone, normalize_mobile_phone),
        required=True,
        label=gettext_lazy("Phone"),
    ),
    Column("email", "Email", "邮箱", _email, label=gettext_lazy("Email")),
    Column("address", "Address", "地址", _text(300), label=gettext_lazy("Address")),
    Column("city", "City", "城市", _city, required=True, label=gettext_lazy("City")),
    Column("city_tier", "City tier", "城市等级", _tier, label=gettext_lazy("City tier")),
    Column("industry", "Industry", "行业", _industry, required=True, label=gettext_lazy("Industry")),
    Column("years_in_business", "Years in business", "经营年限", _years, label=gettext_lazy("Years in business")),
    Column("employees", "Employees", "员工人数", _int(), label=gettext_lazy("Employees")),
    Column("area_m2", "Business area", "经营面积", _money(), label=gettext_lazy("Business area")),
    Column("monthly_revenue", "Monthly revenue", "月均营收", _money(), label=gettext_lazy("Monthly revenue")),
    Column("monthly_cost", "Monthly cost", "月均成本", _money(), label=gettext_lazy("Monthly cost")),
    Column(
        "monthly_foot_traffic", "Monthly foot traffic", "月客流量", _int(), label=gettext_lazy("Monthly foot traffic")
    ),
    Column("credit_score", "Credit score", "信用评分", _int(maximum=1000), label=gettext_lazy("Credit score")),
    Column("total_assets", "Total assets", "总资产", _money(), label=gettext_lazy("Total assets")),
    Column("total_liabilities", "Total liabilities", "总负债", _money(), label=gettext_lazy("Total liabilities")),
    Column("current_assets", "Current assets", "流动资产", _money(), label=gettext_lazy("Current assets")),
    Column(
        "current_liabilities", "Current liabilities", "流动负债", _money(), label=gettext_lazy("Current liabilities")
    ),
    Column("net_profit", "Net profit", "净利润", _money(signed=True), label=gettext_lazy("Net profit")),
    Column("annual_revenue", "Annual revenue", "年营收", _money(), label=gettext_lazy("Annual revenue")),
    Column("rating", "Rating", "内部评级", _choice(Rating), label=gettext_lazy("Rating")),
    Column("tags", "Tags", "标签", _tags, label=gettext_lazy("Tags")),
    Column("notes", "Notes", "备注", _text(10_000, multiline=True), label=gettext_lazy("Notes")),
]
COLUMN_BY_FIELD = {column.field: column for column in COLUMNS}
# Other names files give these columns (Chinese and English; compared without case, spaces,
# punctuation or a unit in brackets, see ``loansite.tabular.header_match``). Shared with the
# application import, whose files name the customer in the same words.
SYNONYMS = {
    "kind": ("客户类型", "主体类型", "企业类型", "Customer type", "Type"),
    "name": ("客户名称", "企业名称", "商户名称", "商户", "店铺名称", "Merchant name", "Business name", "Company name"),
    "credit_code": ("信用代码", "社会信用代码", "统一信用代码", "USCC", "Unified social credit code"),
    "id_number": ("身份证号码", "身份证", "法人身份证号", "经营者身份证号", "Resident ID", "ID card"),
    "phone": ("手机", "手机号码", "电话", "联系电话", "联系方式", "Mobile", "Mobile phone", "Telephone", "Tel"),
    "email": ("电子邮箱", "E-mail", "Mail"),
    "address": ("经营地址", "地址信息", "Business address"),
    "city": ("所在城市", "所在地", "城市名称", "City name"),
    "city_tier": ("城市级别", "城市线级", "城市分级", "Tier", "City level"),
    "industry": ("行业类型", "所属行业", "行业类别", "经营类型", "Industry type", "Sector"),
    "years_in_business": (
        "经营年份",
        "经营年数",
        "成立年限",
        "营业年限",
        "Years",
        "Business years",
        "Years in operation",
    ),
    "employees": ("员工数", "员工数量", "雇员人数", "从业人数", "Staff", "Headcount", "Number of employees"),
    "area_m2": ("营业面积", "店铺面积", "面积", "Area", "Floor area", "Area m2"),
    "monthly_revenue": (
        "月营收",
        "月均营业额",
        "月营业额",
        "月均收入",
        "月收入",
        "月均销售额",
        "Monthly sales",
        "Revenue",
    ),
    "monthly_cost": ("月成本", "月均支出", "月支出", "Monthly expenses", "Cost"),
    "monthly_foot_traffic": ("月均客流量", "客流量", "月客流", "Foot traffic", "Monthly visitors"),
    "credit_score": ("信用分", "企业信用分", "征信评分", "评分", "Bureau score", "Credit bureau score", "Score"),
    "total_assets": ("资产总额", "资产总计"),
    "total_liabilities": ("负债总额", "负债合计"),
    "net_profit": ("净利", "Profit"),
    "annual_revenue": ("年营业额", "年收入", "年销售额", "Annual sales"),
    "rating": ("信用等级", "客户评级", "Internal rating"),
    "tags": ("客户标签", "Labels"),
    "notes": ("说明", "Remarks", "Comment", "Comments"),
}
for _column in COLUMNS:
    _names = [n for n in SYNONYMS.get(_column.field, ()) if n not in (_column.english, _column.chinese)]
    object.__setattr__(_column, "synonyms", tuple(_names))
HEADER_ALIASES: dict[str, str] = header_synonyms_index(
    {c.field: (c.field, c.english, c.chinese, *SYNONYMS.get(c.field, ())) for c in COLUMNS}
)
MONEY_FIELDS = {
    "area_m2": False,  # not money, but never in 万元 either
    "monthly_revenue": True,
    "monthly_cost": True,
    "total_assets": True,
    "total_liabilities": True,
    "current_assets": True,
    "current_liabilities": True,
    "net_profit": True,
    "annual_revenue": True,
}
NULLABLE = {
    "credit_code",
    "id_number",
    "credit_score",
    "total_assets",
    "total_liabilities",
    "current_assets",
    "current_liabilities",
    "net_profit",
    "annual_revenue",
}


@dataclass
class RowError:
    row: int  # the spreadsheet row number (the header is row 1)
    column: str  # the header as written in the file ("" for the whole row)
    value: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "value": self.value, "message": str(self.message)}


@dataclass
class ParsedFile:
    fields: list[str]  # the fields present, in file order
    headers: dict[str, str]  # field -> header as written
    rows: list[dict] = field(default_factory=list)  # cleaned rows, with "_row" = spreadsheet row
    errors: list[RowError] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    ignored_headers: list[str] = field(default_factory=list)
    columns_read: list[str] = field(default_factory=list)


def _header_in_language(column: Column) -> str:
    """The column's own header in the page's language (what a file read in was taken as)."""
    from django.utils.translation import get_language

    return column.chinese if (get_language() or "").startswith("zh") else column.english


def _scale(field_name: str, unit: str) -> Decimal:
    """10,000 for a money column whose header says 万元, else 1."""
    if MONEY_FIELDS.get(field_name):
        return money_unit_factor(unit) or Decimal(1)
    return Decimal(1)


def _scaled(parse, factor: Decimal):
    if factor == 1:
        return parse
    return lambda text: (parse(text) * factor).quantize(_CENT, rounding=ROUND_HALF_UP)


def map_headers(headers, *, units: dict | None = None) -> tuple[dict[int, str], list[str]]:
    """Column position -> field, and the headers not read (unknown, or a second column for a
    field, said so). ``units``, when given, gets field -> the unit its header names."""
    mapping, unknown = {}, []
    for index, header in enumerate(headers):
        text = str(header or "").replace("\ufeff", "").strip()
        field_name, unit = header_match(text, HEADER_ALIASES)
        if field_name and field_name not in mapping.values():
            mapping[index] = field_name
            if units is not None:
                units[field_name] = unit
        elif field_name:
            first = next(i for i, f in mapping.items() if f == field_name)
            unknown.append(
                _("%(header)s (the same as %(first)s, read from that column)")
                % {"header": text, "first": str(headers[first]).replace("\ufeff", "").strip()}
            )
        elif text:
            unknown.append(text)
    return mapping, unknown


def infer_kind(credit_code: str | None, id_number: str | None) -> str:
    """Without a kind column: "92..." codes (and owners' ID numbers alone) are individual businesses."""
    if (credit_code and credit_code.startswith("92")) or (id_number and not credit_code):
        return Customer.Kind.INDIVIDUAL
    return Customer.Kind.ENTERPRISE


def parse_rows(headers, rows) -> ParsedFile:
    units: dict[str, str] = {}
    mapping, unknown = map_headers(headers, units=units)
    fields = list(mapping.values())
    written = {mapping[i]: str(headers[i]).replace("\ufeff", "").strip() for i in mapping}
    parsed = ParsedFile(fields=fields, headers=written, ignored_headers=unknown)
    parsed.columns_read = [
        f"{written[f]} → {_header_in_language(COLUMN_BY_FIELD[f])}"
        + (" (×10,000)" if _scale(f, units.get(f, "")) != 1 else "")
        for f in fields
    ]
    missing = [c for c in COLUMNS if c.required and c.field not in fields]
    if missing:
        parsed.file_errors.append(
            _("Missing columns: %(columns)s.") % {"columns": ", ".join(f"{c.english} / {c.chinese}" for c in missing)}
        )
    if "credit_code" not in fields and "id_number" not in fields:
        parsed.file_errors.append(_("The file needs a credit code column or an ID number column (or both)."))
    if parsed.file_errors:
        return parsed
    parsers = [
        (i, mapping[i], _scaled(COLUMN_BY_FIELD[mapping[i]].parse, _scale(mapping[i], units.get(mapping[i], ""))))
        for i in mapping
    ]
    for number, raw in enumerate(rows, start=2):
        clean, ok = {"_row": number}, True
        if not any(str(v).strip() for v in raw if v is not None):
            continue  # blank line
        for index, field_name, parse in parsers:
            value = raw[index] if index < len(raw) else None
            text = "" if value is None else str(value).strip()
            if text == "":
                if COLUMN_BY_FIELD[field_name].required:
                    parsed.errors.append(RowError(number, written[field_name], "", _("This value is required.")))
                    ok = False
                elif field_name in NULLABLE:
                    clean[field_name] = None
                elif field_name == "tags":
                    clean[field_name] = []
                continue
            if isinstance(value, float) and value.is_integer():
                text = str(int(value))
            elif text[:1] == "'":
                text = formula_unescape(text)  # a cell that an export escaped reads back as it was
            try:
                clean[field_name] = parse(text)
            except CellError as exc:
                parsed.errors.append(RowError(number, written[field_name], text, str(exc)))
                ok = False
        if ok and "kind" not in clean:
            clean["kind"] = infer_kind(clean.get("credit_code"), clean.get("id_number"))
        if ok:
            kind = clean["kind"]
            if kind == Customer.Kind.ENTERPRISE and not clean.get("credit_code"):
                parsed.errors.append(
                    RowError(
                        number,
                        written.get("credit_code", "credit_code"),
                        "",
                        _("An enterprise needs its unified social credit code."),
                    )
                )
                ok = False
            elif not clean.get("credit_code") and not clean.get("id_number"):
                parsed.errors.append(
                    RowError(
                        number,
                        written.get("id_number", "id_number"),
                        "",
                        _("Give the owner's resident ID number or the unified social credit code."),
                    )
                )
                ok = False
        if ok:
            parsed.rows.append(clean)
    return parsed


def parse_dataset(dataset) -> ParsedFile:
    return parse_rows(list(dataset.headers or []), dataset)


def read_file(data: bytes, file_format: str | None = None) -> ParsedFile:
    """Parse a CSV or XLSX file (type told by the content, within the import limits; see
    ``loansite.tabular``). ``file_format`` is accepted for callers that know it, and ignored."""
    from django.conf import settings

    from loansite.tabular import tabular_read

    table = tabular_read(data, max_rows=int(getattr(settings, "CUSTOMER_IMPORT_MAX_ROWS", 200_000)))
    return parse_rows(table.headers, table.rows)
