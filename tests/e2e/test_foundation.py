import pytest

from audit.models import AuditAction, AuditEntry
from loansite import roles

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_admin_login_language_switch_and_audit_log(page, admin_login, make_user):
    make_user("auditor1", role=roles.AUDITOR)
    admin_login("auditor1")
    assert page.locator("#site-name").inner_text() == "Loan back office"

    with page.expect_navigation():  # the switch posts the form on change
        page.select_option("#language-select", "zh-hans")
    assert page.locator("#site-name").inner_text() == "贷款后台"

    page.goto("/admin/audit/auditentry/")
    assert page.locator("#result_list").is_visible()
    assert AuditEntry.objects.filter(action=AuditAction.LOGIN, actor_repr="auditor1").exists()


def test_wrong_password_shows_an_error_not_a_crash(page):
    page.goto("/admin/login/")
    page.fill("#id_username", "nobody")
    page.fill("#id_password", "wrong")
    page.click("input[type=submit]")
    assert page.locator(".errornote").is_visible()
