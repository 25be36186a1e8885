"""Supervisors' grants of another manager's customer to an officer: granted and revoked
through the services (audited), never edited or deleted."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from customers.models import CustomerAccessGrant
from customers.services.access_grants import (
    REVOKE_PERMISSION,
    customer_access_grant,
    customer_access_grant_check,
    customer_access_revoke,
)
from loansite.errors import ApplicationError


class CustomerAccessGrantForm(forms.ModelForm):
    class Meta:
        model = CustomerAccessGrant
        fields = ["user", "customer", "reason", "expires_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "user" in self.fields:
            self.fields["user"].queryset = get_user_model().objects.filter(is_active=True, is_staff=True)

    def clean(self):
        data = super().clean()
        # The service's rules as form errors (nothing written here).
        user, customer, reason, expires = (data.get(k) for k in ("user", "customer", "reason", "expires_at"))
        if user and customer and reason and expires:
            try:
                customer_access_grant_check(
                    actor=self.actor, user=user, customer=customer, reason=reason, expires_at=expires
                )
            except ApplicationError as exc:
                raise forms.ValidationError(str(exc.message)) from exc
        return data


@admin.register(CustomerAccessGrant)
class CustomerAccessGrantAdmin(admin.ModelAdmin):
    form = CustomerAccessGrantForm
    list_display = ["user", "customer", "granted_by", "created_at", "expires_at", "state", "revoked_at"]
    list_filter = [("expires_at", admin.DateFieldListFilter)]
    search_fields = ["user__username", "customer__name", "=customer__credit_code"]
    raw_id_fields = ["user", "customer"]
    list_select_related = ["user", "customer", "granted_by"]
    readonly_fields = ["granted_by", "created_at", "revoked_at", "revoked_by"]
    actions = ["revoke_selected"]
    show_full_result_count = False

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "customer", "reason", "expires_at"]
        return ["user", "customer", "reason", "expires_at", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return ["user", "customer", "reason", "expires_at", *self.readonly_fields]
        return self.readonly_fields

    def has_change_permission(self, request, obj=None):
        return False  # revoked, never edited

    def has_delete_permission(self, request, obj=None):
        return False  # the record stays

    def has_revoke_permission(self, request):
        return request.user.has_perm(REVOKE_PERMISSION)

    @admin.display(description=_("in force"), boolean=True)
    def state(self, obj):
        return obj.is_active

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            grant = customer_access_grant(
                actor=request.user,
                user=data["user"],
                customer=data["customer"],
                reason=data["reason"],
                expires_at=data["expires_at"],
            )
        except ApplicationError as exc:
            raise PermissionDenied(str(exc.message)) from exc
        obj.pk = grant.pk
        obj.refresh_from_db()

    @admin.action(description=_("Revoke selected grants"), permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        revoked = 0
        for grant in queryset.filter(revoked_at__isnull=True):
            try:
                customer_access_revoke(actor=request.user, grant=grant, reason=_("Revoked in the admin"))
            except ApplicationError:
                continue
            revoked += 1
        messages.success(request, _("%(n)s grants revoked.") % {"n": revoked})
