"""The rule builder shared by windows and plans, in headless chromium: a planner makes "every 2
weeks on Monday and Wednesday at 09:00 Paris time for 90 minutes" without typing an RRULE,
sees it described and its occurrences in Paris time with UTC beside, and gets exactly that
stored; the raw RRULE stays one click away."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.admin.utils import quote
from django.utils import timezone
from playwright.sync_api import expect

from maintenance.models import Plan
from scheduling.models import Maintenance
from tests.browser.conftest import scrolls_sideways

pytestmark = pytest.mark.browser

PARIS = ZoneInfo("Europe/Paris")


def _next_monday() -> date:
    """A Monday at least a week ahead (the window's first occurrence is in the future)."""
    day = timezone.now().astimezone(PARIS).date() + timedelta(days=7)
    return day + timedelta(days=(7 - day.weekday()) % 7)


def _utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS).astimezone(UTC)


@pytest.fixture(params=["desktop", "phone"])
def screen(request, page, phone_page):
    return {"desktop": page, "phone": phone_page}[request.param]


def test_a_planner_builds_a_window_rule_and_sees_it_in_paris_time(screen, screenshot):
    page = screen
    monday = _next_monday()
    page.goto("/admin/scheduling/maintenance/add/")
    page.fill("#id_title", "Fortnightly patching")
    page.fill("#id_timezone", "Europe/Paris")
    page.fill("#id_start_date_time_0", f"{monday:%Y-%m-%d}")
    page.fill("#id_start_date_time_1", "09:00:00")
    page.fill("#id_duration", "90")
    page.select_option("#id_duration_unit", "minutes")
    assert page.is_checked("input[name=rule_mode][value=builder]")
    page.fill("#id_every", "2")
    page.select_option("#id_unit", "week")
    page.check("input[name=rule_weekdays][value=MO]")
    page.check("input[name=rule_weekdays][value=WE]")
    page.fill("#id_rule_time", "09:00")
    assert not page.is_visible("#id_rule_monthday")  # a weekly rule has no day of month

    first = _utc(monday, 9)
    beside = page.locator(".ops-utc[data-for=start_date_time]")
    assert beside.inner_text() == f"= {first:%Y-%m-%d %H:%M} UTC"
    description = page.locator("#ops-preview .ops-description")
    # The preview follows the builder as it changes (no eval: the page's CSP forbids it).
    expect(description).to_have_text(
        "Every 2 weeks on Monday and Wednesday at 09:00 (Europe/Paris)"
    )
    occurrences = page.locator("#ops-preview .ops-occurrences li")
    assert occurrences.count() == 10
    assert (
        occurrences.nth(0)
        .inner_text()
        .startswith(
            f"{monday:%Y-%m-%d} 09:00 Europe/Paris ({first:%H:%M} UTC) → "
            f"{monday:%Y-%m-%d} 10:30 Europe/Paris"
        )
    )
    wednesday = monday + timedelta(days=2)
    assert (
        occurrences.nth(1)
        .inner_text()
        .startswith(f"{wednesday:%Y-%m-%d} 09:00 Europe/Paris ({_utc(wednesday, 9):%H:%M} UTC)")
    )
    assert page.input_value("#id_rrule") == (
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;BYHOUR=9;BYMINUTE=0"
    )
    assert not scrolls_sideways(page)
    screenshot(page, "built")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")

    window = Maintenance.objects.get(title="Fortnightly patching")
    assert window.rrule == "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;BYHOUR=9;BYMINUTE=0"
    assert window.duration_seconds == 90 * 60
    assert window.timezone == "Europe/Paris"
    assert window.start_date_time == first

    # Reopened: the builder shows the rule, the start in Paris time, the duration in minutes.
    page.goto(f"/admin/scheduling/maintenance/{quote(window.pk)}/change/")
    assert page.is_checked("input[name=rule_mode][value=builder]")
    assert page.input_value("#id_every") == "2"
    assert page.input_value("#id_unit") == "week"
    assert page.is_checked("input[name=rule_weekdays][value=MO]")
    assert page.is_checked("input[name=rule_weekdays][value=WE]")
    assert not page.is_checked("input[name=rule_weekdays][value=FR]")
    assert page.input_value("#id_rule_time") == "09:00"
    assert page.input_value("#id_start_date_time_1") == "09:00:00"
    assert (page.input_value("#id_duration"), page.input_value("#id_duration_unit")) == (
        "90",
        "minutes",
    )
    # The upcoming events are in Paris time too, with UTC beside.
    assert page.input_value("#id_events-0-start_date_time_1") == "09:00:00"
    event_utc = page.locator(".ops-utc[data-for='events-0-start_date_time']").inner_text()
    assert event_utc == f"= {first:%Y-%m-%d %H:%M} UTC"
    assert not scrolls_sideways(page)
    screenshot(page, "reopened")

    # Advanced: the raw rule, starting from the builder's, typed by hand.
    page.check("input[name=rule_mode][value=advanced]")
    assert not page.is_visible("#id_every")
    assert page.is_editable("#id_rrule")
    page.fill("#id_rrule", "FREQ=MONTHLY;BYDAY=1MO")
    expect(page.locator("#ops-preview .ops-description")).to_contain_text("first Monday")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    window.refresh_from_db()
    assert window.rrule == "FREQ=MONTHLY;BYDAY=1MO"
    # Not expressible in the builder: the page opens in advanced mode with the raw rule.
    page.goto(f"/admin/scheduling/maintenance/{quote(window.pk)}/change/")
    assert page.is_checked("input[name=rule_mode][value=advanced]")
    assert page.input_value("#id_rrule") == "FREQ=MONTHLY;BYDAY=1MO"
    assert not page.is_visible("#id_every")
    screenshot(page, "advanced")


def test_the_same_builder_makes_a_plans_rule_in_its_timezone(screen, screenshot):
    page = screen
    monday = _next_monday()
    page.goto("/admin/maintenance/plan/add/")
    page.fill("#id_name", "Inspect the boilers")
    page.fill("#id_timezone", "Europe/Paris")
    page.fill("#id_start_at_0", f"{monday:%Y-%m-%d}")
    page.fill("#id_start_at_1", "07:30:00")
    page.fill("#id_every", "1")
    page.select_option("#id_unit", "week")
    page.check("input[name=rule_weekdays][value=TU]")
    page.check("input[name=rule_weekdays][value=TH]")
    page.fill("#id_rule_time", "07:30")
    page.check("input[name=rule_end][value=count]")
    page.fill("#id_rule_count", "8")
    assert page.inner_text(".ops-utc[data-for=start_at]") == (
        f"= {_utc(monday, 7, 30):%Y-%m-%d %H:%M} UTC"
    )
    expect(page.locator("#ops-preview .ops-description")).to_contain_text("Tuesday and Thursday")
    occurrences = page.locator("#ops-preview .ops-occurrences li")
    assert occurrences.count() == 8
    tuesday = monday + timedelta(days=1)
    assert occurrences.nth(0).inner_text() == (
        f"{tuesday:%Y-%m-%d} 07:30 Europe/Paris ({_utc(tuesday, 7, 30):%H:%M} UTC)"
    )
    assert not scrolls_sideways(page)
    screenshot(page, "built")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")

    plan = Plan.objects.get(name="Inspect the boilers")
    assert plan.rrule == "FREQ=WEEKLY;INTERVAL=1;BYDAY=TU,TH;BYHOUR=7;BYMINUTE=30;COUNT=8"
    assert plan.every is None
    assert plan.timezone == "Europe/Paris"
    assert plan.start_at == _utc(monday, 7, 30)

    page.goto(f"/admin/maintenance/plan/{quote(plan.pk)}/change/")
    assert page.is_checked("input[name=rule_mode][value=builder]")
    assert page.is_checked("input[name=rule_weekdays][value=TU]")
    assert page.is_checked("input[name=rule_end][value=count]")
    assert page.input_value("#id_rule_count") == "8"
    assert page.input_value("#id_start_at_1") == "07:30:00"
    screenshot(page, "reopened")
