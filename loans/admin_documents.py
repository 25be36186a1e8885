"""Admin for documents (资料) and document requests.

Nothing here writes by itself: uploads, requests and cancellations call
``loans.services.documents``; downloads go through ``document_get_for_staff`` (permission and
row scoping) and ``document_open`` (audited). The lists are read-only; documents are never
edited or deleted by hand. The customer, application and loan pages show a documents section
(``{% document_panel original %}``, loans/templatetags/document_tags.py) linking here.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loans.models import Document, DocumentKind, DocumentRequest, Loan, LoanApplication
from loans.selectors.documents import (
    document_customer_accessible,
    document_get_for_staff,
    document_list_for_staff,
    document_request_list_for_staff,
)
from loans.services.documents import (
    PERM_ADD_DOCUMENT,
    PERM_ADD_REQUEST,
    PERM_CHANGE_REQUEST,
    document_limits,
    document_open,
    document_request_cancel,
    document_request_create,
    document_too_large_message,
    document_upload,
)
from loansite.errors import ApplicationError, NotFound
from loansite.formatting import format_datetime

MB = 1024 * 1024


class DocumentUploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=DocumentKind.choices)
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("PDF, JPEG, PNG, XLSX or DOCX; the type is checked from the content."),
    )


class DocumentRequestForm(forms.Form):
    kinds = forms.MultipleChoiceField(
        label=gettext_lazy("Documents still needed"),
        choices=DocumentKind.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(
        label=gettext_lazy("Note to the customer"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("What exactly is needed (period, pages, certified copy ...)."),
    )


class DocumentRequestCancelForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), required=False, max_length=500)


def _change_url(document_or_target) -> str:
    """The page a document (or an upload target) belongs to: loan, application or customer."""
    obj = document_or_target
    if isinstance(obj, Document):
        if obj.loan_id:
            return reverse("admin:loans_loan_change", args=[obj.loan_id])
        if obj.application_id:
            return reverse("admin:loans_loanapplication_change", args=[obj.application_id])
        return reverse("admin:customers_customer_change", args=[obj.customer_id])
    if isinstance(obj, Loan):
        return reverse("admin:loans_loan_change", args=[obj.pk])
    if isinstance(obj, LoanApplication):
        return reverse("admin:loans_loanapplication_change", args=[obj.pk])
    return reverse("admin:customers_customer_change", args=[obj.pk])


def _file_size(size: int) -> str:
    if size >= MB:
        return f"{size / MB:.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


def document_download_response(document: Document, handle) -> FileResponse:
    """The download answer for staff and customers alike: always an attachment, the stored
    (detected) content type, never sniffed, never cached by a shared cache."""
    response = FileResponse(
        handle, as_attachment=True, filename=document.original_name, content_type=document.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ("created_at", "customer", "application", "loan", "kind", "download_link", "size_label", "uploader")
    list_filter = ("kind", "content_type")
    search_fields = ("=application__reference", "=loan__loan_number", "original_name")
    list_select_related = ("customer", "application", "loan", "uploaded_by")
    show_full_result_count = False
    raw_id_fields = ("customer", "application", "loan")
    readonly_fields = (
        "customer",
        "application",
        "loan",
        "kind",
        "original_name",
        "content_type",
        "size",
        "sha256",
        "uploaded_by",
        "uploaded_by_portal_account",
        "created_at",
    )
    exclude = ("storage_name",)

    def get_queryset(self, request):
        return document_list_for_staff(request.user)

    # Uploads go through the upload page (the service); nothing is edited or deleted.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("file"), ordering="original_name")
    def download_link(self, obj):
        url = reverse("admin:loans_document_download", args=[obj.pk])
        return format_html('<a href="{}" class="document-download">{}</a>', url, obj.original_name)

    @admin.display(description=gettext_lazy("size"), ordering="size")
    def size_label(self, obj):
        return _file_size(obj.size)

    @admin.display(description=gettext_lazy("uploaded by"))
    def uploader(self, obj):
        if obj.uploaded_through_portal:
            return _("the customer (portal)")
        return obj.uploaded_by or "-"

    def get_urls(self):
        custom = [
            path("upload/", self.admin_site.admin_view(self.upload_view), name="loans_document_upload"),
            path(
                "<path:object_id>/download/",
                self.admin_site.admin_view(self.download_view),
                name="loans_document_download",
            ),
        ]
        return custom + super().get_urls()

    # --- download --------------------------------------------------------------------------

    def download_view(self, request, object_id):
        try:
            document = document_get_for_staff(request.user, object_id)
            handle = document_open(actor=request.user, document=document)
        except NotFound:
            raise Http404 from None
        return document_download_response(document, handle)

    # --- upload ----------------------------------------------------------------------------

    def _upload_target(self, request):
        """The customer, application and loan named by the query string (one of them), each in
        the user's book; anything else is 404."""
        from customers.models import Customer

        application = loan = None
        if request.GET.get("loan", "").isdigit():
            loan = Loan.objects.select_related("customer", "application").filter(pk=request.GET["loan"]).first()
            if loan is None:
                raise Http404
            customer, application, target = loan.customer, None, loan
        elif request.GET.get("application", "").isdigit():
            application = (
                LoanApplication.objects.select_related("customer").filter(pk=request.GET["application"]).first()
            )
            if application is None or application.customer is None:
                raise Http404
            customer, target = application.customer, application
        elif request.GET.get("customer", "").isdigit():
            customer = Customer.objects.filter(pk=request.GET["customer"]).first()
            if customer is None:
                raise Http404
            target = customer
        else:
            raise Http404
        if not document_customer_accessible(request.user, customer.pk):
            raise Http404
        return customer, application, loan, target

    def upload_view(self, request):
        if not request.user.has_perm(PERM_ADD_DOCUMENT):
            raise PermissionDenied
        customer, application, loan, target = self._upload_target(request)
        back_url = _change_url(target)
        form = DocumentUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST":
            if getattr(request, "upload_too_large", False):  # reading stopped at the upload limit
                form.add_error("file", document_too_large_message())
            elif form.is_valid():
                upload = form.cleaned_data["file"]
                try:
                    document = document_upload(
                        actor=request.user,
                        customer=customer,
                        application=application,
                        loan=loan,
                        kind=form.cleaned_data["kind"],
                        file=upload,
                        original_name=upload.name,
                    )
                except ApplicationError as exc:
                    form.add_error("file", str(exc.message))
                else:
                    self.message_user(
                        request, _("Document “%(name)s” uploaded.") % {"name": document.original_name}, messages.SUCCESS
                    )
                    return HttpResponseRedirect(back_url + "#documents")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Upload a document"),
            "object": target,
            "form": form,
            "back_url": back_url,
            "multipart": True,
            "intro": _("Up to %(limit)s MB. Accepted: PDF, JPEG, PNG, XLSX, DOCX.")
            % {"limit": f"{document_limits()['max_upload_bytes'] / MB:g}"},
            "submit_label": _("Upload"),
        }
        return TemplateResponse(request, "admin/loans/document/form_page.html", context)


@admin.register(DocumentRequest)
class DocumentRequestAdmin(admin.ModelAdmin):
    list_display = ("created_at", "application", "kind", "status", "requested_by", "fulfilled_by", "closed_at")
    list_filter = ("status", "kind")
    search_fields = ("=application__reference",)
    list_select_related = ("application", "requested_by", "fulfilled_by")
    show_full_result_count = False
    readonly_fields = (
        "application",
        "kind",
        "note",
        "requested_by",
        "status",
        "fulfilled_by",
        "cancelled_by",
        "created_at",
        "closed_at",
    )

    def get_queryset(self, request):
        return document_request_list_for_staff(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        custom = [
            path(
                "ask/<int:application_id>/",
                self.admin_site.admin_view(self.ask_view),
                name="loans_documentrequest_ask",
            ),
            path(
                "<int:object_id>/cancel/",
                self.admin_site.admin_view(self.cancel_view),
                name="loans_documentrequest_cancel",
            ),
        ]
        return custom + super().get_urls()

    def _application(self, request, application_id) -> LoanApplication:
        application = LoanApplication.objects.select_related("customer").filter(pk=application_id).first()
        if application is None or not document_customer_accessible(request.user, application.customer_id or 0):
            raise Http404
        return application

    def ask_view(self, request, application_id):
        if not request.user.has_perm(PERM_ADD_REQUEST):
            raise PermissionDenied
        application = self._application(request, application_id)
        back_url = _change_url(application) + "#documents"
        form = DocumentRequestForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            created, problems = [], []
            for kind in form.cleaned_data["kinds"]:
                try:
                    document_request_create(
                        actor=request.user, application=application, kind=kind, note=form.cleaned_data["note"]
                    )
                except ApplicationError as exc:
                    problems.append(f"{DocumentKind(kind).label}: {exc.message}")
                else:
                    created.append(str(DocumentKind(kind).label))
            if created:
                self.message_user(request, _("Asked for: %(kinds)s.") % {"kinds": ", ".join(created)}, messages.SUCCESS)
            for problem in problems:
                self.message_user(request, problem, messages.ERROR)
            return HttpResponseRedirect(back_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Ask for documents"),
            "object": application,
            "form": form,
            "back_url": back_url,
            "intro": _("The customer sees what is asked for in the portal; an upload of that kind fulfils it."),
            "submit_label": _("Ask for these documents"),
        }
        return TemplateResponse(request, "admin/loans/document/form_page.html", context)

    def cancel_view(self, request, object_id):
        if not request.user.has_perm(PERM_CHANGE_REQUEST):
            raise PermissionDenied
        doc_request = document_request_list_for_staff(request.user).filter(pk=object_id).first()
        if doc_request is None:
            raise Http404
        back_url = _change_url(doc_request.application) + "#documents"
        form = DocumentRequestCancelForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                document_request_cancel(
                    actor=request.user, document_request=doc_request, reason=form.cleaned_data["reason"]
                )
            except ApplicationError as exc:
                self.message_user(request, str(exc.message), messages.ERROR)
            else:
                self.message_user(request, _("Request cancelled."), messages.SUCCESS)
            return HttpResponseRedirect(back_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Cancel the request for %(kind)s") % {"kind": doc_request.get_kind_display()},
            "object": doc_request.application,
            "form": form,
            "back_url": back_url,
            "intro": _("Asked on %(when)s.") % {"when": format_datetime(doc_request.created_at)},
            "submit_label": _("Cancel the request"),
        }
        return TemplateResponse(request, "admin/loans/document/form_page.html", context)
