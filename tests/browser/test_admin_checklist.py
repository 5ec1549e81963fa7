"""The plan page's checklist editor in headless chromium: items added, typed, reordered and
saved keep their kinds, required flags and limits (the old box made every item a plain check)."""

from datetime import UTC, timedelta

import pytest
from django.contrib.admin.utils import quote
from django.utils import timezone

from maintenance import services
from maintenance.specs import CalendarTrigger, PlanSpec, TaskTemplate
from tests.browser.conftest import scrolls_sideways, weekly_plan

pytestmark = pytest.mark.browser


def _rows(page) -> list[str]:
    return page.eval_on_selector_all(".ops-cl-row .ops-cl-item", "els => els.map(e => e.value)")


def _watch_console(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


@pytest.mark.parametrize("viewport", ["page", "phone_page"])
def test_a_planner_adds_types_reorders_and_saves_checklist_items(viewport, request, screenshot):
    page = request.getfixturevalue(viewport)
    problems = _watch_console(page)
    plan = weekly_plan("Drain the tank", "Check the belt")
    url = f"/admin/maintenance/plan/{quote(plan.pk)}/change/"
    page.goto(url)
    assert _rows(page) == ["Drain the tank", "Check the belt"]

    # A number item, with unit and limits; they show only for a number.
    page.click(".ops-cl-add")
    row = page.locator(".ops-cl-row").nth(2)
    row.locator(".ops-cl-item").fill("Vibration")
    assert row.locator(".ops-cl-limits").is_hidden()
    row.locator(".ops-cl-kind").select_option("number")
    assert row.locator(".ops-cl-limits").is_visible()
    row.locator(".ops-cl-unit").fill("mm/s")
    row.locator(".ops-cl-min").fill("0")
    row.locator(".ops-cl-max").fill("4.5")
    row.locator(".ops-cl-required").check()
    # A required pass/fail, moved to the top; the belt check removed.
    page.click(".ops-cl-add")
    row = page.locator(".ops-cl-row").nth(3)
    row.locator(".ops-cl-item").fill("Safety valve")
    row.locator(".ops-cl-kind").select_option("pass_fail")
    row.locator(".ops-cl-required").check()
    for position in (3, 2, 1):  # the row moves up one place a click
        page.locator(".ops-cl-row").nth(position).locator(".ops-cl-up").click()
    page.locator(".ops-cl-row").nth(2).locator(".ops-cl-remove").click()  # "Check the belt"
    assert _rows(page) == ["Safety valve", "Drain the tank", "Vibration"]
    if viewport == "phone_page":
        assert not scrolls_sideways(page)
    screenshot(page, "edited")

    page.click("input[name=_continue]")
    page.locator(".messagelist .success").wait_for()
    plan.refresh_from_db()
    assert [
        (item["item"], item["kind"], item["required"], item["unit"], item["min"], item["max"])
        for item in plan.task_checklist
    ] == [
        ("Safety valve", "pass_fail", True, "", None, None),
        ("Drain the tank", "check", False, "", None, None),
        ("Vibration", "number", True, "mm/s", 0, 4.5),
    ]
    # The page shows them back as saved, and another save keeps them.
    assert _rows(page) == ["Safety valve", "Drain the tank", "Vibration"]
    vibration = page.locator(".ops-cl-row").nth(2)
    assert vibration.locator(".ops-cl-kind").input_value() == "number"
    assert vibration.locator(".ops-cl-max").input_value() == "4.5"
    assert vibration.locator(".ops-cl-required").is_checked()
    page.click("input[name=_continue]")
    page.locator(".messagelist .success").wait_for()
    saved = list(plan.task_checklist)
    plan.refresh_from_db()
    assert plan.task_checklist == saved
    assert problems == []
    screenshot(page, "saved")


def test_bad_limits_are_refused_on_the_field_naming_the_item(page, screenshot):
    problems = _watch_console(page)
    plan = weekly_plan("Drain the tank", "Check the belt")
    page.goto(f"/admin/maintenance/plan/{quote(plan.pk)}/change/")
    page.click(".ops-cl-add")
    row = page.locator(".ops-cl-row").nth(2)
    row.locator(".ops-cl-item").fill("Pressure")
    row.locator(".ops-cl-kind").select_option("number")
    row.locator(".ops-cl-min").fill("10")
    row.locator(".ops-cl-max").fill("2")
    page.click("input[name=_continue]")
    error = page.locator(".field-task_checklist .errorlist")
    error.wait_for()
    assert error.inner_text() == "Item 3 'Pressure', max: Must not be less than min."
    # Nothing saved, and the rows typed are still there to correct.
    plan.refresh_from_db()
    assert [item["item"] for item in plan.task_checklist] == ["Drain the tank", "Check the belt"]
    assert _rows(page) == ["Drain the tank", "Check the belt", "Pressure"]
    assert page.locator(".ops-cl-row").nth(2).locator(".ops-cl-min").input_value() == "10"
    assert problems == []
    screenshot(page)


def _typed_task():
    from maintenance.checklists import ChecklistItemSpec

    plan = services.plan_create(
        spec=PlanSpec(
            name="Service the pump",
            trigger=CalendarTrigger(
                every=1,
                unit="week",
                start_at=(timezone.now() + timedelta(days=1)).astimezone(UTC),
            ),
            task=TaskTemplate(
                checklist=(
                    ChecklistItemSpec(item="Oil level", required=True),
                    ChecklistItemSpec(item="Safety valve", kind="pass_fail", required=True),
                    ChecklistItemSpec(item="Vibration", kind="number", unit="mm/s", min=0, max=4.5),
                    ChecklistItemSpec(item="Remarks", kind="text"),
                )
            ),
        ),
        now=timezone.now(),
    )
    return services.plan_execute(plan_id=plan.pk, by="test", now=timezone.now())


@pytest.mark.parametrize("viewport", ["page", "phone_page"])
def test_a_technician_answers_each_kind_on_the_task_page(
    viewport, request, screenshot, transactional_db
):
    from maintenance.models import Task

    page = request.getfixturevalue(viewport)
    problems = _watch_console(page)
    task = _typed_task()
    page.goto(f"/admin/maintenance/task/{quote(task.pk)}/change/")
    assert "0 to 4.5 mm/s" in page.inner_text(".ops-answer-number")

    # Complete with the required pass/fail unanswered: refused naming it, nothing saved.
    page.check("input[name=checklist__0]")
    page.fill("input[name=checklist__3]", "Bearing noisy")
    page.click("#task-complete")
    error = page.locator(".field-checklist .errorlist")
    error.wait_for()
    assert error.inner_text() == (
        "'Safety valve' is required: answer it before completing the task."
    )
    assert page.locator(".messagelist .success").count() == 0
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN
    assert all(item["value"] is None for item in task.checklist)
    # What was typed is still on the page.
    assert page.is_checked("input[name=checklist__0]")
    assert page.input_value("input[name=checklist__3]") == "Bearing noisy"
    if viewport == "phone_page":
        assert not scrolls_sideways(page)
    screenshot(page, "refused")

    page.check("input[name=checklist__1][value=pass]")
    page.fill("input[name=checklist__2]", "7.2")
    page.click("#task-complete")
    page.locator(".messagelist .success", has_text="Task completed.").wait_for()
    task.refresh_from_db()
    assert task.status == Task.Status.DONE
    assert [item["value"] for item in task.checklist] == [True, "pass", 7.2, "Bearing noisy"]
    assert {item["answered_by"] for item in task.checklist} == {"user:planner"}
    items = page.inner_text("#checklist-items")
    assert "Vibration: 7.2 mm/s" in items and "Safety valve: pass" in items
    # The reading above its limit opened a corrective task, linked from the item.
    page.click("#checklist-items a.ops-corrective")
    page.wait_for_url(f"**/{quote(task.checklist[2]['corrective_task_id'])}/change/")
    assert "Vibration" in page.inner_text("#content")
    if viewport == "phone_page":
        assert not scrolls_sideways(page)
    assert problems == []
    screenshot(page, "corrective")
