"""The reports page (报表) in the admin, its XLSX exports and the report files (monthly reports,
loan-level exports). Thin: figures from ``reports``, tables from ``reports_tables``, writes
through ``reports_services``.

Who sees what: ``loansite.view_reports`` opens the page; loan officers (everyone who does not
read the whole book) see their own customers' loans and the applications they created only, as
on the dashboard; monthly report files are for holders of ``loansite.view_reportfile``; a
loan-level export is for the person who asked for it; administrators generate a month now.
"""

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from audit.models import AuditAction
from audit.services import audit_record
from loansite import roles
from loansite.dashboard import reports, reports_tables
from loansite.dashboard.periods import PERIOD_CHOICES, period_from
from loansite.dashboard.reports import ReportFilters
from loansite.dashboard.reports_models import ReportFile
from loansite.dashboard.reports_services import (
    PERM_GENERATE,
    PERM_VIEW_REPORTS,
    loans_export_request,
    monthly_report_request,
    report_file_download,
    report_files_for,
)
from loansite.dashboard.reports_xlsx import xlsx_report_bytes
from loansite.errors import ApplicationError

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE_SIZE = 50
# The overdue list exported on the spot; a longer one goes to the worker (loan-level export).
OVERDUE_EXPORT_MAX = 20_000
# Roles that read the whole book (anyone else sees their own, as on the dashboard).
WHOLE_BOOK_ROLES = frozenset(
    {
        roles.CREDIT_APPROVER,
        roles.RISK_ANALYST,
        roles.MODEL_OPS,
        roles.AUDITOR,
        roles.ADMINISTRATOR,
    }
)
REPORT_CHOICES = [(key, title) for key, title in reports_tables.REPORT_TITLES.items()]
DIMENSION_CHOICES = list(reports_tables.DIMENSION_LABELS.items())


def report_owner(user) -> int | None:
    """None: the whole book; a user id: that officer's own book."""
    if user.is_superuser or user.has_perm("customers.view_all_customers"):
        return None
    if set(user.groups.values_list("name", flat=True)) & WHOLE_BOOK_ROLES:
        return None
    return user.pk


def _check(request) -> None:
    if not request.user.has_perm(PERM_VIEW_REPORTS):
        raise PermissionDenied


class ReportFilterForm(forms.Form):
    report = forms.ChoiceField(label=_("Report"), choices=REPORT_CHOICES, required=False)
    by = forms.ChoiceField(label=_("By"), choices=DIMENSION_CHOICES, required=False)
    period = forms.ChoiceField(label=_("Period"), choices=[("all", _("All dates")), *PERIOD_CHOICES], required=False)
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    product = forms.ModelChoiceField(label=_("Product"), queryset=None, required=False)
    city = forms.ChoiceField(label=_("City"), required=False)
    industry = forms.ChoiceField(label=_("Industry"), required=False)
    manager = forms.ModelChoiceField(label=_("Relationship manager"), queryset=None, required=False)
    risk_class = forms.ChoiceField(label=_("Classification"), required=False)
    bucket = forms.ChoiceField(label=_("Days past due"), required=False)
    page = forms.IntegerField(required=False, min_value=1, max_value=1_000_000, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        from customers.models import RelationshipManager
        from customers.reference import city_choices, industry_choices
        from loans.models import DpdBucket, LoanProduct, RiskClass

        super().__init__(*args, **kwargs)
        everything = [("", _("All"))]
        self.fields["product"].queryset = LoanProduct.objects.order_by("code")
        self.fields["product"].empty_label = _("All")
        self.fields["manager"].queryset = RelationshipManager.objects.select_related("user").order_by("user__username")
        self.fields["manager"].empty_label = _("All")
        self.fields["city"].choices = everything + city_choices()
        self.fields["industry"].choices = everything + industry_choices()
        self.fields["risk_class"].choices = everything + list(RiskClass.choices)
        self.fields["bucket"].choices = everything + [c for c in DpdBucket.choices if c[0] != "current"]

    def clean(self):
        data = super().clean()
        if data.get("period") == "custom":
            start, end = data.get("start"), data.get("end")
            if not start or not end:
                raise forms.ValidationError(_("A custom period needs both dates."))
            if start > end:
                raise forms.ValidationError(_("The start date is after the end date."))
            if (end - start).days > 3660:
                raise forms.ValidationError(_("A custom period may span ten years at most."))
        return data

    def filters(self, *, owner) -> ReportFilters:
        data = self.cleaned_data
        key = data.get("period") or "all"
        period = None if key == "all" else period_from(key, start=data.get("start"), end=data.get("end"))
        return ReportFilters(
            period=period,
            product=data["product"].pk if data.get("product") else None,
            city=data.get("city") or "",
            industry=data.get("industry") or "",
            manager=data["manager"].pk if data.get("manager") else None,
            risk_class=data.get("risk_class") or "",
            owner=owner,
        )


def _request_filters(request):
    form = ReportFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return form, None
    if not form.is_bound:
        form = ReportFilterForm({})
        form.is_valid()
    return form, form.filters(owner=report_owner(request.user))


def _products() -> dict:
    return reports.dimension_labels("product", list(_product_ids()))


def _product_ids():
    from loans.models import LoanProduct

    return LoanProduct.objects.values_list("pk", flat=True)


def report_tables_for(name: str, filters: ReportFilters, *, by: str = "product") -> list[dict]:
    """The tables of report ``name`` (the overdue list excepted: it is paged), cached for a
    minute under the dashboard's version, which writes to what the reports read move on."""
    from django.core.cache import cache
    from django.utils import translation

    from loansite.dashboard.selectors import CACHE_SECONDS, dashboard_version

    if name not in reports.REPORTS:
        raise Http404
    key = f"reports:{dashboard_version()}:{translation.get_language()}:{name}:{by}:{filters.cache_key}"
    tables = cache.get(key)
    if tables is None:
        tables = _report_tables(name, filters, by=by)
        cache.set(key, tables, CACHE_SECONDS)
    return tables


def _report_tables(name: str, filters: ReportFilters, *, by: str) -> list[dict]:
    if name == "portfolio":
        return [reports_tables.portfolio_table(reports.portfolio_report(filters=filters, by=by), by=by)]
    if name == "funnel":
        return [reports_tables.funnel_table(reports.funnel_report(filters=filters))]
    if name == "flows":
        return [reports_tables.flows_table(reports.flows_report(filters=filters))]
    if name == "overdue":
        return [reports_tables.overdue_bucket_table(reports.overdue_report(filters=filters))]
    if name == "risk_class":
        return reports_tables.risk_class_tables(reports.risk_class_report(filters=filters))
    raise Http404


def reports_page(request, site):
    _check(request)
    form, filters = _request_filters(request)
    data = form.cleaned_data if filters is not None else {}
    name = data.get("report") or "portfolio"
    by = data.get("by") or "product"
    tables, overdue_page = [], None
    if filters is not None:
        tables = report_tables_for(name, filters, by=by)
        if name == "overdue":
            paginator = Paginator(reports.overdue_loans(filters=filters, bucket=data.get("bucket") or ""), PAGE_SIZE)
            page = paginator.get_page(data.get("page") or 1)
            rows = reports_tables.overdue_list_rows(page.object_list, products=_products())
            overdue_page = {
                "page": page,
                "headers": [str(h) for h in reports_tables.OVERDUE_LIST_HEADERS],
                "rows": [
                    [reports_tables.fmt(v, k) for v, k in zip(row, reports_tables.OVERDUE_LIST_KINDS, strict=True)]
                    for row in rows
                ],
            }
    for table in tables:
        table["display_rows"] = reports_tables.display_rows(table)
        table["header_cells"] = reports_tables.header_cells(table)
    query = request.GET.copy()
    query.pop("page", None)
    tabs = []
    for key, title in REPORT_CHOICES:
        tab_query = query.copy()
        tab_query["report"] = key
        tabs.append({"key": key, "title": title, "query": tab_query.urlencode(), "active": key == name})
    context = {
        **site.each_context(request),
        "title": _("Reports"),
        "form": form,
        "report": name,
        "report_title": reports_tables.REPORT_TITLES.get(name, ""),
        "tabs": tabs,
        "tables": tables,
        "overdue": overdue_page,
        "query": query.urlencode(),
        "filters": filters,
        "own_book": filters is not None and filters.owner is not None,
        "may_export_loans": name == "portfolio" and filters is not None,
        "may_see_files": True,
    }
    return TemplateResponse(request, "admin/reports/reports.html", context)


def report_export(request, site, name: str):
    """One report's tables as an XLSX workbook (numbers as number cells, headers in the page's language)."""
    _check(request)
    if name not in reports.REPORTS:
        raise Http404
    form, filters = _request_filters(request)
    if filters is None:
        messages.error(request, _("Correct the filters first."))
        return HttpResponseRedirect(f"{reverse('admin:reports')}?{request.GET.urlencode()}")
    data = form.cleaned_data
    by = data.get("by") or "product"
    sheets = [
        {
            "title": t["title"],
            "headers": t["headers"],
            "rows": t["rows"] + ([t["total"]] if t["total"] else []),
            "kinds": t["kinds"],
            "preamble": [[t["title"], _period_text(filters)], *([[t["note"]]] if t["note"] else [])],
        }
        for t in report_tables_for(name, filters, by=by)
    ]
    if name == "overdue":
        loans = reports.overdue_loans(filters=filters, bucket=data.get("bucket") or "")
        if loans.count() > OVERDUE_EXPORT_MAX:
            messages.error(
                request,
                _("More than %(max)s overdue loans: export them from the portfolio report's loan-level export.")
                % {"max": f"{OVERDUE_EXPORT_MAX:,}"},
            )
            return HttpResponseRedirect(f"{reverse('admin:reports')}?{request.GET.urlencode()}")
        sheets.append(
            {
                "title": str(_("Overdue loans")),
                "headers": [str(h) for h in reports_tables.OVERDUE_LIST_HEADERS],
                "rows": reports_tables.overdue_list_rows(list(loans), products=_products()),
                "kinds": reports_tables.OVERDUE_LIST_KINDS,
            }
        )
    body = xlsx_report_bytes(sheets)
    audit_record(
        action=AuditAction.EXPORT,
        actor=request.user,
        target=("loansite.report", name, str(reports_tables.REPORT_TITLES[name])),
        changes={"report": name, "by": by, "filters": filters.as_json(), "rows": sum(len(s["rows"]) for s in sheets)},
    )
    response = HttpResponse(body, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="report-{name}-{timezone.localdate():%Y%m%d}.xlsx"'
    return response


def _period_text(filters: ReportFilters) -> str:
    if filters.period is None:
        return str(_("All dates"))
    return f"{filters.period.first_day:%Y-%m-%d} — {filters.period.last_day:%Y-%m-%d}"


@require_POST
def report_loans_export_request(request, site):
    _check(request)
    form = ReportFilterForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Correct the filters first."))
        return HttpResponseRedirect(reverse("admin:reports"))
    try:
        loans_export_request(actor=request.user, filters=form.filters(owner=report_owner(request.user)))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("admin:reports"))
    messages.success(request, _("The loan-level export is being written; it will be listed here when it is ready."))
    return HttpResponseRedirect(reverse("admin:report_files"))


class MonthForm(forms.Form):
    month = forms.DateField(
        label=_("Month"),
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
        help_text=_("Year and month, e.g. 2026-10."),
    )


def report_files(request, site):
    if not (request.user.has_perm(PERM_VIEW_REPORTS) or request.user.has_perm("loansite.view_reportfile")):
        raise PermissionDenied
    may_generate = request.user.has_perm(PERM_GENERATE)
    form = MonthForm(initial={"month": _last_month()}) if may_generate else None
    files = list(report_files_for(request.user).select_related("requested_by")[:200])
    context = {
        **site.each_context(request),
        "title": _("Report files"),
        "files": files,
        "form": form,
        "may_generate": may_generate,
        "busy": any(f.status in (ReportFile.Status.QUEUED, ReportFile.Status.RUNNING) for f in files),
    }
    return TemplateResponse(request, "admin/reports/files.html", context)


def _last_month() -> dt.date:
    from loansite.dashboard.reports_services import previous_month

    return previous_month()


@require_POST
def report_monthly_generate(request, site):
    if not request.user.has_perm(PERM_GENERATE):
        raise PermissionDenied
    form = MonthForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("month", []):
            messages.error(request, error)
        return HttpResponseRedirect(reverse("admin:report_files"))
    try:
        report = monthly_report_request(actor=request.user, month=form.cleaned_data["month"])
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("admin:report_files"))
    messages.success(request, _("The report of %(month)s is being generated.") % {"month": f"{report.month:%Y-%m}"})
    return HttpResponseRedirect(reverse("admin:report_files"))


def report_file_get(request, site, pk: int):
    report = report_files_for(request.user).filter(pk=pk).first()
    if report is None:
        raise Http404
    try:
        body = report_file_download(actor=request.user, report=report)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("admin:report_files"))
    stamp = f"{report.month:%Y-%m}" if report.month else f"{timezone.localtime(report.created_at):%Y%m%d-%H%M}"
    response = HttpResponse(body, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{report.kind}-report-{stamp}.xlsx"'
    return response


def report_urls(site) -> list:
    def view(func):
        def wrapped(request, *args, **kwargs):
            return func(request, site, *args, **kwargs)

        wrapped.__name__ = func.__name__
        return site.admin_view(wrapped)

    return [
        path("reports/", view(reports_page), name="reports"),
        path("reports/export/<slug:name>/", view(report_export), name="report_export"),
        path("reports/loans-export/", view(report_loans_export_request), name="report_loans_export"),
        path("reports/files/", view(report_files), name="report_files"),
        path("reports/files/generate/", view(report_monthly_generate), name="report_monthly_generate"),
        path("reports/files/<int:pk>/", view(report_file_get), name="report_file"),
    ]


def reports_app_entry(request) -> dict | None:
    """The "Reports" entry of the admin index and sidebar, for those who may read reports."""
    user = request.user
    show_reports = user.has_perm(PERM_VIEW_REPORTS)
    show_files = show_reports or user.has_perm("loansite.view_reportfile")
    if not show_files:
        return None
    models = []
    if show_reports:
        models.append(
            {
                "name": _("Portfolio reports"),
                "object_name": "Reports",
                "admin_url": reverse("admin:reports"),
                "view_only": True,
                "perms": {"view": True},
            }
        )
    models.append(
        {
            "name": _("Report files"),
            "object_name": "ReportFile",
            "admin_url": reverse("admin:report_files"),
            "view_only": True,
            "perms": {"view": True},
        }
    )
    return {
        "name": _("Reports"),
        "app_label": "reports",
        "app_url": reverse("admin:reports") if show_reports else reverse("admin:report_files"),
        "has_module_perms": True,
        "models": models,
    }
