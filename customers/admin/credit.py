"""Credit lines: grants and changes through the services."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import AuditedModelAdmin
from customers.forms import (
    CreditLineAdminForm,
)
from customers.models import (
    CreditLine,
)
from customers.services import (
    credit_line_change,
    credit_line_grant,
)
from loansite.errors import ApplicationError
from loansite.formatting import money_column
from loansite.scoping import ScopedAdminMixin


@admin.register(CreditLine)
class CreditLineAdmin(ScopedAdminMixin, AuditedModelAdmin, admin.ModelAdmin):
    """Grants and changes go through the credit-line services (audited, limit never below used)."""

    scope_path = "customer"  # an officer's own book only (loansite/scoping.py)

    form = CreditLineAdminForm
    list_display = ["customer", "limit_cny", "used_cny", "available_cny", "valid_from", "valid_to", "status"]
    limit_cny = money_column("limit", _("limit"))
    used_cny = money_column("used", _("used"))
    available_cny = money_column("available", _("available"), ordering=False)
    list_filter = ["status"]
    search_fields = ["customer__name", "=customer__credit_code"]
    raw_id_fields = ["customer"]
    readonly_fields = ["used", "created_by"]
    list_select_related = ["customer"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "customer", "valid_from"] if obj else self.readonly_fields

    @admin.display(description=_("available"))
    def available(self, obj):
        return obj.available

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if change:
                credit_line_change(
                    credit_line=obj, actor=request.user, limit=data["limit"], valid_to=data["valid_to"],
                    status=data["status"],
                )  # fmt: skip
            else:
                obj.pk = credit_line_grant(
                    customer=data["customer"], limit=data["limit"], valid_from=data["valid_from"],
                    valid_to=data["valid_to"], actor=request.user,
                ).pk  # fmt: skip
        except ApplicationError as exc:
            raise PermissionDenied(str(exc.message)) from exc
        obj.refresh_from_db()
