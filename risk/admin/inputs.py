"""Inputs in the admin: transactions and logins (read only), devices, watch list, freezes,
IP ranges. Changes go through the services (audited)."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import AuditedModelAdmin, ReadOnlyAdminMixin
from loansite.errors import ApplicationError
from loansite.formatting import money_column
from risk.forms import WatchListEntryForm
from risk.models import CustomerRestriction, Device, IpRange, LoginEvent, Transaction, WatchListEntry
from risk.services.events import (
    customer_restriction_lift,
    device_flag,
    device_unflag,
    watch_list_add,
    watch_list_remove,
)


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "occurred_at",
        "customer",
        "amount_shown",
        "currency",
        "direction",
        "channel",
        "counterparty",
        "city",
        "score",
        "level",
        "event",
        "source",
    )
    list_filter = ("level", "source", "channel", "direction", "occurred_at")
    search_fields = ("=external_id", "customer__name", "counterparty")
    list_select_related = ("customer", "event")
    raw_id_fields = ("customer", "device", "event")
    show_full_result_count = False
    date_hierarchy = "occurred_at"
    change_list_template = "admin/risk/transaction/change_list.html"
    # The currency is its own column: separators and two places, no sign.
    amount_shown = money_column("amount", _("amount"), currency=False)

    def get_urls(self):
        from django.urls import path

        from risk.admin.imports import transaction_import_view

        return [
            path("import/", self.admin_site.admin_view(transaction_import_view), name="risk_transaction_import"),
            path(
                "import/template/<str:language>/<str:file_format>/",
                self.admin_site.admin_view(self.import_template_view),
                name="risk_transaction_import_template",
            ),
        ] + super().get_urls()

    def import_template_view(self, request, language, file_format):
        """A CSV or XLSX file with the import's headers and one example row (import permission only)."""
        from django.core.exceptions import PermissionDenied

        from loansite.import_templates import import_template_response
        from risk.import_templates import transaction_import_template_columns

        if not request.user.has_perm("risk.import_transaction"):
            raise PermissionDenied
        return import_template_response(
            name="transactions",
            columns=transaction_import_template_columns(),
            language=language,
            file_format=file_format,
        )


@admin.register(LoginEvent)
class LoginEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("occurred_at", "customer", "user", "ip", "city", "device", "success", "score", "level", "source")
    list_filter = ("success", "level", "source", "occurred_at")
    search_fields = ("customer__name", "user__username", "=ip")
    list_select_related = ("customer", "user", "device")
    raw_id_fields = ("customer", "device", "event")
    show_full_result_count = False


class DeviceFlagForm(forms.ModelForm):
    reason = forms.CharField(label=_("Why (required to flag or unflag)"), max_length=500, required=False)

    class Meta:
        model = Device
        fields = ["flagged"]

    def clean(self):
        data = super().clean()
        if "flagged" in self.changed_data and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Say why."))
        return data


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    form = DeviceFlagForm
    list_display = ("fingerprint", "device_family", "os", "browser", "customer_count", "flagged", "last_seen_at")
    list_filter = ("flagged", "os", "browser")
    search_fields = ("=fingerprint",)
    readonly_fields = (
        "fingerprint",
        "user_agent",
        "browser",
        "os",
        "device_family",
        "first_seen_at",
        "last_seen_at",
        "customers_seen",
        "flag_reason",
        "flagged_by",
        "flagged_at",
    )
    fields = (*readonly_fields[:8], "flagged", "reason", *readonly_fields[8:])
    show_full_result_count = False

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(customer_total=Count("links"))

    @admin.display(description=_("customers"), ordering="customer_total")
    def customer_count(self, obj):
        return obj.customer_total

    @admin.display(description=_("customers seen on it"))
    def customers_seen(self, obj):
        return ", ".join(f"{c.name} (#{c.pk})" for c in obj.customers.all()[:50])

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("risk.change_device") and request.user.has_perm("risk.flag_device")

    def save_model(self, request, obj, form, change):
        if "flagged" not in form.changed_data:
            return
        device = Device.objects.get(pk=obj.pk)
        reason = form.cleaned_data["reason"]
        try:
            if obj.flagged:
                device_flag(actor=request.user, device=device, reason=reason)
            else:
                device_unflag(actor=request.user, device=device, reason=reason)
        except ApplicationError as exc:
            self.message_user(request, str(exc.message), level=messages.ERROR)


@admin.register(WatchListEntry)
class WatchListEntryAdmin(admin.ModelAdmin):
    form = WatchListEntryForm
    list_display = ("kind", "value", "customer", "reason", "active", "added_by", "created_at", "removed_at")
    list_filter = ("active", "kind")
    search_fields = ("value", "customer__name")
    list_select_related = ("customer", "added_by")
    raw_id_fields = ("customer",)
    actions = ["remove"]

    def has_change_permission(self, request, obj=None):
        # Entries are added or removed, never edited (the action below removes them).
        return obj is None and request.user.has_perm("risk.change_watchlistentry")

    def has_delete_permission(self, request, obj=None):
        return False

    def has_remove_permission(self, request):
        return request.user.has_perm("risk.change_watchlistentry")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        entry = watch_list_add(
            actor=request.user,
            kind=data["kind"],
            value=data.get("value", ""),
            customer=data.get("customer"),
            reason=data["reason"],
        )
        obj.pk = entry.pk

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except ApplicationError as exc:
            self.message_user(request, str(exc.message), level=messages.ERROR)
            return HttpResponseRedirect(request.path)

    @admin.action(description=_("Remove the selected entries from the watch list"), permissions=["remove"])
    def remove(self, request, queryset):
        for entry in queryset.filter(active=True):
            watch_list_remove(actor=request.user, entry=entry, reason=str(_("Removed in the admin")))


@admin.register(CustomerRestriction)
class CustomerRestrictionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("customer", "kind", "reason", "active", "event", "created_by", "created_at", "lifted_at")
    list_filter = ("active", "kind")
    search_fields = ("customer__name",)
    list_select_related = ("customer", "created_by", "event")
    actions = ["lift"]

    def has_lift_permission(self, request):
        return request.user.has_perm("risk.change_customerrestriction")

    @admin.action(description=_("Lift the selected restrictions"), permissions=["lift"])
    def lift(self, request, queryset):
        for restriction in queryset.filter(active=True):
            try:
                customer_restriction_lift(
                    actor=request.user, restriction=restriction, reason=str(_("Lifted in the admin"))
                )
            except ApplicationError as exc:
                self.message_user(request, str(exc.message), level=messages.WARNING)


@admin.register(IpRange)
class IpRangeAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("network", "city", "province", "note")
    search_fields = ("network", "city")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        from risk.selectors import ip_ranges_forget

        ip_ranges_forget()
