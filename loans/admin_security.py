"""Admin for loan security (担保): collateral, guarantees and the configurable haircuts.

Adding goes through ``loans.services.collateral`` (checks and audit); registration and
release are per-object buttons calling the services; nothing is edited or deleted by hand.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.admin_mixins import AuditedModelAdmin
from loans.models import Collateral, CollateralHaircut, Guarantee
from loans.services.collateral import (
    collateral_add,
    collateral_register,
    collateral_release,
    guarantee_add,
    guarantee_release,
)
from loans.servicing_forms import CollateralForm, CollateralRegisterForm, GuaranteeForm, ReasonRequiredForm
from loansite.errors import ApplicationError
from loansite.scoping import ScopedAdminMixin


def _application_url(application_id) -> str:
    return reverse("admin:loans_loanapplication_change", args=[application_id])


def _form_error(form, exc: ApplicationError) -> None:
    errors = exc.extra.get("errors") or {}
    field = exc.extra.get("field")
    if errors:
        for name, message in errors.items():
            form.add_error(name if name in form.fields else None, message)
    else:
        form.add_error(field if field in form.fields else None, str(exc.message))


class _SecurityAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Shared: an add form that calls the service, a read-only change page, no delete."""

    # An officer's own book only (loansite/scoping.py), by the application or the loan.
    scope_path = ("application__customer", "loan__customer")

    raw_id_fields = ("application",)
    list_select_related = ("application", "loan")
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        if request.GET.get("application", "").isdigit():
            initial["application"] = request.GET["application"]
        return initial

    def response_add(self, request, obj, post_url_continue=None):
        return HttpResponseRedirect(_application_url(obj.application_id))

    def _reason_view(self, request, object_id, *, service, title, model_kwarg):
        if not request.user.has_perm("loans.release_collateral"):
            raise PermissionDenied
        obj = self.get_queryset(request).filter(pk=object_id).first()
        if obj is None:
            raise Http404
        form = ReasonRequiredForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                service(actor=request.user, reason=form.cleaned_data["reason"], **{model_kwarg: obj})
            except ApplicationError as exc:
                self.message_user(request, str(exc.message), messages.ERROR)
            else:
                self.message_user(request, _("Released."), messages.SUCCESS)
            return HttpResponseRedirect(_application_url(obj.application_id))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "object": obj,
            "form": form,
            "back_url": _application_url(obj.application_id),
        }
        return TemplateResponse(request, "admin/loans/servicing/form_page.html", context)


@admin.register(Collateral)
class CollateralAdmin(_SecurityAdmin):
    form = CollateralForm
    list_display = (
        "id",
        "application",
        "loan",
        "kind",
        "owner",
        "appraised_value",
        "haircut",
        "status",
        "registration_number",
    )
    list_filter = ("status", "kind")
    search_fields = ("=application__reference", "=loan__loan_number", "owner", "registration_number")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = collateral_add(
            actor=request.user,
            application=data["application"],
            kind=data["kind"],
            owner=data["owner"],
            description=data["description"],
            appraised_value=data["appraised_value"],
            appraisal_date=data["appraisal_date"],
            appraiser=data["appraiser"],
            haircut=data.get("haircut"),
        )
        obj.pk = saved.pk
        obj.__dict__.update({k: v for k, v in saved.__dict__.items() if not k.startswith("_")})

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as exc:
            self.message_user(request, str(exc.message), level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def get_urls(self):
        custom = [
            path(
                "<path:object_id>/register/",
                self.admin_site.admin_view(self.register_view),
                name="loans_collateral_register",
            ),
            path(
                "<path:object_id>/release/",
                self.admin_site.admin_view(self.release_view),
                name="loans_collateral_release",
            ),
        ]
        return custom + super().get_urls()

    def register_view(self, request, object_id):
        if not request.user.has_perm("loans.change_collateral"):
            raise PermissionDenied
        item = Collateral.objects.filter(pk=object_id).first()
        if item is None:
            raise Http404
        form = CollateralRegisterForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                collateral_register(actor=request.user, collateral=item, **form.cleaned_data)
            except ApplicationError as exc:
                self.message_user(request, str(exc.message), messages.ERROR)
            else:
                self.message_user(request, _("Registration recorded."), messages.SUCCESS)
            return HttpResponseRedirect(_application_url(item.application_id))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Register collateral: %(item)s") % {"item": item},
            "object": item,
            "form": form,
            "back_url": _application_url(item.application_id),
        }
        return TemplateResponse(request, "admin/loans/servicing/form_page.html", context)

    def release_view(self, request, object_id):
        return self._reason_view(
            request,
            object_id,
            service=collateral_release,
            title=gettext_lazy("Release collateral"),
            model_kwarg="collateral",
        )


@admin.register(Guarantee)
class GuaranteeAdmin(_SecurityAdmin):
    form = GuaranteeForm
    list_display = ("id", "application", "loan", "guarantor_name", "kind", "guaranteed_amount", "status")
    list_filter = ("status", "kind", "joint_liability")
    search_fields = ("=application__reference", "=loan__loan_number", "guarantor_name")
    raw_id_fields = ("application", "guarantor_customer")
    list_select_related = ("application", "loan")
    exclude = ("guarantor_id_hash",)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = guarantee_add(
            actor=request.user,
            application=data["application"],
            guarantor_customer=data.get("guarantor_customer"),
            guarantor_name=data.get("guarantor_name") or "",
            guarantor_id_number=data.get("guarantor_id_number") or "",
            kind=data["kind"],
            guaranteed_amount=data["guaranteed_amount"],
            joint_liability=data.get("joint_liability", True),
        )
        obj.pk = saved.pk
        obj.__dict__.update({k: v for k, v in saved.__dict__.items() if not k.startswith("_")})

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as exc:
            self.message_user(request, str(exc.message), level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def get_urls(self):
        custom = [
            path(
                "<path:object_id>/release/",
                self.admin_site.admin_view(self.release_view),
                name="loans_guarantee_release",
            ),
        ]
        return custom + super().get_urls()

    def release_view(self, request, object_id):
        return self._reason_view(
            request,
            object_id,
            service=guarantee_release,
            title=gettext_lazy("Release guarantee"),
            model_kwarg="guarantee",
        )


@admin.register(CollateralHaircut)
class CollateralHaircutAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("kind", "haircut", "updated_at")


__all__ = ["CollateralAdmin", "CollateralHaircutAdmin", "GuaranteeAdmin"]
