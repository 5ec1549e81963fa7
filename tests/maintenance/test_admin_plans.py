"""The plan form validates and saves through the API's code; the plan page's actions and the
task work queue call the services; lists and the queue cost a fixed number of queries."""

import json
from dataclasses import replace

import pytest
from django.contrib.admin.utils import quote
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.errors import InvalidInput
from maintenance import services
from maintenance.models import Plan, Task
from maintenance.specs import CalendarTrigger
from tests.maintenance.conftest import BASE, CALENDAR_SPEC, at

pytestmark = pytest.mark.usefixtures("clock")

ADD = "/admin/maintenance/plan/add/"


def _form(**fields) -> dict:
    """The add form as a browser posts it: a daily calendar plan unless told otherwise."""
    return {
        "name": "Lubricate pump bearings",
        "priority": "medium",
        "task_title": "Lubricate bearings",
        "task_checklist": json.dumps(["Clean nipple", "Grease 5 g"]),
        "task_code_prefix": "MAN",
        "trigger": "calendar",
        "rrule": "",
        "every": "1",
        "unit": "day",
        "start_at_0": "2026-03-02",
        "start_at_1": "08:00:00",
        "timezone": "UTC",
        "anchor": "fixed",
        "lead_time_hours": "0",
        "tolerance_hours": "24",
        "counter_anchor": "fixed",
        "counter_start_value": "0",
        **fields,
    }


def _errors(response) -> dict:
    assert response.status_code == 200, "expected the form back with errors"
    return {k: list(v) for k, v in response.context["adminform"].form.errors.items()}


def test_it_creates_a_calendar_plan_like_the_api(admin_client, api_client, make_asset):
    asset = make_asset()
    response = admin_client.post(ADD, _form(assets=[asset["id"]]))
    assert response.status_code == 302
    plan = Plan.objects.get()
    api = api_client.get(f"{BASE}/plans/{plan.pk}").json()
    assert api["calendar"]["rrule"] == "FREQ=DAILY;INTERVAL=1"
    assert api["calendar"]["every"] == 1
    assert api["next_due_at"] == "2026-03-02T08:00:00Z"
    assert api["asset_ids"] == [asset["id"]]
    assert api["task"]["checklist"] == ["Clean nipple", "Grease 5 g"]


def test_it_creates_a_counter_plan(admin_client):
    form = _form(trigger="counter", counter_unit="hours", counter_interval="500")
    assert admin_client.post(ADD, form).status_code == 302
    plan = Plan.objects.get()
    assert (plan.trigger, plan.counter_interval, plan.next_counter_threshold) == (
        "counter",
        500,
        500,
    )


@pytest.mark.parametrize(
    ("fields", "api_body", "field", "api_key"),
    [
        (
            {"every": "", "unit": "", "rrule": "FREQ=SECONDLY"},
            {"calendar": {"rrule": "FREQ=SECONDLY", "start_at": "2026-03-02T08:00:00Z"}},
            "rrule",
            "calendar.rrule",
        ),
        (
            # The builder's rule goes to the service as the API's rrule would (the form can
            # no longer send rrule and every + unit together: the rule is one choice).
            {"rule_mode": "builder", "every": "5", "unit": "minute"},
            {
                "calendar": {
                    "rrule": "FREQ=MINUTELY;INTERVAL=5",
                    "start_at": "2026-03-02T08:00:00Z",
                }
            },
            "rrule",
            "calendar.rrule",
        ),
        (
            {"timezone": "Mars/Olympus"},
            {
                "calendar": {
                    "every": 1,
                    "unit": "day",
                    "start_at": "2026-03-02T08:00:00Z",
                    "timezone": "Mars/Olympus",
                }
            },
            "timezone",
            "calendar.timezone",
        ),
        (
            {"trigger": "counter", "counter_unit": "h", "counter_interval": "0"},
            {"trigger": "counter", "calendar": None, "counter": {"unit": "h", "interval": 0}},
            "counter_interval",
            "counter.interval",
        ),
        (
            {"task_code_prefix": "man"},
            {"task_code_prefix": "man"},
            "task_code_prefix",
            "task_code_prefix",
        ),
        (
            {"assignee": "tech_nobody"},
            None,
            "assignee",
            None,
        ),
    ],
)
def test_it_refuses_what_the_api_refuses_with_its_messages(
    admin_client, api_client, fields, api_body, field, api_key
):
    response = admin_client.post(ADD, _form(**fields))
    errors = _errors(response)
    assert field in errors, errors
    if api_body is not None:
        body = {
            "name": "x",
            "trigger": "calendar",
            "calendar": {"every": 1, "unit": "day", "start_at": "2026-03-02T08:00:00Z"},
            **api_body,
        }
        api = api_client.post(f"{BASE}/plans", body, format="json").json()["error"]
        assert errors[field] == api["details"][api_key]
    assert not Plan.objects.exists()


def test_it_refuses_an_inactive_assignee_with_the_services_message(admin_client, make_technician):
    tech = make_technician(active=False)
    errors = _errors(admin_client.post(ADD, _form(assignee=tech["id"])))
    assert errors["assignee"] == [f"Technician '{tech['id']}' is inactive"]


def test_it_updates_a_plan_and_reschedules_it(admin_client, make_plan):
    plan = make_plan()
    url = reverse("admin:maintenance_plan_change", args=[quote(plan["id"])])
    page = admin_client.get(url)
    assert page.status_code == 200
    initial = page.context["adminform"].form.initial
    assert (initial["every"], initial["unit"], initial["task_checklist"]) == (
        "1",
        "day",
        ["Clean nipple", "Grease 5 g"],
    )
    response = admin_client.post(url, _form(every="", unit="", rrule="FREQ=WEEKLY;BYDAY=FR"))
    assert response.status_code == 302
    stored = Plan.objects.get()
    assert stored.rrule == "FREQ=WEEKLY;BYDAY=FR"
    assert stored.next_due_at == at("2026-03-06 08:00")


def test_the_plan_page_shows_state_and_recent_work(admin_client, api_client, make_plan):
    plan = make_plan()
    task = api_client.post(f"{BASE}/plans/{plan['id']}/execute").json()
    content = admin_client.get(reverse("admin:maintenance_plan_change", args=[quote(plan["id"])]))
    text = content.content.decode()
    assert "2026-03-02 08:00 UTC" in text
    assert task["task_code"] in text
    assert 'id="recent-executions"' in text
    assert 'id="ops-action-execute"' in text


def test_the_plan_page_buttons_call_the_services(admin_client, make_plan):
    plan = make_plan()

    def act(name):
        url = reverse(f"admin:maintenance_plan_{name}", args=[quote(plan["id"])])
        return admin_client.post(url, follow=True).content.decode()

    assert "Plan paused." in act("pause")
    assert "already paused" in act("pause")
    assert "paused; resume it to execute it" in act("execute")
    assert "Plan resumed." in act("resume")
    assert "MAN-001" in act("execute")
    assert Task.objects.get().execution.executed_by == f"user:{admin_client.user.username}"
    url = reverse("admin:maintenance_plan_execute", args=[quote(plan["id"])])
    assert admin_client.get(url).status_code == 403  # POST only


def test_the_work_queue_puts_overdue_tasks_first_and_completes_and_cancels(
    admin_client, api_client, make_plan, clock
):
    plan = make_plan()
    ids = [api_client.post(f"{BASE}/plans/{plan['id']}/execute").json()["task_id"]]
    clock.move_to(at("2026-03-03 00:00"))  # the first task's deadline (due + 24 h) passes
    ids.append(api_client.post(f"{BASE}/plans/{plan['id']}/execute").json()["task_id"])
    ids.append(api_client.post(f"{BASE}/plans/{plan['id']}/execute").json()["task_id"])
    api_client.post(f"{BASE}/tasks/{ids[2]}/cancel")
    url = reverse("admin:maintenance_task_queue")

    page = admin_client.get(url)
    rows = list(page.context["page"])
    assert [t.pk for t in rows] == ids[:2]
    assert rows[0].overdue and not rows[1].overdue

    admin_client.post(url, {"action": "complete", "task": [ids[0]]})
    response = admin_client.post(url, {"action": "cancel", "task": [ids[1], ids[2]]}, follow=True)
    assert "is cancelled; it cannot be cancelled" in response.content.decode()
    assert [Task.objects.get(pk=i).status for i in ids] == ["done", "cancelled", "cancelled"]
    assert Task.objects.get(pk=ids[0]).completed_by == f"user:{admin_client.user.pk}"


def test_the_work_queue_costs_a_fixed_number_of_queries(
    admin_client, api_client, make_plan, make_asset, make_technician
):
    def build(n):
        tech = make_technician()
        for _ in range(n):
            plan = make_plan(asset_ids=[make_asset()["id"]], assignee_id=tech["id"])
            api_client.post(f"{BASE}/plans/{plan['id']}/execute")

    url = reverse("admin:maintenance_task_queue")
    tasks = admin_client.get(reverse("admin:maintenance_task_changelist")).content.decode()
    assert f'href="{url}"' in tasks
    build(3)
    with CaptureQueriesContext(connection) as small:
        assert admin_client.get(url).status_code == 200
    build(20)
    with CaptureQueriesContext(connection) as large:
        response = admin_client.get(url)
    assert len(response.context["page"]) == 23
    assert len(large.captured_queries) == len(small.captured_queries)


@pytest.mark.parametrize("model", ["task", "execution", "counterreading"])
def test_history_is_searchable_by_plan_id(admin_client, api_client, make_plan, model):
    plan = make_plan()
    api_client.post(f"{BASE}/plans/{plan['id']}/execute")
    url = reverse(f"admin:maintenance_{model}_changelist")
    response = admin_client.get(url, {"q": plan["id"]})
    assert response.status_code == 200
    expected = 0 if model == "counterreading" else 1
    assert response.context["cl"].result_count == expected
    assert admin_client.get(url, {"q": "MAN-001"}).status_code == 200


def test_a_bad_rrule_shows_the_services_message_on_the_rrule_field_and_saves_nothing(
    admin_client,
):
    spec = replace(
        CALENDAR_SPEC, trigger=CalendarTrigger(rrule="FREQ=SECONDLY", start_at=at("2026-03-02"))
    )
    with pytest.raises(InvalidInput) as refused:
        services.plan_create(spec=spec, now=at("2026-03-01"))
    response = admin_client.post(ADD, _form(every="", unit="", rrule="FREQ=SECONDLY"))
    errors = _errors(response)
    assert errors == {"rrule": refused.value.details["calendar.rrule"]}
    assert not Plan.objects.exists()


def test_an_update_the_service_refuses_changes_nothing(admin_client, make_plan):
    plan = make_plan()
    url = reverse("admin:maintenance_plan_change", args=[quote(plan["id"])])
    response = admin_client.post(url, _form(name="Renamed", timezone="Mars/Olympus"))
    assert "timezone" in _errors(response)
    assert Plan.objects.get().name == "Lubricate pump bearings"


def test_the_plan_pages_work_for_ids_the_admin_must_quote(admin_client, api_client, make_plan):
    # Admin URLs escape "_" as "_5F"; an unescaped id whose "_" is followed by two hex digits
    # (1 id in 16) was read as another id: the flaky admin tests' cause.
    plan_id = make_plan()["id"]
    Plan.objects.filter(pk=plan_id).update(id="plan_3Fx")
    url = reverse("admin:maintenance_plan_execute", args=[quote("plan_3Fx")])
    page = admin_client.post(url, follow=True)
    assert page.status_code == 200
    assert page.context["original"].pk == "plan_3Fx"  # back on that plan's page
    task = Task.objects.get()
    Task.objects.filter(pk=task.pk).update(id="task_3Fy")
    page = admin_client.get(reverse("admin:maintenance_plan_change", args=[quote("plan_3Fx")]))
    task_url = reverse("admin:maintenance_task_change", args=[quote("task_3Fy")])
    assert f'href="{task_url}"' in page.content.decode()
    assert admin_client.get(task_url).context["original"].pk == "task_3Fy"
