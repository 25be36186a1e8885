"""The customer portal's account pages: sign-in and out, registration, added access, password
reset and change, profile and change requests, messages. Thin callers of the portal services."""

import secrets

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from customers.models import PortalAccess, PortalChangeRequest, PortalCode
from customers.portal import forms, services
from customers.portal.auth import (
    code_rate_message,
    code_sent_message,
    password_reset_message,
    portal_customer_select,
    portal_login_required,
    portal_session_account,
    portal_session_end,
    portal_session_start,
    registered_message,
)
from loansite.errors import ApplicationError
from loansite.proxy import client_ip, client_key
from loansite.throttling import login_rate_check, too_many_logins_response

DEVICE_COOKIE = "portal_device"
DEVICE_SALT = "customers.portal.device"
CODE_SESSION = "_portal_code_%s"


def _device_id(request) -> tuple[str, bool]:
    """This browser's device id (a signed random cookie), and whether it is new."""
    raw = request.COOKIES.get(DEVICE_COOKIE, "")
    try:
        return signing.loads(raw, salt=DEVICE_SALT), False
    except signing.BadSignature:
        return secrets.token_hex(12), True


def _with_device_cookie(response, device: str, new: bool):
    if new:
        response.set_cookie(
            DEVICE_COOKIE,
            signing.dumps(device, salt=DEVICE_SALT),
            max_age=400 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=request_secure_cookie(),
        )
    return response


def request_secure_cookie() -> bool:
    return bool(getattr(settings, "SESSION_COOKIE_SECURE", False))


def _form_errors(form, exc: ApplicationError) -> None:
    form.add_error(None, str(exc.message))


def _code_rate_exceeded(request) -> bool:
    return services.portal_code_rate_hit(key=client_key(request))


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


# --- sign-in and out ----------------------------------------------------------------------------


@never_cache
@sensitive_post_parameters("password")
def login(request):
    account, _why = portal_session_account(request)
    if account is not None and request.method == "GET":
        return redirect("portal:home")
    device, new_device = _device_id(request)
    form = forms.SignInForm(request.POST or None)
    if request.method == "POST":
        seconds = login_rate_check(request)
        if seconds is not None:
            return too_many_logins_response(request, seconds=seconds)
        if form.is_valid():
            try:
                account = services.portal_sign_in(
                    login=form.cleaned_data["login"],
                    password=form.cleaned_data["password"],
                    ip=client_ip(request),
                    user_agent=request.headers.get("User-Agent", ""),
                    device=device,
                    channel="web",
                )
            except services.SignInRefused as exc:
                if exc.reason == "locked":
                    return too_many_logins_response(request, seconds=exc.seconds, locked=True)
                _form_errors(form, exc)
            else:
                portal_session_start(request, account=account)
                response = redirect(_safe_next(request, reverse("portal:home")))
                return _with_device_cookie(response, device, new_device)
    response = render(request, "portal/login.html", {"form": form, "next": _safe_next(request, "")})
    return _with_device_cookie(response, device, new_device)


@require_POST
def logout(request):
    account, _why = portal_session_account(request)
    if account is not None:
        services.portal_sign_out(account=account)
    portal_session_end(request)
    messages.success(request, _("You have signed out."))
    return redirect("portal:login")


@require_POST
@portal_login_required
def switch(request):
    if not portal_customer_select(request, customer_id=request.POST.get("customer")):
        from django.http import Http404

        raise Http404
    return redirect("portal:home")


@portal_login_required
def home(request):
    return render(request, "portal/home.html", {"portal_section": "home"})


# --- one-time code flows --------------------------------------------------------------------------


def _identity_step(request, *, purpose: str, template: str, next_url: str, extra: dict | None = None):
    form = forms.IdentityForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _code_rate_exceeded(request):
            form.add_error(None, code_rate_message())
        else:
            row = services.portal_code_request(
                purpose=purpose, identifier=form.cleaned_data["identifier"], phone=form.cleaned_data["phone"]
            )
            request.session[CODE_SESSION % purpose] = str(row.pk)
            messages.info(request, code_sent_message())
            return redirect(next_url)
    return render(request, template, {"form": form, **(extra or {})})


@never_cache
def register(request):
    return _identity_step(
        request,
        purpose=PortalCode.Purpose.REGISTER,
        template="portal/register.html",
        next_url=reverse("portal:register-verify"),
    )


@never_cache
@sensitive_post_parameters("password", "password2", "code")
def register_verify(request):
    code_id = request.session.get(CODE_SESSION % PortalCode.Purpose.REGISTER)
    if not code_id:
        return redirect("portal:register")
    form = forms.RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.portal_account_register(
                code_id=code_id,
                code=form.cleaned_data["code"],
                password=form.cleaned_data["password"],
                username=form.cleaned_data["username"],
            )
        except ApplicationError as exc:
            _form_errors(form, exc)
        else:
            request.session.pop(CODE_SESSION % PortalCode.Purpose.REGISTER, None)
            messages.success(request, registered_message())
            return redirect("portal:login")
    return render(request, "portal/register_verify.html", {"form": form})


@never_cache
@portal_login_required
def add_access(request):
    return _identity_step(
        request,
        purpose=PortalCode.Purpose.ADD_ACCESS,
        template="portal/add_access.html",
        next_url=reverse("portal:add-access-verify"),
        extra={"portal_section": "profile"},
    )


@never_cache
@portal_login_required
def add_access_verify(request):
    code_id = request.session.get(CODE_SESSION % PortalCode.Purpose.ADD_ACCESS)
    if not code_id:
        return redirect("portal:add-access")
    form = forms.AddAccessCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            access = services.portal_access_add(
                account=request.portal_account, code_id=code_id, code=form.cleaned_data["code"]
            )
        except ApplicationError as exc:
            _form_errors(form, exc)
        else:
            request.session.pop(CODE_SESSION % PortalCode.Purpose.ADD_ACCESS, None)
            portal_customer_select(request, customer_id=access.customer_id)
            messages.success(request, _("You now have access to %(name)s.") % {"name": access.customer.name})
            return redirect("portal:home")
    return render(request, "portal/add_access_verify.html", {"form": form, "portal_section": "profile"})


@never_cache
def reset(request):
    form = forms.ResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _code_rate_exceeded(request):
            form.add_error(None, code_rate_message())
        else:
            row = services.portal_reset_request(login=form.cleaned_data["login"])
            request.session[CODE_SESSION % PortalCode.Purpose.RESET] = str(row.pk)
            messages.info(request, code_sent_message(reset=True))
            return redirect("portal:reset-verify")
    return render(request, "portal/reset.html", {"form": form})


@never_cache
@sensitive_post_parameters("password", "password2", "code")
def reset_verify(request):
    code_id = request.session.get(CODE_SESSION % PortalCode.Purpose.RESET)
    if not code_id:
        return redirect("portal:reset")
    form = forms.ResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.portal_password_reset(
                code_id=code_id, code=form.cleaned_data["code"], password=form.cleaned_data["password"]
            )
        except ApplicationError as exc:
            _form_errors(form, exc)
        else:
            request.session.pop(CODE_SESSION % PortalCode.Purpose.RESET, None)
            messages.success(request, password_reset_message())
            return redirect("portal:login")
    return render(request, "portal/reset_verify.html", {"form": form})


# --- signed in: password, profile, requests, messages ---------------------------------------------


@never_cache
@sensitive_post_parameters("old_password", "password", "password2")
@portal_login_required
def change_password(request):
    form = forms.ChangePasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account = services.portal_password_change(
                account=request.portal_account,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["password"],
            )
        except ApplicationError as exc:
            _form_errors(form, exc)
        else:
            # This browser stays signed in (a new session key); other sessions and tokens end.
            portal_session_start(request, account=account, customer=request.portal_customer)
            messages.success(request, _("Your password was changed."))
            return redirect("portal:profile")
    return render(request, "portal/change_password.html", {"form": form, "portal_section": "profile"})


@never_cache
@portal_login_required
def profile(request):
    customer = request.portal_customer
    access = PortalAccess.objects.get(account=request.portal_account, customer=customer)
    initial = {
        "email": customer.email,
        "address": customer.address,
        "needs": list(customer.needs.all()),
        "interests": list(customer.interests.all()),
        "marketing_consent": access.marketing_consent,
    }
    form = forms.ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.portal_profile_update(
                account=request.portal_account,
                customer=customer,
                contact={"email": data["email"], "address": data["address"]},
                needs=data["needs"],
                interests=data["interests"],
                marketing_consent=data["marketing_consent"],
            )
        except ApplicationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Your profile was saved."))
            return redirect("portal:profile")
    requests = PortalChangeRequest.objects.filter(customer=customer).order_by("-created_at")[:10]
    context = {"form": form, "customer": customer, "change_requests": requests, "portal_section": "profile"}
    return render(request, "portal/profile.html", context)


@never_cache
@portal_login_required
def change_request(request):
    form = forms.ChangeRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.portal_change_request_create(
                account=request.portal_account,
                customer=request.portal_customer,
                changes=form.changes(),
                note=form.cleaned_data["note"],
            )
        except ApplicationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Your request was sent to the bank. An officer will review it."))
            return redirect("portal:profile")
    return render(request, "portal/change_request.html", {"form": form, "portal_section": "profile"})


@portal_login_required
def messages_page(request):
    from customers.portal.selectors_accounts import portal_messages
    from customers.portal.services import portal_messages_seen

    account, customer = request.portal_account, request.portal_customer
    items = portal_messages(customer=customer, account=account)
    if items:
        # Shown now: marked seen, so that only later ones count as new.
        portal_messages_seen(account=account, customer=customer, up_to=items[0].at)
        request.portal_unread = 0
    return render(request, "portal/messages.html", {"items": items, "portal_section": "messages"})
