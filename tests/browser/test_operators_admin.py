"""An operator does the whole job in the admin, in a real browser (headless chromium)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.admin.utils import quote
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import ApiKey
from maintenance import services as maintenance_services
from maintenance.models import Plan, Task
from maintenance.specs import CalendarTrigger, PlanSpec
from scheduling import services as scheduling_services
from scheduling.models import Maintenance, MaintenanceEvent, Monitor

pytestmark = pytest.mark.browser


def _tomorrow() -> datetime:
    return (timezone.now() + timedelta(days=1)).astimezone(UTC)


def test_it_creates_a_calendar_plan_with_a_live_preview(page, screenshot):
    page.goto("/admin/maintenance/plan/add/")
    page.fill("#id_name", "Grease the conveyor")
    # Only the chosen trigger's block is shown.
    page.check("input[name=trigger][value=counter]")
    assert page.is_visible("#id_counter_interval") and not page.is_visible("#id_rrule")
    page.check("input[name=trigger][value=calendar]")
    assert page.is_visible("#id_rrule") and not page.is_visible("#id_counter_interval")
    page.fill("#id_start_at_0", _tomorrow().strftime("%Y-%m-%d"))
    page.fill("#id_start_at_1", "08:00:00")

    # A rule the engine refuses shows the API's message while typing (the raw rule is the
    # rule builder's advanced mode).
    page.check("input[name=rule_mode][value=advanced]")
    page.fill("#id_rrule", "FREQ=SECONDLY")
    page.locator("#ops-preview .ops-error", has_text="SECONDLY").wait_for()

    page.fill("#id_rrule", "FREQ=WEEKLY;BYDAY=MO,TH")
    page.locator("#ops-preview .ops-description", has_text="Monday").wait_for()
    assert page.locator("#ops-preview .ops-occurrences li").count() == 10
    description = page.inner_text("#ops-preview .ops-description")
    assert "Monday" in description and "Thursday" in description, description
    screenshot(page, "preview")

    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    plan = Plan.objects.get(name="Grease the conveyor")
    assert plan.rrule == "FREQ=WEEKLY;BYDAY=MO,TH"
    assert plan.next_due_at is not None
    # Read-only state on the saved plan's page.
    due = plan.next_due_at.strftime("%Y-%m-%d %H:%M UTC")
    assert due in page.inner_text(".field-next_due_utc")
    screenshot(page, "saved")


def test_the_plan_form_shows_the_apis_messages(page, screenshot):
    page.goto("/admin/maintenance/plan/add/")
    page.fill("#id_name", "No start")
    page.check("input[name=trigger][value=calendar]")
    page.check("input[name=rule_mode][value=advanced]")
    page.fill("#id_rrule", "FREQ=DAILY")
    page.click("input[name=_save]")
    page.wait_for_selector(".errornote")
    assert "This field is required." in page.inner_text(".field-start_at")
    screenshot(page)
    assert not Plan.objects.exists()


def test_it_executes_a_plan_and_finds_the_task(page, screenshot):
    plan = maintenance_services.plan_create(
        spec=PlanSpec(
            name="Inspect the boiler",
            trigger=CalendarTrigger(every=1, unit="week", start_at=_tomorrow()),
        ),
        now=timezone.now(),
    )
    page.goto(f"/admin/maintenance/plan/{quote(plan.pk)}/change/")
    page.click("#ops-action-execute")
    page.wait_for_selector("#new-task")
    task = Task.objects.get(plan_id=plan.pk)
    assert page.inner_text("#new-task") == task.code
    assert task.code in page.inner_text("#recent-tasks")
    screenshot(page, "executed")

    page.goto("/admin/maintenance/task/queue/")
    row = page.locator(f"#queue-table tr[data-task='{task.code}']")
    assert "Inspect the boiler" in row.inner_text()
    row.locator("input[type=checkbox]").check()
    page.click("#queue-complete")
    page.wait_for_selector(".messagelist .success")
    assert Task.objects.get(pk=task.pk).status == Task.Status.DONE
    screenshot(page, "queue")


def test_it_moves_and_cancels_window_events_that_then_stay_put(page, screenshot):
    Monitor.objects.create(tag="checkout", name="Checkout")
    start = _tomorrow().replace(hour=2, minute=0, second=0, microsecond=0)

    page.goto("/admin/scheduling/maintenance/add/")
    page.fill("#id_title", "Weekly database patching")
    page.fill("#id_start_date_time_0", start.strftime("%Y-%m-%d"))
    page.fill("#id_start_date_time_1", "02:00:00")
    page.check("input[name=rule_mode][value=advanced]")
    page.fill("#id_rrule", "FREQ=WEEKLY")
    page.fill("#id_duration", "60")
    page.select_option("#id_duration_unit", "minutes")
    page.locator("#ops-preview .ops-description", has_text="week").wait_for()
    # The monitor through the inline's autocomplete.
    page.click("#monitor_links-0 .select2-selection")
    page.fill(".select2-search__field", "check")
    page.click(".select2-results__option >> text=checkout")
    screenshot(page, "add")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")

    maintenance = Maintenance.objects.get(title="Weekly database patching")
    events = list(maintenance.events.order_by("start_date_time"))
    assert len(events) >= 12
    moved, cancelled = events[0], events[1]
    # Move the first event to 03:00-04:30 and cancel the second.
    page.fill("#id_events-0-start_date_time_1", "03:00:00")
    page.fill("#id_events-0-end_date_time_1", "04:30:00")
    page.select_option("#id_events-1-operation", "cancel")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    assert not page.locator(".messagelist .error").count()
    screenshot(page, "edited")

    # Changing the rule shows, before saving, the not-started events a save would replace.
    page.check("input[name=rule_mode][value=advanced]")
    page.fill("#id_rrule", "FREQ=WEEKLY;BYDAY=WE")
    replaced = page.locator("#ops-preview .ops-replaced", has_text="replaces")
    replaced.wait_for()
    assert f"#{moved.pk} " in replaced.inner_text()
    assert "edited by hand" in replaced.inner_text()
    screenshot(page, "replaced-before-save")

    # Through the API: both changes stuck.
    _, key = ApiKey.objects.create_key(name="browser", read_only=True)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    def api_events() -> dict[int, dict]:
        response = api.get(f"/api/v4/maintenances/{maintenance.pk}/events", {"limit": 100})
        assert response.status_code == 200, response.content
        return {e["id"]: e for e in response.json()["events"]}

    before = api_events()
    moved_start = start.replace(hour=3)
    assert before[moved.pk]["start_date_time"] == int(moved_start.timestamp())
    moved_end = moved_start + timedelta(minutes=90)
    assert before[moved.pk]["end_date_time"] == int(moved_end.timestamp())
    assert before[cancelled.pk]["status"] == "CANCELLED"

    # The scheduler's next expansion (what beat runs) does not recreate either occurrence.
    scheduling_services.events_extend_horizon(now=timezone.now())
    after = api_events()
    assert after == before
    starts = [e["start_date_time"] for e in after.values()]
    assert starts.count(int(start.timestamp())) == 0  # the moved event's old time
    assert MaintenanceEvent.objects.filter(occurrence=cancelled.occurrence).count() == 1

    # The schedule page shows them: the moved one at 03:00, the cancelled one struck out.
    page.goto("/admin/schedule/?view=list")
    listing = page.inner_text("#schedule-list")
    assert "Weekly database patching" in listing
    assert "03:00\N{EN DASH}04:30" in listing
    assert "CANCELLED" in listing
    screenshot(page, "schedule-list")
    page.goto("/admin/schedule/?monitor=checkout")
    cell = page.locator(f"#schedule-month td[data-date='{start:%Y-%m-%d}']")
    assert "03:00 Weekly database patching" in cell.inner_text()
    assert page.locator("#schedule-month a.ops-entry.window").count() >= 4
    screenshot(page, "schedule-month")
    page.click(f"#schedule-month td[data-date='{start:%Y-%m-%d}'] a.ops-entry")
    page.wait_for_selector("#maintenance_form")
    assert f"/admin/scheduling/maintenance/{quote(maintenance.pk)}/change/" in page.url
