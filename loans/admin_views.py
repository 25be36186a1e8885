"""Workbench views behind the admin: the decision buttons and the batch confirmation pages.

Thin callers: read the form, call the service, report the result (a domain error is an
admin message, never a 500).
"""

from functools import partial

from django.contrib import messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.models import AuditEntry
from customers.masking import application_identifiers_viewed, identifiers_visible
from loans import services
from loans.forms import AssignReviewerForm, ReasonForm
from loans.models import ApplicationSnapshot, LoanApplication, OfferResponse
from loans.selectors import application_history, approver_authority_limit, customer_other_applications
from loans.selectors.security import application_decision_warnings
from loans.services.applications import ApplicationsFrozen
from loans.services.batch import BATCH_OPERATIONS
from loansite.admin_selection import selection_confirmed, selection_of
from loansite.errors import ApplicationError
from loansite.scoping import scope_by_customer

SECOND_APPROVAL_NEEDED = gettext_lazy(
    "Your approval of %(ref)s is recorded; the amount is above your authority, "
    "so a second approver must approve it too."
)

# action -> (service, permission, reason required, button label, from-states)
DECISIONS = {
    "submit": (
        services.application_submit,
        "loans.submit_loanapplication",
        False,
        gettext_lazy("Submit"),
        LoanApplication.EDITABLE,
    ),
    "review": (
        services.application_start_review,
        "loans.review_loanapplication",
        False,
        gettext_lazy("Start review"),
        (LoanApplication.Status.SUBMITTED,),
    ),
    "approve": (
        services.application_approve,
        "loans.approve_loanapplication",
        False,
        gettext_lazy("Approve"),
        (LoanApplication.Status.UNDER_REVIEW,),
    ),
    "reject": (
        services.application_reject,
        "loans.approve_loanapplication",
        True,
        gettext_lazy("Reject"),
        (LoanApplication.Status.UNDER_REVIEW,),
    ),
    "return": (
        services.application_return,
        "loans.review_loanapplication",
        True,
        gettext_lazy("Return for information"),
        (LoanApplication.Status.UNDER_REVIEW,),
    ),
    "withdraw": (
        services.application_withdraw,
        "loans.change_loanapplication",
        False,
        gettext_lazy("Withdraw"),
        (*LoanApplication.PENDING, LoanApplication.Status.PENDING_VERIFICATION),
    ),
    "verify_identity": (
        partial(services.application_verify_identity, decision=services.IDENTITY_VERIFIED),
        "loans.verify_identity_loanapplication",
        False,
        gettext_lazy("Verify identity"),
        (LoanApplication.Status.PENDING_VERIFICATION,),
    ),
    "reject_identity": (
        partial(services.application_verify_identity, decision=services.IDENTITY_REJECTED),
        "loans.verify_identity_loanapplication",
        True,
        gettext_lazy("Reject as unverified"),
        (LoanApplication.Status.PENDING_VERIFICATION,),
    ),
    "cancel": (
        services.application_cancel,
        "loans.approve_loanapplication",
        True,
        gettext_lazy("Cancel approval"),
        (LoanApplication.Status.APPROVED,),
    ),
    # The applicant's answer to a counter-offer, given to the bank (by phone, at the branch):
    # the reason says how and when. Offered only while the counter-offer waits for it.
    "offer_accept": (
        partial(services.application_offer_answer, accept=True),
        "loans.change_loanapplication",
        True,
        gettext_lazy("Record acceptance of the counter-offer"),
        (LoanApplication.Status.APPROVED,),
    ),
    "offer_decline": (
        partial(services.application_offer_answer, accept=False),
        "loans.change_loanapplication",
        True,
        gettext_lazy("Record decline of the counter-offer"),
        (LoanApplication.Status.APPROVED,),
    ),
}
OFFER_ANSWERS = frozenset({"offer_accept", "offer_decline"})


def _change_url(model_admin, app) -> str:
    opts = model_admin.opts
    return reverse(f"{model_admin.admin_site.name}:{opts.app_label}_{opts.model_name}_change", args=[app.pk])


def application_buttons(request, app: LoanApplication) -> list[dict]:
    """The decision buttons this user may press on this application now."""
    buttons = []
    for action, (_service, perm, _needs_reason, label, states) in DECISIONS.items():
        if action in OFFER_ANSWERS and app.offer_response != OfferResponse.PENDING:
            continue
        if app.status in states and request.user.has_perm(perm):
            buttons.append({"action": action, "label": label})
    return buttons


def score_reasons_for_display(reasons) -> list[dict]:
    """Reason codes from scoring in the reader's language: ``{"code", "text", "points"}`` each."""
    from scoring.reasons import reason_text, reasons_expand

    return [{"code": r["code"], "text": reason_text(r), "points": r["points_lost"]} for r in reasons_expand(reasons)]


def _score_history(app) -> list:
    """The application's Score rows from every model version (newest first, ten at most)."""
    from scoring.selectors import application_scores

    return list(application_scores(application_id=app.pk)[:10])


# The applicant's details next to the record, in this order.
IDENTITY_ROWS = (
    ("name", gettext_lazy("Name")),
    ("kind", gettext_lazy("Type of business")),
    ("credit_code", gettext_lazy("Unified social credit code")),
    ("id_number", gettext_lazy("Owner's resident ID number")),
    ("phone", gettext_lazy("Mobile phone")),
    ("email", gettext_lazy("Email")),
    ("city", gettext_lazy("City")),
    ("industry", gettext_lazy("Industry")),
    ("years_in_business", gettext_lazy("Years in business")),
    ("employees", gettext_lazy("Employees")),
    ("monthly_revenue", gettext_lazy("Monthly revenue")),
    ("monthly_cost", gettext_lazy("Monthly cost")),
)


def application_identity_rows(app: LoanApplication, *, masked: bool = False) -> list[dict]:
    """``{"label", "claimed", "on_file", "differs"}`` per detail: what the applicant gave
    beside the record of the customer on file these details named (ID and phone numbers
    ``masked`` for users without customers.view_identifiers; compared in full)."""
    from customers.masking import mask_id_number, mask_phone

    shown = {"id_number": mask_id_number, "phone": mask_phone} if masked else {}
    claimed = app.claimed_identity or {}
    on_file = app.identity_match or app.customer
    rows = []
    for name, label in IDENTITY_ROWS:
        given = claimed.get(name)
        record = getattr(on_file, name, None) if on_file is not None else None
        given_text = "" if given in (None, "") else str(given)
        record_text = "" if record in (None, "") else str(record)
        if not given_text and not record_text:
            continue
        rows.append(
            {
                "label": label,
                "claimed": (shown[name](given_text) if name in shown else given_text) or "-",
                "on_file": (shown[name](record_text) if name in shown else record_text) or "-",
                "differs": on_file is not None and not _same_value(name, given_text, record_text),
            }
        )
    return rows


def _identity_rows(request, app) -> list[dict]:
    """The identity table for this user: masked without customers.view_identifiers, else in
    full with the view audited (once per page, with the customer's code below)."""
    full = identifiers_visible(request.user)
    if full and request.method == "GET":
        application_identifiers_viewed(actor=request.user, application=app, where="admin")
    if not app.claimed_identity:
        return []
    return application_identity_rows(app, masked=not full)


def _customer_code(request, customer) -> str:
    """The credit code, or the owner's ID number (masked without customers.view_identifiers)."""
    from customers.masking import id_number_for

    if customer is None:
        return ""
    return customer.credit_code or id_number_for(request.user, customer.id_number)


def _same_value(name: str, given: str, record: str) -> bool:
    from decimal import Decimal, InvalidOperation

    from loans.services.public import applicant_name_key

    if name == "name":
        return applicant_name_key(given) == applicant_name_key(record)
    try:
        return Decimal(given) == Decimal(record)
    except (InvalidOperation, ValueError):
        return given.strip().casefold() == record.strip().casefold()


def application_page_context(model_admin, request, object_id) -> dict:
    app = (
        scope_by_customer(LoanApplication.objects, request.user)
        .select_related("customer", "product", "reviewer", "decided_by", "identity_match")
        .filter(pk=object_id)
        .first()
    )
    if app is None:
        return {}
    from customers.selectors import credit_line_active, credit_line_headroom

    customer = app.customer
    snapshot = ApplicationSnapshot.objects.filter(application_id=app.pk).first()
    line = credit_line_active(customer=customer) if customer is not None else None
    # The audit trail is for auditors and administrators only (README), the excerpt too.
    audit = (
        AuditEntry.objects.filter(target_type="loans.loanapplication", target_id=str(app.pk)).order_by("seq")
        if request.user.has_perm("audit.view_auditentry")
        else AuditEntry.objects.none()
    )
    return {
        "application": app,
        "customer": customer,
        # What the application was judged on: its snapshot (taken at submission), never
        # the customer's record as edited since; a draft shows the record.
        "snapshot": snapshot,
        "judged": snapshot or customer,
        "ratios": snapshot or (customer.ratios if customer is not None else None),
        "credit_line": line,
        "headroom": credit_line_headroom(customer=customer) if line else None,
        "identity_to_verify": app.status == LoanApplication.Status.PENDING_VERIFICATION,
        "identity_match": app.identity_match,
        "identity_rows": _identity_rows(request, app),
        "customer_code": _customer_code(request, customer),
        "other_applications": customer_other_applications(application=app),
        "decisions": application_history(application=app),
        "audit_entries": audit[:50],
        "buttons": application_buttons(request, app),
        "score_reasons": score_reasons_for_display(app.score_reasons),
        "score_history": _score_history(app),
        "authority_limit": approver_authority_limit(user=request.user)
        if request.user.has_perm("loans.approve_loanapplication")
        else None,
        **application_servicing_context(request, app),
        "return_decision": application_return_decision(app),
    }


def application_return_decision(app: LoanApplication):
    """Why a returned application came back (the latest return of the round), for its page."""
    if app.status != LoanApplication.Status.RETURNED:
        return None
    from loans.models import ApprovalDecision

    return (
        app.decisions.filter(kind=ApprovalDecision.Kind.RETURN)
        .select_related("decider")
        .order_by("-created_at", "-id")
        .first()
    )


def application_servicing_context(request, app: LoanApplication) -> dict:
    """The decision warnings, the decided terms, the security (coverage, collateral, guarantees
    with each guarantor's exposure), disbursements and the loan, for the application page."""
    from loans.models import Disbursement
    from loans.selectors.security import application_coverage, application_guarantees

    loan = getattr(app, "loan", None) if app.status == LoanApplication.Status.DISBURSED else None
    return {
        "decision_warnings": application_decision_warnings(application=app, user=request.user),
        "coverage": application_coverage(application=app),
        "collateral_items": list(app.collateral.order_by("id")),
        "guarantees": application_guarantees(application=app),
        "disbursements": list(
            Disbursement.objects.filter(application=app).select_related("prepared_by", "authorised_by").order_by("id")
        ),
        "loan": loan,
        # Not while a counter-offer waits for the applicant's answer (the service refuses it too).
        "can_prepare_disbursement": request.user.has_perm("loans.prepare_disbursement")
        and (
            (app.status == LoanApplication.Status.APPROVED and app.offer_response != OfferResponse.PENDING)
            or (loan is not None and loan.is_live)
        ),
        "can_add_security": request.user.has_perm("loans.add_collateral"),
        "can_add_guarantee": request.user.has_perm("loans.add_guarantee"),
    }


def application_decide_view(model_admin, request, object_id, action):
    if action not in DECISIONS:
        raise Http404
    service, perm, needs_reason, label, _states = DECISIONS[action]
    if not request.user.has_perm(perm):
        raise PermissionDenied
    # Within the user's book (loansite/scoping.py): another officer's application answers 404.
    app = (
        scope_by_customer(LoanApplication.objects, request.user)
        .select_related("customer", "product")
        .filter(pk=object_id)
        .first()
    )
    if app is None:
        raise Http404
    if action == "approve":
        from loans.services.terms import application_terms_proposal
        from loans.servicing_forms import ApproveForm

        form = ApproveForm(request.POST or None, initial=application_terms_proposal(app))
    else:
        form = ReasonForm(request.POST or None, reason_required=needs_reason)
    if request.method == "POST" and form.is_valid():
        terms = form.terms() if action == "approve" else {}
        try:
            result = service(actor=request.user, application=app, reason=form.cleaned_data["reason"], **terms)
        except ApplicationsFrozen as exc:
            # The customer's new applications are frozen: said on this page, the reason kept.
            form.add_error(None, str(exc.message))
        except ApplicationError as exc:
            model_admin.message_user(request, str(exc.message), level=messages.ERROR)
            return HttpResponseRedirect(_change_url(model_admin, app))
        else:
            if action == "approve" and result.status != LoanApplication.Status.APPROVED:
                text = SECOND_APPROVAL_NEEDED
            elif action in OFFER_ANSWERS:
                text = _("Application %(ref)s: %(answer)s; now %(status)s.")
            else:
                text = _("Application %(ref)s: %(status)s.")
            model_admin.message_user(
                request,
                text
                % {
                    "ref": result.reference,
                    "status": result.get_status_display(),
                    "answer": result.get_offer_response_display(),
                },
                messages.SUCCESS,
            )
            return HttpResponseRedirect(_change_url(model_admin, app))
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": _("%(action)s application %(ref)s") % {"action": label, "ref": app.reference},
        "application": app,
        "applicant_name": app.customer.name if app.customer_id else (app.claimed_identity or {}).get("name", ""),
        "form": form,
        "action": action,
        "action_label": label,
        "reason_required": needs_reason,
        "change_url": _change_url(model_admin, app),
        "warnings": application_decision_warnings(application=app, user=request.user) if action == "approve" else [],
    }
    return TemplateResponse(request, "admin/loans/loanapplication/decide.html", context)


def application_batch_view(model_admin, request, queryset, operation: str):
    """Confirmation page (selection with grades and scores, totals, warnings), then each item
    through the service; the result separates approvals that wait for a second approver."""
    from risk.selectors import risk_flag_labels, risk_rule_label

    # The workbench's queryset brings the customers' active risk events (one query).
    applications = list(queryset.select_related("customer", "product").order_by("submitted_at", "id"))
    form_class = AssignReviewerForm if operation == "assign" else ReasonForm
    form_kwargs = {} if operation == "assign" else {"reason_required": operation == "reject"}
    selection = selection_of(request, (app.pk for app in applications))
    confirmed = request.POST.get("post") == "yes"
    form = form_class(request.POST if confirmed else None, **form_kwargs)
    outcome = None
    if confirmed and selection_confirmed(model_admin, request, selection) and form.is_valid():
        try:
            outcome = services.application_batch(
                actor=request.user,
                applications=applications,
                operation=operation,
                reason=form.cleaned_data.get("reason", ""),
                reviewer=form.cleaned_data.get("reviewer"),
            )
        except ApplicationError as exc:
            model_admin.message_user(request, str(exc.message), level=messages.ERROR)
            return None
        done, awaiting = batch_outcome_split(outcome, operation)
        if done:
            model_admin.message_user(
                request,
                _("%(op)s: %(n)s application(s) done.") % {"op": BATCH_OPERATIONS[operation], "n": len(done)},
                messages.SUCCESS,
            )
        if awaiting:
            model_admin.message_user(
                request,
                _(
                    "%(n)s application(s) are above your authority: your approval is recorded and they are "
                    "awaiting second approval."
                )
                % {"n": len(awaiting)},
                messages.WARNING,
            )
        if outcome.failed:
            model_admin.message_user(
                request,
                _("%(n)s application(s) could not be processed; see the list below.") % {"n": len(outcome.failed)},
                messages.WARNING,
            )
    done, awaiting = batch_outcome_split(outcome, operation) if outcome is not None else ([], [])
    flagged = [
        {
            "application": app,
            "flags": [label for _level, label in risk_flag_labels(app.customer)]
            + [risk_rule_label(flag) for flag in app.risk_flags or []],
        }
        for app in applications
    ]
    warnings = [
        row
        for row in flagged
        if operation in ("approve", "review") and (row["application"].score_grade == "E" or row["flags"])
    ]
    by_status = {}
    for app in applications:
        label = str(app.get_status_display())
        count, amount = by_status.get(label, (0, 0))
        by_status[label] = (count + 1, amount + app.amount)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": _("%(op)s: confirm") % {"op": BATCH_OPERATIONS[operation]}
        if outcome is None
        else _("%(op)s: result") % {"op": BATCH_OPERATIONS[operation]},
        "operation": operation,
        "operation_label": BATCH_OPERATIONS[operation],
        "applications": applications,
        "rows": flagged,
        "warnings": warnings,
        "done": done,
        "awaiting_second": awaiting,
        "count": len(applications),
        "total_amount": sum((a.amount for a in applications), 0),
        "by_status": sorted(by_status.items()),
        "form": form,
        "outcome": outcome,
        "action_name": request.POST.get("action", ""),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "selection": selection,
        "changelist_url": reverse(
            f"{model_admin.admin_site.name}:{model_admin.opts.app_label}_{model_admin.opts.model_name}_changelist"
        ),
        "media": model_admin.media,
    }
    return TemplateResponse(request, "admin/loans/loanapplication/batch.html", context)


def batch_outcome_split(outcome, operation: str) -> tuple[list, list]:
    """(decided, awaiting second approval): an approval above the approver's authority leaves
    the application under review until a second approver decides."""
    if operation != "approve":
        return list(outcome.done), []
    done = [app for app in outcome.done if app.status == LoanApplication.Status.APPROVED]
    awaiting = [app for app in outcome.done if app.status != LoanApplication.Status.APPROVED]
    return done, awaiting


# ---------------------------------------------------------------------------
# Import (the page is shared with the customer import: customers.admin.imports)
# ---------------------------------------------------------------------------
def application_import_view(model_admin, request):
    from customers.admin.imports import import_page
    from customers.models import ImportUpload
    from loans.import_forms import ApplicationImportOptionsForm
    from loans.importing import application_import_columns
    from loans.services.imports import (
        application_can_import_history,
        application_import,
        application_import_async_rows,
        application_import_max_rows,
    )

    if not model_admin.has_import_permission(request):
        raise PermissionDenied

    def check(request, table, *, history=False, options=None):
        report = application_import(table=table, actor=request.user, history=history, commit=False, options=options)
        summary = _("%(new)s applications to import, %(invalid)s rows with errors.") % {
            "new": report.new,
            "invalid": report.invalid_rows,
        }
        return report, summary

    def run(request, table, upload, *, skip_invalid, history=False, options=None):
        report = application_import(
            table=table,
            actor=request.user,
            history=history,
            skip_invalid=skip_invalid,
            file_name=upload.file_name,
            file_sha256=upload.sha256,
            options=options,
        )
        return report, _("Imported %(n)s applications.") % {"n": report.new}

    return import_page(
        request,
        model_admin=model_admin,
        kind=ImportUpload.Kind.APPLICATIONS,
        title=_("Import loan applications"),
        columns=application_import_columns(),
        max_rows=application_import_max_rows(),
        async_rows=application_import_async_rows(),
        check=check,
        run=run,
        allow_history=application_can_import_history(request.user),
        options_form=ApplicationImportOptionsForm,
        template_url_name="admin:loans_loanapplication_import_template",
    )


def application_import_template_view(model_admin, request, language, file_format):
    """A CSV or XLSX file with the import's headers and one example row (import permission only)."""
    from loans.import_templates import application_import_template_columns
    from loansite.import_templates import import_template_response

    if not model_admin.has_import_permission(request):
        raise PermissionDenied
    return import_template_response(
        name="applications",
        columns=application_import_template_columns(),
        language=language,
        file_format=file_format,
    )
