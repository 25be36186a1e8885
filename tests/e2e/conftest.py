"""Browser suite: Playwright driving Debian's Chromium, headless, against ``live_server``."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
REQUIRED = os.environ.get("LOANSITE_REQUIRE_SERVICES") == "1"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(config, items):
    here = str(Path(__file__).parent)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM}"
        if REQUIRED:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls made by
    # fixtures and assertions are still synchronous and safe here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def admin_login(page):
    """``admin_login("approver", password)``: signs in through the real admin login form.

    Users whose role requires two-factor authentication get an authenticator enrolled for
    them first, and the code it shows is entered at the second step (as on a phone).
    """
    from django.contrib.auth import get_user_model

    from loansite.two_factor.selectors import two_factor_enrolled, two_factor_required
    from tests.loansite.two_factor_helpers import totp_code, totp_device_enrol

    def login(username: str, password: str = "s3cure-Passw0rd!"):
        user = get_user_model().objects.get(username=username)
        device = None
        if two_factor_required(user) or two_factor_enrolled(user):
            device = totp_device_enrol(user)
        page.goto("/admin/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("input[type=submit]")
        if device is not None:
            page.fill("#id_code", totp_code(device))
            page.click("input[type=submit]")
        try:
            page.wait_for_selector("#user-tools")
        except PlaywrightTimeoutError:
            text = " ".join(page.inner_text("body").split())[:600]
            raise AssertionError(f"{username} is not signed in at {page.url}: {text}") from None

    return login
