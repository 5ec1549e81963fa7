"""The timezone picker in headless chromium, on a desktop and a 390 px phone: a planner picks
Europe/Madrid for a window from the suggestions (each zone with its offset now), sees the
start's UTC follow the zone as it changes, saves, and finds the name stored and the times
shown in Madrid; a misspelt zone comes back refused on its own field, still a picker."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from django.utils import timezone

from scheduling.models import Maintenance
from tests.browser.conftest import scrolls_sideways

pytestmark = pytest.mark.browser

MADRID = ZoneInfo("Europe/Madrid")
KOLKATA = ZoneInfo("Asia/Kolkata")


@pytest.fixture(params=["desktop", "phone"])
def screen(request, page, phone_page):
    return {"desktop": page, "phone": phone_page}[request.param]


def _offset_now(zone: ZoneInfo) -> str:
    minutes = int(timezone.now().astimezone(zone).utcoffset().total_seconds()) // 60
    sign, minutes = ("-" if minutes < 0 else "+"), abs(minutes)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _next_monday() -> date:
    day = timezone.now().astimezone(MADRID).date() + timedelta(days=7)
    return day + timedelta(days=(7 - day.weekday()) % 7)


def _utc(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(UTC)


def _suggestions(page, field) -> dict[str, str]:
    """The zones the field suggests: option value → the text shown."""
    list_id = field.get_attribute("list")
    assert list_id, "the zone box suggests nothing"
    return dict(
        page.locator(f"datalist[id='{list_id}'] option").evaluate_all(
            "options => options.map(o => [o.value, o.textContent])"
        )
    )


def _fill_window(page, title: str, monday: date) -> None:
    page.fill("#id_title", title)
    page.fill("#id_start_date_time_0", f"{monday:%Y-%m-%d}")
    page.fill("#id_start_date_time_1", "09:00:00")
    page.fill("#id_duration", "60")
    page.select_option("#id_duration_unit", "minutes")
    page.fill("#id_every", "1")
    page.select_option("#id_unit", "week")
    page.check("input[name=rule_weekdays][value=MO]")
    page.fill("#id_rule_time", "09:00")


def test_a_planner_picks_a_windows_zone_and_sees_its_times_there(screen, screenshot):
    page = screen
    monday = _next_monday()
    page.goto("/admin/scheduling/maintenance/add/")
    zone = page.get_by_role("combobox", name="Timezone")
    offered = _suggestions(page, zone)
    assert list(offered) == sorted(available_timezones() - {"localtime"})
    assert offered["Europe/Madrid"] == f"Europe/Madrid ({_offset_now(MADRID)})"
    assert offered["Asia/Kolkata"] == "Asia/Kolkata (UTC+05:30)"

    _fill_window(page, "Madrid patching", monday)
    zone.fill("Europe/Madrid")  # what choosing the suggestion puts in the box
    beside = page.locator(".ops-utc[data-for=start_date_time]")
    assert beside.inner_text() == f"= {_utc(monday, 9, 0, MADRID):%Y-%m-%d %H:%M} UTC"
    # Another zone: the same wall time is another instant, and the UTC beside follows.
    zone.fill("Asia/Kolkata")
    assert beside.inner_text() == f"= {_utc(monday, 9, 0, KOLKATA):%Y-%m-%d %H:%M} UTC"
    zone.fill("Europe/Madrid")
    assert beside.inner_text() == f"= {_utc(monday, 9, 0, MADRID):%Y-%m-%d %H:%M} UTC"
    assert not scrolls_sideways(page)
    screenshot(page, "picked")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")

    window = Maintenance.objects.get(title="Madrid patching")
    assert window.timezone == "Europe/Madrid"  # the name, not the label shown
    assert window.start_date_time == _utc(monday, 9, 0, MADRID)
    # Reopened: the picker holds the zone, the start reads as Madrid's clock.
    assert page.get_by_role("combobox", name="Timezone").input_value() == "Europe/Madrid"
    assert page.input_value("#id_start_date_time_1") == "09:00:00"
    assert page.input_value("#id_events-0-start_date_time_1") == "09:00:00"
    screenshot(page, "saved")
    # The list shows the start in Madrid with UTC beside.
    page.goto("/admin/scheduling/maintenance/")
    start = _utc(monday, 9, 0, MADRID)
    row = page.get_by_role("row").filter(has_text="Madrid patching")
    assert f"{monday:%Y-%m-%d} 09:00 Europe/Madrid ({start:%H:%M} UTC)" in row.inner_text()


def test_an_unknown_zone_is_refused_on_its_field(screen, screenshot):
    page = screen
    monday = _next_monday()
    page.goto("/admin/scheduling/maintenance/add/")
    _fill_window(page, "Misspelt", monday)
    page.get_by_role("combobox", name="Timezone").fill("Europe/Madird")
    page.click("input[name=_continue]")

    error = page.locator("#id_timezone_error")
    error.wait_for()
    assert error.inner_text() == "Unknown timezone 'Europe/Madird'"
    zone = page.get_by_role("combobox", name="Timezone")
    assert zone.get_attribute("aria-invalid") == "true"
    assert "id_timezone_error" in zone.get_attribute("aria-describedby")
    assert zone.input_value() == "Europe/Madird"  # kept, to correct
    assert "Europe/Madrid" in _suggestions(page, zone)  # still a picker
    assert not Maintenance.objects.filter(title="Misspelt").exists()
    screenshot(page, "refused")

    zone.fill("Europe/Madrid")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    assert Maintenance.objects.get(title="Misspelt").timezone == "Europe/Madrid"
