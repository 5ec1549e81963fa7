"""The work queue in a real browser: filters, search, "My tasks", bulk assign, links to ids
the admin must quote, and a 390 px phone screen without sideways scrolling."""

from datetime import UTC, timedelta

import pytest
from django.contrib.admin.utils import quote
from django.utils import timezone

from maintenance import services
from maintenance.models import Asset, Task, Technician
from maintenance.specs import CalendarTrigger, PlanSpec
from tests.browser.conftest import scrolls_sideways

pytestmark = pytest.mark.browser
ODD_ID = "T9D4_5B9Ru6M7INfSjxSYw"  # "_5B" is the admin's escape for "["


def _task(name: str, *, priority="medium", asset=None, assignee=None) -> Task:
    start = (timezone.now() + timedelta(days=1)).astimezone(UTC)
    plan = services.plan_create(
        spec=PlanSpec(
            name=name,
            priority=priority,
            asset_ids=(asset.pk,) if asset else (),
            assignee_id=assignee.pk if assignee else None,
            trigger=CalendarTrigger(every=1, unit="week", start_at=start),
        ),
        now=timezone.now(),
    )
    return services.plan_execute(plan_id=plan.pk, by="tests", now=timezone.now())


@pytest.fixture
def queue(planner, monkeypatch):
    planner.email = "ada@example.com"
    planner.save()
    ada = Technician.objects.create(name="Ada Fixer", email="ada@example.com")
    bob = Technician.objects.create(name="Bob Wrench", email="bob@example.com")
    pump = Asset.objects.create(code="PUMP-1", name="Pump")
    with monkeypatch.context() as patched:
        patched.setattr("maintenance.models.new_id", lambda prefix: f"{prefix}_{ODD_ID}")
        odd = _task("Grease the pump", priority="high", asset=pump, assignee=ada)
    return {
        "ada": ada,
        "bob": bob,
        "odd": odd,
        "fan": _task("Clean the fan filter", priority="low"),
        "valve": _task("Test the relief valve", priority="urgent", assignee=bob),
    }


def _rows(page) -> list[str]:
    return page.locator("#queue-table tbody tr[data-task]").all_inner_texts()


def test_it_filters_searches_and_assigns_in_bulk(page, queue, screenshot):
    page.goto("/admin/maintenance/task/queue/")
    assert len(_rows(page)) == 3
    screenshot(page, "all")

    page.select_option("#id_priority", "urgent")
    page.click("#queue-filter")
    page.wait_for_url("**priority=urgent**")
    assert [r for r in _rows(page) if "Test the relief valve" in r] == _rows(page) != []

    page.goto("/admin/maintenance/task/queue/")
    page.fill("#queue-q", "PUMP")
    page.click("#queue-filter")
    page.wait_for_url("**q=PUMP**")
    (row,) = _rows(page)
    assert "Grease the pump" in row

    page.goto("/admin/maintenance/task/queue/?assignee=null")
    (row,) = _rows(page)
    assert "Clean the fan filter" in row

    # Bulk assign the unassigned fan task and the valve task to Ada.
    page.goto("/admin/maintenance/task/queue/")
    for task in (queue["fan"], queue["valve"]):
        page.check(f"#queue-table tr[data-task='{task.code}'] input[type=checkbox]")
    page.select_option("#queue-assignee", queue["ada"].pk)
    page.click("#queue-assign")
    page.locator(".messagelist .success", has_text="Assigned 2 of 2").wait_for()
    assert set(Task.objects.values_list("assignee_id", flat=True)) == {queue["ada"].pk}
    screenshot(page, "assigned")

    # "My tasks": the planner's email is Ada's.
    page.click("#queue-mine")
    page.wait_for_url("**mine=1**")
    assert len(_rows(page)) == 3
    assert "My tasks (Ada Fixer)" in page.inner_text("#queue-mine")


def test_a_task_whose_id_needs_quoting_opens_from_the_queue(page, queue, screenshot):
    odd = queue["odd"]
    assert "_5B" in odd.pk
    page.goto("/admin/maintenance/task/queue/")
    page.click(f"#queue-table tr[data-task='{odd.code}'] a.queue-task")
    page.wait_for_selector("#task_form")
    assert "doesn" not in page.inner_text("#content")
    assert odd.code in page.inner_text("#content")
    screenshot(page, "task")
    page.goto("/admin/maintenance/task/queue/")
    page.click(f"#queue-table tr[data-task='{odd.code}'] a.queue-plan")
    page.wait_for_selector("#plan_form")
    assert "Grease the pump" in page.inner_text("#content")


def test_it_fits_a_phone_screen(phone_page, queue, screenshot):
    page = phone_page
    page.goto("/admin/maintenance/task/queue/")
    assert len(_rows(page)) == 3
    assert not scrolls_sideways(page)
    screenshot(page, "phone")
    page.check(f"#queue-table tr[data-task='{queue['fan'].code}'] input[type=checkbox]")
    page.click("#queue-complete")
    page.locator(".messagelist .success", has_text="Completed 1 of 1").wait_for()
    assert Task.objects.get(pk=queue["fan"].pk).status == Task.Status.DONE
    assert not scrolls_sideways(page)
    screenshot(page, "phone-completed")


@pytest.fixture(params=["desktop", "phone"])
def screen(request, page, phone_page):
    return {"desktop": page, "phone": phone_page}[request.param]


def test_complete_from_the_queue_records_the_time_spent(screen, queue, screenshot):
    page = screen
    fan = queue["fan"]
    page.goto("/admin/maintenance/task/queue/")
    page.check(f"#queue-table tr[data-task='{fan.code}'] input[type=checkbox]")
    page.get_by_label("Time spent (minutes)").fill("45")
    screenshot(page, "typed")
    page.click("#queue-complete")
    page.locator(".messagelist .success", has_text="Completed 1 of 1").wait_for()
    assert not scrolls_sideways(page)
    done = Task.objects.get(pk=fan.pk)
    assert (done.status, done.time_spent_minutes) == (Task.Status.DONE, 45)

    # The task page shows it; its history names who recorded it.
    page.goto(f"/admin/maintenance/task/{quote(fan.pk)}/change/")
    assert page.get_by_label("Time spent (minutes)").input_value() == "45"
    page.goto(f"/admin/maintenance/task/{quote(fan.pk)}/history/")
    change = page.get_by_role("row", name="time_spent_minutes — → 45", exact=True)
    change.wait_for()
    assert "planner" in page.get_by_role("row").filter(has=change).inner_text()
    screenshot(page, "history")


def test_a_bad_time_spent_is_refused_on_its_field(screen, queue, screenshot):
    page = screen
    fan = queue["fan"]
    page.goto("/admin/maintenance/task/queue/?priority=low")
    page.check(f"#queue-table tr[data-task='{fan.code}'] input[type=checkbox]")
    field = page.get_by_label("Time spent (minutes)")
    for typed, message in (
        ("-5", "Ensure this value is greater than or equal to 0."),
        ("forty", "Enter a whole number."),
        ("100001", "Ensure this value is less than or equal to 100000."),
    ):
        field.fill(typed)
        page.click("#queue-complete")
        error = page.locator("#queue-time-spent-error")
        error.wait_for()
        assert error.inner_text() == message
        assert field.get_attribute("aria-invalid") == "true"
        assert "queue-time-spent-error" in field.get_attribute("aria-describedby")
        assert page.locator("#queue-complete-errors").inner_text() == (
            f"Time spent (minutes): {message}"
        )
        assert field.input_value() == typed  # kept to correct, and the tick too
        assert page.is_checked(f"#queue-table tr[data-task='{fan.code}'] input[type=checkbox]")
        assert "priority=low" in page.url
    assert not scrolls_sideways(page)
    screenshot(page, "refused")
    assert Task.objects.get(pk=fan.pk).status == Task.Status.OPEN
