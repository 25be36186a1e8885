"""Public pages: the application form and the status lookup. Thin callers of the services."""

from django.conf import settings
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from loans.forms import PublicApplicationForm, StatusLookupForm
from loans.ratelimit import rate_limit_hit, rate_limit_retry_after
from loans.selectors import application_public_lookup, application_public_offer, application_public_status
from loans.services import application_submit_public
from loansite.errors import ApplicationError
from loansite.proxy import client_key


def _client_key(request) -> str:
    # The one trusted-proxy setting decides the address (never a client-written header).
    return client_key(request)


def _too_many(request, rate: str):
    seconds = rate_limit_retry_after(rate)
    response = render(request, "loans/public/rate_limited.html", {"seconds": seconds}, status=429)
    response["Retry-After"] = str(seconds)
    return response


def _apply_errors(form: PublicApplicationForm, exc: ApplicationError) -> None:
    errors = exc.extra.get("errors") or {}
    placed = False
    for field, messages in errors.items():
        target = field if field in form.fields else None
        for message in messages if isinstance(messages, list | tuple) else [messages]:
            form.add_error(target, message)
            placed = True
    if not placed:
        form.add_error(exc.extra.get("field") if exc.extra.get("field") in form.fields else None, str(exc.message))


@never_cache
@csrf_protect
def apply(request):
    if request.method != "POST":
        return render(request, "loans/public/apply.html", {"form": PublicApplicationForm()})
    if rate_limit_hit(scope="apply", key=_client_key(request), rate=settings.PUBLIC_APPLY_RATE):
        return _too_many(request, settings.PUBLIC_APPLY_RATE)
    form = PublicApplicationForm(request.POST)
    if form.is_bot():
        # Answer like a success so the bot learns nothing; nothing is saved.
        return render(request, "loans/public/apply_done.html", {"application": None})
    http_status = 400  # invalid input: the form again, with everything typed kept
    if form.is_valid():
        data = form.cleaned_data
        try:
            application = application_submit_public(
                customer_fields=form.customer_fields(),
                product=data["product"],
                amount=data["amount"],
                term_months=data["term_months"],
                purpose=data["purpose"],
                repayment_method=data["repayment_method"],
            )
        except ApplicationError as exc:
            _apply_errors(form, exc)
            http_status = exc.status_code
        else:
            # The same page and a reference for a new customer, a customer on file and an
            # application pending identity verification: it tells nobody who is on file.
            return render(request, "loans/public/apply_done.html", {"application": application})
    return render(request, "loans/public/apply.html", {"form": form}, status=http_status)


@never_cache
@csrf_protect
def status(request):
    result, searched = None, False
    if request.method == "POST":
        if rate_limit_hit(scope="status", key=_client_key(request), rate=settings.PUBLIC_STATUS_RATE):
            return _too_many(request, settings.PUBLIC_STATUS_RATE)
        form = StatusLookupForm(request.POST)
        if form.is_valid():
            searched = True
            result = application_public_lookup(
                reference=form.cleaned_data["reference"], phone=form.cleaned_data["phone"]
            )
    else:
        form = StatusLookupForm()
    return render(
        request,
        "loans/public/status.html",
        {
            "form": form,
            "result": result,
            "result_status": application_public_status(result) if result is not None else "",
            "offer": application_public_offer(result) if result is not None else None,
            "searched": searched,
            "not_found": _("No application matches these details."),
        },
    )
