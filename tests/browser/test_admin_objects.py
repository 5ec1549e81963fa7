"""The object pages an operator works in, in headless chromium: what used to go wrong."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.utils import quote
from django.utils import timezone

from maintenance import services as maintenance_services
from maintenance.models import Asset, CounterReading, Task
from maintenance.specs import CalendarTrigger, CounterTrigger, PlanSpec, TaskTemplate
from scheduling import services as scheduling_services
from scheduling.specs import MaintenanceSpec
from tests.browser.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _tomorrow() -> datetime:
    return (timezone.now() + timedelta(days=1)).astimezone(UTC)


@pytest.fixture
def phone(browser, live_server, planner):
    """The planner logged in on a 390 px wide phone."""
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", planner.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state()
    yield page
    context.close()


def test_a_refused_event_move_refuses_the_whole_save_and_keeps_the_input(page, screenshot):
    start = _tomorrow().replace(hour=2, minute=0, second=0, microsecond=0)
    maintenance = scheduling_services.maintenance_create(
        spec=MaintenanceSpec(
            title="Weekly patching",
            start_date_time=start,
            rrule="FREQ=WEEKLY",
            duration_seconds=3600,
        )
    )
    first, second = maintenance.events.order_by("start_date_time")[:2]
    page.goto(f"/admin/scheduling/maintenance/{quote(maintenance.pk)}/change/")
    label = page.inner_text("#events-0 .ops-row-label")
    assert f"Event #{first.pk}" in label and "UTC" in label and "@" not in label
    page.fill("#id_title", "Renamed in the same save")
    page.fill("#id_events-0-end_date_time_1", "01:00:00")  # before its start: refused
    page.fill("#id_events-1-start_date_time_1", "03:00:00")  # fine alone
    page.fill("#id_events-1-end_date_time_1", "04:00:00")
    page.click("input[name=_continue]")
    page.wait_for_selector(".errornote")

    assert not page.locator(".messagelist .success").count()
    row = page.locator("#events-0")
    assert "end_date_time must be greater than start_date_time" in row.inner_text()
    assert page.input_value("#id_events-0-end_date_time_1") == "01:00:00"
    assert page.input_value("#id_title") == "Renamed in the same save"
    screenshot(page, "refused")
    maintenance.refresh_from_db()
    second.refresh_from_db()
    assert maintenance.title == "Weekly patching"
    assert second.start_date_time == start + timedelta(weeks=1)


def test_add_forms_show_no_id_but_the_saved_page_shows_the_real_one(page, screenshot):
    page.goto("/admin/maintenance/asset/add/")
    assert not page.locator(".field-id").count()
    page.fill("#id_code", "PUMP-7")
    page.fill("#id_name", "Pump 7")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    asset = Asset.objects.get(code="PUMP-7")
    assert asset.pk in page.inner_text(".field-id")
    screenshot(page)


def test_the_live_preview_waits_for_complete_input(page, screenshot):
    asked, console_errors = [], []
    page.on("request", lambda r: "/schedule/preview" in r.url and asked.append(r.url))
    page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
    page.goto("/admin/maintenance/plan/add/")
    page.fill("#id_name", "Half typed")
    page.fill("#id_every", "2")
    page.wait_for_timeout(800)
    assert page.get_attribute("#ops-preview", "data-state") == "idle"
    assert not page.locator("#ops-preview .ops-error").count()
    assert asked == [] and console_errors == []
    screenshot(page, "idle")
    page.fill("#id_start_at_0", _tomorrow().strftime("%Y-%m-%d"))
    page.select_option("#id_unit", "week")
    page.locator("#ops-preview .ops-description").wait_for()
    assert page.locator("#ops-preview .ops-occurrences li").count() == 10


def test_a_counter_reading_is_entered_on_the_plan_page_and_charted(page, screenshot):
    plan = maintenance_services.plan_create(
        spec=PlanSpec(
            name="Compressor service",
            trigger=CounterTrigger(unit="h", interval=Decimal(100)),
        ),
        now=timezone.now(),
    )
    page.goto(f"/admin/maintenance/plan/{quote(plan.pk)}/change/")
    assert page.locator("#counter-chart .ops-chart-next").count() == 1
    page.fill("#reading-form #id_value", "60")
    page.click("#record-reading")
    page.locator(".messagelist .success", has_text="Reading 60 h recorded.").wait_for()
    page.fill("#reading-form #id_value", "130")
    page.click("#record-reading")
    page.wait_for_selector("#new-task")
    task = Task.objects.get(plan_id=plan.pk)
    assert page.inner_text("#new-task") == f"Task {task.code} created."
    assert page.locator("#counter-chart circle.ops-chart-dot").count() == 2
    # A lower value without "meter replaced" is the API's 409, in its words.
    page.fill("#reading-form #id_value", "10")
    page.click("#record-reading")
    page.wait_for_selector(".messagelist .error")
    assert CounterReading.objects.filter(plan_id=plan.pk).count() == 2
    screenshot(page)


def test_a_technician_works_a_task_on_a_phone(phone, screenshot):
    plan = maintenance_services.plan_create(
        spec=PlanSpec(
            name="Inspect the boiler",
            trigger=CalendarTrigger(every=1, unit="week", start_at=_tomorrow()),
            task=TaskTemplate(checklist=("Check the valve", "Read the gauge")),
        ),
        now=timezone.now(),
    )
    task = maintenance_services.plan_execute(plan_id=plan.pk, by="test", now=timezone.now())
    phone.goto(f"/admin/maintenance/task/{quote(task.pk)}/change/")
    phone.click("#task-start")
    phone.locator(".messagelist .success", has_text="Task started.").wait_for()
    task.refresh_from_db()
    assert task.status == Task.Status.IN_PROGRESS and task.started_at is not None

    phone.check("input[name=checklist__0]")
    phone.fill("#id_notes", "Valve replaced.")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, width
    assert phone.locator("#task-complete").bounding_box()["width"] > 300
    screenshot(phone, "in-progress")
    phone.click("#task-complete")
    phone.locator(".messagelist .success", has_text="Task completed.").wait_for()
    task.refresh_from_db()
    assert task.status == Task.Status.DONE
    assert task.completed_by == "user:planner"
    assert [item["done"] for item in task.checklist] == [True, False]
    assert task.notes == "Valve replaced."
    assert "☑ Check the valve" in phone.inner_text("#checklist-items")
    screenshot(phone, "done")

    # The task's history names the planner for the completion.
    phone.goto(f"/admin/maintenance/task/{quote(task.pk)}/history/")
    assert "user:planner" in phone.inner_text("#audit-history")


def test_ids_the_admin_must_quote_open_from_every_link(page, screenshot, monkeypatch):
    import maintenance.models as models

    counter = iter(range(1000))
    monkeypatch.setattr(models, "new_id", lambda prefix: f"{prefix}_T9D4_5B{next(counter)}x")
    plan = maintenance_services.plan_create(
        spec=PlanSpec(
            name="Quoted",
            trigger=CalendarTrigger(every=1, unit="week", start_at=_tomorrow()),
        ),
        now=timezone.now(),
    )
    assert "_5B" in plan.pk
    page.goto("/admin/maintenance/plan/")
    page.click("text=Quoted")
    page.click("#ops-action-execute")
    page.wait_for_selector("#new-task")
    assert "doesn't exist" not in page.inner_text("#content")
    assert page.input_value("#id_name") == "Quoted"  # back on the same plan
    page.click("#ops-action-pause")
    page.locator(".messagelist .success", has_text="Plan paused.").wait_for()
    page.click("#ops-action-resume")
    page.locator(".messagelist .success", has_text="Plan resumed.").wait_for()
    page.click("#recent-tasks a")
    task = Task.objects.get(plan_id=plan.pk)
    page.wait_for_selector(".field-code")
    assert task.code in page.inner_text(".field-code")
    # The executions name the user; the plan's history lists the execute, pause and resume.
    page.goto(f"/admin/maintenance/plan/{plan.pk.replace('_', '_5F')}/change/")
    assert "planner" in page.inner_text("#recent-executions")
    assert "user:" not in page.inner_text("#recent-executions")
    page.goto(f"/admin/maintenance/plan/{plan.pk.replace('_', '_5F')}/history/")
    history = page.inner_text("#audit-history")
    assert history.count("user:planner") >= 3, history
    screenshot(page, "history")
