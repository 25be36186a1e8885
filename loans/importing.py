"""Reading application files: English or Chinese headers, per-cell parsing, row/column error reports.

Pure apart from the product list it is given: a header row and raw rows in, cleaned rows and
errors out. The customer's cells are parsed by the customer import's own cell parsers (the
same validators as hand entry). ``loans.services.imports`` applies the rules that depend on
who imports (status, history, rating) and writes through the application services.
"""

import datetime
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _

from customers.importing import COLUMN_BY_FIELD, CellError, RowError, infer_kind, parse_count, parse_money
from loans.models import LoanApplication, LoanPurpose, RepaymentMethod
from loansite.exports import formula_unescape

# key -> (English header, Chinese header, attribute for export)
COLUMNS = {
    "reference": ("Reference", "申请编号", "reference"),
    "date": ("Date", "日期", "submitted_at"),
    "status": ("Status", "状态", "status"),
    "channel": ("Channel", "渠道", "channel"),
    "customer_name": ("Merchant name", "商户名称", "customer__name"),
    "credit_code": ("Credit code", "统一社会信用代码", "customer__credit_code"),
    "id_number": ("ID number", "身份证号", "customer__id_number"),
    "phone": ("Phone", "手机号", "customer__phone"),
    "industry": ("Industry", "行业", "customer__industry"),
    "city": ("City", "城市", "customer__city"),
    "credit_score": ("Credit score", "信用评分", "customer__credit_score"),
    "monthly_revenue": ("Monthly revenue", "月均营收", "customer__monthly_revenue"),
    "monthly_cost": ("Monthly cost", "月均成本", "customer__monthly_cost"),
    "years_in_business": ("Years in business", "经营年限", "customer__years_in_business"),
    "product": ("Product", "产品", "product__code"),
    "amount": ("Amount", "申请金额", "amount"),
    "term_months": ("Term (months)", "期限（月）", "term_months"),
    "purpose": ("Purpose", "用途", "purpose"),
    "repayment_method": ("Repayment method", "还款方式", "repayment_method"),
    "score_grade": ("Grade", "评级", "score_grade"),
    "score_points": ("Score points", "评分", "score_points"),
    "score_probability": ("Probability of default", "违约概率", "score_probability"),
}
# Columns an import reads; the rest are export-only.
IMPORT_KEYS = [
    "date",
    "status",
    "customer_name",
    "credit_code",
    "id_number",
    "phone",
    "industry",
    "city",
    "credit_score",
    "monthly_revenue",
    "monthly_cost",
    "years_in_business",
    "product",
    "amount",
    "term_months",
    "purpose",
    "repayment_method",
]
REQUIRED_KEYS = ["customer_name", "phone", "industry", "city", "product", "amount", "term_months"]
# Extra header spellings accepted on import.
ALIASES = {"金额": "amount", "名称": "customer_name", "商户": "customer_name", "电话": "phone", "申请日期": "date"}
# Cells that become the customer's fields, parsed as the customer import parses them.
CUSTOMER_CELLS = {
    "customer_name": "name",
    "credit_code": "credit_code",
    "id_number": "id_number",
    "phone": "phone",
    "industry": "industry",
    "credit_score": "credit_score",
    "monthly_revenue": "monthly_revenue",
    "monthly_cost": "monthly_cost",
    "years_in_business": "years_in_business",
}


def _choice_lookup(choices) -> dict:
    """Code, English label and Chinese label (all lower-cased) -> code."""
    from django.utils import translation

    lookup = {}
    for code, label in choices:
        lookup[str(code).lower()] = code
        for language in ("en", "zh-hans"):
            with translation.override(language):
                lookup[str(label).strip().lower()] = code
    return lookup


def _header_lookup() -> dict:
    lookup = {}
    for key, (english, chinese, _attr) in COLUMNS.items():
        for header in (key, english, chinese):
            lookup[header.strip().lower()] = key
    lookup.update({alias.lower(): key for alias, key in ALIASES.items()})
    return lookup


def _industry_lookup() -> dict:
    from customers.reference import reference_lookups

    return dict(reference_lookups()["industry"])


def _city_lookup() -> dict:
    """Every name of a city on file (English, Chinese, code) -> (stored value, tier)."""
    from customers.reference import reference_lookups

    return {key: (ref.value, ref.tier) for key, ref in reference_lookups()["city"].items()}


def parse_date(value) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    if isinstance(value, datetime.date):
        return timezone.make_aware(datetime.datetime.combine(value, datetime.time(9)))
    text = str(value).strip().replace("/", "-").replace(".", "-")
    for fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y%m%d"):
        try:
            return timezone.make_aware(datetime.datetime.strptime(text, fmt))
        except ValueError:
            continue
    raise ValueError(text)


@dataclass
class ParsedApplications:
    keys: list[str]  # the columns present, in file order
    headers: dict[str, str]  # key -> header as written
    rows: list[dict] = field(default_factory=list)  # cleaned rows, "_row" = spreadsheet row
    errors: list[RowError] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    ignored_headers: list[str] = field(default_factory=list)


def parse_application_rows(headers, rows, *, products) -> ParsedApplications:
    """``products``: lower-cased code or name -> LoanProduct."""
    lookup = _header_lookup()
    mapping: dict[int, str] = {}
    unknown = []
    for index, header in enumerate(headers):
        text = str(header or "").replace("\ufeff", "").strip()
        key = lookup.get(text.lower())
        if key in IMPORT_KEYS and key not in mapping.values():
            mapping[index] = key
        elif text and key not in COLUMNS:
            unknown.append(text)
    written = {key: str(headers[i]).replace("\ufeff", "").strip() for i, key in mapping.items()}
    parsed = ParsedApplications(keys=list(mapping.values()), headers=written, ignored_headers=unknown)
    missing = [k for k in REQUIRED_KEYS if k not in parsed.keys]
    if missing:
        names = ", ".join(f"{COLUMNS[k][0]} / {COLUMNS[k][1]}" for k in missing)
        parsed.file_errors.append(_("Missing columns: %(names)s.") % {"names": names})
        return parsed

    lookups = {
        "status": _choice_lookup(LoanApplication.Status.choices),
        "industry": _industry_lookup(),
        "purpose": _choice_lookup(LoanPurpose.choices),
        "repayment_method": _choice_lookup(RepaymentMethod.choices),
        "city": _city_lookup(),
    }
    for number, raw in enumerate(rows, start=2):
        row = _Row(number, {key: raw[i] if i < len(raw) else None for i, key in mapping.items()}, written)
        clean = _parse_row(row, products=products, lookups=lookups)
        if row.errors:
            parsed.errors.extend(row.errors)
        else:
            parsed.rows.append(clean)
    return parsed


class _Row:
    """One row's raw cells, the text of each, and its errors."""

    def __init__(self, number: int, cells: dict, written: dict):
        self.number, self.cells, self.written = number, cells, written
        self.errors: list[RowError] = []

    def text(self, key) -> str:
        value = self.cells.get(key)
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        cell = str(value).strip()
        return formula_unescape(cell) if cell[:1] == "'" else cell

    def fail(self, key, message, value=None) -> None:
        shown = self.text(key) if value is None else value
        self.errors.append(RowError(self.number, self.written.get(key, key), shown, str(message)))


def _parse_row(row: _Row, *, products, lookups) -> dict:
    text, fail = row.text, row.fail
    for key in REQUIRED_KEYS:
        if not text(key):
            fail(key, _("This value is required."))
    customer: dict = {}
    for key, name in CUSTOMER_CELLS.items():
        if key == "industry" or not text(key):
            continue
        try:
            customer[name] = COLUMN_BY_FIELD[name].parse(text(key))
        except CellError as exc:
            fail(key, str(exc))
    if text("industry"):
        try:
            customer["industry"] = COLUMN_BY_FIELD["industry"].parse(text("industry"))
        except CellError:
            found = lookups["industry"].get(text("industry").lower())
            if found is None:
                fail("industry", _("Unknown industry."))
            customer["industry"] = found
    if text("city"):
        city = lookups["city"].get(text("city").lower())
        if city is None:
            fail("city", _("Unknown city."))
        else:
            customer["city"], customer["city_tier"] = city
    customer["kind"] = infer_kind(customer.get("credit_code"), customer.get("id_number"))
    if customer.get("name") and not customer.get("credit_code") and not customer.get("id_number"):
        fail("id_number", _("Give the owner's resident ID number or the unified social credit code."), "")

    clean = {"_row": row.number, "customer_fields": customer, "amount": None, "term_months": None}
    if text("amount"):
        try:
            clean["amount"] = parse_money(text("amount"))
            if clean["amount"] <= 0:
                fail("amount", _("Must be a positive amount."))
        except CellError as exc:
            fail("amount", str(exc))
    if text("term_months"):
        try:
            clean["term_months"] = parse_count(text("term_months"))
            if clean["term_months"] < 1:
                fail("term_months", _("Must be at least one month."))
        except CellError:
            fail("term_months", _("Not a whole number of months."))
    clean["product"] = products.get(text("product").lower()) if text("product") else None
    if text("product") and clean["product"] is None:
        fail("product", _("Unknown product."))
    clean["status"] = ""
    if text("status"):
        clean["status"] = lookups["status"].get(text("status").lower()) or ""
        if not clean["status"]:
            fail("status", _("Unknown status."))
    for key in ("purpose", "repayment_method"):
        clean[key] = ""
        if text(key):
            clean[key] = lookups[key].get(text(key).lower()) or ""
            if not clean[key]:
                fail(key, _("Unknown value."))
    clean["on"] = None
    if text("date"):
        raw = row.cells["date"]
        try:
            clean["on"] = parse_date(raw if isinstance(raw, datetime.date) else text("date"))
        except ValueError:
            fail("date", _("Not a date (use YYYY-MM-DD)."))
    return clean
