"""Swagger UI and the token page work in Chromium under the Content-Security-Policy."""

import pytest
from playwright.sync_api import Page, expect

from tests.factories.users import SalesRepFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "api-pages-pass-for-tests"

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI}`);
});
"""


def test_swagger_ui_renders_and_a_token_is_made_and_revoked(live_server, page: Page):
    SalesRepFactory(username="docs-rep", password=PASSWORD)
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("docs-rep")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("form[action$='/accounts/logout/']")).to_be_visible()

    page.locator("#nav-account summary").click()
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("Browser test")
    page.get_by_role("button", name="Create token").click()
    key = page.locator("#new-token").inner_text()
    assert "." in key
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("cell", name="revoked")).to_be_visible()
    assert key not in page.content()

    response = page.goto(f"{live_server.url}/api/docs/")
    assert response is not None
    assert response.ok
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/invoices/").first).to_be_visible(
        timeout=15000
    )
    assert page.evaluate("window.__cspViolations") == []
