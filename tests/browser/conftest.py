"""Browser tests: Playwright (sync API) driving Debian's chromium against `live_server`.

No browser is downloaded: the tests use /usr/bin/chromium (`.ci/run` installs the Debian
package when it is missing). Every test saves a screenshot under artifacts/screenshots/;
the paths are listed at the end of the pytest run so the CI log names them.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# BROWSER_SCREENSHOTS moves them (CI may collect another directory).
SCREENSHOTS = Path(
    os.environ.get("BROWSER_SCREENSHOTS")
    or Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
)
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
PASSWORD = "planner-pass-123"
_saved: list[str] = []


def pytest_terminal_summary(terminalreporter):
    if _saved:
        terminalreporter.section("browser screenshots")
        for path in _saved:
            terminalreporter.write_line(f"screenshot: {path}")


@pytest.fixture(scope="module")
def browser():
    """One headless chromium per module. While Playwright's sync API is up, its event loop
    counts as running in this thread, so Django's guard against ORM calls from async code
    would refuse the tests' own (synchronous) queries: it stands aside for exactly as long
    as the browser lives, not for the rest of the suite."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does it)")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def planner(django_user_model):
    """A staff user (not a superuser) with the permissions of the planning apps."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user(
        username="planner", password=PASSWORD, is_staff=True
    )
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["maintenance", "scheduling"])
    )
    return user


def _logged_in_page(browser, live_server, user, viewport):
    context = browser.new_context(base_url=live_server.url, viewport=viewport)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")
    return context, page


@pytest.fixture
def page(browser, live_server, planner):
    """A browser page logged in to the admin as the planner, at desktop width."""
    context, page = _logged_in_page(browser, live_server, planner, DESKTOP)
    yield page
    context.close()


@pytest.fixture
def phone_page(browser, live_server, planner):
    """The same, on a 390 px wide phone screen."""
    context, page = _logged_in_page(browser, live_server, planner, PHONE)
    yield page
    context.close()


def weekly_plan(*checklist: str):
    """A weekly calendar plan starting tomorrow, made through the services (the page under
    test is what the browser drives, not how the plan came to be)."""
    from datetime import UTC, timedelta

    from django.utils import timezone

    from maintenance import services
    from maintenance.specs import CalendarTrigger, PlanSpec, TaskTemplate

    return services.plan_create(
        spec=PlanSpec(
            name="Inspect the compressor",
            trigger=CalendarTrigger(
                every=1,
                unit="week",
                start_at=(timezone.now() + timedelta(days=1)).astimezone(UTC),
            ),
            task=TaskTemplate(checklist=checklist),
        ),
        now=timezone.now(),
    )


def scrolls_sideways(page) -> bool:
    """Whether the page is wider than the screen (the user would scroll horizontally)."""
    return page.evaluate(
        "document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )


@pytest.fixture
def screenshot(request):
    """`screenshot(page, "step")` saves artifacts/screenshots/<test>-<step>.png."""

    def save(page, step: str = "") -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = request.node.name + (f"-{step}" if step else "")
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        _saved.append(str(path))
        print(f"screenshot: {path}")
        return path

    return save
