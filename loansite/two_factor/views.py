"""The admin's two-factor pages: the second sign-in step, enrolment, the account page, and the
administrators' staff overview with its reset. Thin callers of the services.

The second step and enrolment are reachable after the password step only (an authenticated,
active staff session); every other admin page waits until the session passed the second
factor (``LoanAdminSite.has_permission``).
"""

import base64
from urllib.parse import urlencode

import segno
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME, get_user_model
from django.contrib.auth import logout as auth_logout
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from loansite.errors import ApplicationError
from loansite.two_factor import selectors, services
from loansite.two_factor.forms import CodeForm, ResetForm

PENDING_DEVICE_SESSION_KEY = "two_factor_pending_device"


def _next_url(request) -> str:
    candidate = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME) or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("admin:index")


def _with_next(url_name: str, next_url: str) -> str:
    return f"{reverse(url_name)}?{urlencode({REDIRECT_FIELD_NAME: next_url})}"


def pending_step_redirect(request, *, next_url: str) -> HttpResponseRedirect | None:
    """Where a staff session that passed the password but not the second factor goes next."""
    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return None
    if selectors.two_factor_session_passes(request):
        return None
    step = "admin:two_factor_verify" if selectors.two_factor_enrolled(user) else "admin:two_factor_enrol"
    return HttpResponseRedirect(_with_next(step, next_url))


def admin_login(request, password_login, extra_context=None):
    """The admin's login: the password form (django-axes lockout, login audit), then the second step."""
    if request.method == "GET":
        step = pending_step_redirect(request, next_url=_next_url(request))
        if step is not None:
            return step
    response = password_login(request, extra_context)
    if request.method == "POST" and response.status_code == 302:
        # Signed in with the password: the redirect target was checked by Django's login view.
        step = pending_step_redirect(request, next_url=response.url)
        if step is not None:
            return step
    return response


def _qr_svg(device) -> str:
    """The otpauth:// URI as inline SVG, drawn on the server (no request leaves the page)."""
    svg = segno.make(device.config_url, error="m").svg_inline(
        scale=4,
        omitsize=True,
        svgclass="two-factor-qr-code",
        lineclass=None,
        title=_("QR code for your authenticator app"),
    )
    return mark_safe(svg)  # segno's own markup from our URI (the username is encoded in the modules)


def _secret_for_manual_entry(device) -> str:
    secret = base64.b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


class TwoFactorAdminViews:
    def __init__(self, site):
        self.site = site

    def urls(self):
        step, admin_view = self._step_view, self.site.admin_view
        return [
            path("two-factor/verify/", step(self.verify), name="two_factor_verify"),
            path("two-factor/enrol/", step(self.enrol), name="two_factor_enrol"),
            path("two-factor/sign-out/", step(require_POST(self.sign_out)), name="two_factor_sign_out"),
            path("two-factor/", admin_view(self.account), name="two_factor_account"),
            path(
                "two-factor/recovery-codes/",
                admin_view(require_POST(self.recovery_codes)),
                name="two_factor_recovery_codes",
            ),
            path("two-factor/turn-off/", admin_view(require_POST(self.turn_off)), name="two_factor_turn_off"),
            path("two-factor/staff/", admin_view(self.staff), name="two_factor_staff"),
            path("two-factor/staff/<int:user_id>/reset/", admin_view(self.reset), name="two_factor_reset"),
        ]

    # -- gates and context ----------------------------------------------------------------
    def _step_view(self, view):
        """Pages of the sign-in itself: any authenticated, active staff session."""

        @never_cache
        def inner(request, *args, **kwargs):
            user = request.user
            if not (user.is_authenticated and user.is_active and user.is_staff):
                return HttpResponseRedirect(_with_next("admin:login", request.get_full_path()))
            return view(request, *args, **kwargs)

        return inner

    def _context(self, request, **extra):
        if selectors.two_factor_session_passes(request):
            context = self.site.each_context(request)
        else:
            # Between the password and the second factor: the header, nothing of the site behind it.
            context = {
                "site_title": self.site.site_title,
                "site_header": self.site.site_header,
                "site_url": self.site.site_url,
                "has_permission": False,
                "available_apps": [],
                "is_popup": False,
                "is_nav_sidebar_enabled": False,
                "two_factor_step": True,
            }
        context.update(extra)
        return context

    def _render(self, request, template, **extra):
        response = TemplateResponse(request, f"admin/two_factor/{template}", self._context(request, **extra))
        response["Cache-Control"] = "no-store"
        return response

    # -- the second sign-in step --------------------------------------------------------------
    def verify(self, request):
        user, next_url = request.user, _next_url(request)
        if selectors.two_factor_session_verified(request):
            return HttpResponseRedirect(next_url)
        if not selectors.two_factor_enrolled(user):
            if selectors.two_factor_required(user):
                return HttpResponseRedirect(_with_next("admin:two_factor_enrol", next_url))
            return HttpResponseRedirect(next_url)
        form = CodeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            result = services.two_factor_verify(user=user, code=form.cleaned_data["code"], channel="admin")
            if result.ok:
                request.session.cycle_key()
                otp_login(request, result.device)
                if result.method == services.Method.RECOVERY_CODE:
                    messages.warning(
                        request,
                        _(
                            "You signed in with a recovery code; %(left)d left. "
                            "Create new ones on your two-factor page if you are running out."
                        )
                        % {"left": result.recovery_codes_left},
                    )
                return HttpResponseRedirect(next_url)
            form.add_error("code", self._refusal(result.wait_seconds))
        return self._render(request, "verify.html", title=_("Two-factor authentication"), form=form, next=next_url)

    @staticmethod
    def _refusal(wait_seconds: int) -> str:
        if wait_seconds:
            return _("Too many wrong codes. Wait %(seconds)d seconds and try again.") % {"seconds": wait_seconds}
        return _("This code is not valid. Check your authenticator app and try again.")

    def enrol(self, request):
        user, next_url = request.user, _next_url(request)
        if selectors.two_factor_enrolled(user) and not selectors.two_factor_session_verified(request):
            # Replacing an authenticator takes the current one first.
            return HttpResponseRedirect(_with_next("admin:two_factor_verify", request.get_full_path()))
        device = services.two_factor_enrolment_start(
            user=user, device_id=request.session.get(PENDING_DEVICE_SESSION_KEY)
        )
        request.session[PENDING_DEVICE_SESSION_KEY] = device.pk
        form = CodeForm(request.POST or None, recovery=False)
        if request.method == "POST" and form.is_valid():
            try:
                result = services.two_factor_enrolment_confirm(
                    user=user, device_id=device.pk, code=form.cleaned_data["code"]
                )
            except ApplicationError as exc:
                request.session.pop(PENDING_DEVICE_SESSION_KEY, None)
                messages.error(request, str(exc.message))
                return HttpResponseRedirect(request.get_full_path())
            if result.ok:
                request.session.pop(PENDING_DEVICE_SESSION_KEY, None)
                request.session.cycle_key()
                otp_login(request, result.device)
                return self._render(
                    request,
                    "recovery_codes.html",
                    title=_("Your recovery codes"),
                    codes=result.recovery_codes,
                    enrolled_now=True,
                    next=next_url,
                )
            form.add_error("code", self._refusal(result.wait_seconds))
        return self._render(
            request,
            "enrol.html",
            title=_("Set up two-factor authentication"),
            form=form,
            next=next_url,
            required=selectors.two_factor_required(user),
            qr_svg=_qr_svg(device),
            secret=_secret_for_manual_entry(device),
        )

    def sign_out(self, request):
        auth_logout(request)
        return HttpResponseRedirect(reverse("admin:login"))

    # -- the account page (after the second factor) ----------------------------------------
    def account(self, request):
        user = request.user
        device = selectors.two_factor_totp_device(user)
        required = selectors.two_factor_required(user)
        return self._render(
            request,
            "account.html",
            title=_("Two-factor authentication"),
            enrolled=device is not None,
            device=device,
            required=required,
            recovery_codes_left=selectors.two_factor_recovery_codes_left(user),
            can_turn_off=device is not None and not required,
            can_manage_staff=user.has_perm(services.RESET_PERMISSION),
        )

    def recovery_codes(self, request):
        try:
            codes = services.two_factor_recovery_codes_regenerate(user=request.user)
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
            return HttpResponseRedirect(reverse("admin:two_factor_account"))
        return self._render(
            request,
            "recovery_codes.html",
            title=_("Your recovery codes"),
            codes=codes,
            enrolled_now=False,
            next=reverse("admin:two_factor_account"),
        )

    def turn_off(self, request):
        try:
            services.two_factor_disable(user=request.user)
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Two-factor authentication is off for your account."))
        return HttpResponseRedirect(reverse("admin:two_factor_account"))

    # -- administrators --------------------------------------------------------------------
    def _require_user_admin(self, request):
        if not request.user.has_perm(services.RESET_PERMISSION):
            raise PermissionDenied

    def staff(self, request):
        self._require_user_admin(request)
        return self._render(
            request,
            "staff.html",
            title=_("Staff two-factor authentication"),
            rows=selectors.two_factor_staff_overview(),
        )

    def reset(self, request, user_id):
        self._require_user_admin(request)
        target = get_object_or_404(get_user_model(), pk=user_id)
        form = ResetForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.two_factor_reset(actor=request.user, user=target, reason=form.cleaned_data["reason"])
            except ApplicationError as exc:
                form.add_error(None, str(exc.message))
            else:
                messages.success(
                    request,
                    _(
                        "Two-factor authentication of %(user)s was reset and their sessions and API tokens "
                        "ended. They set it up again at their next sign-in."
                    )
                    % {"user": target.get_username()},
                )
                return HttpResponseRedirect(reverse("admin:two_factor_staff"))
        return self._render(
            request,
            "reset.html",
            title=_("Reset two-factor authentication"),
            form=form,
            target=target,
            target_required=selectors.two_factor_required(target),
        )


def admin_urls(site):
    return TwoFactorAdminViews(site).urls()
