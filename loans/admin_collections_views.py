"""Admin views of collections: the workbench, the loan page's collections panel and its actions
(assign, log a contact, promise, legal escalation, write-off with confirmation, recovery).

Thin callers: read the form, call the service, report the result (a domain error is an admin
message or a form error, never a 500).
"""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loans.models import CollectionCase, CollectionContact, LegalCase, Loan
from loans.selectors.collections import (
    collections_bucket_counts,
    collections_my_loans,
    collections_queue,
    loan_collections,
)
from loans.services import collections as svc
from loans.services import writeoff
from loansite.errors import ApplicationError
from loansite.scoping import scope_by_customer

DATE = forms.DateInput(attrs={"type": "date"})
MONEY_FIELD = {"max_digits": 16, "decimal_places": 2, "min_value": 0}
NOTE = forms.Textarea(attrs={"rows": 3, "cols": 60})


# ---------------------------------------------------------------------------
# Forms
# ---------------------------------------------------------------------------
class CollectorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        name = obj.get_full_name()
        return f"{obj.get_username()} ({name})" if name else obj.get_username()


class AssignForm(forms.Form):
    collector = CollectorChoiceField(label=gettext_lazy("Collector"), queryset=get_user_model().objects.none())
    note = forms.CharField(label=gettext_lazy("Note"), max_length=255, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["collector"].queryset = svc.collectors()


class ContactForm(forms.Form):
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), choices=CollectionContact.Channel.choices)
    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"), choices=CollectionContact.Outcome.choices)
    note = forms.CharField(label=gettext_lazy("Note"), max_length=svc.NOTE_MAX, required=False, widget=NOTE)
    next_action_date = forms.DateField(label=gettext_lazy("Next action date"), required=False, widget=DATE)
    promise_date = forms.DateField(label=gettext_lazy("Promised payment date"), required=False, widget=DATE)
    promise_amount = forms.DecimalField(label=gettext_lazy("Promised amount"), required=False, **MONEY_FIELD)


class QuickContactForm(ContactForm):
    loan_number = forms.CharField(label=gettext_lazy("Loan number"), max_length=24)

    field_order = ["loan_number", "channel", "outcome", "note", "next_action_date", "promise_date", "promise_amount"]


class PromiseForm(forms.Form):
    promised_date = forms.DateField(label=gettext_lazy("Promised payment date"), widget=DATE)
    amount = forms.DecimalField(label=gettext_lazy("Promised amount"), **MONEY_FIELD)


class LegalOpenForm(forms.Form):
    court = forms.CharField(label=gettext_lazy("Court"), max_length=120, required=False)
    claim_amount = forms.DecimalField(
        label=gettext_lazy("Amount claimed"),
        required=False,
        help_text=gettext_lazy("Empty: everything the customer owes."),
        **MONEY_FIELD,
    )
    note = forms.CharField(label=gettext_lazy("Note"), max_length=svc.NOTE_MAX, required=False, widget=NOTE)


class LegalMoveForm(forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("New status"), choices=())
    on_date = forms.DateField(label=gettext_lazy("Date"), initial=timezone.localdate, widget=DATE)
    court_case_number = forms.CharField(label=gettext_lazy("Court case number"), max_length=64, required=False)
    note = forms.CharField(label=gettext_lazy("Note"), max_length=svc.NOTE_MAX, required=False, widget=NOTE)

    def __init__(self, *args, legal: LegalCase, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = LegalCase.TRANSITIONS[legal.status]
        self.fields["status"].choices = [(v, label) for v, label in LegalCase.Status.choices if v in allowed]


class WriteOffForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=2000, widget=NOTE)
    confirm = forms.BooleanField(
        label=gettext_lazy(
            "I confirm: take this loan's outstanding balance off the books (the customer stays liable)."
        ),
    )


class RecoveryForm(forms.Form):
    amount = forms.DecimalField(label=gettext_lazy("Amount"), **MONEY_FIELD)
    value_date = forms.DateField(label=gettext_lazy("Value date"), initial=timezone.localdate, widget=DATE)
    bank_reference = forms.CharField(label=gettext_lazy("Bank reference"), max_length=64)


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
def loan_url(loan) -> str:
    return reverse("admin:loans_loan_change", args=[loan.pk]) + "#collections"


def _form_errors(form, exc: ApplicationError) -> None:
    field = exc.extra.get("field")
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
    loan = scope_by_customer(Loan.objects, user).select_related("customer", "product").filter(pk=object_id).first()
    if loan is None:
        raise Http404
    return loan


def may_work(user, loan: Loan) -> bool:
    """Whether ``user`` may log contacts and promises on ``loan`` (what the service checks)."""
    if not user.has_perm(svc.PERM_WORK):
        return False
    if user.has_perm(svc.PERM_ASSIGN):
        return True
    return CollectionCase.objects.filter(loan=loan, collector=user).exists()


# ---------------------------------------------------------------------------
# The loan page's panel
# ---------------------------------------------------------------------------
def collections_panel_context(request, loan: Loan) -> dict:
    user = request.user
    data = loan_collections(loan)
    workable = loan.status in svc.WORKABLE
    data.update(
        loan=loan,
        can_assign=workable and user.has_perm(svc.PERM_ASSIGN),
        can_work=workable and may_work(user, loan),
        can_legal=user.has_perm(svc.PERM_LEGAL),
        can_open_legal=user.has_perm(svc.PERM_LEGAL)
        and data["legal_open"] is None
        and loan.status in (Loan.Status.OVERDUE, Loan.Status.WRITTEN_OFF),
        can_write_off=user.has_perm(writeoff.PERM_WRITE_OFF) and data["write_off_check"].allowed,
        can_recover=user.has_perm(writeoff.PERM_RECOVERY) and loan.status == Loan.Status.WRITTEN_OFF,
        legal_transitions={c.pk: bool(LegalCase.TRANSITIONS[c.status]) for c in data["legal_cases"]},
    )
    return data


# ---------------------------------------------------------------------------
# Per-loan actions
# ---------------------------------------------------------------------------
ACTIONS = {
    "assign": gettext_lazy("Assign to a collector"),
    "contact": gettext_lazy("Log a contact"),
    "promise": gettext_lazy("Record a promise to pay"),
    "legal": gettext_lazy("Escalate to legal action"),
    "write-off": gettext_lazy("Write off"),
    "recovery": gettext_lazy("Post a recovery"),
}


def loan_collections_action_view(model_admin, request, object_id, action):
    if action not in ACTIONS:
        raise Http404
    user = request.user
    allowed = {
        "assign": svc.PERM_ASSIGN,
        "contact": svc.PERM_WORK,
        "promise": svc.PERM_WORK,
        "legal": svc.PERM_LEGAL,
        "write-off": writeoff.PERM_WRITE_OFF,
        "recovery": writeoff.PERM_RECOVERY,
    }[action]
    if not user.has_perm(allowed):
        raise PermissionDenied
    loan = _loan(object_id, request.user)
    title = _("%(action)s: loan %(loan)s") % {"action": ACTIONS[action], "loan": loan.loan_number}
    back = loan_url(loan)
    handler = {
        "assign": (AssignForm, _assign),
        "contact": (ContactForm, _contact),
        "promise": (PromiseForm, _promise),
        "legal": (LegalOpenForm, _legal_open),
        "write-off": (WriteOffForm, _write_off),
        "recovery": (RecoveryForm, _recovery),
    }[action]
    form_class, service = handler
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
    if action == "write-off":
        extra = _write_off_preview(loan)
    return _page(model_admin, request, title=title, obj=loan, form=form, back_url=back, **extra)


def _assign(request, loan, data) -> str:
    svc.collection_assign(actor=request.user, loan=loan, collector=data["collector"], note=data.get("note") or "")
    return _("Loan %(loan)s assigned to %(user)s.") % {"loan": loan.loan_number, "user": data["collector"]}


def _contact(request, loan, data) -> str:
    svc.collection_contact_log(
        actor=request.user,
        loan=loan,
        channel=data["channel"],
        outcome=data["outcome"],
        note=data.get("note") or "",
        next_action_date=data.get("next_action_date"),
        promise_date=data.get("promise_date"),
        promise_amount=data.get("promise_amount"),
    )
    return _("Contact logged on loan %(loan)s.") % {"loan": loan.loan_number}


def _promise(request, loan, data) -> str:
    svc.promise_create(actor=request.user, loan=loan, promised_date=data["promised_date"], amount=data["amount"])
    return _("Promise to pay recorded on loan %(loan)s.") % {"loan": loan.loan_number}


def _legal_open(request, loan, data) -> str:
    svc.legal_case_open(
        actor=request.user,
        loan=loan,
        court=data.get("court") or "",
        claim_amount=data.get("claim_amount"),
        note=data.get("note") or "",
    )
    return _("Loan %(loan)s escalated to legal action.") % {"loan": loan.loan_number}


def _write_off(request, loan, data) -> str:
    record = writeoff.loan_write_off(actor=request.user, loan=loan, reason=data["reason"])
    return _("Loan %(loan)s written off: %(principal)s of principal off the books.") % {
        "loan": loan.loan_number,
        "principal": record.principal,
    }


def _recovery(request, loan, data) -> str:
    recovery = writeoff.recovery_post(
        actor=request.user,
        loan=loan,
        amount=data["amount"],
        value_date=data["value_date"],
        bank_reference=data["bank_reference"],
    )
    return _("Recovery %(ref)s posted on loan %(loan)s.") % {"ref": recovery.bank_reference, "loan": loan.loan_number}


def _write_off_preview(loan) -> dict:
    from loansite.formatting import format_money

    data = loan_collections(loan)
    check = data["write_off_check"]
    rows = [
        (_("Customer"), loan.customer.name),
        (_("Status"), loan.get_status_display()),
        (_("Days past due"), loan.days_past_due),
        (_("Classification"), loan.get_risk_class_display()),
        (_("Outstanding principal (off the books)"), format_money(loan.outstanding_principal)),
        (_("Penalty accrued"), format_money(loan.penalty_accrued)),
        (_("Everything the customer owes (stays owed)"), format_money(data["owed"])),
    ]
    extra = {"result_rows": rows, "submit_label": _("Write off")}
    if not check.allowed:
        extra["warnings"] = [check.why]
    else:
        extra["intro"] = _(
            "A write-off (核销) takes the outstanding principal off the books through a write-off ledger entry; "
            "unpaid interest and penalty are kept off balance. Money received later is posted as a recovery."
        )
    return extra


def legal_move_view(model_admin, request, object_id, legal_id):
    if not request.user.has_perm(svc.PERM_LEGAL):
        raise PermissionDenied
    loan = _loan(object_id, request.user)
    legal = LegalCase.objects.filter(pk=legal_id, loan=loan).first()
    if legal is None:
        raise Http404
    form = LegalMoveForm(request.POST or None, legal=legal)
    back = loan_url(loan)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            svc.legal_case_move(
                actor=request.user,
                legal_case=legal,
                status=data["status"],
                on_date=data["on_date"],
                note=data.get("note") or "",
                court_case_number=data.get("court_case_number") or None,
            )
        except ApplicationError as exc:
            _form_errors(form, exc)
        else:
            model_admin.message_user(request, _("Legal case updated."), messages.SUCCESS)
            return HttpResponseRedirect(back)
    title = _("Legal case of loan %(loan)s: %(status)s") % {
        "loan": loan.loan_number,
        "status": legal.get_status_display(),
    }
    return _page(model_admin, request, title=title, obj=loan, form=form, back_url=back)


# ---------------------------------------------------------------------------
# Batch assignment (the delinquency list's action) and the workbench
# ---------------------------------------------------------------------------
def assign_selected(model_admin, request, queryset):
    """Assign the selected loans to a collector, after a confirmation page (like delete_selected)."""
    loans = list(queryset.select_related("customer", "collection_case__collector")[:500])
    form = AssignForm(request.POST if request.POST.get("confirm") else None)
    if request.POST.get("confirm") and form.is_valid():
        try:
            outcome = svc.collection_assign_many(
                actor=request.user,
                loans=loans,
                collector=form.cleaned_data["collector"],
                note=form.cleaned_data["note"],
            )
        except ApplicationError as exc:
            model_admin.message_user(request, str(exc.message), messages.ERROR)
            return None
        if outcome.done:
            model_admin.message_user(
                request,
                _("%(n)s loans assigned to %(user)s.")
                % {"n": len(outcome.done), "user": form.cleaned_data["collector"]},
                messages.SUCCESS,
            )
        for _pk, number, why in outcome.failed:
            model_admin.message_user(request, f"{number}: {why}", messages.ERROR)
        return None
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": _("Assign %(n)s loans to a collector") % {"n": len(loans)},
        "loans": loans,
        "form": form,
        "action": "assign_collector",
        "action_checkbox_name": "_selected_action",
    }
    return TemplateResponse(request, "admin/loans/collections/assign.html", context)


def workbench_view(model_admin, request):
    user = request.user
    if not user.has_perm("loans.view_delinquentloan"):
        raise PermissionDenied
    can_assign = user.has_perm(svc.PERM_ASSIGN)
    can_work = user.has_perm(svc.PERM_WORK)
    quick = QuickContactForm(request.POST if request.POST.get("form") == "contact" else None, prefix="quick")
    assign = AssignForm(request.POST if request.POST.get("form") == "assign" else None, prefix="assign")
    if request.method == "POST":
        allowed = {"contact": can_work, "assign": can_assign}
        if not allowed.get(request.POST.get("form")):
            raise PermissionDenied
        if request.POST.get("form") == "contact" and quick.is_valid():
            data = quick.cleaned_data
            loan = Loan.objects.filter(loan_number=data["loan_number"].strip().upper()).first()
            if loan is None:
                quick.add_error("loan_number", _("No loan with this number."))
            else:
                try:
                    _contact(request, loan, data)
                except ApplicationError as exc:
                    _form_errors(quick, exc)
                else:
                    model_admin.message_user(
                        request, _("Contact logged on loan %(loan)s.") % {"loan": loan.loan_number}, messages.SUCCESS
                    )
                    return HttpResponseRedirect(request.path)
        elif request.POST.get("form") == "assign" and assign.is_valid():
            ids = [int(pk) for pk in request.POST.getlist("loan") if pk.isdigit()]
            if not ids:
                model_admin.message_user(request, _("Select the loans to assign."), messages.WARNING)
            else:
                loans = list(Loan.objects.filter(pk__in=ids).order_by("id"))
                outcome = svc.collection_assign_many(
                    actor=user,
                    loans=loans,
                    collector=assign.cleaned_data["collector"],
                    note=assign.cleaned_data["note"],
                )
                if outcome.done:
                    model_admin.message_user(
                        request,
                        _("%(n)s loans assigned to %(user)s.")
                        % {"n": len(outcome.done), "user": assign.cleaned_data["collector"]},
                        messages.SUCCESS,
                    )
                for _pk, number, why in outcome.failed:
                    model_admin.message_user(request, f"{number}: {why}", messages.ERROR)
                return HttpResponseRedirect(request.path)
    bucket = request.GET.get("bucket") or None
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": _("Collections workbench"),
        "buckets": collections_bucket_counts(),
        "bucket": bucket,
        "mine": list(collections_my_loans(collector=user)[:100]) if can_work else [],
        "queue": list(collections_queue(bucket=bucket, unassigned=True)[:50]) if can_assign else [],
        "can_assign": can_assign,
        "can_work": can_work,
        "quick_form": quick,
        "assign_form": assign,
    }
    return TemplateResponse(request, "admin/loans/collections/workbench.html", context)
