"""Two-factor authentication: who must use it, the admin sign-in steps, enrolment, recovery codes,
resets, the API login and the audit trail."""

import base64
import re
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from audit.models import AuditAction, AuditEntry
from loansite import roles
from loansite.two_factor import services
from tests.loansite.two_factor_helpers import totp_code

pytestmark = pytest.mark.django_db
PASSWORD = "s3cure-Passw0rd!"
LOGIN = "/admin/login/"
VERIFY = "/admin/two-factor/verify/"
ENROL = "/admin/two-factor/enrol/"
ACCOUNT = "/admin/two-factor/"
WORKBENCH = "/admin/loans/loanapplication/"


def password_login(client, username, next_url="/admin/"):
    return client.post(LOGIN, {"username": username, "password": PASSWORD, "next": next_url})


def enrol(user):
    """A confirmed authenticator plus recovery codes, as the enrolment page leaves them."""
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=False)
    result = services.two_factor_enrolment_confirm(user=user, device_id=device.pk, code=totp_code(device))
    assert result.ok
    return result.device, result.recovery_codes


def allow_next_attempt(device):
    """As if the throttle's back-off had passed (one wrong code means waiting a second)."""
    device.refresh_from_db()
    device.throttling_failure_timestamp = timezone.now() - timedelta(hours=1)
    device.save()


def entries(action, **changes):
    found = AuditEntry.objects.filter(action=action).order_by("seq")
    return [e for e in found if all(e.changes.get(k) == v for k, v in changes.items())]


@pytest.fixture
def approver(make_user):
    return make_user("approver", role=roles.CREDIT_APPROVER)


@pytest.fixture
def officer(make_user):
    return make_user("officer", role=roles.LOAN_OFFICER)


# ---------------------------------------------------------------------------
# Who must use it, and the forced enrolment
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "superuser"),
    [(roles.CREDIT_APPROVER, False), (roles.ADMINISTRATOR, False), (roles.MODEL_OPS, False), (None, True)],
)
def test_required_roles_cannot_reach_the_admin_with_the_password_alone(client, make_user, role, superuser):
    make_user("staff", role=role, superuser=superuser)
    response = password_login(client, "staff", next_url=WORKBENCH)
    assert response.status_code == 302
    assert response.url.startswith(ENROL) and "next=%2Fadmin%2Floans%2Floanapplication%2F" in response.url
    # Every other admin page waits; the login page itself sends the user back to enrolment.
    for url in ("/admin/", WORKBENCH, "/admin/auth/user/", "/admin/password_change/", ACCOUNT):
        assert client.get(url).status_code == 302, url
    assert client.get(LOGIN).url.startswith(ENROL)
    # ... and the session does not open the API either.
    assert client.get("/api/v1/auth/me/").status_code in (401, 403)
    assert client.get(ENROL).status_code == 200


def test_other_staff_sign_in_with_the_password_and_may_enrol(client, officer):
    response = password_login(client, "officer")
    assert response.status_code == 302 and response.url == "/admin/"
    page = client.get("/admin/").content.decode()
    assert 'href="/admin/two-factor/"' in page  # "Two-factor authentication" in the user menu
    account = client.get(ACCOUNT).content.decode()
    assert "Optional" in account and 'href="/admin/two-factor/enrol/"' in account


# ---------------------------------------------------------------------------
# Enrolment
# ---------------------------------------------------------------------------
def test_enrolment_shows_qr_and_key_once_then_recovery_codes(client, approver):
    password_login(client, "approver")
    page = client.get(ENROL)
    assert "no-store" in page["Cache-Control"]
    html = page.content.decode()
    assert "<svg" in html and "two-factor-qr-code" in html
    body_scripts = re.findall(r"<script([^>]*)>", html.split("</head>")[1])
    # The QR code is inline SVG: no data URL, and no script in the body but the site's own static files.
    assert "data:" not in html and all('src="/static/loansite/' in attrs for attrs in body_scripts)
    secret = re.search(r'id="two-factor-secret"[^>]*>([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    device = TOTPDevice.objects.get(user=approver)
    assert not device.confirmed and base64.b32decode(secret) == device.bin_key
    # Reloading during the same set-up keeps the same key.
    assert secret in client.get(ENROL).content.decode().replace(" ", "")

    done = client.post(ENROL, {"code": totp_code(device), "next": WORKBENCH})
    assert done.status_code == 200 and "no-store" in done["Cache-Control"]
    codes = re.findall(r"<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code></li>", done.content.decode())
    assert len(set(codes)) == services.RECOVERY_CODE_COUNT
    assert f'href="{WORKBENCH}"' in done.content.decode()
    device.refresh_from_db()
    assert device.confirmed
    entry = entries(AuditAction.CREATE, two_factor="enrolled")[-1]
    assert entry.actor_id == approver.pk and entry.target_id == str(approver.pk)
    assert entry.changes["recovery_codes"] == 10

    # Verified now: the workbench opens; the key never shows again, on any page.
    assert client.get(WORKBENCH).status_code == 200
    for url in (ACCOUNT, "/admin/", WORKBENCH):
        body = client.get(url).content.decode()
        assert secret not in body.replace(" ", "") and device.key not in body


def test_wrong_code_at_enrolment_is_refused_and_audited(client, approver):
    password_login(client, "approver")
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=approver)
    wrong = "000000" if totp_code(device) != "000000" else "111111"
    page = client.post(ENROL, {"code": wrong})
    assert page.status_code == 200 and "This code is not valid" in page.content.decode()
    device.refresh_from_db()
    assert not device.confirmed and device.throttling_failure_count == 1
    assert entries(AuditAction.LOGIN_FAILED, two_factor="enrolment")[-1].actor_id == approver.pk
    assert client.get("/admin/").status_code == 302


def test_password_alone_cannot_replace_an_enrolled_authenticator(client, approver):
    enrol(approver)
    password_login(client, "approver")
    response = client.get(ENROL)
    assert response.status_code == 302 and response.url.startswith(VERIFY)
    assert TOTPDevice.objects.filter(user=approver).count() == 1


# ---------------------------------------------------------------------------
# The second step at sign-in
# ---------------------------------------------------------------------------
def test_sign_in_asks_for_the_code_and_refuses_a_wrong_one_throttled_and_audited(client, approver):
    device, _codes = enrol(approver)
    response = password_login(client, "approver", next_url=WORKBENCH)
    assert response.url.startswith(VERIFY)
    assert client.get(WORKBENCH).status_code == 302

    good = totp_code(device)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    refused = client.post(VERIFY, {"code": wrong, "next": WORKBENCH})
    assert refused.status_code == 200 and "This code is not valid" in refused.content.decode()
    # Throttled: right after a wrong code even the right one waits (django-otp's back-off).
    throttled = client.post(VERIFY, {"code": good, "next": WORKBENCH})
    assert "Wait" in throttled.content.decode()
    assert client.get(WORKBENCH).status_code == 302
    failures = entries(AuditAction.LOGIN_FAILED, two_factor="verify", channel="admin")
    assert [e.changes["throttled"] for e in failures] == [False, True]
    assert all(e.actor_id == approver.pk and e.target_id == str(approver.pk) for e in failures)

    allow_next_attempt(device)
    passed = client.post(VERIFY, {"code": good, "next": WORKBENCH})
    assert passed.status_code == 302 and passed.url == WORKBENCH
    assert client.get(WORKBENCH).status_code == 200
    assert entries(AuditAction.LOGIN, two_factor="totp", channel="admin")
    # The same code is not accepted twice (replay), even in a new sign-in.
    other = APIClient()
    replay = other.post(
        "/api/v1/auth/login/", {"username": "approver", "password": PASSWORD, "otp": good}, format="json"
    )
    assert replay.status_code == 401


def test_next_must_stay_on_this_site(client, approver):
    device, _codes = enrol(approver)
    password_login(client, "approver")
    response = client.post(VERIFY, {"code": totp_code(device), "next": "https://evil.example/"})
    assert response.status_code == 302 and response.url == "/admin/"


def test_recovery_code_signs_in_once_and_is_stored_hashed(client, approver):
    _device, codes = enrol(approver)
    stored = set(StaticToken.objects.filter(device__user=approver).values_list("token", flat=True))
    assert len(stored) == 10
    assert not stored & {c for code in codes for c in (code, code.replace("-", ""))}

    password_login(client, "approver")
    passed = client.post(VERIFY, {"code": codes[0].upper().replace("-", " ")})  # typed loosely
    assert passed.status_code == 302 and client.get("/admin/").status_code == 200
    used = entries(AuditAction.LOGIN, two_factor="recovery_code")[-1]
    assert used.changes["recovery_codes_left"] == 9 and used.actor_id == approver.pk

    client.post("/admin/logout/")
    password_login(client, "approver")
    again = client.post(VERIFY, {"code": codes[0]})
    assert again.status_code == 200 and "This code is not valid" in again.content.decode()
    assert client.get("/admin/").status_code == 302


def test_recovery_codes_can_be_regenerated_and_the_old_ones_stop_working(client, approver):
    _device, old = enrol(approver)
    client.force_login(approver)
    page = client.post("/admin/two-factor/recovery-codes/")
    new = re.findall(r"<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code></li>", page.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert entries(AuditAction.UPDATE, two_factor="recovery_codes_regenerated")[-1].actor_id == approver.pk
    assert not services.two_factor_verify(user=approver, code=old[1], channel="admin").ok
    allow_next_attempt(StaticDevice.objects.get(user=approver))
    assert services.two_factor_verify(user=approver, code=new[1], channel="admin").ok


def test_verified_state_ends_with_the_session(client, approver):
    device, _codes = enrol(approver)
    password_login(client, "approver")
    client.post(VERIFY, {"code": totp_code(device)})
    assert client.get("/admin/").status_code == 200
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))  # idle timeout
    assert client.get("/admin/").status_code == 302
    assert password_login(client, "approver").url.startswith(VERIFY)


def test_sign_out_from_the_second_step(client, approver):
    enrol(approver)
    password_login(client, "approver")
    assert client.get("/admin/two-factor/sign-out/").status_code == 405
    response = client.post("/admin/two-factor/sign-out/")
    assert response.status_code == 302 and response.url == LOGIN
    assert client.get(VERIFY).url.startswith(LOGIN)
    assert entries(AuditAction.LOGOUT)


# ---------------------------------------------------------------------------
# Optional staff, turning it off
# ---------------------------------------------------------------------------
def test_optional_staff_who_enrolled_must_use_it_and_may_turn_it_off(client, officer):
    device, _codes = enrol(officer)
    assert password_login(client, "officer").url.startswith(VERIFY)
    client.post(VERIFY, {"code": totp_code(device)})
    client.post("/admin/two-factor/turn-off/")
    assert not TOTPDevice.objects.filter(user=officer).exists()
    assert not StaticDevice.objects.filter(user=officer).exists()
    assert entries(AuditAction.DELETE, two_factor="removed")[-1].actor_id == officer.pk
    client.post("/admin/logout/")
    assert password_login(client, "officer").url == "/admin/"


def test_required_staff_cannot_turn_it_off(client, approver):
    client.force_login(approver)
    client.post("/admin/two-factor/turn-off/")
    assert TOTPDevice.objects.filter(user=approver, confirmed=True).exists()


# ---------------------------------------------------------------------------
# Secrets never render
# ---------------------------------------------------------------------------
def test_device_admins_are_not_on_the_site(client, make_user):
    assert not admin.site.is_registered(TOTPDevice)
    assert not admin.site.is_registered(StaticDevice)
    root = make_user("root", superuser=True)
    client.force_login(root)
    device = TOTPDevice.objects.get(user=root)
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404
    assert client.get(f"/admin/otp_totp/totpdevice/{device.pk}/config/").status_code == 404
    assert client.get("/admin/otp_static/staticdevice/").status_code == 404
    staff = client.get("/admin/two-factor/staff/").content.decode()
    assert device.key not in staff and base64.b32encode(device.bin_key).decode() not in staff


# ---------------------------------------------------------------------------
# Reset by an administrator
# ---------------------------------------------------------------------------
def test_administrator_resets_another_users_two_factor_and_ends_their_sessions(client, approver, make_user):
    device, _codes = enrol(approver)
    theirs = APIClient()
    password_login(theirs, "approver")
    theirs.post(VERIFY, {"code": totp_code(device)})
    assert theirs.get("/admin/").status_code == 200
    tokens = theirs.post(
        "/api/v1/auth/login/",
        {"username": "approver", "password": PASSWORD, "otp": totp_code(device)},
        format="json",
    ).json()

    boss = make_user("boss", role=roles.ADMINISTRATOR)
    client.force_login(boss)
    overview = client.get("/admin/two-factor/staff/").content.decode()
    assert f'href="/admin/two-factor/staff/{approver.pk}/reset/"' in overview
    url = f"/admin/two-factor/staff/{approver.pk}/reset/"
    assert client.post(url, {"reason": ""}).status_code == 200  # a reason is required
    assert TOTPDevice.objects.filter(user=approver).exists()
    done = client.post(url, {"reason": "Lost phone, ticket 4711"})
    assert done.status_code == 302

    assert not TOTPDevice.objects.filter(user=approver).exists()
    assert not StaticDevice.objects.filter(user=approver).exists()
    assert theirs.get("/admin/").status_code == 302  # their session ended
    assert theirs.post("/api/v1/auth/refresh/", {"refresh": tokens["refresh"]}, format="json").status_code == 401
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert bearer.get("/api/v1/auth/me/").status_code == 401  # and so did their access token
    entry = entries(AuditAction.DELETE, two_factor="reset")[-1]
    assert entry.actor_id == boss.pk and entry.target_id == str(approver.pk)
    assert entry.reason == "Lost phone, ticket 4711" and entry.changes["sessions_and_tokens"] == "revoked"
    assert client.get("/admin/").status_code == 200  # the administrator's own session is untouched
    # At the next sign-in they enrol again.
    assert password_login(APIClient(), "approver").url.startswith(ENROL)


def test_only_administrators_reset(client, approver, make_user):
    enrol(approver)
    client.force_login(make_user("other", role=roles.CREDIT_APPROVER))
    assert client.get("/admin/two-factor/staff/").status_code == 403
    assert client.post(f"/admin/two-factor/staff/{approver.pk}/reset/", {"reason": "x"}).status_code == 403
    assert TOTPDevice.objects.filter(user=approver).exists()


# ---------------------------------------------------------------------------
# The API
# ---------------------------------------------------------------------------
def api_login(**body):
    return APIClient().post("/api/v1/auth/login/", {"password": PASSWORD, **body}, format="json")


def test_api_login_of_an_enrolled_user_needs_the_code(approver):
    device, codes = enrol(approver)
    missing = api_login(username="approver")
    assert missing.status_code == 401
    assert missing.json() == {"detail": "Two-factor code required.", "code": "two_factor_required"}
    assert "access" not in missing.json()

    wrong = api_login(username="approver", otp=f"{(int(totp_code(device)) + 1) % 1_000_000:06d}")
    assert wrong.status_code == 401 and wrong.json()["code"] == "two_factor_invalid"
    assert entries(AuditAction.LOGIN_FAILED, two_factor="verify", channel="api")

    allow_next_attempt(device)
    ok = api_login(username="approver", otp=totp_code(device))
    assert ok.status_code == 200 and {"access", "refresh"} <= set(ok.json())

    with_recovery = api_login(username="approver", otp=codes[0])
    assert with_recovery.status_code == 200
    assert api_login(username="approver", otp=codes[0]).status_code == 401


def test_api_login_of_a_required_user_who_has_not_enrolled_is_refused(approver):
    response = api_login(username="approver", otp="123456")
    assert response.status_code == 403
    assert response.json()["code"] == "two_factor_enrolment_required"
    assert "access" not in response.json()


def test_api_login_of_other_staff_without_two_factor_needs_no_code(officer):
    assert api_login(username="officer").status_code == 200


def test_api_wrong_password_is_still_refused_before_the_code(approver):
    enrol(approver)
    response = APIClient().post(
        "/api/v1/auth/login/", {"username": "approver", "password": "nope", "otp": "123456"}, format="json"
    )
    assert response.status_code == 401 and "code" not in response.json()


def test_api_session_counts_only_once_verified(client, approver):
    device, _codes = enrol(approver)
    password_login(client, "approver")
    assert client.get("/api/v1/auth/me/").status_code in (401, 403)
    client.post(VERIFY, {"code": totp_code(device)})
    assert client.get("/api/v1/auth/me/").status_code == 200


def test_staff_without_a_role_who_enrolled_are_asked_for_the_code(client, make_user):
    device, _codes = enrol(make_user("plain"))
    assert password_login(client, "plain").url.startswith(VERIFY)
    assert client.get("/admin/").status_code == 302
    client.post(VERIFY, {"code": totp_code(device)})
    assert client.get("/admin/").status_code == 200
