"""The customer book: list, filters, change page, import, reassignment and matching views."""

from decimal import Decimal

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportMixin

from audit.admin_mixins import AuditedExportMixin, AuditedModelAdmin, ReadOnlyAdminMixin
from customers.admin.common import breakdown_table
from customers.admin.imports import import_page
from customers.admin.reference import CustomerCityFilter, CustomerIndustryFilter
from customers.forms import (
    CustomerAdminForm,
    MatchingForm,
    ReassignForm,
)
from customers.importing import COLUMNS, parse_rows
from customers.masking import customer_identifiers_viewed, identifiers_visible, mask_id_number, mask_phone
from customers.models import (
    Assignment,
    CreditLine,
    Customer,
    ImportJob,
    ImportUpload,
    RelationshipManager,
)
from customers.resources import CustomerChineseResource, CustomerResource
from customers.selectors import assignment_current
from customers.services import (
    customer_create,
    customer_import,
    customer_import_async_rows,
    customer_import_max_rows,
    customer_reassign,
    customer_update,
    customers_reassign_many,
    matching_run_start,
)
from customers.services.customers import GOVERNED_FIELDS, RATING_FIELDS, customer_can_rate
from customers.validators import normalize_credit_code, normalize_mobile_phone
from loansite.admin_progress import ProgressRefreshMixin
from loansite.admin_selection import selection_confirmed, selection_of
from loansite.errors import ApplicationError
from loansite.exports import SpreadsheetExportMixin
from loansite.formatting import format_money, format_percent, format_ratio, money_column
from loansite.scoping import ScopedAdminMixin


class RevenueRangeFilter(admin.SimpleListFilter):
    title = _("monthly revenue")
    parameter_name = "revenue"
    RANGES = {
        "lt50k": (None, Decimal("50000")),
        "50k-100k": (Decimal("50000"), Decimal("100000")),
        "100k-300k": (Decimal("100000"), Decimal("300000")),
        "300k-1m": (Decimal("300000"), Decimal("1000000")),
        "gte1m": (Decimal("1000000"), None),
    }

    def lookups(self, request, model_admin):
        return [
            ("lt50k", _("under 50,000")),
            ("50k-100k", _("50,000 - 100,000")),
            ("100k-300k", _("100,000 - 300,000")),
            ("300k-1m", _("300,000 - 1,000,000")),
            ("gte1m", _("1,000,000 and over")),
        ]

    def queryset(self, request, queryset):
        bounds = self.RANGES.get(self.value())
        if bounds is None:
            return queryset
        low, high = bounds
        if low is not None:
            queryset = queryset.filter(monthly_revenue__gte=low)
        if high is not None:
            queryset = queryset.filter(monthly_revenue__lt=high)
        return queryset


class CreditLineInline(admin.TabularInline):
    model = CreditLine
    fields = ["limit_cny", "used_cny", "available", "valid_from", "valid_to", "status", "created_by"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    limit_cny = money_column("limit", _("limit"))
    used_cny = money_column("used", _("used"))

    @admin.display(description=_("available"))
    def available(self, obj):
        return format_money(obj.available)


class AssignmentInline(admin.TabularInline):
    model = Assignment
    fk_name = "customer"
    verbose_name_plural = _("assignment history")
    fields = ["created_at", "manager", "previous_manager", "kind", "score", "reason", "assigned_by", "is_current"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-created_at", "-id"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("manager__user", "previous_manager__user", "assigned_by")


@admin.register(Customer)
class CustomerAdmin(
    ScopedAdminMixin, SpreadsheetExportMixin, AuditedExportMixin, ExportMixin, AuditedModelAdmin, admin.ModelAdmin
):
    # An officer's own book only (loansite/scoping.py); others' customers answer 404.
    scope_path = ""
    form = CustomerAdminForm
    resource_classes = [CustomerResource, CustomerChineseResource]
    change_form_template = "admin/customers/customer/change_form.html"
    change_list_template = "admin/customers/customer/change_list.html"
    list_display = [
        "name_short",
        "kind",
        "industry_name",
        "city_name",
        "city_tier",
        "rating",
        "monthly_revenue_cny",
        "manager",
        "tag_list",
    ]
    list_display_links = ["name_short"]
    list_filter = [
        "kind",
        CustomerIndustryFilter,
        "city_tier",
        CustomerCityFilter,
        "rating",
        ("tags", admin.RelatedOnlyFieldListFilter),
        ("manager", admin.RelatedOnlyFieldListFilter),
        RevenueRangeFilter,
    ]
    search_fields = ["name", "=credit_code", "=id_number", "=phone"]
    list_select_related = ["manager__user"]
    show_full_result_count = False
    list_per_page = 50
    filter_horizontal = ["tags", "needs", "interests"]
    readonly_fields = ["manager", "debt_ratio", "current_ratio", "net_margin", "match_breakdown", "created_at"]
    inlines = [CreditLineInline, AssignmentInline]
    actions = ["reassign_selected"]
    fieldsets = [
        (None, {"fields": ["kind", "name", "credit_code", "id_number", "phone", "email", "address"]}),
        (_("Location and business"), {"fields": ["city", "city_tier", "industry", "years_in_business", "employees"]}),
        (
            _("Operations"),
            {"fields": ["area_m2", "monthly_revenue", "monthly_cost", "monthly_foot_traffic", "credit_score"]},
        ),
        (
            _("Financials"),
            {
                "fields": [
                    "total_assets",
                    "total_liabilities",
                    "current_assets",
                    "current_liabilities",
                    "net_profit",
                    "annual_revenue",
                    "debt_ratio",
                    "current_ratio",
                    "net_margin",
                ]
            },
        ),
        (_("Internal rating"), {"fields": ["rating", "rating_date", "rating_source"]}),
        (_("Profile"), {"fields": ["tags", "needs", "interests", "notes"]}),
        (_("Relationship manager"), {"fields": ["manager", "match_breakdown"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tags")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        # The duplicate check links the other customer only for someone who may view it.
        return type(form.__name__, (form,), {"request_user": request.user})

    # Money fields as money (¥1,250,000.00) on the page of someone who may only read it.
    MONEY_FIELDS = (
        "monthly_revenue",
        "monthly_cost",
        "total_assets",
        "total_liabilities",
        "current_assets",
        "current_liabilities",
        "net_profit",
        "annual_revenue",
    )

    # ID and phone numbers masked for users without customers.view_identifiers.
    MASKED_FIELDS = {"id_number": "id_number_masked", "phone": "phone_masked"}

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        masked = {} if identifiers_visible(request.user) else self.MASKED_FIELDS
        if obj is None or self.has_change_permission(request, obj):
            if not masked:
                return fieldsets
            return [
                (title, {**options, "fields": [masked.get(name, name) for name in options["fields"]]})
                for title, options in fieldsets
            ]
        shown = {**{name: f"{name}_cny" for name in self.MONEY_FIELDS}, **masked}
        return [
            (title, {**options, "fields": [shown.get(name, name) for name in options["fields"]]})
            for title, options in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        # The rating and the bureau score are shown to everyone, set only by raters.
        readonly = list(super().get_readonly_fields(request, obj))
        if not customer_can_rate(request.user):
            readonly += [name for name in RATING_FIELDS if name not in readonly]
        # The internal rating changes on its own page (with a reason), never in this form.
        readonly += [name for name in GOVERNED_FIELDS if name not in readonly]
        if not identifiers_visible(request.user):
            readonly += list(self.MASKED_FIELDS.values())
        return readonly

    def get_export_resource_kwargs(self, request, **kwargs):
        return {
            **super().get_export_resource_kwargs(request, **kwargs),
            "identifiers_full": identifiers_visible(request.user),
        }

    @admin.display(description=_("owner's resident ID number"))
    def id_number_masked(self, obj):
        return mask_id_number(obj.id_number) or "—"

    @admin.display(description=_("mobile phone"))
    def phone_masked(self, obj):
        return mask_phone(obj.phone) or "—"

    def get_search_results(self, request, queryset, search_term):
        # Codes and phones are matched exactly (indexed), whichever way they were typed.
        term = search_term.strip()
        phone, code = normalize_mobile_phone(term), normalize_credit_code(term)
        if len(phone) == 11 and phone.isdigit():
            search_term = phone
        elif len(code) == 18 and code.isalnum() and code.isascii():
            search_term = code
        return super().get_search_results(request, queryset, search_term)

    monthly_revenue_cny = money_column("monthly_revenue", _("monthly revenue"))
    monthly_cost_cny = money_column("monthly_cost", _("monthly cost"))
    total_assets_cny = money_column("total_assets", _("total assets"))
    total_liabilities_cny = money_column("total_liabilities", _("total liabilities"))
    current_assets_cny = money_column("current_assets", _("current assets"))
    current_liabilities_cny = money_column("current_liabilities", _("current liabilities"))
    net_profit_cny = money_column("net_profit", _("net profit"))
    annual_revenue_cny = money_column("annual_revenue", _("annual revenue"))

    @admin.display(description=_("name"), ordering="name")
    def name_short(self, obj):
        # One line, cut with an ellipsis; the whole name on hover.
        return format_html('<span class="cell-truncate" title="{}">{}</span>', obj.name, obj.name)

    @admin.display(description=_("industry"), ordering="industry")
    def industry_name(self, obj):
        return obj.get_industry_display()

    @admin.display(description=_("city"), ordering="city")
    def city_name(self, obj):
        return obj.get_city_display()

    @admin.display(description=_("tags"))
    def tag_list(self, obj):
        # The colour as an SVG fill, not a style attribute (Content-Security-Policy).
        return format_html_join(
            " ",
            '<span class="tag-chip"><svg class="tag-dot" width="10" height="10" aria-hidden="true">'
            '<circle cx="5" cy="5" r="5" fill="{}"></circle></svg>{}</span>',
            ((tag.colour, str(tag)) for tag in obj.tags.all()),
        )

    @admin.display(description=_("debt ratio"))
    def debt_ratio(self, obj):
        return format_percent(obj.debt_ratio if obj.pk else None)

    @admin.display(description=_("current ratio"))
    def current_ratio(self, obj):
        return format_ratio(obj.current_ratio if obj.pk else None)

    @admin.display(description=_("net margin"))
    def net_margin(self, obj):
        return format_percent(obj.net_margin if obj.pk else None)

    @admin.display(description=_("match score breakdown"))
    def match_breakdown(self, obj):
        current = assignment_current(customer=obj) if obj.pk else None
        if current is None:
            return _("Not assigned yet.")
        return format_html(
            "<p>{}: <strong>{}</strong> ({})</p>{}",
            current.manager,
            current.score,
            current.get_kind_display(),
            breakdown_table(current.components or {}),
        )

    # -- writes go through the services --------------------------------------------------------

    def _service_fields(self, form) -> dict:
        names = [f for f in form.cleaned_data if f in {f.name for f in Customer._meta.get_fields()}]
        return {name: form.cleaned_data[name] for name in names if name not in ("manager",)}

    def save_model(self, request, obj, form, change):
        fields = self._service_fields(form)
        try:
            if change:
                customer_update(actor=request.user, customer=obj, **fields)
            else:
                obj.pk = customer_create(actor=request.user, **fields).pk
        except ApplicationError as exc:
            raise PermissionDenied(str(exc.message)) from exc
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        # Many-to-many fields were set by the service; only inline formsets remain.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    # -- custom views --------------------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_view), name="customers_customer_import"),
            path(
                "import/template/<str:language>/<str:file_format>/",
                view(self.import_template_view),
                name="customers_customer_import_template",
            ),
            path("run-matching/", view(self.matching_view), name="customers_customer_matching"),
            path("<int:pk>/reassign/", view(self.reassign_view), name="customers_customer_reassign"),
            *super().get_urls(),
        ]

    def has_import_permission(self, request):
        return request.user.has_perm("customers.import_customer")

    def has_export_permission(self, request):
        # The permission of its own, not django-import-export's default (anyone who may view).
        return request.user.has_perm("customers.export_customer")

    def has_reassign_permission(self, request):
        return request.user.has_perm("customers.reassign_customer")

    def has_matching_permission(self, request):
        return request.user.has_perm("customers.run_matching")

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_import": self.has_import_permission(request),
            "can_match": self.has_matching_permission(request),
        }
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_reassign": self.has_reassign_permission(request),
            **self._overview_context(request, object_id),
        }
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200 and identifiers_visible(request.user):
            # Each page that shows a full ID number is on the record.
            customer = self.get_queryset(request).filter(pk=object_id).first() if str(object_id).isdigit() else None
            if customer is not None:
                customer_identifiers_viewed(actor=request.user, customer=customer, where="admin")
        return response

    def _overview_context(self, request, object_id) -> dict:
        """The customer's applications, decisions, credit line and exposure (loans they may view)."""
        if not request.user.has_perm("loans.view_loanapplication"):
            return {}
        from customers.selectors import credit_line_active
        from loans.selectors.overview import customer_overview

        customer = self.get_queryset(request).filter(pk=object_id).first() if str(object_id).isdigit() else None
        if customer is None:
            return {}
        return {
            "overview": customer_overview(customer=customer),
            "overview_line": credit_line_active(customer=customer),
        }

    def _render(self, request, template, title, **context):
        return TemplateResponse(
            request,
            template,
            {**self.admin_site.each_context(request), "opts": self.model._meta, "title": title, **context},
        )

    @admin.action(description=_("Reassign selected customers to a manager"), permissions=["reassign"])
    def reassign_selected(self, request, queryset):
        """Confirmation page shaped like delete_selected; acts only on the confirmed POST."""
        selection = selection_of(request, queryset.values_list("pk", flat=True))
        confirmed = bool(request.POST.get("confirm")) and selection_confirmed(self, request, selection)
        form = ReassignForm(request.POST if confirmed else None)
        if confirmed and form.is_valid():
            try:
                moved = customers_reassign_many(
                    customers=list(queryset),
                    manager=form.cleaned_data["manager"],
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except ApplicationError as exc:
                messages.error(request, _("Nothing was changed: %(error)s") % {"error": exc.message})
            else:
                messages.success(request, _("%(n)s customers reassigned.") % {"n": len(moved)})
            return None
        return self._render(
            request,
            "admin/customers/customer/reassign_selected.html",
            _("Reassign selected customers"),
            form=form,
            queryset=queryset,
            selection=selection,
        )

    def reassign_view(self, request, pk):
        if not self.has_reassign_permission(request):
            raise PermissionDenied
        customer = get_object_or_404(self.get_queryset(request), pk=pk)
        form = ReassignForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                assignment = customer_reassign(
                    customer=customer,
                    manager=form.cleaned_data["manager"],
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except ApplicationError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(
                    request,
                    _("%(customer)s is now with %(manager)s.") % {"customer": customer, "manager": assignment.manager},
                )
                return HttpResponseRedirect(reverse("admin:customers_customer_change", args=[customer.pk]))
        return self._render(
            request,
            "admin/customers/customer/reassign.html",
            _("Reassign %(customer)s") % {"customer": customer},
            form=form,
            original=customer,
            current=assignment_current(customer=customer),
        )

    def matching_view(self, request):
        if not self.has_matching_permission(request):
            raise PermissionDenied
        form = MatchingForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                run = matching_run_start(actor=request.user, scope=form.cleaned_data["scope"])
            except ApplicationError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("Matching run queued; this page shows its progress."))
                return HttpResponseRedirect(reverse("admin:customers_matchingrun_change", args=[run.pk]))
        return self._render(
            request,
            "admin/customers/customer/matching.html",
            _("Run manager matching"),
            form=form,
            unassigned=Customer.objects.filter(manager__isnull=True).count(),
            managers=RelationshipManager.objects.filter(active=True).count(),
        )

    def import_view(self, request):
        """Check the file (nothing written), then confirm; big files are imported by a worker."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        return import_page(
            request,
            model_admin=self,
            kind=ImportUpload.Kind.CUSTOMERS,
            title=_("Import customers"),
            columns=COLUMNS,
            max_rows=customer_import_max_rows(),
            async_rows=customer_import_async_rows(),
            check=self._import_check,
            run=self._import_run,
            template_url_name="admin:customers_customer_import_template",
        )

    def import_template_view(self, request, language, file_format):
        """A CSV or XLSX file with the import's headers and one example row (import permission only)."""
        from customers.import_templates import customer_import_template_columns
        from loansite.import_templates import import_template_response

        if not self.has_import_permission(request):
            raise PermissionDenied
        return import_template_response(
            name="customers", columns=customer_import_template_columns(), language=language, file_format=file_format
        )

    def _import_check(self, request, table, *, history=False):
        report = customer_import(parsed=parse_rows(table.headers, table.rows), actor=request.user, commit=False)
        return report, _("%(new)s new, %(updated)s to update, %(invalid)s rows with errors.") % {
            "new": report.new,
            "updated": report.updated,
            "invalid": report.invalid_rows,
        }

    def _import_run(self, request, table, upload, *, skip_invalid, history=False):
        report = customer_import(
            parsed=parse_rows(table.headers, table.rows),
            actor=request.user,
            skip_invalid=skip_invalid,
            file_name=upload.file_name,
            file_sha256=upload.sha256,
        )
        message = _("Imported %(new)s new and %(updated)s updated customers.") % {
            "new": report.new,
            "updated": report.updated,
        }
        return report, message


@admin.register(ImportJob)
class ImportJobAdmin(ProgressRefreshMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    change_form_template = "admin/customers/importjob/change_form.html"
    list_display = [
        "created_at",
        "kind",
        "file_name",
        "status",
        "progress",
        "new",
        "updated",
        "invalid_rows",
        "created_by",
    ]
    list_filter = ["kind", "status", "history"]
    list_select_related = ["created_by"]
    readonly_fields = [
        "kind",
        "file_name",
        "file_sha256",
        "history",
        "status",
        "progress",
        "new",
        "updated",
        "invalid_rows",
        "skip_invalid",
        "created_by",
        "created_at",
        "finished_at",
        "notices",
        "error_table",
    ]
    exclude = ["report", "file_format", "task_id", "upload", "total_rows", "processed"]

    def has_view_permission(self, request, obj=None):
        # Whoever started an import follows its progress, whatever else they may view.
        own = obj is not None and obj.created_by_id == request.user.pk
        return own or super().has_view_permission(request, obj)

    @admin.display(description=_("progress"))
    def progress(self, obj):
        return _("%(done)s of %(total)s rows (%(percent)s%%)") % {
            "done": obj.processed,
            "total": obj.total_rows,
            "percent": obj.percent,
        }

    @admin.display(description=_("notices"))
    def notices(self, obj):
        return format_html_join("", "<p>{}</p>", ((notice,) for notice in (obj.report or {}).get("notices", [])))

    @admin.display(description=_("errors"))
    def error_table(self, obj):
        report = obj.report or {}
        if report.get("error"):
            return report["error"]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((e["row"], e["column"], e["value"], e["message"]) for e in report.get("errors", [])),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("Row"),
            _("Column"),
            _("Value"),
            _("Error"),
            rows,
        )
