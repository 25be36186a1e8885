"""The Content-Security-Policy holds in a real browser: no page of the admin, the public
forms or the API docs needs an inline script or style, so Chromium reports no violation."""

import pytest
from django_celery_beat.models import CrontabSchedule

from loansite import roles
from tests.customers.factories import CustomerFactory, ManagerFactory, TagFactory
from tests.loans.factories import ApplicationFactory, ProductFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Every violation the page reports (the init script is not subject to the policy itself).
LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def watched(page):
    """The page, recording CSP violations and console errors."""
    errors = []
    page.add_init_script(LISTEN)
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    return page


def _visit(page, url, ready=None):
    response = page.goto(url)
    assert response.status < 400, (url, response.status)
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, (url, policy)
    if ready:
        page.locator(ready).first.wait_for()
    page.wait_for_load_state("networkidle")
    violations = page.evaluate("window.__csp")
    assert violations == [], (url, violations)
    csp_errors = [e for e in page.errors if "Content Security Policy" in e]
    assert csp_errors == [], (url, csp_errors)


def test_no_csp_violation_on_the_public_pages(watched):
    ProductFactory(code="WC", name="Working capital")
    _visit(watched, "/apply/", "form")
    _visit(watched, "/apply/status/", "form")
    # The language switch submits itself from a static script.
    with watched.expect_navigation():
        watched.select_option("#language-select", "zh-hans")
    watched.wait_for_load_state("networkidle")
    assert watched.locator("html").get_attribute("lang") == "zh-hans"
    assert watched.evaluate("window.__csp") == []


def test_no_csp_violation_in_the_admin_and_the_api_docs(watched, admin_login, make_user):
    make_user("root", superuser=True, role=roles.ADMINISTRATOR)
    product = ProductFactory(code="WC", name="Working capital")
    manager = ManagerFactory()
    customer = CustomerFactory(manager=manager)
    customer.tags.add(TagFactory())
    application = ApplicationFactory(product=product)
    CrontabSchedule.objects.create(minute="15", hour="2", timezone="Asia/Shanghai")
    admin_login("root")
    watched.errors.clear()
    pages = [
        ("/admin/", "#content-main"),
        ("/admin/loans/loanapplication/?status=all", "#result_list"),
        (f"/admin/loans/loanapplication/{application.pk}/change/", "#panel-customer"),
        ("/admin/customers/customer/", "#result_list"),
        (f"/admin/customers/customer/{customer.pk}/change/", "#customer_form"),
        ("/admin/customers/relationshipmanager/", "#result_list"),
        ("/admin/customers/tag/", "#result_list"),
        ("/admin/scoring/modelversion/", "#content-main"),
        ("/admin/audit/auditentry/", "#result_list"),
        # Third-party admin pages whose templates carried inline script or style.
        ("/admin/customers/customer/export/", "input.select-toggle"),
        ("/admin/django_celery_beat/periodictask/add/", "#id_crontab"),
        ("/api/docs/", "#swagger-ui .information-container"),
    ]
    for url, ready in pages:
        _visit(watched, url, ready)

    # The export page's "Select all" toggle still works from its static script.
    watched.goto("/admin/customers/customer/export/")
    watched.locator("input.select-toggle").first.uncheck()
    assert watched.locator('.selectable-field-export-row input[type="checkbox"]:checked').count() == 0
    # So does the crontab explanation of the periodic task form.
    watched.goto("/admin/django_celery_beat/periodictask/add/")
    watched.select_option("#id_crontab", index=1)
    assert "Translation:" in watched.locator(".field-crontab .help").inner_text()
    assert watched.evaluate("window.__csp") == []


def test_redoc_needs_no_inline_script(watched, admin_login, make_user):
    """ReDoc alone may add styles and a search worker at run time; no inline script."""
    make_user("root", superuser=True, role=roles.ADMINISTRATOR)
    admin_login("root")
    response = watched.goto("/api/redoc/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy + ";" and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    watched.locator("redoc .api-content").first.wait_for()
    watched.wait_for_load_state("networkidle")
    violations = watched.evaluate("window.__csp")
    assert not [v for v in violations if v.startswith(("script-src", "style-src", "worker-src"))], violations


def test_redoc_asks_no_other_host(page, admin_login, make_user, live_server):
    """Every request the ReDoc page makes (fonts, logo, scripts, the schema) stays on this site."""
    make_user("root", superuser=True, role=roles.ADMINISTRATOR)
    admin_login("root")
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/api/redoc/")
    page.locator("redoc .api-content").first.wait_for(timeout=60_000)  # the schema takes a while here
    page.wait_for_load_state("networkidle")
    outside = [url for url in requested if not url.startswith((live_server.url, "data:", "blob:"))]
    assert requested and not outside, outside
