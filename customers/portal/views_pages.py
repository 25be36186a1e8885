"""The portal's pages for a signed-in customer: home, my manager, my applications (apply,
answer a return with documents), my loans (schedule, repayments, payoff, downloads).

Thin callers of ``customers.portal.selectors_portal`` and ``services_pages``. Every object is
looked up through the customer the portal selected: someone else's id answers 404.
"""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from customers.portal import selectors_portal as selectors
from customers.portal import services_pages as services
from customers.portal.auth import portal_login_required
from customers.portal.forms_pages import (
    AnswerForm,
    DocumentUploadForm,
    OfferAnswerForm,
    PayoffDateForm,
    PortalApplicationForm,
)
from loans import ratelimit
from loans.models import LoanApplication
from loans.services.applications import OFFER_ANSWER_MAX
from loansite.errors import ApplicationError

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"


def _rate(name: str, default: str) -> str:
    return getattr(settings, name, default)


def _limited(request, scope: str, rate: str) -> bool:
    """Per account: a signed-in customer cannot flood the bank with applications or files."""
    return ratelimit.rate_limit_hit(scope=scope, key=f"account:{request.portal_account.pk}", rate=rate)


def _form_error(form, exc: ApplicationError) -> None:
    errors = exc.extra.get("errors") or {}
    placed = False
    for field, message in errors.items():
        form.add_error(field if field in form.fields else None, message)
        placed = True
    if not placed:
        field = exc.extra.get("field")
        form.add_error(field if field in form.fields else None, str(exc.message))


# ---------------------------------------------------------------------------
# Home and manager
# ---------------------------------------------------------------------------
@never_cache
@portal_login_required
def home(request):
    summary = selectors.portal_home(customer=request.portal_customer, account=request.portal_account)
    return render(
        request,
        "portal/pages/home.html",
        {
            "portal_section": "home",
            "summary": summary,
            "recent": [
                {"app": app, "status": selectors.portal_application_status(app)} for app in summary.recent_applications
            ],
        },
    )


@never_cache
@portal_login_required
def manager(request):
    card = selectors.portal_manager(customer=request.portal_customer)
    return render(request, "portal/pages/manager.html", {"portal_section": "manager", "card": card})


# ---------------------------------------------------------------------------
# Applications
# ---------------------------------------------------------------------------
@never_cache
@portal_login_required
def applications(request):
    rows = [
        {
            "app": app,
            "status": selectors.portal_application_status(app),
            "offer": selectors.portal_application_offer(app),
        }
        for app in selectors.portal_applications(customer=request.portal_customer)
    ]
    return render(request, "portal/pages/applications.html", {"portal_section": "applications", "rows": rows})


def _application(request, pk) -> LoanApplication:
    return get_object_or_404(selectors.portal_applications(customer=request.portal_customer), pk=pk)


def _application_page(request, app, *, upload_form=None, answer_form=None, status=200):
    from loans.selectors.documents import document_list_for_customer, document_requests_for_application

    requests = list(document_requests_for_application(app))
    open_kinds = [r.kind for r in requests if r.status == "open"]
    returned = app.status == LoanApplication.Status.RETURNED
    can_upload = app.status in selectors.UPLOAD_STATUSES
    context = {
        "portal_section": "applications",
        "app": app,
        "status": selectors.portal_application_status(app),
        "offer": selectors.portal_application_offer(app),
        "return_reason": selectors.portal_application_return_reason(app),
        "returned": returned,
        "requests": requests,
        "open_requests": [r for r in requests if r.status == "open"],
        "documents": list(document_list_for_customer(request.portal_customer, application=app)),
        "upload_form": (upload_form or DocumentUploadForm(kinds=open_kinds)) if can_upload else None,
        "answer_form": (answer_form or AnswerForm()) if returned else None,
    }
    return render(request, "portal/pages/application.html", context, status=status)


@never_cache
@portal_login_required
def application(request, pk):
    return _application_page(request, _application(request, pk))


@never_cache
@portal_login_required
def apply(request):
    customer = request.portal_customer
    if request.method != "POST":
        form = PortalApplicationForm()
        return render(request, "portal/pages/apply.html", {"portal_section": "applications", "form": form})
    form = PortalApplicationForm(request.POST)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        from loans.services.public import public_submission_find

        earlier = public_submission_find(data["submission_token"])
        if earlier is not None and earlier.customer_id == customer.pk:
            # This very form was sent already (a refresh, a double click, back and submit).
            return redirect("portal:application", pk=earlier.pk)
        if _limited(request, "portal-apply", _rate("PORTAL_APPLY_RATE", "10/h")):
            form.add_error(None, _("You have sent many applications in a short time; please try again later."))
            status = 429
        else:
            try:
                app = services.portal_application_submit(
                    account=request.portal_account,
                    customer=customer,
                    product=data["product"],
                    amount=data["amount"],
                    term_months=data["term_months"],
                    purpose=data["purpose"],
                    repayment_method=data["repayment_method"],
                    submission_token=data["submission_token"],
                )
            except ApplicationError as exc:
                _form_error(form, exc)
                status = exc.status_code
            else:
                messages.success(
                    request,
                    _("Thank you. Your application %(ref)s has been received.") % {"ref": app.reference},
                )
                return redirect("portal:application", pk=app.pk)
    return render(request, "portal/pages/apply.html", {"portal_section": "applications", "form": form}, status=status)


@require_POST
@portal_login_required
def application_upload(request, pk):
    from loans.services.documents import document_upload

    app = _application(request, pk)
    if app.status not in selectors.UPLOAD_STATUSES:
        raise Http404
    form = DocumentUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _application_page(request, app, upload_form=form, status=400)
    if _limited(request, "portal-upload", _rate("PORTAL_UPLOAD_RATE", "30/h")):
        form.add_error(None, _("You have sent many files in a short time; please try again later."))
        return _application_page(request, app, upload_form=form, status=429)
    upload = form.cleaned_data["file"]
    try:
        document = document_upload(
            customer=request.portal_customer,
            kind=form.cleaned_data["kind"],
            file=upload,
            original_name=upload.name,
            application=app,
            portal_account=request.portal_account,
        )
    except ApplicationError as exc:
        _form_error(form, exc)
        return _application_page(request, app, upload_form=form, status=exc.status_code)
    messages.success(request, _("Received: %(name)s.") % {"name": document.original_name})
    return redirect("portal:application", pk=app.pk)


@require_POST
@portal_login_required
def application_answer(request, pk):
    app = _application(request, pk)
    form = AnswerForm(request.POST)
    if not form.is_valid():
        return _application_page(request, app, answer_form=form, status=400)
    try:
        services.portal_application_answer(
            account=request.portal_account,
            customer=request.portal_customer,
            application=app,
            message=form.cleaned_data["message"],
        )
    except ApplicationError as exc:
        if app.status != LoanApplication.Status.RETURNED:
            messages.error(request, str(exc.message))
            return redirect("portal:application", pk=app.pk)
        form.add_error(None, str(exc.message))
        return _application_page(request, app, answer_form=form, status=exc.status_code)
    messages.success(request, _("Thank you. Your application has been sent back to the bank."))
    return redirect("portal:application", pk=app.pk)


@require_POST
@portal_login_required
def application_offer(request, pk):
    app = _application(request, pk)
    form = OfferAnswerForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            _("Please choose to accept or decline the offer; a note is at most %(n)s characters.")
            % {"n": OFFER_ANSWER_MAX},
        )
        return redirect("portal:application", pk=app.pk)
    accept = form.cleaned_data["answer"] == "accept"
    try:
        services.portal_application_offer_answer(
            account=request.portal_account,
            customer=request.portal_customer,
            application=app,
            accept=accept,
            note=form.cleaned_data["note"],
        )
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return redirect("portal:application", pk=app.pk)
    if accept:
        messages.success(request, _("Thank you. You accepted our offer; your relationship manager will contact you."))
    else:
        messages.success(request, _("You declined our offer. The application is closed."))
    return redirect("portal:application", pk=app.pk)


@portal_login_required
def document_download(request, pk):
    from loans.selectors.documents import document_get_for_portal
    from loans.services.documents import document_open
    from loansite.errors import NotFound

    try:
        document = document_get_for_portal(request.portal_customer, pk)
        handle = document_open(document=document, portal_account=request.portal_account)
    except NotFound:
        raise Http404 from None
    from loans.admin_documents import document_download_response

    # As for staff: an attachment of the detected type, never sniffed, sandboxed, not cached.
    return document_download_response(document, handle)


# ---------------------------------------------------------------------------
# Loans
# ---------------------------------------------------------------------------
@never_cache
@portal_login_required
def loans(request):
    rows = list(selectors.portal_loans(customer=request.portal_customer))
    return render(request, "portal/pages/loans.html", {"portal_section": "loans", "loans": rows})


def _loan(request, pk):
    from loans.models import Loan

    return get_object_or_404(Loan.objects.select_related("product").filter(customer=request.portal_customer), pk=pk)


@never_cache
@portal_login_required
def loan(request, pk):
    loan = _loan(request, pk)
    today = timezone.localdate()
    account = selectors.portal_loan_account(loan=loan, today=today)
    payoff = account.payoff
    payoff_form = PayoffDateForm(request.GET or None, initial={"on": today})
    status = 200
    if loan.is_live and request.GET.get("on"):
        if payoff_form.is_valid():
            on = payoff_form.cleaned_data["on"]
            if on < today or on > max(loan.maturity_date, today):
                payoff_form.add_error("on", _("Choose a day from today to the loan's maturity date."))
                status = 400
            else:
                payoff = selectors.portal_loan_payoff(loan=loan, on_date=on)
        else:
            status = 400
    return render(
        request,
        "portal/pages/loan.html",
        {"portal_section": "loans", "loan": loan, "account": account, "payoff": payoff, "payoff_form": payoff_form},
        status=status,
    )


def _attachment(name: str, content: bytes, content_type: str = XLSX) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@portal_login_required
def loan_plan(request, pk):
    loan = _loan(request, pk)
    name, content = services.portal_loan_plan_download(
        account=request.portal_account, customer=request.portal_customer, loan=loan
    )
    return _attachment(name, content)


@portal_login_required
def loan_statement(request, pk, fmt="xlsx"):
    loan = _loan(request, pk)
    name, content = services.portal_loan_statement_download(
        account=request.portal_account, customer=request.portal_customer, loan=loan, fmt=fmt
    )
    return _attachment(name, content, PDF if fmt == "pdf" else XLSX)
