"""The transaction import page (CSV / XLSX): upload, report by row, confirm valid rows."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loansite.errors import ApplicationError
from risk.models import Transaction


class TransactionImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV or XLSX file"))
    valid_only = forms.BooleanField(
        label=gettext_lazy("If some rows are bad, import the valid rows only"), required=False
    )


def transaction_import_view(request):
    from loansite.import_templates import import_template_links
    from loansite.tabular import tabular_check_size
    from risk.services.imports import HEADERS, transactions_import

    if not request.user.has_perm("risk.import_transaction"):
        raise PermissionDenied
    report = None
    if request.method == "POST":
        form = TransactionImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                tabular_check_size(upload.size)
                report = transactions_import(
                    actor=request.user,
                    data=upload.read(),
                    file_name=upload.name,
                    valid_only=form.cleaned_data["valid_only"],
                )
            except ApplicationError as exc:
                form.add_error("file", str(exc.message))
    else:
        form = TransactionImportForm()
    context = {
        **admin.site.each_context(request),
        "title": _("Import transactions and logins"),
        "opts": Transaction._meta,
        "form": form,
        "report": report,
        "headers": HEADERS,
        "templates": import_template_links("admin:risk_transaction_import_template"),
    }
    return TemplateResponse(request, "admin/risk/transaction/import.html", context)
