"""The API docs work without internet and under the Content-Security-Policy (issue 11)."""

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture
def offline_page(browser, live_server):
    """A page that can reach the test server and nothing else, and records CSP violations."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(15_000)
    blocked: list[str] = []

    def only_the_server(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_server)
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.blocked, page.violations = blocked, violations
    yield page
    context.close()


def test_swagger_ui_renders_the_operations_offline(offline_page, screenshot, db):
    offline_page.goto("/api/docs/")
    offline_page.wait_for_selector(".opblock")

    assert offline_page.locator(".opblock").count() > 30
    assert offline_page.get_by_text("/api/v4/maintenances/preview").first.is_visible()
    screenshot(offline_page, "swagger")
    assert offline_page.blocked == []
    assert offline_page.violations == []


def test_redoc_renders_the_operations_offline(offline_page, db):
    offline_page.goto("/api/redoc/")
    offline_page.wait_for_selector("h2:has-text('List maintenances, newest first')")

    # No full-page screenshot: Redoc's page is too long to capture within the timeout.
    assert offline_page.blocked == []
    # Only Redoc's "powered by" logo, which its bundle links from its CDN, is refused.
    assert all("cdn.redoc.ly/redoc/logo-mini.svg" in text for text in offline_page.violations)
