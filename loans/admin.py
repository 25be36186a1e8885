"""The approval workbench: products, authorities and the application queue in the admin.

Admin classes configure lists and forms; every state change is a call to a service in
``loans.services`` (per-object buttons in ``admin_views``, batch actions below).
"""

from django.contrib import admin, messages
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.urls import path
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportActionMixin
from import_export.formats.base_formats import CSV, XLSX

from audit.admin_mixins import AuditedExportMixin, AuditedModelAdmin
from loans import admin_views
from loans.admin_filters import (
    AmountFreeRangeFilter,
    AmountRangeFilter,
    CappedCountPaginator,
    CityFilter,
    CreditScoreFreeRangeFilter,
    IndustryFilter,
    MyWorkFilter,
    QueueStatusFilter,
    ScoreRangeFilter,
    SubmittedFreeRangeFilter,
)
from loans.forms import ApplicationAdminForm
from loans.models import ApprovalAuthority, ApprovalDecision, Channel, LoanApplication, LoanProduct
from loans.resources import ApplicationResourceChinese, ApplicationResourceEnglish
from loans.selectors import application_awaiting_second_condition
from loans.services import EDITABLE_FIELDS, application_create, application_update
from loansite.errors import ApplicationError
from loansite.exports import SpreadsheetExportMixin
from loansite.formatting import format_date, format_datetime, format_money, format_percent, money_column
from loansite.scoping import ScopedAdminMixin


@admin.register(LoanProduct)
class LoanProductAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "purpose",
        "min_amount_display",
        "max_amount_display",
        "min_term_months",
        "max_term_months",
        "annual_rate_min",
        "annual_rate_max",
        "active",
    )
    list_filter = ("active", "purpose")
    search_fields = ("code", "name")
    min_amount_display = money_column("min_amount", _("minimum amount"))
    max_amount_display = money_column("max_amount", _("maximum amount"))


@admin.register(ApprovalAuthority)
class ApprovalAuthorityAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("__str__", "user", "group", "limit_display", "active", "updated_at")
    limit_display = money_column("limit", _("approval limit"))
    list_filter = ("active", "group")
    list_select_related = ("user", "group")
    raw_id_fields = ("user",)
    search_fields = ("user__username", "group__name")


class ApprovalDecisionInline(admin.TabularInline):
    model = ApprovalDecision
    verbose_name_plural = _("decision history")
    fields = (
        "created_at",
        "decider",
        "kind",
        "review_round",
        "amount_display",
        "authority_display",
        "outcome",
        "reason",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("decider")

    @admin.display(description=_("amount"))
    def amount_display(self, obj):
        return format_money(obj.amount)

    @admin.display(description=_("authority at the time"))
    def authority_display(self, obj):
        return format_money(obj.authority_limit)

    @admin.display(description=_("outcome"))
    def outcome(self, obj):
        """Only decisions that end a review are final; steps (starting a review, returning for
        information, verifying an identity) are not, and a first approval above authority waits."""
        kinds = ApprovalDecision.Kind
        if obj.kind == kinds.APPROVE and not obj.final:
            return _("awaiting second approval")
        if obj.kind in (kinds.REVIEW, kinds.RETURN, kinds.VERIFY_IDENTITY):
            return _("step")
        return _("final decision")


@admin.register(LoanApplication)
class LoanApplicationAdmin(
    ScopedAdminMixin, SpreadsheetExportMixin, AuditedExportMixin, ExportActionMixin, admin.ModelAdmin
):
    # An officer's own book only (loansite/scoping.py): lists, pages, exports, batch actions.
    scope_path = "customer"
    form = ApplicationAdminForm
    # Export through django-import-export; imports through our own page (services, uploads, limits).
    import_export_change_list_template = "admin/loans/loanapplication/change_list_import_export.html"
    change_form_template = "admin/loans/loanapplication/change_form.html"
    show_change_form_export = False
    resource_classes = [ApplicationResourceEnglish, ApplicationResourceChinese]
    formats = [CSV, XLSX]

    list_display = (
        "reference",
        "submitted",
        "customer_name",
        "industry_city",
        "product_code",
        "amount_cny",
        "score",
        "flags",
        "status",
        "channel",
        "reviewer_short",
    )
    list_display_links = ("reference",)
    list_filter = (
        QueueStatusFilter,
        MyWorkFilter,
        "product",
        IndustryFilter,
        CityFilter,
        "channel",
        AmountRangeFilter,
        AmountFreeRangeFilter,
        ScoreRangeFilter,
        "score_grade",
        CreditScoreFreeRangeFilter,
        ("submitted_at", admin.DateFieldListFilter),
        SubmittedFreeRangeFilter,
    )
    search_fields = ("=reference", "customer__name", "=customer__credit_code", "=customer__phone")
    search_help_text = _("Reference number, customer name, credit code or phone.")
    ordering = ("submitted_at", "id")
    # Related rows come by prefetch (three small queries per page): a join lets the
    # database start from the customers and sort a million rows for one page.
    list_select_related = ()
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50
    # Search-as-you-type (the customer admin's search; only for users who may view customers).
    autocomplete_fields = ("customer",)
    inlines = [ApprovalDecisionInline]
    actions = ["batch_review", "batch_approve", "batch_reject", "batch_assign"]

    fieldsets = (
        (
            _("Request"),
            {
                "fields": (
                    "customer",
                    "product",
                    "amount",
                    "term_months",
                    "purpose",
                    "repayment_method",
                    "contact_phone",
                    "notes",
                )
            },
        ),
        (
            _("Status"),
            {
                "fields": (
                    "reference",
                    "status",
                    "channel",
                    "created_by",
                    "submitted_by",
                    "submitted_at",
                    "reviewer",
                    "decided_by",
                    "decided_at",
                    "decision_reason_shown",
                )
            },
        ),
        (
            _("Score"),
            {"fields": ("score_probability_pct", "score_points", "score_grade", "score_model_version", "scored_at")},
        ),
    )
    STATUS_FIELDS = (
        "reference",
        "status",
        "channel",
        "created_by",
        "submitted_by",
        "submitted_at",
        "reviewer",
        "decided_by",
        "decided_at",
        "decision_reason_shown",
        "score_probability_pct",
        "score_points",
        "score_grade",
        "score_model_version",
        "scored_at",
    )

    # --- list columns ------------------------------------------------------------
    amount_cny = money_column("amount", _("amount"))

    @admin.display(description=_("probability of default"))
    def score_probability_pct(self, obj):
        return format_percent(obj.score_probability)

    @admin.display(description=_("submitted"), ordering="submitted_at")
    def submitted(self, obj):
        """The day (the time on hover): the queue's age at a glance in a narrow column."""
        if obj.submitted_at is None:
            return "—"
        return format_html(
            '<span title="{}">{}</span>', format_datetime(obj.submitted_at), format_date(obj.submitted_at)
        )

    @admin.display(description=_("score"), ordering="score_points")
    def score(self, obj):
        """Grade and points in one narrow column: "B 690"."""
        if not obj.score_grade and obj.score_points is None:
            return "—"
        return format_html(
            '<span class="score-grade grade-{}">{}</span> <span class="num">{}</span>',
            obj.score_grade or "none",
            obj.score_grade or "—",
            obj.score_points if obj.score_points is not None else "—",
        )

    @admin.display(description=_("reviewer"), ordering="reviewer__username")
    def reviewer_short(self, obj):
        if obj.reviewer is None:
            return "—"
        name = obj.reviewer.get_full_name() or obj.reviewer.get_username()
        return format_html('<span class="cell-truncate cell-narrow" title="{}">{}</span>', name, name)

    @admin.display(description=_("decision reason"))
    def decision_reason_shown(self, obj):
        """The decision's reason, or for a returned application what the reviewer asked for."""
        if obj.pk and obj.status == LoanApplication.Status.RETURNED:
            returned = admin_views.application_return_decision(obj)
            if returned is not None:
                return _("Returned for information: %(reason)s") % {"reason": returned.reason}
        return obj.decision_reason or "—"

    @admin.display(description=_("customer"), ordering="customer__name")
    def customer_name(self, obj):
        if obj.customer is None:
            # Not linked to anyone until the identity is verified: the name as given.
            name = _("%(name)s (identity not verified)") % {"name": (obj.claimed_identity or {}).get("name", "-")}
        else:
            name = obj.customer.name
        # One line, cut with an ellipsis; the whole name on hover.
        return format_html('<span class="cell-truncate" title="{}">{}</span>', name, name)

    @admin.display(description=_("industry"))
    def industry(self, obj):
        return obj.customer.get_industry_display() if obj.customer is not None else ""

    @admin.display(description=_("city"))
    def city(self, obj):
        # In the reader's language (北京 / Beijing), from the reference table.
        return obj.customer.get_city_display() if obj.customer is not None else ""

    @admin.display(description=_("industry · city"))
    def industry_city(self, obj):
        """One narrow column for both (each keeps its own filter)."""
        if obj.customer is None:
            return "—"
        text = f"{self.industry(obj)} · {self.city(obj)}"
        return format_html('<span class="cell-truncate cell-narrow" title="{}">{}</span>', text, text)

    @admin.display(description=_("product"), ordering="product__code")
    def product_code(self, obj):
        return obj.product.code

    @admin.display(description=_("risk flags"))
    def flags(self, obj):
        # Flags set on the application, and the customer's active risk events (prefetched).
        from risk.selectors import risk_flag_labels, risk_rule_label

        flags = [("flag", risk_rule_label(flag)) for flag in obj.risk_flags or []] + risk_flag_labels(obj.customer)
        if getattr(obj, "awaiting_second", False) and obj.status == LoanApplication.Status.UNDER_REVIEW:
            flags.insert(0, ("second-approval", _("2nd approval"), _("awaiting second approval")))
        if not flags:
            return ""
        chips = ((flag[0], flag[2] if len(flag) > 2 else flag[1], flag[1]) for flag in flags)
        return format_html_join(" ", '<span class="loan-flag risk-level-{}" title="{}">{}</span>', chips)

    def get_queryset(self, request):
        from risk.selectors import risk_flags_prefetch

        return (
            super()
            .get_queryset(request)
            .annotate(awaiting_second=application_awaiting_second_condition())
            .prefetch_related("customer", risk_flags_prefetch(), "product", "reviewer")
        )

    def get_search_results(self, request, queryset, search_term):
        """Reference, or the customer's name / credit code / phone (through a subquery, not a join)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        from customers.models import Customer

        customers = Customer.objects.filter(
            Q(name__icontains=term) | Q(credit_code=term.upper()) | Q(phone=term)
        ).values("pk")
        return queryset.filter(Q(reference=term.upper()) | Q(customer_id__in=customers)), False

    # --- permissions (roles) -----------------------------------------------------
    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        if obj is not None and obj.status not in LoanApplication.EDITABLE:
            return False
        return allowed

    def has_delete_permission(self, request, obj=None):
        return False  # applications are withdrawn or cancelled, never deleted

    def has_review_permission(self, request):
        return request.user.has_perm("loans.review_loanapplication")

    def has_approve_permission(self, request):
        return request.user.has_perm("loans.approve_loanapplication")

    def has_import_permission(self, request):
        return request.user.has_perms(["loans.import_loanapplication", "loans.add_loanapplication"])

    def has_export_permission(self, request):
        return request.user.has_perm("loans.export_loanapplication")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.STATUS_FIELDS
        return ("customer", *self.STATUS_FIELDS)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.fieldsets[:1]
        if obj.status not in LoanApplication.EDITABLE:
            # Read only: the amount as money, not as an input's raw number.
            return tuple(
                (title, {**options, "fields": tuple("amount_cny" if f == "amount" else f for f in options["fields"])})
                for title, options in self.fieldsets
            )
        return self.fieldsets

    # --- writes go through the services ------------------------------------------
    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            updates = {name: data[name] for name in form.changed_data if name in EDITABLE_FIELDS}
            saved = application_update(actor=request.user, application=obj, **updates) if updates else obj
        else:
            saved = application_create(
                actor=request.user,
                customer=data["customer"],
                product=data["product"],
                amount=data["amount"],
                term_months=data["term_months"],
                purpose=data["purpose"],
                repayment_method=data["repayment_method"],
                contact_phone=data.get("contact_phone") or "",
                notes=data.get("notes") or "",
                channel=Channel.BRANCH,
            )
        obj.pk = saved.pk
        obj.__dict__.update({k: v for k, v in saved.__dict__.items() if not k.startswith("_")})

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # A domain error from the service (e.g. someone submitted it meanwhile) is a message.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as exc:
            self.message_user(request, str(exc.message), level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def get_inline_instances(self, request, obj=None):
        return super().get_inline_instances(request, obj) if obj is not None else []

    # --- per-object buttons -----------------------------------------------------
    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        custom = [
            path(
                "<path:object_id>/decide/<str:action>/",
                self.admin_site.admin_view(self.decide_view),
                name=f"{info[0]}_{info[1]}_decide",
            ),
            path("import/", self.admin_site.admin_view(self.import_view), name=f"{info[0]}_{info[1]}_import"),
            path(
                "import/template/<str:language>/<str:file_format>/",
                self.admin_site.admin_view(self.import_template_view),
                name=f"{info[0]}_{info[1]}_import_template",
            ),
        ]
        return custom + super().get_urls()

    def import_view(self, request):
        return admin_views.application_import_view(self, request)

    def import_template_view(self, request, language, file_format):
        return admin_views.application_import_template_view(self, request, language, file_format)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "has_import_permission": self.has_import_permission(request)}
        return super().changelist_view(request, extra_context)

    def decide_view(self, request, object_id, action):
        return admin_views.application_decide_view(self, request, object_id, action)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), **admin_views.application_page_context(self, request, object_id)}
        return super().change_view(request, object_id, form_url, extra_context=extra_context)

    # --- batch actions (confirmation page shaped like delete_selected) -----------
    @admin.action(description=_("Start review of selected applications"), permissions=["review"])
    def batch_review(self, request, queryset):
        return admin_views.application_batch_view(self, request, queryset, "review")

    @admin.action(description=_("Approve selected applications"), permissions=["approve"])
    def batch_approve(self, request, queryset):
        return admin_views.application_batch_view(self, request, queryset, "approve")

    @admin.action(description=_("Reject selected applications"), permissions=["approve"])
    def batch_reject(self, request, queryset):
        return admin_views.application_batch_view(self, request, queryset, "reject")

    @admin.action(description=_("Assign a reviewer to selected applications"), permissions=["review"])
    def batch_assign(self, request, queryset):
        return admin_views.application_batch_view(self, request, queryset, "assign")

    def message_domain_error(self, request, exc):
        self.message_user(request, str(exc.message), level=messages.ERROR)


# Servicing and security pages register themselves (their own modules).
from loans import (  # noqa: E402, F401
    admin_automation,
    admin_collections,
    admin_delinquency,
    admin_documents,
    admin_security,
    admin_servicing,
)
