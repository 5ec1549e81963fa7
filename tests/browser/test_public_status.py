"""The public maintenance page /status/ in a real browser, at desktop and phone width."""

from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import caches
from django.utils import timezone

from scheduling import services
from scheduling.models import Impact, Monitor
from scheduling.specs import MaintenanceSpec, MonitorLink

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1400, "height": 900}


@pytest.fixture
def public_page(settings):
    settings.PUBLIC_MAINTENANCE_PAGE = True
    # The page is cached per process for 30 s (the `pages` cache): without this, a test would
    # be shown the page an earlier test rendered from its own windows.
    caches["pages"].clear()
    yield
    caches["pages"].clear()


@pytest.fixture
def windows(db):
    """An ongoing window on two monitors, and an upcoming one with a long title."""
    now = timezone.now().replace(second=0, microsecond=0)
    api = Monitor.objects.create(tag="api", name="Public API")
    checkout = Monitor.objects.create(tag="checkout", name="Checkout and payments")
    ongoing = services.maintenance_create(
        spec=MaintenanceSpec(
            title="Router swap",
            description="INTERNAL: rack B7",
            start_date_time=now - timedelta(minutes=30),
            rrule="FREQ=DAILY;COUNT=1",
            duration_seconds=3600,
            monitors=[MonitorLink(api, Impact.DOWN), MonitorLink(checkout, Impact.DEGRADED)],
        )
    )
    upcoming_start = (now + timedelta(days=2)).replace(hour=14, minute=0)
    services.maintenance_create(
        spec=MaintenanceSpec(
            title="Database cluster upgrade to the next major version with a rolling restart "
            "of every replica in every region",
            start_date_time=upcoming_start,
            rrule="FREQ=DAILY;COUNT=1",
            duration_seconds=7200,
            monitors=[MonitorLink(checkout, Impact.MAINTENANCE)],
        )
    )
    return {"ongoing": ongoing, "upcoming_start": upcoming_start}


def _visit(
    browser, live_server, *, viewport: dict, zone: str, locale: str = "en-US", csp: bool = False
):
    context = browser.new_context(
        base_url=live_server.url, viewport=viewport, timezone_id=zone, locale=locale
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    if csp:
        # The Content-Security-Policy another part of the project adds: scripts from our own
        # origin only, no inline code. The page must still convert its times.
        def with_csp(route):
            response = route.fetch()
            headers = {**response.headers, "content-security-policy": "default-src 'self'"}
            route.fulfill(response=response, headers=headers)

        page.route("**/status/", with_csp)
    errors: list[str] = []
    # Script errors, CSP refusals and failed loads of the page's own files (not the favicon
    # the browser asks for by itself).
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and "Failed to load resource" not in message.text
            and errors.append(message.text)
        ),
    )
    page.on(
        "response",
        lambda response: (
            response.status >= 400
            and not response.url.endswith("/favicon.ico")
            and errors.append(f"{response.status} {response.url}")
        ),
    )
    page.goto("/status/")
    page.wait_for_function("document.getElementById('viewer-zone').textContent !== 'UTC'")
    return context, page, errors


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth"
        " && document.body.scrollWidth <= window.innerWidth"
    )


def test_the_page_shows_windows_in_the_viewers_timezone_on_a_desktop(
    browser, live_server, public_page, windows, screenshot
):
    context, page, errors = _visit(
        browser, live_server, viewport=DESKTOP, zone="Europe/Berlin", locale="en-GB"
    )

    assert page.inner_text("#viewer-zone") == "Europe/Berlin"
    headings = page.locator("section.monitor h2").all_inner_texts()
    assert [h.split("\n")[0].replace("Under maintenance", "").strip() for h in headings] == [
        "Checkout and payments",
        "Public API",
    ]
    api = page.locator("section.monitor", has_text="Public API")
    assert "Under maintenance" in api.inner_text()
    assert "ongoing" in api.inner_text().lower() and "Router swap" in api.inner_text()
    # The upcoming start at 14:00 UTC, shown as Berlin wall time with the zone's name.
    local = windows["upcoming_start"].astimezone(ZoneInfo("Europe/Berlin"))
    first_time = page.locator("section.monitor", has_text="Database cluster").locator(
        "li", has_text="Database cluster"
    )
    text = first_time.locator("time").first.inner_text()
    assert f"{local:%H}:{local:%M}" in text, text
    assert "UTC" not in text and ("CET" in text or "CEST" in text or "GMT+" in text), text
    assert "INTERNAL" not in page.content()
    assert page.get_attribute("#subscribe", "href").startswith("webcal://")
    assert errors == []
    screenshot(page, "desktop")
    context.close()


def test_the_page_fits_a_phone_without_horizontal_scroll(
    browser, live_server, public_page, windows, screenshot
):
    context, page, errors = _visit(browser, live_server, viewport=PHONE, zone="America/New_York")

    assert page.inner_text("#viewer-zone") == "America/New_York"
    assert _no_horizontal_scroll(page)
    assert page.is_visible("#subscribe")
    box = page.locator("#subscribe").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    local = windows["upcoming_start"].astimezone(ZoneInfo("America/New_York"))
    times = page.locator("li", has_text="Database cluster").locator("time").all_inner_texts()
    assert any(f"{local:%I}".lstrip("0") + f":{local:%M}" in t for t in times), times
    assert errors == []
    screenshot(page, "phone")
    context.close()


def test_the_page_works_under_a_strict_content_security_policy(
    browser, live_server, public_page, windows, screenshot
):
    context, page, errors = _visit(
        browser, live_server, viewport=PHONE, zone="Asia/Tokyo", csp=True
    )

    assert page.inner_text("#viewer-zone") == "Asia/Tokyo"
    start = windows["ongoing"].events.get().start_date_time.astimezone(UTC)
    local = start.astimezone(ZoneInfo("Asia/Tokyo"))
    ongoing = page.locator("li", has_text="Router swap").first.locator("time").first.inner_text()
    assert f":{local:%M}" in ongoing and "UTC" not in ongoing, ongoing
    assert not [e for e in errors if "Content Security Policy" in e], errors
    screenshot(page, "csp")
    context.close()
