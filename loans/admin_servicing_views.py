"""Admin views of servicing: the loan page's context and its actions, disbursement prepare /
authorise / cancel, the printable repayment plan and the XLSX exports.

Thin callers: read the form, call the service, report the result (a domain error is an admin
message or a form error, never a 500).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from loans import schedules
from loans.models import Disbursement, Installment, Loan, LoanApplication, Repayment
from loans.selectors.loans import (
    installment_display_status,
    loan_ledger,
    loan_payoff_quote,
    loan_repayments,
    loan_schedule,
    loan_schedule_versions,
)
from loans.services import disbursements as disbursement_services
from loans.services import exports, repayments, restructuring
from loans.services.terms import application_decided_terms
from loans.servicing_forms import (
    CreditRefundForm,
    DisbursementPrepareForm,
    PayoffQuoteForm,
    PrepaymentForm,
    ReasonRequiredForm,
    RepaymentForm,
    RestructureForm,
)
from loansite.errors import ApplicationError
from loansite.scoping import scope_by_customer, scope_queryset

# action -> (permission, label)
LOAN_ACTIONS = {
    "repay": ("loans.post_repayment", gettext_lazy("Post a repayment")),
    "payoff-quote": ("loans.view_loan", gettext_lazy("Payoff quote")),
    "prepay": ("loans.post_repayment", gettext_lazy("Prepay")),
    "credit-apply": ("loans.post_repayment", gettext_lazy("Apply credit held")),
    "credit-refund": ("loans.refund_credit_loan", gettext_lazy("Refund credit held")),
    "restructure": ("loans.restructure_loan", gettext_lazy("Restructure")),
}
LIVE_ONLY = {"repay", "prepay", "credit-apply", "restructure"}


def loan_url(loan) -> str:
    return reverse("admin:loans_loan_change", args=[loan.pk])


def application_url(application_id) -> str:
    return reverse("admin:loans_loanapplication_change", args=[application_id])


def _form_errors(form, exc: ApplicationError) -> None:
    errors = exc.extra.get("errors") or {}
    field = exc.extra.get("field")
    if errors:
        for name, message in errors.items():
            form.add_error(name if name in form.fields else None, message)
    else:
        form.add_error(field if field in form.fields else None, str(exc.message))


def _page(model_admin, request, *, title, obj, form, back_url, **extra):
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": title,
        "object": obj,
        "form": form,
        "back_url": back_url,
        **extra,
    }
    return TemplateResponse(request, "admin/loans/servicing/form_page.html", context)


def _loan(object_id, user) -> Loan:
    # Within the user's book (loansite/scoping.py): another officer's loan answers 404.
    loan = (
        scope_by_customer(Loan.objects, user)
        .select_related("customer", "product", "application")
        .filter(pk=object_id)
        .first()
    )
    if loan is None:
        raise Http404
    return loan


# ---------------------------------------------------------------------------
# The loan page
# ---------------------------------------------------------------------------
def loan_page_context(request, object_id) -> dict:
    loan = Loan.objects.select_related("customer__manager__user", "product", "application", "credit_line").filter(
        pk=object_id
    )
    loan = loan.first()
    if loan is None:
        return {}
    today = timezone.localdate()
    labels = dict(Installment.Status.choices)
    schedule = []
    for row in loan_schedule(loan=loan):
        shown = installment_display_status(row, today)
        schedule.append({"row": row, "status": shown, "status_label": labels[shown], "total": row.total})
    user = request.user
    actions = [
        {"action": name, "label": label}
        for name, (perm, label) in LOAN_ACTIONS.items()
        if user.has_perm(perm) and (loan.is_live or name not in LIVE_ONLY)
    ]
    return {
        "loan": loan,
        "schedule": schedule,
        "schedule_totals": {
            "principal": sum((r["row"].principal for r in schedule), 0),
            "interest": sum((r["row"].interest for r in schedule), 0),
        },
        "ledger": loan_ledger(loan=loan),
        "repayments": loan_repayments(loan=loan),
        "versions": loan_schedule_versions(loan=loan),
        "collateral_items": loan.collateral.order_by("id"),
        "guarantees": loan.guarantees.select_related("guarantor_customer").order_by("id"),
        "loan_actions": actions,
        "can_reverse": user.has_perm("loans.reverse_repayment"),
        "can_export_schedule": user.has_perm("loans.export_loan"),
        "can_export_repayments": user.has_perm("loans.export_repayment"),
    }


def loan_action_view(model_admin, request, object_id, action):
    if action not in LOAN_ACTIONS:
        raise Http404
    perm, label = LOAN_ACTIONS[action]
    if not request.user.has_perm(perm):
        raise PermissionDenied
    loan = _loan(object_id, request.user)
    title = _("%(action)s: loan %(loan)s") % {"action": label, "loan": loan.loan_number}
    back = loan_url(loan)
    if action == "payoff-quote":
        return _payoff_quote(model_admin, request, loan, title, back)
    form_class, service = {
        "repay": (RepaymentForm, _repay),
        "prepay": (PrepaymentForm, _prepay),
        "credit-apply": (PayoffQuoteForm, _credit_apply),
        "credit-refund": (CreditRefundForm, _credit_refund),
        "restructure": (RestructureForm, _restructure),
    }[action]
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            text = service(request, loan, form.cleaned_data)
        except ApplicationError as exc:
            _form_errors(form, exc)
        else:
            model_admin.message_user(request, text, messages.SUCCESS)
            return HttpResponseRedirect(back)
    extra = {}
    if action in ("prepay", "repay"):
        try:
            extra["result_rows"] = _quote_rows(loan_payoff_quote(loan=loan))
            extra["intro"] = _("Today's payoff quote:")
        except ApplicationError:
            pass
    return _page(model_admin, request, title=title, obj=loan, form=form, back_url=back, **extra)


def _repay(request, loan, data) -> str:
    repayment = repayments.repayment_post(
        actor=request.user,
        loan=loan,
        amount=data["amount"],
        value_date=data["value_date"],
        bank_reference=data["bank_reference"],
        channel=Repayment.Channel.ADMIN,
    )
    return _("Repayment %(ref)s posted: %(principal)s principal, %(interest)s interest, %(credit)s held as credit.") % {
        "ref": repayment.bank_reference,
        "principal": repayment.allocated_principal,
        "interest": repayment.allocated_interest,
        "credit": repayment.allocated_credit,
    }


def _prepay(request, loan, data) -> str:
    repayment = repayments.loan_prepay(
        actor=request.user,
        loan=loan,
        amount=data["amount"],
        value_date=data["value_date"],
        bank_reference=data["bank_reference"],
        mode=data["mode"],
        full=data.get("full", False),
    )
    return _("Prepayment %(ref)s posted: %(principal)s principal repaid.") % {
        "ref": repayment.bank_reference,
        "principal": repayment.allocated_principal,
    }


def _credit_apply(request, loan, data) -> str:
    repayment = repayments.loan_credit_apply(actor=request.user, loan=loan, value_date=data["on_date"])
    return _("%(amount)s of credit applied.") % {"amount": repayment.amount}


def _credit_refund(request, loan, data) -> str:
    repayments.loan_credit_refund(
        actor=request.user, loan=loan, amount=data["amount"], value_date=data["value_date"], reason=data["reason"]
    )
    return _("%(amount)s of credit refunded.") % {"amount": data["amount"]}


def _restructure(request, loan, data) -> str:
    loan = restructuring.loan_restructure(
        actor=request.user,
        loan=loan,
        on_date=data["on_date"],
        reason=data["reason"],
        term_months=data.get("term_months"),
        method=data.get("method") or None,
        annual_rate=data.get("annual_rate"),
        grace_months=data.get("grace_months"),
    )
    return _("Loan %(loan)s restructured; it now matures on %(day)s.") % {
        "loan": loan.loan_number,
        "day": loan.maturity_date,
    }


def _quote_rows(quote) -> list[tuple]:
    return [
        (pgettext("payoff quote", "On"), quote.on_date.isoformat()),
        (_("Arrears (principal, interest, penalty)"), quote.arrears),
        (_("Principal not yet due"), quote.principal),
        (_("Interest to date"), quote.interest),
        (_("Prepayment fee"), quote.fee),
        (_("Paid ahead"), quote.paid_ahead),
        (_("Total to pay off"), quote.total),
        (_("Credit held (refundable)"), quote.credit_held),
    ]


def _payoff_quote(model_admin, request, loan, title, back):
    form = PayoffQuoteForm(request.POST or None)
    rows = None
    on_date = form.cleaned_data["on_date"] if request.method == "POST" and form.is_valid() else timezone.localdate()
    try:
        rows = _quote_rows(loan_payoff_quote(loan=loan, on_date=on_date))
    except (ApplicationError, schedules.ScheduleError) as exc:
        form.add_error(None, str(getattr(exc, "message", exc)))
    return _page(
        model_admin,
        request,
        title=title,
        obj=loan,
        form=form,
        back_url=back,
        result_rows=rows,
        submit_label=_("Quote"),
    )


def repayment_reverse_view(model_admin, request, object_id, repayment_id):
    if not request.user.has_perm("loans.reverse_repayment"):
        raise PermissionDenied
    loan = _loan(object_id, request.user)
    repayment = Repayment.objects.filter(pk=repayment_id, loan=loan).first()
    if repayment is None:
        raise Http404
    form = ReasonRequiredForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            repayments.repayment_reverse(actor=request.user, repayment=repayment, reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            model_admin.message_user(request, str(exc.message), messages.ERROR)
        else:
            model_admin.message_user(
                request, _("Repayment %(ref)s reversed.") % {"ref": repayment.bank_reference}, messages.SUCCESS
            )
        return HttpResponseRedirect(loan_url(loan))
    title = _("Reverse repayment %(ref)s (%(amount)s on %(day)s)") % {
        "ref": repayment.bank_reference,
        "amount": repayment.amount,
        "day": repayment.value_date,
    }
    return _page(model_admin, request, title=title, obj=loan, form=form, back_url=loan_url(loan))


def loan_plan_view(model_admin, request, object_id):
    """The printable repayment plan (还款计划表) for the customer."""
    if not request.user.has_perm("loans.view_loan"):
        raise PermissionDenied
    loan = _loan(object_id, request.user)
    installments = list(loan_schedule(loan=loan))
    remaining = sum((r.principal for r in installments), 0)
    rows = []
    for row in installments:
        remaining -= row.principal
        rows.append(
            {
                "number": row.number,
                "pay_date": row.pay_date,
                "principal": row.principal,
                "interest": row.interest,
                "total": row.principal + row.interest,
                "remaining": remaining,
            }
        )
    context = {
        "loan": loan,
        "rows": rows,
        "total_principal": sum((r["principal"] for r in rows), 0),
        "total_interest": sum((r["interest"] for r in rows), 0),
        "total": sum((r["total"] for r in rows), 0),
        "printed_on": timezone.localdate(),
    }
    return render(request, "loans/repayment_plan.html", context)


def loan_export_view(model_admin, request, object_id, what):
    loan = _loan(object_id, request.user)
    service = {"schedule": exports.loan_export_schedule, "repayments": exports.loan_export_repayments}.get(what)
    if service is None:
        raise Http404
    try:
        name, content = service(actor=request.user, loan=loan)
    except ApplicationError:
        raise PermissionDenied
    response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# ---------------------------------------------------------------------------
# Disbursements
# ---------------------------------------------------------------------------
def disbursement_prepare_view(model_admin, request, application_id):
    if not request.user.has_perm("loans.prepare_disbursement"):
        raise PermissionDenied
    app = (
        scope_by_customer(LoanApplication.objects, request.user)
        .select_related("product", "customer")
        .filter(pk=application_id)
        .first()
    )
    if app is None:
        raise Http404
    terms = application_decided_terms(app)
    loan = Loan.objects.filter(application=app).first()
    conditions = terms.conditions_precedent if loan is None else []
    initial = {
        "amount": terms.amount - (loan.principal if loan else 0),
        "value_date": timezone.localdate(),
        "contract_number": loan.contract_number if loan else "",
    }
    form = DisbursementPrepareForm(request.POST or None, initial=initial, conditions=conditions)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            disbursement = disbursement_services.disbursement_prepare(
                actor=request.user,
                application=app,
                amount=data["amount"],
                value_date=data["value_date"],
                contract_number=data["contract_number"],
                account=data["account"],
                first_due_date=data.get("first_due_date"),
                repayment_day=data.get("repayment_day"),
                conditions_checked=data.get("conditions_checked") or [],
            )
        except ApplicationError as exc:
            _form_errors(form, exc)
        else:
            model_admin.message_user(
                request,
                _("Disbursement of %(amount)s prepared; another user with disbursement authority must authorise it.")
                % {"amount": disbursement.amount},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(application_url(app.pk))
    title = _("Prepare the disbursement of %(ref)s") % {"ref": app.reference}
    intro = _("Approved %(amount)s for %(term)s months at %(rate)s, %(method)s.") % {
        "amount": terms.amount,
        "term": terms.term_months,
        "rate": terms.annual_rate,
        "method": dict(LoanApplication._meta.get_field("repayment_method").choices).get(terms.method, terms.method),
    }
    return _page(model_admin, request, title=title, obj=app, form=form, back_url=application_url(app.pk), intro=intro)


def disbursement_authorise_view(model_admin, request, object_id):
    if not request.user.has_perm("loans.authorise_disbursement"):
        raise PermissionDenied
    d = Disbursement.objects.select_related("application__product", "prepared_by").filter(pk=object_id).first()
    if d is None:
        raise Http404
    if request.method == "POST":
        try:
            loan = disbursement_services.disbursement_authorise(actor=request.user, disbursement=d)
        except ApplicationError as exc:
            model_admin.message_user(request, str(exc.message), messages.ERROR)
            return HttpResponseRedirect(application_url(d.application_id))
        model_admin.message_user(
            request, _("Disbursement authorised: loan %(loan)s.") % {"loan": loan.loan_number}, messages.SUCCESS
        )
        return HttpResponseRedirect(loan_url(loan))
    preview = disbursement_services.disbursement_schedule_preview(d)
    rows = [
        (_("Application"), d.application.reference),
        (_("Tranche"), d.tranche),
        (_("Amount"), d.amount),
        (_("Contract number"), d.contract_number),
        (_("Disbursement account"), d.account),
        (_("Value date"), d.value_date.isoformat()),
        (_("Prepared by"), d.prepared_by),
        (_("Conditions precedent met"), "; ".join(d.conditions_checked) or "-"),
    ]
    if preview:
        rows.append((_("First installment"), f"{preview[0].due_date.isoformat()}: {preview[0].total}"))
        rows.append((_("Maturity"), preview[-1].due_date.isoformat()))
    form = ReasonRequiredForm()
    form.fields.pop("reason")
    return _page(
        model_admin,
        request,
        title=_("Authorise the disbursement of %(ref)s") % {"ref": d.application.reference},
        obj=d.application,
        form=form,
        back_url=application_url(d.application_id),
        result_rows=rows,
        submit_label=_("Authorise"),
    )


def disbursement_cancel_view(model_admin, request, object_id):
    user = request.user
    if not (user.has_perm("loans.prepare_disbursement") or user.has_perm("loans.authorise_disbursement")):
        raise PermissionDenied
    d = (
        scope_queryset(Disbursement.objects, user, path="application__customer")
        .select_related("application")
        .filter(pk=object_id)
        .first()
    )
    if d is None:
        raise Http404
    form = ReasonRequiredForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            disbursement_services.disbursement_cancel(actor=user, disbursement=d, reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            model_admin.message_user(request, str(exc.message), messages.ERROR)
        else:
            model_admin.message_user(request, _("Disbursement cancelled."), messages.SUCCESS)
        return HttpResponseRedirect(application_url(d.application_id))
    return _page(
        model_admin,
        request,
        title=_("Cancel the disbursement of %(ref)s") % {"ref": d.application.reference},
        obj=d.application,
        form=form,
        back_url=application_url(d.application_id),
    )


# ---------------------------------------------------------------------------
# Bank statement import (the import page shared with customers and applications)
# ---------------------------------------------------------------------------
def statement_import_view(model_admin, request):
    from customers.admin.imports import import_page
    from loans.services.statements import (
        STATEMENTS,
        statement_columns,
        statement_import,
        statement_import_async_rows,
        statement_import_max_rows,
    )

    if not model_admin.has_import_permission(request):
        raise PermissionDenied

    def check(request, table, *, history=False):
        report = statement_import(table=table, actor=request.user, commit=False)
        summary = _("%(new)s repayments to post, %(invalid)s rows with errors.") % {
            "new": report.new,
            "invalid": report.invalid_rows,
        }
        return report, summary

    def run(request, table, upload, *, skip_invalid, history=False):
        report = statement_import(
            table=table,
            actor=request.user,
            skip_invalid=skip_invalid,
            file_name=upload.file_name,
            file_sha256=upload.sha256,
        )
        return report, _("Posted %(n)s repayments.") % {"n": report.new}

    return import_page(
        request,
        model_admin=model_admin,
        kind=STATEMENTS,
        title=_("Import a bank statement"),
        columns=statement_columns(),
        max_rows=statement_import_max_rows(),
        async_rows=statement_import_async_rows(),
        check=check,
        run=run,
        template_url_name="admin:loans_repayment_import_template",
    )


def statement_import_template_view(model_admin, request, language, file_format):
    """A CSV or XLSX bank statement with the import's headers and one example row."""
    from loans.import_templates import statement_import_template_columns
    from loansite.import_templates import import_template_response

    if not model_admin.has_import_permission(request):
        raise PermissionDenied
    return import_template_response(
        name="bank-statement", columns=statement_import_template_columns(), language=language, file_format=file_format
    )
