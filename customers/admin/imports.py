"""The import page shared by the customer and the application imports (a thin caller).

Upload: the file's size is checked, its type told by its content, it is read within the
limits and checked by the import's service (nothing written); the file is then kept on
the server (``ImportUpload``) and the confirm form names only its random id. Confirm: the
upload must belong to this user and this session; files with more rows than the import's
threshold go to a worker (``ImportJob``, with a progress page), others are imported here.
A bad file is a form error, a domain error an admin message: never a 500.
"""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from customers.forms import ImportConfirmForm, ImportFileForm
from customers.services import import_job_start
from customers.services.uploads import (
    import_upload_discard,
    import_upload_get,
    import_upload_read,
    import_upload_store,
)
from loansite.errors import ApplicationError
from loansite.tabular import TabularFileError, import_limits, tabular_read, tabular_size_message


def import_page(
    request,
    *,
    model_admin,
    kind: str,
    title,
    columns,
    max_rows: int,
    async_rows: int,
    check,
    run,
    allow_history: bool = False,
    options_form=None,
    template_url_name: str = "",
):
    """``check(request, table, history=)`` -> (report, summary) writes nothing;
    ``run(request, table, upload, skip_invalid=, history=)`` -> (report, success message) imports.

    ``options_form``: a form of choices made with the file (``options()`` gives them as JSON
    values); they are kept with the upload and given to ``check`` and ``run`` as ``options=``,
    so the confirmation (and a worker) imports the file as it was checked.
    ``template_url_name``: the URL name of the import's templates (language, format)."""
    from loansite.import_templates import import_template_links

    opts = model_admin.model._meta
    extra = (lambda options: {"options": options}) if options_form is not None else (lambda options: {})
    context = {
        "columns": columns,
        "templates": import_template_links(template_url_name) if template_url_name else [],
        "options_form": options_form() if options_form is not None else None,
        "limits": {
            "max_upload_mb": f"{import_limits()['max_upload_mb']:g}",
            "max_rows": max_rows,
            "async_rows": async_rows,
        },
    }
    form = ImportFileForm(allow_history=allow_history)
    if request.method == "POST" and "upload" in request.POST:
        confirm = ImportConfirmForm(request.POST)
        if not confirm.is_valid():
            messages.error(request, _("The uploaded file is no longer available; upload it again."))
        else:
            cleaned = confirm.cleaned_data
            history = bool(cleaned["history"] and allow_history)
            try:
                upload = import_upload_get(
                    upload_id=cleaned["upload"], owner=request.user, session_key=request.session.session_key, kind=kind
                )
                if upload.rows > async_rows:
                    job = import_job_start(
                        actor=request.user, upload=upload, skip_invalid=cleaned["skip_invalid"], history=history
                    )
                    messages.success(request, _("The import runs in the background; this page shows its progress."))
                    return HttpResponseRedirect(reverse("admin:customers_importjob_change", args=[job.pk]))
                table = tabular_read(import_upload_read(upload=upload), max_rows=max_rows)
                report, message = run(
                    request,
                    table,
                    upload,
                    skip_invalid=cleaned["skip_invalid"],
                    history=history,
                    **extra(upload.options or {}),
                )
            except ApplicationError as exc:
                messages.error(request, str(exc.message))
            else:
                if report.written:
                    import_upload_discard(upload=upload)
                    messages.success(request, message)
                    return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
                messages.error(request, _("Nothing was imported: the file has errors."))
                context.update(report=report, summary=_("Nothing was imported."))
    elif request.method == "POST":
        form = ImportFileForm(request.POST, request.FILES, allow_history=allow_history)
        chosen = options_form(request.POST) if options_form is not None else None
        context["options_form"] = chosen
        if getattr(request, "upload_too_large", False):  # reading stopped at the limit
            form.is_valid()
            form.errors["import_file"] = form.error_class([tabular_size_message()])
        elif form.is_valid() and (chosen is None or chosen.is_valid()):
            uploaded = form.cleaned_data["import_file"]
            history = bool(form.cleaned_data.get("history"))
            options = chosen.options() if chosen is not None else {}
            try:
                data = uploaded.read()
                table = tabular_read(data, max_rows=max_rows)
                report, summary = check(request, table, history=history, **extra(options))
                context.update(report=report, summary=summary, history=history)
                valid = report.rows - report.invalid_rows
                if not report.file_errors and valid > 0:
                    upload = import_upload_store(
                        owner=request.user,
                        session_key=request.session.session_key,
                        kind=kind,
                        data=data,
                        file_name=uploaded.name,
                        file_format=table.file_format,
                        rows=len(table.rows),
                        options=options,
                    )
                    context["valid_rows"] = valid
                    context["confirm_form"] = ImportConfirmForm(
                        initial={"upload": upload.pk, "skip_invalid": report.has_errors, "history": history}
                    )
            except TabularFileError as exc:
                context.pop("report", None)
                form.add_error("import_file", str(exc.message))
            except ApplicationError as exc:
                context.pop("report", None)
                messages.error(request, str(exc.message))
    return TemplateResponse(
        request,
        "admin/imports/import.html",
        {
            **model_admin.admin_site.each_context(request),
            "opts": opts,
            "title": title,
            "form": form,
            **context,
        },
    )
