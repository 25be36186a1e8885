"""Public pages: the application form and the status lookup. Thin callers of the services."""

import json
import time

from django.conf import settings
from django.core import signing
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from loans.forms import PublicApplicationForm, StatusLookupForm
from loans.ratelimit import rate_limit_count, rate_limit_hit, rate_limit_reached, rate_limit_retry_after
from loans.selectors import application_public_lookup, application_public_offer, application_public_status
from loans.services import application_submit_public
from loans.services.public import application_public_fingerprint, public_submission_find
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


def _form_again(request, form: PublicApplicationForm, *, status: int, retry_rate: str | None = None):
    """The form with everything typed; when limited, a 429 that says when to try again."""
    context = {"form": form}
    if retry_rate is not None:
        seconds = rate_limit_retry_after(retry_rate)
        context["retry_after"] = seconds
        context["retry_minutes"] = max(1, (seconds + 59) // 60)
    response = render(request, "loans/public/apply.html", context, status=status)
    if retry_rate is not None:
        response["Retry-After"] = str(context["retry_after"])
    return response


# What this browser filed lately, in a signed cookie (no session row for an anonymous
# applicant: the public form writes nothing but the application): the reference the
# confirmation page shows, and fingerprint -> (reference, when) of the applications filed.
APPLY_COOKIE = "loans_apply"
APPLY_COOKIE_SALT = "loans.views.apply"
# How long this browser's filed applications are recognised when sent again.
FILED_RECOGNISED_SECONDS = 30 * 60


def _apply_state(request) -> dict:
    try:
        state = request.get_signed_cookie(APPLY_COOKIE, salt=APPLY_COOKIE_SALT, max_age=FILED_RECOGNISED_SECONDS)
        state = json.loads(state)
    except (KeyError, ValueError, signing.BadSignature):
        return {"done": None, "filed": {}}
    return state if isinstance(state, dict) else {"done": None, "filed": {}}


def _filed_recently(request) -> dict:
    """Fingerprint -> reference of the applications this browser filed recently."""
    now = time.time()
    filed = _apply_state(request).get("filed") or {}
    return {fp: ref for fp, (ref, at) in filed.items() if now - at < FILED_RECOGNISED_SECONDS}


def _done(request, reference: str | None, *, filed: tuple[str, str] | None = None):
    """Post/redirect/get: the confirmation is a page of its own, safe to refresh."""
    state = _apply_state(request)
    now = time.time()
    kept = {fp: entry for fp, entry in (state.get("filed") or {}).items() if now - entry[1] < FILED_RECOGNISED_SECONDS}
    if filed is not None:
        kept[filed[0]] = [filed[1], now]
    state = {"done": reference or "", "filed": dict(list(kept.items())[-10:])}
    response = redirect("loans:apply-done", permanent=False)
    response.set_signed_cookie(
        APPLY_COOKIE,
        json.dumps(state),
        salt=APPLY_COOKIE_SALT,
        max_age=FILED_RECOGNISED_SECONDS,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return response


@never_cache
@csrf_protect
def apply(request):
    if request.method != "POST":
        return render(request, "loans/public/apply.html", {"form": PublicApplicationForm()})
    key = _client_key(request)
    form = PublicApplicationForm(request.POST)
    if rate_limit_hit(scope="apply-post", key=key, rate=settings.PUBLIC_APPLY_ATTEMPT_RATE):
        # A flood of posts: the form comes back as typed, with when to try again.
        form.is_valid()
        return _form_again(request, form, status=429, retry_rate=settings.PUBLIC_APPLY_ATTEMPT_RATE)
    if form.is_bot():
        # Answer like a success so the bot learns nothing; nothing is saved.
        return _done(request, None)
    if not form.is_valid():
        # Invalid input: the form again, with everything typed kept, every error at once.
        return _form_again(request, form, status=400)
    data = form.cleaned_data
    earlier = public_submission_find(data["submission_token"])
    if earlier is not None:
        # This very form was filed already (a refresh, a double click, back and submit).
        return _done(request, earlier.reference)
    customer_fields = form.customer_fields()
    fingerprint = application_public_fingerprint(
        customer_fields=customer_fields,
        product=data["product"],
        amount=data["amount"],
        term_months=data["term_months"],
    )
    filed = _filed_recently(request).get(fingerprint)
    if filed is not None:
        # The same application filed from this browser a moment ago, sent again from a copy
        # of the form (the back button serves one with a new token): the same answer.
        return _done(request, filed)
    if rate_limit_reached(scope="apply", key=key, rate=settings.PUBLIC_APPLY_RATE):
        return _form_again(request, form, status=429, retry_rate=settings.PUBLIC_APPLY_RATE)
    try:
        application = application_submit_public(
            customer_fields=customer_fields,
            product=data["product"],
            amount=data["amount"],
            term_months=data["term_months"],
            purpose=data["purpose"],
            repayment_method=data["repayment_method"],
            submission_token=data["submission_token"],
        )
    except ApplicationError as exc:
        _apply_errors(form, exc)
        return _form_again(request, form, status=exc.status_code)
    # Only applications filed count toward the per-address limit.
    rate_limit_count(scope="apply", key=key, rate=settings.PUBLIC_APPLY_RATE)
    # The same page and a reference for a new customer, a customer on file and an
    # application pending identity verification: it tells nobody who is on file.
    return _done(request, application.reference, filed=(fingerprint, application.reference))


@never_cache
def apply_done(request):
    state = _apply_state(request)
    if state.get("done") is None:
        return redirect("loans:apply")
    return render(request, "loans/public/apply_done.html", {"reference": state["done"]})


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
