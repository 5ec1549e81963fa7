"""The plan's channel pickers and the task's time spent, in headless chromium at desktop and
390 px phone widths: a planner picks channels by name (the ids were typed by hand before), a
technician records time spent and notes and completes the task (there was nowhere to put the
labour), and a channel's delivery counts open the deliveries filtered by status."""

import pytest
from django.contrib.admin.utils import quote
from django.utils import timezone

from maintenance import services
from maintenance.models import Task
from notifications import services as notification_services
from tests.browser.conftest import scrolls_sideways, weekly_plan

pytestmark = pytest.mark.browser

VIEWPORTS = ["page", "phone_page"]


def _watch_console(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def _chosen(page, field: str) -> list[str]:
    return page.eval_on_selector_all(
        f"#id_{field}_to option", "options => options.map(o => o.textContent)"
    )


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_planner_picks_two_channels_for_a_plan(viewport, request, screenshot, transactional_db):
    page = request.getfixturevalue(viewport)
    problems = _watch_console(page)
    ops = notification_services.channel_create(name="Ops mail", kind="email", target="o@x.org")
    hook = notification_services.channel_create(
        name="Plant hook", kind="webhook", target="https://hooks.example.com/plant"
    )
    notification_services.channel_create(
        name="Old pager", kind="email", target="p@x.org", active=False
    )
    plan = weekly_plan("Drain the tank")
    page.goto(f"/admin/maintenance/plan/{quote(plan.pk)}/change/")

    available = page.locator("#id_notification_channel_ids_from")
    assert available.locator("option").all_text_contents() == [
        "Old pager (Email) — inactive",
        "Ops mail (Email)",
        "Plant hook (Webhook)",
    ]
    available.select_option(label=["Plant hook (Webhook)", "Ops mail (Email)"])
    page.click("#id_notification_channel_ids_add")
    assert _chosen(page, "notification_channel_ids") == ["Ops mail (Email)", "Plant hook (Webhook)"]
    # The escalations go to the inactive pager only (chosen with a double click).
    page.locator("#id_escalation_channel_ids_from option", has_text="Old pager").dblclick()
    if viewport == "phone_page":
        assert not scrolls_sideways(page)
    screenshot(page, "picked")

    page.click("input[name=_continue]")
    page.locator(".messagelist .success").wait_for()
    plan.refresh_from_db()
    assert sorted(plan.notification_channel_ids) == sorted([ops.pk, hook.pk])
    assert len(plan.escalation_channel_ids) == 1
    # Reopened, the page shows them chosen.
    page.goto(f"/admin/maintenance/plan/{quote(plan.pk)}/change/")
    assert _chosen(page, "notification_channel_ids") == ["Ops mail (Email)", "Plant hook (Webhook)"]
    assert _chosen(page, "escalation_channel_ids") == ["Old pager (Email) — inactive"]
    assert problems == []
    screenshot(page, "reopened")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_technician_records_time_spent_and_notes_and_completes(
    viewport, request, screenshot, transactional_db
):
    page = request.getfixturevalue(viewport)
    problems = _watch_console(page)
    task = services.plan_execute(
        plan_id=weekly_plan("Drain the tank").pk, by="test", now=timezone.now()
    )
    page.goto(f"/admin/maintenance/task/{quote(task.pk)}/change/")

    # A bad value is refused on the field, what was typed kept.
    page.fill("textarea[name=notes]", "Drained, belt worn")
    page.fill("input[name=time_spent_minutes]", "-5")
    # Past the browser's own check (min=0), as an old browser or a script would send it.
    page.evaluate("document.getElementById('task_form').noValidate = true")
    page.click("#task-complete")
    page.locator(".field-time_spent_minutes .errorlist").wait_for()
    task.refresh_from_db()
    assert (task.status, task.time_spent_minutes) == (Task.Status.OPEN, None)
    assert page.input_value("textarea[name=notes]") == "Drained, belt worn"

    page.check("input[name=checklist__0]")
    page.fill("input[name=time_spent_minutes]", "50")
    if viewport == "phone_page":
        assert not scrolls_sideways(page)
    screenshot(page, "typed")
    page.click("#task-complete")
    page.locator(".messagelist .success", has_text="Task completed.").wait_for()
    task.refresh_from_db()
    assert task.status == Task.Status.DONE
    assert (task.time_spent_minutes, task.notes) == (50, "Drained, belt worn")
    # Shown back on the done task (and still correctable there).
    assert page.input_value("input[name=time_spent_minutes]") == "50"
    assert page.input_value("textarea[name=notes]") == "Drained, belt worn"
    if viewport == "phone_page":
        assert not scrolls_sideways(page)
    assert problems == []
    screenshot(page, "completed")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_channels_failed_count_opens_its_failed_deliveries(
    viewport, request, transactional_db, planner, screenshot
):
    from django.contrib.auth.models import Permission

    from notifications.models import Delivery

    planner.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="notifications")
    )
    page = request.getfixturevalue(viewport)
    channel = notification_services.channel_create(name="Ops", kind="email", target="o@x.org")
    for index, status in enumerate(("failed", "failed", "sent")):
        Delivery.objects.create(
            channel=channel, event="task.created", object_key=f"task:{index}", status=status
        )
    # The channel list counts what needs a look, each count opening the filtered list.
    page.goto("/admin/notifications/channel/")
    row = page.locator("tr", has_text="Ops")
    assert "2 Failed · 0 Pending" in row.inner_text()
    row.get_by_role("link", name="2 Failed").click()
    page.wait_for_url("**/notifications/delivery/?**status__exact=failed**")
    assert page.locator("#result_list tbody tr").count() == 2
    # The channel's page has them all by status.
    page.goto(f"/admin/notifications/channel/{quote(channel.pk)}/change/")
    deliveries = page.locator("#channel-deliveries")
    assert "2 Failed" in deliveries.inner_text() and "1 Sent" in deliveries.inner_text()
    deliveries.get_by_role("link", name="1 Sent").click()
    page.wait_for_url("**/notifications/delivery/?**status__exact=sent**")
    assert page.locator("#result_list tbody tr").count() == 1
    if viewport == "phone_page":
        assert not scrolls_sideways(page)
    screenshot(page)
