"""Rating governance in the admin: the rating history (with the requests awaiting an
approver), the customer's "Change rating" page (an analyst with a reason, or the rating
service) and approve / refuse. Every button calls ``customers.services.ratings``."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import ReadOnlyAdminMixin
from customers.models import Customer, CustomerRating, Rating
from customers.services import (
    customer_rate_by_model,
    customer_rating_approve,
    customer_rating_change,
    customer_rating_refuse,
)
from customers.services.ratings import PERM_APPROVE_RATING, PERM_RATE
from loansite.errors import ApplicationError
from loansite.scoping import ScopedAdminMixin


class RatingChangeForm(forms.Form):
    rating = forms.ChoiceField(label=_("internal rating"), choices=Rating.choices)
    reason = forms.CharField(label=_("reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


@admin.register(CustomerRating)
class CustomerRatingAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    scope_path = "customer"  # an officer's own book only (loansite/scoping.py)
    list_display = [
        "created_at",
        "customer",
        "previous",
        "rating",
        "source",
        "status",
        "model_version",
        "requested_by",
        "decided_by",
    ]
    list_filter = ["status", "source", "rating"]
    list_select_related = ["customer", "requested_by", "decided_by"]
    search_fields = ["customer__name", "=customer__credit_code"]
    raw_id_fields = ["customer"]
    show_full_result_count = False
    change_form_template = "admin/customers/customerrating/change_form.html"
    fields = [
        "customer",
        "previous",
        "rating",
        "source",
        "status",
        "model_version",
        "inputs",
        "reason",
        "requested_by",
        "created_at",
        "decided_by",
        "decided_at",
        "decision_note",
    ]

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("customer/<int:customer_id>/", wrap(self.rating_view), name="customers_customer_rating"),
            path("customer/<int:customer_id>/rate/", wrap(self.rate_view), name="customers_customer_rate"),
            path("<int:pk>/approve/", wrap(self.approve_view), name="customers_customerrating_approve"),
            path("<int:pk>/refuse/", wrap(self.refuse_view), name="customers_customerrating_refuse"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = CustomerRating.objects.filter(pk=object_id).first()
        extra = {
            "pending": obj is not None and obj.status == CustomerRating.Status.PENDING,
            "can_approve": request.user.has_perm(PERM_APPROVE_RATING),
        }
        return super().change_view(request, object_id, form_url, extra_context={**extra, **(extra_context or {})})

    def _customer_page(self, customer):
        return HttpResponseRedirect(reverse("admin:customers_customer_change", args=[customer.pk]))

    def rating_view(self, request, customer_id):
        if not request.user.has_perm(PERM_RATE):
            raise PermissionDenied
        customer = get_object_or_404(Customer, pk=customer_id)
        form = RatingChangeForm(request.POST or None, initial={"rating": customer.rating or None})
        if request.method == "POST" and form.is_valid():
            try:
                change = customer_rating_change(
                    actor=request.user,
                    customer=customer,
                    rating=form.cleaned_data["rating"],
                    reason=form.cleaned_data["reason"],
                )
            except ApplicationError as exc:
                messages.error(request, str(exc.message))
            else:
                self._report(request, change)
                return self._customer_page(customer)
        context = {
            **self.admin_site.each_context(request),
            "opts": Customer._meta,
            "title": _("Change the rating of %(customer)s") % {"customer": customer},
            "original": customer,
            "form": form,
        }
        return TemplateResponse(request, "admin/customers/customer/rating.html", context)

    def _report(self, request, change):
        if change is None:
            messages.info(request, _("That is the rating on record already."))
        elif change.status == CustomerRating.Status.PENDING:
            messages.warning(
                request,
                _("An upgrade by more than one notch: the change to %(rating)s awaits an approver.")
                % {"rating": change.rating},
            )
        else:
            messages.success(request, _("The rating is now %(rating)s.") % {"rating": change.rating})

    def rate_view(self, request, customer_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm(PERM_RATE):
            raise PermissionDenied
        customer = get_object_or_404(Customer, pk=customer_id)
        try:
            change = customer_rate_by_model(customer=customer, actor=request.user)
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
        else:
            self._report(request, change)
        return self._customer_page(customer)

    def _decide(self, request, pk, service, done):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm(PERM_APPROVE_RATING):
            raise PermissionDenied
        change = get_object_or_404(CustomerRating, pk=pk)
        try:
            service(actor=request.user, request=change, note=request.POST.get("note", ""))
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
            return HttpResponseRedirect(reverse("admin:customers_customerrating_change", args=[pk]))
        messages.success(request, done)
        return self._customer_page(change.customer)

    def approve_view(self, request, pk):
        return self._decide(request, pk, customer_rating_approve, _("Rating change approved."))

    def refuse_view(self, request, pk):
        return self._decide(request, pk, customer_rating_refuse, _("Rating change refused."))
