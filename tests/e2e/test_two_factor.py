"""Two-factor sign-in in a real browser: forced enrolment of an approver, then password + code."""

import base64

import pytest
from django_otp.oath import TOTP, hotp
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditAction, AuditEntry
from loansite import roles
from tests.loansite.two_factor_helpers import totp_code_for_key, totp_device_enrol

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "s3cure-Passw0rd!"
WORKBENCH = "/admin/loans/loanapplication/"


def sign_in_with_password(page, username):
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_approver_enrols_at_first_sign_in_then_signs_in_with_a_code(page, make_user):
    approver = make_user("approver1", role=roles.CREDIT_APPROVER)
    page.set_viewport_size({"width": 1366, "height": 900})

    # 1. The password is right, but the workbench waits: enrolment first.
    page.goto(WORKBENCH)
    sign_in_with_password(page, "approver1")
    page.wait_for_url("**/admin/two-factor/enrol/**")
    assert page.locator(".two-factor-qr svg").is_visible()
    assert page.locator("#user-tools").count() == 0  # nothing of the site behind the step
    page.goto(WORKBENCH)
    page.wait_for_url("**/admin/two-factor/enrol/**")
    assert fits_the_screen(page)

    # 2. The authenticator app: the key typed in by hand, the code computed from it.
    key = base64.b32decode(page.locator("#two-factor-secret").inner_text().replace(" ", ""))
    page.fill("#id_code", totp_code_for_key(key))
    page.click("#two-factor-enrol-form input[type=submit]")

    # 3. Ten recovery codes, shown once; then on to the workbench the sign-in was heading for.
    codes = page.locator("#two-factor-recovery-codes li").all_inner_texts()
    assert len(codes) == 10 and len(set(codes)) == 10
    page.click("#two-factor-continue")
    page.wait_for_selector("#changelist")
    assert page.url.endswith(WORKBENCH)

    # 4. Sign out, sign in again: password, then the code.
    page.click("#logout-form button[type=submit]")
    page.goto("/admin/login/")
    sign_in_with_password(page, "approver1")
    page.wait_for_url("**/admin/two-factor/verify/**")
    device = TOTPDevice.objects.get(user=approver, confirmed=True)
    page.fill("#id_code", totp_code_for_key(key, after_t=device.last_t, drift=device.drift))
    page.click("#two-factor-verify-form input[type=submit]")
    page.wait_for_selector("#user-tools")
    page.goto(WORKBENCH)
    page.wait_for_selector("#changelist")

    # 5. The audit trail has the enrolment and the second-factor sign-in.
    assert AuditEntry.objects.filter(action=AuditAction.CREATE, actor=approver, changes__two_factor="enrolled").exists()
    assert AuditEntry.objects.filter(action=AuditAction.LOGIN, actor=approver, changes__two_factor="totp").exists()
    # The key is nowhere on the account page.
    page.goto("/admin/two-factor/")
    assert page.locator("#two-factor-status").inner_text() == "On"
    secret = base64.b32encode(key).decode()
    assert secret not in page.content().replace(" ", "")


def test_wrong_code_is_refused_on_a_phone(page, make_user):
    ops = make_user("ops1", role=roles.MODEL_OPS)
    device = totp_device_enrol(ops)
    totp = TOTP(device.bin_key)
    valid = {hotp(device.bin_key, totp.t() + offset) for offset in (-1, 0, 1, 2)}
    wrong = next(f"{n:06d}" for n in range(123456, 10**6) if n not in valid)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/admin/login/")
    sign_in_with_password(page, "ops1")
    page.wait_for_url("**/admin/two-factor/verify/**")
    assert fits_the_screen(page)
    page.fill("#id_code", wrong)
    page.click("#two-factor-verify-form input[type=submit]")
    assert "This code is not valid" in page.locator(".errorlist").inner_text()
    assert "/admin/two-factor/verify/" in page.url
    assert page.locator("#user-tools").count() == 0
    page.goto("/admin/")
    page.wait_for_url("**/admin/two-factor/verify/**")
    assert AuditEntry.objects.filter(
        action=AuditAction.LOGIN_FAILED, actor=ops, changes__two_factor="verify", changes__channel="admin"
    ).exists()

    # The step speaks Chinese too.
    with page.expect_navigation():
        page.select_option("#language-select", "zh-hans")
    assert page.locator("#two-factor-verify-form").is_visible()
    assert "双因素认证" in page.locator("h1").inner_text()
