"""Import and export of loan applications (django-import-export), English or Chinese headers.

Export writes one header language (two resources to choose from); import accepts either
language, column by column, and reports each bad row with the column and the reason.
Rows are written through ``loans.services.application_import_row``.
"""

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from import_export import fields, widgets

from customers.models import Customer, Industry
from loans.models import LoanApplication, LoanProduct, LoanPurpose, RepaymentMethod
from loansite.demo_profiles import CITIES
from loansite.errors import ApplicationError
from loansite.exports import FormulaEscapingResource
from loansite.money import money

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
# Number columns go out as numbers (number cells in XLSX).
NUMBER_WIDGETS = {
    "amount": widgets.DecimalWidget,
    "monthly_revenue": widgets.DecimalWidget,
    "monthly_cost": widgets.DecimalWidget,
    "score_probability": widgets.DecimalWidget,
    "credit_score": widgets.IntegerWidget,
    "years_in_business": widgets.IntegerWidget,
    "term_months": widgets.IntegerWidget,
    "score_points": widgets.IntegerWidget,
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
# Common Chinese names of the industries (besides their translated labels).
INDUSTRY_ALIASES = {
    "零售": "retail",
    "零售业": "retail",
    "餐饮": "catering",
    "餐饮业": "catering",
    "批发": "wholesale",
    "批发业": "wholesale",
    "制造": "manufacturing",
    "制造业": "manufacturing",
    "服务": "services",
    "服务业": "services",
    "科技": "technology",
    "农业": "agriculture",
    "运输": "transport",
    "交通运输": "transport",
}
# Extra header spellings accepted on import.
ALIASES = {"金额": "amount", "名称": "customer_name", "商户": "customer_name", "电话": "phone", "申请日期": "date"}


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


def _parse_date(value):
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


class _ApplicationResource(FormulaEscapingResource):
    LANGUAGE = "en"

    def __init__(self, actor=None, **kwargs):
        super().__init__(**kwargs)
        self.actor = actor

    class Meta:
        model = LoanApplication
        fields = ()
        import_id_fields = ()
        skip_diff = True
        force_init_instance = True
        use_transactions = True

    @classmethod
    def _build_fields(cls):
        index = 0 if cls.LANGUAGE == "en" else 1
        return {
            key: fields.Field(
                attribute=attr,
                column_name=names[index],
                readonly=key not in IMPORT_KEYS,
                widget=NUMBER_WIDGETS.get(key, widgets.Widget)(),
            )
            for key, (*names, attr) in COLUMNS.items()
        }

    def get_export_fields(self, selected_fields=None):
        return list(self.fields.values())

    def get_user_visible_fields(self):
        return list(self.fields.values())

    # --- export -------------------------------------------------------------------
    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("customer", "product")

    def dehydrate_status(self, app):
        return str(app.get_status_display())

    def dehydrate_channel(self, app):
        return str(app.get_channel_display())

    def dehydrate_industry(self, app):
        # No customer while a public application's identity is unverified.
        return str(app.customer.get_industry_display()) if app.customer_id else ""

    def dehydrate_purpose(self, app):
        return str(app.get_purpose_display())

    def dehydrate_repayment_method(self, app):
        return str(app.get_repayment_method_display())

    def dehydrate_date(self, app):
        when = app.submitted_at or app.created_at
        return timezone.localtime(when).strftime("%Y-%m-%d") if when else ""

    # --- import -------------------------------------------------------------------
    def before_import(self, dataset, **kwargs):
        lookup = _header_lookup()
        headers = [lookup.get(str(h or "").strip().lower(), str(h or "")) for h in dataset.headers]
        # Errors name the columns as the file does.
        self._original_headers = dict(zip(headers, (str(h) for h in dataset.headers), strict=True))
        missing = [k for k in REQUIRED_KEYS if k not in headers]
        if missing:
            names = ", ".join(f"{COLUMNS[k][0]} / {COLUMNS[k][1]}" for k in missing)
            raise ValidationError(_("Missing columns: %(names)s") % {"names": names})
        dataset.headers = headers
        self._products = {p.code.lower(): p for p in LoanProduct.objects.all()}
        self._products.update({p.name.lower(): p for p in LoanProduct.objects.all()})
        self._status = _choice_lookup(LoanApplication.Status.choices)
        self._industry = {**INDUSTRY_ALIASES, **_choice_lookup(Industry.choices)}
        self._purpose = _choice_lookup(LoanPurpose.choices)
        self._method = _choice_lookup(RepaymentMethod.choices)
        self._cities = {name.lower(): (name, tier) for name, tier in CITIES}
        from django.utils import translation

        from loans.forms import CITY_LABELS

        with translation.override("zh-hans"):
            for name, label in CITY_LABELS.items():
                self._cities[str(label).lower()] = (name, dict(CITIES)[name])
        self._fields_by_key = {key: COLUMNS[key] for key in COLUMNS}

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        return  # import_instance parses the whole row itself

    def _header(self, key):
        if key in getattr(self, "_original_headers", {}):
            return self._original_headers[key]
        english, chinese, _attr = COLUMNS[key]
        return english if self.LANGUAGE == "en" else chinese

    def import_instance(self, instance, row, **kwargs):
        errors, cleaned = {}, {}

        def value(key):
            raw = row.get(key)
            return "" if raw is None else str(raw).strip()

        def fail(key, message):
            errors.setdefault(self._header(key), []).append(str(message))

        for key in REQUIRED_KEYS:
            if not value(key):
                fail(key, _("This column is required."))
        try:
            cleaned["amount"] = money(value("amount")) if value("amount") else None
            if cleaned["amount"] is not None and cleaned["amount"] <= 0:
                fail("amount", _("Must be a positive amount."))
        except ValueError:
            fail("amount", _("Not a number."))
        try:
            cleaned["term_months"] = int(Decimal(value("term_months"))) if value("term_months") else None
            if cleaned["term_months"] is not None and cleaned["term_months"] < 1:
                fail("term_months", _("Must be at least one month."))
        except (InvalidOperation, ValueError):
            fail("term_months", _("Not a whole number of months."))
        product = self._products.get(value("product").lower())
        if value("product") and product is None:
            fail("product", _("Unknown product."))
        cleaned["product"] = product
        status = self._status.get(value("status").lower()) if value("status") else LoanApplication.Status.SUBMITTED
        if status is None:
            fail("status", _("Unknown status."))
        cleaned["status"] = status
        industry = self._industry.get(value("industry").lower())
        if value("industry") and industry is None:
            fail("industry", _("Unknown industry."))
        city = self._cities.get(value("city").lower())
        if value("city") and city is None:
            fail("city", _("Unknown city."))
        cleaned["purpose"] = self._purpose.get(value("purpose").lower(), "") if value("purpose") else ""
        cleaned["repayment_method"] = (
            self._method.get(value("repayment_method").lower(), "") if value("repayment_method") else ""
        )
        cleaned["on"] = None
        if value("date"):
            try:
                cleaned["on"] = _parse_date(row.get("date"))
            except ValueError:
                fail("date", _("Not a date (use YYYY-MM-DD)."))
        customer = {
            "name": value("customer_name"),
            "phone": value("phone"),
            "industry": industry,
            "kind": Customer.Kind.ENTERPRISE if value("credit_code") else Customer.Kind.INDIVIDUAL,
        }
        if city:
            customer["city"], customer["city_tier"] = city
        if value("credit_code"):
            customer["credit_code"] = value("credit_code")
        if value("id_number"):
            customer["id_number"] = value("id_number")
        for key, cast in (
            ("credit_score", int),
            ("years_in_business", int),
            ("monthly_revenue", money),
            ("monthly_cost", money),
        ):
            if value(key):
                try:
                    number = cast(Decimal(value(key))) if cast is int else cast(value(key))
                except (InvalidOperation, ValueError):
                    fail(key, _("Not a number."))
                    continue
                if number < 0:
                    fail(key, _("Must not be negative."))
                customer[key] = number
        cleaned["customer_fields"] = customer
        if errors:
            raise ValidationError(errors)
        instance._import = cleaned

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        if import_validation_errors:
            raise ValidationError(import_validation_errors)

    def save_instance(self, instance, is_create, row, **kwargs):
        from loans.services import application_import_row

        try:
            app = application_import_row(actor=self.actor, **instance._import)
        except ApplicationError as exc:
            errors = {}
            for field, msgs in (exc.extra.get("errors") or {}).items():
                key = {"name": "customer_name"}.get(field, field)
                header = self._header(key) if key in COLUMNS else NON_FIELD_ERRORS
                errors.setdefault(header, []).extend(map(str, msgs if isinstance(msgs, list | tuple) else [msgs]))
            if not errors:
                errors[NON_FIELD_ERRORS] = [str(exc.message)]
            raise ValidationError(errors)
        instance.pk = app.pk
        instance.reference = app.reference
        instance.__dict__.update({k: v for k, v in app.__dict__.items() if not k.startswith("_")})

    def save_m2m(self, instance, row, **kwargs):
        return


class ApplicationResourceEnglish(_ApplicationResource):
    LANGUAGE = "en"

    @classmethod
    def get_display_name(cls):
        return _("Applications (English headers)")


class ApplicationResourceChinese(_ApplicationResource):
    LANGUAGE = "zh"

    @classmethod
    def get_display_name(cls):
        return _("Applications (Chinese headers)")


for _cls in (ApplicationResourceEnglish, ApplicationResourceChinese):
    _cls.fields = _cls._build_fields()
