"""Customer portal accounts (administrators: unlock, deactivate) and the customers' profile change
requests (officers approve or reject). Thin callers of customers.portal.services; no secret
(password hash, security stamp, one-time code) is ever shown."""

import threading

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from audit.models import AuditAction
from audit.services import audit_record
from customers.models import PortalAccount, PortalChangeRequest
from customers.portal import services
from loansite.errors import ApplicationError
from loansite.scoping import ScopedAdminMixin
from loansite.sms import phone_masked


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PortalAccount)
class PortalAccountAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["__str__", "phone_display", "customer_names", "is_active", "last_login_at", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["=username"]
    fields = ["username", "phone_display", "customer_names", "is_active", "last_login_at", "created_at"]
    readonly_fields = fields
    actions = ["unlock_selected", "deactivate_selected", "reactivate_selected"]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("customers")

    def get_search_results(self, request, queryset, search_term):
        filtered = queryset  # what the list filters left: a phone match must stay inside it
        queryset, distinct = super().get_search_results(request, queryset, search_term)
        term = (search_term or "").strip()
        if term.isdigit() and len(term) == 11:  # a phone number, by its keyed hash
            queryset = queryset | filtered.filter(phone=term)
        return queryset, distinct

    @admin.display(description=_("mobile phone"))
    def phone_display(self, obj):
        return phone_masked(obj.phone)

    @admin.display(description=_("customers"))
    def customer_names(self, obj):
        return ", ".join(customer.name for customer in obj.customers.all())

    def has_unlock_permission(self, request):
        return request.user.has_perm("customers.unlock_portalaccount")

    def _each(self, request, queryset, call, done_message):
        count = 0
        for account in queryset:
            try:
                call(account)
            except ApplicationError as exc:
                self.message_user(request, f"{account}: {exc.message}", messages.ERROR)
            else:
                count += 1
        if count:
            self.message_user(request, done_message(count), messages.SUCCESS)

    @admin.action(description=_("Unlock sign-in of the selected accounts"), permissions=["unlock"])
    def unlock_selected(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda account: services.portal_account_unlock(actor=request.user, account=account),
            lambda n: ngettext("%(n)d account unlocked.", "%(n)d accounts unlocked.", n) % {"n": n},
        )

    @admin.action(description=_("Deactivate the selected accounts"), permissions=["unlock"])
    def deactivate_selected(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda account: services.portal_account_set_active(actor=request.user, account=account, active=False),
            lambda n: ngettext("%(n)d account deactivated.", "%(n)d accounts deactivated.", n) % {"n": n},
        )

    @admin.action(description=_("Reactivate the selected accounts"), permissions=["unlock"])
    def reactivate_selected(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda account: services.portal_account_set_active(actor=request.user, account=account, active=True),
            lambda n: ngettext("%(n)d account reactivated.", "%(n)d accounts reactivated.", n) % {"n": n},
        )


_viewer = threading.local()


class DecisionActionForm(ActionForm):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=1000)


@admin.register(PortalChangeRequest)
class PortalChangeRequestAdmin(ScopedAdminMixin, ReadOnlyMixin, admin.ModelAdmin):
    """Officers see the requests of their book (loansite.scoping) and decide them."""

    scope_path = "customer"
    list_display = ["customer", "requested_fields", "status", "created_at", "decided_by", "decided_at"]
    list_filter = ["status"]
    search_fields = ["customer__name", "=customer__credit_code"]
    list_select_related = ["customer", "decided_by"]
    fields = ["customer", "requested_changes", "note", "status", "decided_by", "decided_at", "reason", "created_at"]
    readonly_fields = fields
    action_form = DecisionActionForm
    actions = ["approve_selected", "reject_selected"]
    show_full_result_count = False

    @admin.display(description=_("fields"))
    def requested_fields(self, obj):
        labels = {name: str(self._label(name)) for name in PortalChangeRequest.FIELDS}
        return ", ".join(labels.get(name, name) for name in sorted(obj.changes))

    @admin.display(description=_("requested changes"))
    def requested_changes(self, obj):
        """The new values; ID and phone numbers masked for readers without full identifiers."""
        from customers.masking import id_number_for, phone_for

        user = getattr(_viewer, "user", None)

        def shown(name, value):
            if name == "id_number":
                return id_number_for(user, value)
            if name == "phone":
                return phone_for(user, value)
            return value or "—"

        return "; ".join(
            f"{self._label(name)}: {shown(name, getattr(obj.customer, name))} → {shown(name, value)}"
            for name, value in sorted(obj.changes.items())
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        from customers.masking import identifiers_visible

        _viewer.user = request.user
        try:
            response = super().change_view(request, object_id, form_url, extra_context)
            if hasattr(response, "render"):
                response.render()  # while the reader is known
            obj = self.get_object(request, object_id)
            if obj is not None and obj.changes.get("id_number") and identifiers_visible(request.user):
                # A full ID number was shown: audited like the customer page's.
                audit_record(
                    action=AuditAction.EXPORT,
                    actor=request.user,
                    target=obj,
                    changes={"shown_in_full": ["id_number"], "where": "admin change request"},
                    reason="Full ID number shown",
                )
            return response
        finally:
            _viewer.user = None

    @staticmethod
    def _label(name):
        from customers.models import Customer

        return Customer._meta.get_field(name).verbose_name

    def has_decide_permission(self, request):
        return request.user.has_perm("customers.decide_portalchangerequest")

    def _decide(self, request, queryset, *, approve: bool):
        reason = request.POST.get("reason", "")
        done = 0
        for change_request in queryset:
            try:
                services.portal_change_request_decide(
                    actor=request.user, request=change_request, approve=approve, reason=reason
                )
            except ApplicationError as exc:
                self.message_user(request, f"{change_request}: {exc.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(
                request,
                ngettext("%(n)d request decided.", "%(n)d requests decided.", done) % {"n": done},
                messages.SUCCESS,
            )

    @admin.action(description=_("Approve the selected requests (the changes are written)"), permissions=["decide"])
    def approve_selected(self, request, queryset):
        self._decide(request, queryset, approve=True)

    @admin.action(description=_("Reject the selected requests (reason needed)"), permissions=["decide"])
    def reject_selected(self, request, queryset):
        self._decide(request, queryset, approve=False)
