"""The pages work under the Content-Security-Policy, in Chromium, on the seeded demo.

Every page is visited with a listener for `securitypolicyviolation` events installed
before any of the page's own code runs; the SVG charts render and link, htmx swaps
tables in place (filter, sort, drill-down), the language switcher (a static script)
submits, and not one violation is reported, on the console or to the listener. A
script injected inline is refused, which shows the policy is enforced, not merely sent.
"""

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import ConsoleMessage, Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "demo-pass-for-tests"

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"}` +
      ` at ${event.sourceFile}:${event.lineNumber}`
  );
});
"""


@pytest.fixture
def watched(live_server, page: Page):
    """A page whose CSP violations and console errors are collected."""
    call_command("seed_demo", password=PASSWORD, stdout=io.StringIO())
    console: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            console.append(message.text)

    page.on("console", on_console)
    page.add_init_script(RECORD_VIOLATIONS)
    page.set_viewport_size({"width": 1280, "height": 900})
    return page, live_server, console


def violations(page: Page) -> list[str]:
    return page.evaluate("window.__cspViolations || []")


def visit(page: Page, url: str, seen: list[str]) -> None:
    """Open a page, check it carries the policy, and keep its violations."""
    response = page.goto(url)
    assert response is not None, url
    assert response.ok, url
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "permissions-policy" in response.headers
    assert "no-store" in response.headers["cache-control"]
    seen.extend(f"{url}: {violation}" for violation in violations(page))


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("form[action$='/accounts/logout/']")).to_be_visible()


def test_pages_charts_and_htmx_work_under_the_policy(watched):
    page, live_server, console = watched
    base = live_server.url
    seen: list[str] = []

    log_in(page, base, "rep1")
    seen += violations(page)

    # The rep's home: the SVG ageing chart is drawn.
    visit(page, f"{base}/", seen)
    chart = page.locator("#my-ageing svg.chart")
    expect(chart).to_be_visible()
    assert chart.locator("rect.chart-bar").count() >= 1

    # htmx: narrowing the worklist swaps the table in place (no navigation).
    rows = page.locator("#worklist-customers tbody tr")
    before = rows.count()
    assert before > 1
    page.evaluate("window.__samePage = true")
    with page.expect_response(lambda r: r.request.headers.get("hx-request") == "true"):
        page.locator("input[name=q]").fill("C-1001")
        page.locator("input[name=q]").press("Enter")
    expect(rows).to_have_count(1)
    # htmx: a sort header swaps the table too.
    with page.expect_response(lambda r: r.request.headers.get("hx-request") == "true"):
        page.locator("#worklist-customers thead a").first.click()
    assert page.evaluate("window.__samePage") is True
    seen += violations(page)

    # A chart bar is a link to its invoices; there, the filter form is htmx as well.
    page.locator("#my-ageing svg.chart a").first.click()
    expect(page.locator("#drill-invoices")).to_be_visible()
    seen += violations(page)
    page.evaluate("window.__samePage = true")
    with page.expect_response(lambda r: r.request.headers.get("hx-request") == "true"):
        page.locator("select[name=bucket]").select_option("")
        page.locator("form.filters button[type=submit]").click()
    assert page.evaluate("window.__samePage") is True
    seen += violations(page)

    # The language switcher submits through the static script (no inline handler).
    page.get_by_label("Language").select_option("zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    seen += violations(page)
    page.get_by_label("语言").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    for path in ("/customers/", "/contracts/", "/customers/invoices/", "/dunning/cases/"):
        visit(page, f"{base}{path}", seen)
    visit(page, f"{base}/accounts/password/change/", seen)

    # Manager and finance pages: the dashboard's four charts, the finance desk.
    page.locator("form[action$='/accounts/logout/'] button").click()
    log_in(page, base, "manager1")
    visit(page, f"{base}/dashboard/", seen)
    expect(page.locator("svg.chart")).to_have_count(4)
    page.locator("form[action$='/accounts/logout/'] button").click()
    log_in(page, base, "finance1")
    visit(page, f"{base}/dashboard/finance/", seen)
    missing = page.goto(f"{base}/no/such/page/")
    assert missing.status == 404
    assert "script-src 'self'" in missing.headers["content-security-policy"]
    expect(page.locator("#error-page")).to_be_visible()
    seen += violations(page)

    assert seen == []
    assert [text for text in console if "Content Security Policy" in text] == []

    # The policy is enforced: an inline script added now is refused and reported.
    ran = page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.__inlineRan = true";
          document.body.append(script);
          return window.__inlineRan === true;
        }"""
    )
    assert ran is False
    page.wait_for_function("window.__cspViolations.length > 0")
    assert "script-src" in violations(page)[0]
