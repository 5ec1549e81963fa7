"""The schedule page in a real browser: month and week views with previous/next, a time
zone, full titles on hover, a click opens the object (ids that need quoting included), and
the inline "move" form for a window event and a plan's next due date."""

from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from maintenance import services as maintenance_services
from maintenance.models import Plan
from maintenance.specs import CalendarTrigger, PlanSpec
from scheduling import services as scheduling_services
from scheduling.specs import MaintenanceSpec
from tests.browser.conftest import scrolls_sideways

pytestmark = pytest.mark.browser
LONG_TITLE = "Quarterly failover rehearsal of the primary database cluster in Frankfurt"


@pytest.fixture
def scheduled(monkeypatch):
    """A weekly window starting in two days at 02:00 UTC and a weekly plan (its id holds
    "_5B", which the admin must quote) due in three days at 09:00 UTC."""
    now = timezone.now()
    day = (
        (now + timedelta(days=2)).astimezone(UTC).replace(hour=2, minute=0, second=0, microsecond=0)
    )
    window = scheduling_services.maintenance_create(
        spec=MaintenanceSpec(
            title=LONG_TITLE, start_date_time=day, rrule="FREQ=WEEKLY", duration_seconds=3600
        ),
        now=now,
    )
    with monkeypatch.context() as patched:
        patched.setattr("maintenance.models.new_id", lambda prefix: f"{prefix}_T9D4_5B9Ru6M7INf")
        plan = maintenance_services.plan_create(
            spec=PlanSpec(
                name="Inspect the boiler",
                trigger=CalendarTrigger(
                    every=1, unit="week", start_at=day + timedelta(days=1, hours=7)
                ),
            ),
            now=now,
        )
    return {"window": window, "plan": plan, "day": day}


def test_it_navigates_shows_zones_and_opens_objects(page, scheduled, screenshot):
    day = scheduled["day"]
    page.goto(f"/admin/schedule/?date={day:%Y-%m-%d}")
    entry = page.locator(f"#schedule-month td[data-date='{day:%Y-%m-%d}'] a.board-entry").first
    # The cell cuts the title; hovering shows all of it.
    assert LONG_TITLE in entry.get_attribute("title")
    screenshot(page, "month")

    page.click("#schedule-next")
    page.wait_for_url("**date=*")
    next_month = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    assert f"{next_month:%B %Y}" in page.inner_text("h1")
    page.click("#schedule-prev")
    page.click("#schedule-prev")
    page.wait_for_selector("#schedule-month")

    # The week view in New York: 02:00 UTC is the evening before there.
    page.goto(f"/admin/schedule/?view=week&date={day:%Y-%m-%d}")
    page.fill("#schedule-tz", "America/New_York")
    page.click("#schedule-apply")
    page.wait_for_url("**tz=America%2FNew_York**")
    local = day.astimezone(ZoneInfo("America/New_York"))
    cell = page.locator(f"#schedule-week section[data-date='{local:%Y-%m-%d}']")
    assert f"{local:%H:%M}" in cell.inner_text() and LONG_TITLE in cell.inner_text()
    screenshot(page, "week-new-york")
    page.click("#view-month")
    page.wait_for_url("**view=month**")
    assert "tz=America%2FNew_York" in page.url

    # A click opens the plan, whose id needs quoting.
    plan = scheduled["plan"]
    due = plan.next_due_at
    page.goto(f"/admin/schedule/?view=week&date={due:%Y-%m-%d}")
    page.click("#schedule-week a.board-entry.plan")
    page.wait_for_selector("#plan_form")
    assert "Inspect the boiler" in page.inner_text("#content")
    assert "doesn" not in page.inner_text("#content")


def test_it_moves_a_window_event_and_a_plans_next_due_date(page, scheduled, screenshot):
    day = scheduled["day"]
    event = scheduled["window"].events.order_by("start_date_time").first()
    page.goto(f"/admin/schedule/?view=week&date={day:%Y-%m-%d}")
    entry = page.locator("#schedule-week .board-weekentry.window").first
    entry.locator("summary").click()
    # A refusal shows the service's message, and nothing moves.
    entry.locator("input[name=start]").fill(f"{day:%Y-%m-%d}T05:00")
    entry.locator("input[name=end]").fill(f"{day:%Y-%m-%d}T04:00")
    entry.locator("button[type=submit]").click()
    page.locator(".messagelist .error", has_text="end_date_time must be greater").wait_for()
    assert not page.locator(".messagelist .success").count()
    event.refresh_from_db()
    assert event.start_date_time == day
    screenshot(page, "refused")

    entry = page.locator("#schedule-week .board-weekentry.window").first
    entry.locator("summary").click()
    entry.locator("input[name=start]").fill(f"{day:%Y-%m-%d}T05:00")
    entry.locator("input[name=end]").fill(f"{day:%Y-%m-%d}T06:30")
    entry.locator("button[type=submit]").click()
    page.locator(".messagelist .success", has_text="Moved").wait_for()
    event.refresh_from_db()
    assert event.start_date_time == day.replace(hour=5)
    assert event.end_date_time == day.replace(hour=6, minute=30)
    assert "05:00" in page.inner_text("#schedule-week")

    plan = scheduled["plan"]
    target = (plan.next_due_at + timedelta(days=1)).replace(hour=11)
    page.goto(f"/admin/schedule/?view=list&date={plan.next_due_at:%Y-%m-%d}")
    row = page.locator("#schedule-list tr.plan").first
    row.locator("summary").click()
    row.locator("input[name=due]").fill(f"{target:%Y-%m-%dT%H:%M}")
    row.locator("button[type=submit]").click()
    page.locator(".messagelist .success", has_text="Moved Inspect the boiler").wait_for()
    assert Plan.objects.get(pk=plan.pk).next_due_at == target
    screenshot(page, "moved")


def test_it_fits_a_phone_screen(phone_page, scheduled, screenshot):
    day = scheduled["day"]
    for view in ("month", "week", "list"):
        phone_page.goto(f"/admin/schedule/?view={view}&date={day:%Y-%m-%d}")
        phone_page.wait_for_selector(f"#schedule-{view}")
        assert not scrolls_sideways(phone_page), view
        screenshot(phone_page, view)
