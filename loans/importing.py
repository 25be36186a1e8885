"""Reading application files: headers by known synonyms, units, per-cell parsing, row/column errors.

Pure apart from the product list and the options it is given: a header row and raw rows in,
cleaned rows and errors out. Headers are matched by the names files give them, in Chinese or
English, whatever their case, spaces, punctuation or unit in brackets ("贷款金额（万元）",
"Loan amount", "行业类型", "经营年份", "月均客流量"); every column is either read (the report
says as what) or reported as ignored (unknown, export-only, or a second column for the same
thing). The customer's cells are parsed by the customer import's own cell parsers (the same
validators as hand entry). ``loans.services.imports`` matches customers, applies the rules that
depend on who imports (status, history, rating) and writes through the application services.

Amounts: a header naming its unit (万元 / 元) is read in that unit; otherwise in the unit
chosen on the import form (``ImportOptions``). Product and term may be missing from the file
or a row when the form names a default for them.
"""

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from customers.importing import (
    COLUMN_BY_FIELD,
    SYNONYMS,
    CellError,
    RowError,
    infer_kind,
    parse_count,
    parse_money,
)
from loans.models import LoanApplication, LoanPurpose, RepaymentMethod
from loansite.exports import formula_unescape
from loansite.tabular import YEAR_UNITS, header_key, header_match, header_synonyms_index, money_unit_factor

# key -> (English header, Chinese header, attribute for export)
COLUMNS = {
    "reference": ("Reference", "申请编号", "reference"),
    "date": ("Date", "日期", "submitted_at"),
    "status": ("Status", "状态", "status"),
    "channel": ("Channel", "渠道", "channel"),
    "kind": ("Customer type", "客户类型", "customer__kind"),
    "customer_name": ("Merchant name", "商户名称", "customer__name"),
    "credit_code": ("Credit code", "统一社会信用代码", "customer__credit_code"),
    "id_number": ("ID number", "身份证号", "customer__id_number"),
    "phone": ("Phone", "手机号", "customer__phone"),
    "industry": ("Industry", "行业", "customer__industry"),
    "city": ("City", "城市", "customer__city"),
    "city_tier": ("City tier", "城市等级", "customer__city_tier"),
    "credit_score": ("Credit score", "信用评分", "customer__credit_score"),
    "monthly_revenue": ("Monthly revenue", "月均营收", "customer__monthly_revenue"),
    "monthly_cost": ("Monthly cost", "月均成本", "customer__monthly_cost"),
    "years_in_business": ("Years in business", "经营年限", "customer__years_in_business"),
    "employees": ("Employees", "员工人数", "customer__employees"),
    "area_m2": ("Business area (m²)", "经营面积（平方米）", "customer__area_m2"),
    "monthly_foot_traffic": ("Monthly foot traffic", "月客流量", "customer__monthly_foot_traffic"),
    "product": ("Product", "产品", "product__code"),
    "amount": ("Amount", "申请金额", "amount"),
    "term_months": ("Term (months)", "期限（月）", "term_months"),
    "purpose": ("Purpose", "用途", "purpose"),
    "repayment_method": ("Repayment method", "还款方式", "repayment_method"),
    "score_grade": ("Model grade", "模型评级", "score_grade"),
    "score_points": ("Model score points", "模型评分", "score_points"),
    "score_probability": ("Probability of default", "违约概率", "score_probability"),
}
# Columns an import reads; the rest are export-only (reported as ignored when a file has them).
IMPORT_KEYS = [
    "date",
    "status",
    "kind",
    "customer_name",
    "credit_code",
    "id_number",
    "phone",
    "industry",
    "city",
    "city_tier",
    "credit_score",
    "monthly_revenue",
    "monthly_cost",
    "years_in_business",
    "employees",
    "area_m2",
    "monthly_foot_traffic",
    "product",
    "amount",
    "term_months",
    "purpose",
    "repayment_method",
]
# Needed in every file; product and term unless the import form names defaults. A customer
# is found by credit code, ID number or phone; a new one needs name, phone, city and industry
# in its row (``loans.services.imports``).
REQUIRED_KEYS = ["amount", "product", "term_months"]
IDENTITY_KEYS = ("credit_code", "id_number", "phone")
NEW_CUSTOMER_KEYS = ("customer_name", "phone", "industry", "city")
# Cells that become the customer's fields, parsed as the customer import parses them.
CUSTOMER_CELLS = {
    "kind": "kind",
    "customer_name": "name",
    "credit_code": "credit_code",
    "id_number": "id_number",
    "phone": "phone",
    "credit_score": "credit_score",
    "monthly_revenue": "monthly_revenue",
    "monthly_cost": "monthly_cost",
    "years_in_business": "years_in_business",
    "employees": "employees",
    "area_m2": "area_m2",
    "monthly_foot_traffic": "monthly_foot_traffic",
}
_CUSTOMER_SYNONYMS = {key: SYNONYMS.get(name, ()) for key, name in CUSTOMER_CELLS.items()}
_CUSTOMER_SYNONYMS.update(industry=SYNONYMS["industry"], city=SYNONYMS["city"], city_tier=SYNONYMS["city_tier"])
# Other names files give the columns (compared as ``loansite.tabular.header_key`` does).
SYNONYMS_BY_KEY = {
    **_CUSTOMER_SYNONYMS,
    "kind": ("客户类型", "主体类型", "企业类型", "Customer kind", "Kind"),
    "customer_name": ("名称", *_CUSTOMER_SYNONYMS["customer_name"]),
    "amount": (
        "贷款金额",
        "金额",
        "借款金额",
        "申请额度",
        "贷款额度",
        "Loan amount",
        "Amount requested",
        "Requested amount",
    ),
    "term_months": ("期限", "贷款期限", "借款期限", "申请期限", "期数", "Term", "Loan term", "Tenor", "Term months"),
    "product": ("贷款产品", "产品代码", "产品名称", "Loan product", "Product code"),
    "purpose": ("贷款用途", "借款用途", "Loan purpose"),
    "repayment_method": ("还款方法", "Repayment"),
    "date": ("申请日期", "申请时间", "Application date", "Submitted"),
    "status": ("申请状态", "审批状态", "Application status"),
    "reference": ("申请号", "Application reference"),
    "score_points": ("Score points",),
    "score_grade": ("Grade", "评级"),
}
# "类型" / "Type" alone names the customer's kind in some files and the industry in others
# (the retail seed's 类型 is 餐饮, 零售 ...): the column's values decide.
AMBIGUOUS_TYPE = {header_key("类型"), header_key("Type")}
# Money columns read in a unit: the loan amount, and the customer's revenue and cost.
AMOUNT_KEYS = ("amount",)
REVENUE_KEYS = ("monthly_revenue", "monthly_cost")
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class ImportOptions:
    """What the import form chose with the file (see ``loans.import_forms``)."""

    amount_factor: Decimal = Decimal(1)  # 10,000 when amounts are in 万元
    revenue_factor: Decimal = Decimal(1)
    product: object = None  # a LoanProduct for rows without one
    term_months: int | None = None  # for rows without a term


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


def _header_index() -> dict:
    return header_synonyms_index(
        {
            key: (key, english, chinese, *SYNONYMS_BY_KEY.get(key, ()))
            for key, (english, chinese, _attr) in COLUMNS.items()
        }
    )


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
    columns_read: list[str] = field(default_factory=list)  # "header → what it was read as"


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    cell = str(value).strip()
    return formula_unescape(cell) if cell[:1] == "'" else cell


def infer_kind_of(fields: dict) -> str:
    """A new customer's kind when the file gives none (see ``customers.importing.infer_kind``)."""
    return infer_kind(fields.get("credit_code"), fields.get("id_number"))


def _is_kind(text: str) -> bool:
    try:
        COLUMN_BY_FIELD["kind"].parse(text)
    except CellError:
        return False
    return True


def _label(key: str) -> str:
    english, chinese, _attr = COLUMNS[key]
    return f"{english} / {chinese}"


def map_application_headers(headers, rows) -> tuple[dict[int, str], dict[str, str], list[str]]:
    """(position -> key, key -> unit of its header, ignored headers with why)."""
    index = _header_index()
    mapping: dict[int, str] = {}
    units: dict[str, str] = {}
    ignored: list[str] = []
    ambiguous: list[int] = []
    for position, header in enumerate(headers):
        text = str(header or "").replace("\ufeff", "").strip()
        if not text:
            continue
        if header_key(text) in AMBIGUOUS_TYPE:
            ambiguous.append(position)
            continue
        key, unit = header_match(text, index)
        if key is None:
            ignored.append(_("%(header)s (not a column this import knows)") % {"header": text})
        elif key not in IMPORT_KEYS:
            ignored.append(_("%(header)s (export only, not imported)") % {"header": text})
        elif key in mapping.values():
            first = next(str(headers[i]).strip() for i, k in mapping.items() if k == key)
            ignored.append(
                _("%(header)s (the same as %(first)s, read from that column)") % {"header": text, "first": first}
            )
        else:
            mapping[position] = key
            units[key] = unit
    for position in ambiguous:
        text = str(headers[position]).replace("\ufeff", "").strip()
        values = {_cell_text(raw[position]) for raw in rows if position < len(raw)} - {""}
        key = "kind" if values and all(_is_kind(v) for v in values) else "industry"
        if key in mapping.values():
            key = "kind" if key == "industry" and "kind" not in mapping.values() else None
        if key is None:
            ignored.append(
                _("%(header)s (the type and the industry are already read from other columns)") % {"header": text}
            )
        else:
            mapping[position] = key
            units[key] = ""
    return mapping, units, ignored


def parse_application_rows(headers, rows, *, products, options: ImportOptions | None = None) -> ParsedApplications:
    """``products``: lower-cased code or name -> LoanProduct; ``options``: the import form's choices."""
    options = options or ImportOptions()
    mapping, units, ignored = map_application_headers(headers, rows)
    written = {key: str(headers[i]).replace("\ufeff", "").strip() for i, key in mapping.items()}
    parsed = ParsedApplications(keys=list(mapping.values()), headers=written, ignored_headers=ignored)

    factors = {}
    for key in parsed.keys:
        if key in AMOUNT_KEYS or key in REVENUE_KEYS:
            chosen = options.amount_factor if key in AMOUNT_KEYS else options.revenue_factor
            factors[key] = money_unit_factor(units.get(key, "")) or chosen
        elif key == "term_months" and units.get(key, "") in {header_key(u) for u in YEAR_UNITS}:
            factors[key] = Decimal(12)
    for key in parsed.keys:
        english, chinese, _attr = COLUMNS[key]
        read_as = chinese if (get_language() or "").startswith("zh") else english
        if key in factors and factors[key] != 1:
            read_as += " " + (_("(in years, ×12)") if key == "term_months" else _("(in 万元, ×10,000)"))
        parsed.columns_read.append(f"{written[key]} → {read_as}")

    missing = [k for k in REQUIRED_KEYS if k not in parsed.keys]
    if options.product is not None and "product" in missing:
        missing.remove("product")
    if options.term_months and "term_months" in missing:
        missing.remove("term_months")
    if missing:
        names = ", ".join(_label(k) for k in missing)
        parsed.file_errors.append(_("Missing columns: %(names)s.") % {"names": names})
    if not any(k in parsed.keys for k in IDENTITY_KEYS):
        parsed.file_errors.append(
            _("The file needs a column that finds or identifies the customer: %(names)s.")
            % {"names": ", ".join(_label(k) for k in IDENTITY_KEYS)}
        )
    if parsed.file_errors:
        return parsed
    if "city_tier" in parsed.keys and "city" not in parsed.keys:
        parsed.keys.remove("city_tier")
        mapping = {i: k for i, k in mapping.items() if k != "city_tier"}
        parsed.columns_read = [c for c in parsed.columns_read if not c.startswith(f"{written['city_tier']} →")]
        parsed.ignored_headers.append(
            _("%(header)s (a city's tier comes from the city; the file has no city column)")
            % {"header": written.pop("city_tier")}
        )

    lookups = {
        "status": _choice_lookup(LoanApplication.Status.choices),
        "industry": _industry_lookup(),
        "purpose": _choice_lookup(LoanPurpose.choices),
        "repayment_method": _choice_lookup(RepaymentMethod.choices),
        "city": _city_lookup(),
    }
    for number, raw in enumerate(rows, start=2):
        row = _Row(number, {key: raw[i] if i < len(raw) else None for i, key in mapping.items()}, written)
        clean = _parse_row(row, products=products, lookups=lookups, options=options, factors=factors)
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
        return _cell_text(self.cells.get(key))

    def fail(self, key, message, value=None) -> None:
        shown = self.text(key) if value is None else value
        self.errors.append(RowError(self.number, self.written.get(key, key), shown, str(message)))


def _scaled_money(text: str, factor) -> Decimal:
    amount = parse_money(text)
    if factor and factor != 1:
        amount = (amount * factor).quantize(_CENT, rounding=ROUND_HALF_UP)
    return amount


def _parse_row(row: _Row, *, products, lookups, options: ImportOptions, factors: dict) -> dict:
    text, fail = row.text, row.fail
    if not text("amount"):
        fail("amount", _("This value is required."))
    customer: dict = {}
    for key, name in CUSTOMER_CELLS.items():
        if not text(key):
            continue
        try:
            if key in REVENUE_KEYS:
                customer[name] = _scaled_money(text(key), factors.get(key))
            else:
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
            if text("city_tier"):
                try:
                    given = COLUMN_BY_FIELD["city_tier"].parse(text("city_tier"))
                except CellError as exc:
                    fail("city_tier", str(exc))
                else:
                    if given != city[1]:
                        fail(
                            "city_tier",
                            _("%(city)s is a tier %(tier)s city in the reference data (Admin → Cities).")
                            % {"city": text("city"), "tier": city[1]},
                        )

    clean = {"_row": row.number, "customer_fields": customer, "amount": None, "term_months": None}
    clean["given"] = {key for key in ("customer_name", "phone", "industry", "city") if text(key)}
    if text("amount"):
        try:
            clean["amount"] = _scaled_money(text("amount"), factors.get("amount"))
            if clean["amount"] <= 0:
                fail("amount", _("Must be a positive amount."))
        except CellError as exc:
            fail("amount", str(exc))
    if text("term_months"):
        try:
            clean["term_months"] = parse_count(text("term_months")) * int(factors.get("term_months", 1))
            if clean["term_months"] < 1:
                fail("term_months", _("Must be at least one month."))
        except CellError:
            fail("term_months", _("Not a whole number of months."))
    elif options.term_months:
        clean["term_months"] = options.term_months
    else:
        fail("term_months", _("This value is required (or choose a default term on the import form)."))
    if text("product"):
        clean["product"] = products.get(text("product").lower())
        if clean["product"] is None:
            fail("product", _("Unknown product."))
    elif options.product is not None:
        clean["product"] = options.product
    else:
        clean["product"] = None
        fail("product", _("This value is required (or choose a default product on the import form)."))
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


# For the import page's column table.
def application_import_columns() -> list[dict]:
    return [
        {
            "english": COLUMNS[key][0],
            "chinese": COLUMNS[key][1],
            "synonyms": [
                name for name in SYNONYMS_BY_KEY.get(key, ()) if name not in (COLUMNS[key][0], COLUMNS[key][1])
            ]
            + (["类型", "Type"] if key in ("kind", "industry") else []),
            "required": key in REQUIRED_KEYS,
        }
        for key in IMPORT_KEYS
    ]


NEW_CUSTOMER_LABEL = gettext_lazy(
    "A new customer needs this value (no customer on file has this credit code, ID number or phone)."
)
