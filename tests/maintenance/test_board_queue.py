"""The work queue (maintenance/admin_queue.py): filters, search, "My tasks", bulk assign
through `task_update` (audited), ids the admin must quote, and a fixed number of queries."""

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from core.models import AuditRecord
from maintenance.models import Task
from tests.maintenance.conftest import BASE

pytestmark = pytest.mark.usefixtures("clock")
QUEUE = "/admin/maintenance/task/queue/"
# Session, user, technician, count, page, assets, the two pickers, the asset suggestions...
QUEUE_QUERIES = 12


@pytest.fixture
def tasks(api_client, make_plan, make_asset, make_technician):
    """Three open tasks: pump (high, Ada), fan (low, unassigned), valve (urgent, Bob)."""
    ada = make_technician(name="Ada Fixer", email="root@example.com")
    bob = make_technician(name="Bob Wrench", email="bob@example.com")
    made = {}
    for name, priority, tech in (
        ("pump", "high", ada),
        ("fan", "low", None),
        ("valve", "urgent", bob),
    ):
        asset = make_asset(code=f"A-{name.upper()}")
        plan = make_plan(
            name=f"Service the {name}",
            priority=priority,
            asset_ids=[asset["id"]],
            **({"assignee_id": tech["id"]} if tech else {}),
        )
        task_id = api_client.post(f"{BASE}/plans/{plan['id']}/execute").json()["task_id"]
        made[name] = Task.objects.get(pk=task_id)
    made["ada"], made["bob"] = ada, bob
    return made


def codes(response) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    return sorted(task.plan.name for task in response.context["page"])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["Service the fan", "Service the pump", "Service the valve"]),
        ({"priority": "urgent"}, ["Service the valve"]),
        ({"assignee": "null"}, ["Service the fan"]),
        ({"asset": "a-pump"}, ["Service the pump"]),
        ({"q": "valv"}, ["Service the valve"]),
        ({"q": "A-FAN"}, ["Service the fan"]),  # by asset code
        ({"status": "in_progress"}, []),
        ({"due_from": "2026-03-03"}, []),
        ({"due_to": "2026-03-02"}, ["Service the fan", "Service the pump", "Service the valve"]),
    ],
)
def test_it_filters_and_searches(admin_client, tasks, query, expected):
    assert codes(admin_client.get(QUEUE, query)) == expected


def test_it_filters_by_assignee_and_shows_my_tasks(admin_client, tasks):
    assert codes(admin_client.get(QUEUE, {"assignee": tasks["bob"]["id"]})) == ["Service the valve"]
    # The superuser's email is Ada's: "My tasks" is hers.
    response = admin_client.get(QUEUE, {"mine": "1"})
    assert codes(response) == ["Service the pump"]
    assert "My tasks (Ada Fixer)" in response.content.decode()


def test_my_tasks_says_so_when_no_technician_has_my_email(admin_client, tasks):
    admin_client.user.email = "nobody@example.com"
    admin_client.user.save()
    response = admin_client.get(QUEUE, {"mine": "1"}, follow=True)
    assert "No active technician has your email address (nobody@example.com)" in (
        response.content.decode()
    )
    assert len(codes(response)) == 3


def test_a_bad_filter_is_a_400_naming_the_field(admin_client, tasks):
    response = admin_client.get(QUEUE, {"due_from": "soon", "priority": "whenever"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "due_from: Enter a valid date." in body
    assert "priority: Select a valid choice." in body


def test_it_assigns_in_bulk_through_the_service_and_audits_it(admin_client, tasks):
    chosen = [tasks["fan"].pk, tasks["pump"].pk]
    response = admin_client.post(
        f"{QUEUE}?priority=low",
        {"action": "assign", "assignee": tasks["bob"]["id"], "task": chosen},
    )
    assert response.status_code == 302 and response.url.endswith("?priority=low")
    assert {Task.objects.get(pk=pk).assignee_id for pk in chosen} == {tasks["bob"]["id"]}
    records = AuditRecord.objects.filter(
        object_pk__in=chosen, changes__has_key="assignee_id", actor_name="user:root"
    )
    assert records.count() == 2

    admin_client.post(QUEUE, {"action": "assign", "assignee": "none", "task": chosen})
    assert {Task.objects.get(pk=pk).assignee_id for pk in chosen} == {None}


def test_a_refused_assignment_is_reported_per_task(admin_client, tasks):
    response = admin_client.post(
        QUEUE,
        {"action": "assign", "assignee": "tech_missing", "task": [tasks["fan"].pk]},
        follow=True,
    )
    body = response.content.decode()
    assert "tech_missing" in body
    assert Task.objects.get(pk=tasks["fan"].pk).assignee_id is None
    response = admin_client.post(
        QUEUE, {"action": "assign", "task": [tasks["fan"].pk]}, follow=True
    )
    assert "Assignee: choose a technician" in response.content.decode()
    response = admin_client.post(QUEUE, {"action": "complete"}, follow=True)
    assert "Task: select at least one task." in response.content.decode()


def test_links_quote_ids_that_hold_the_admins_escape_character(
    admin_client, api_client, make_plan, monkeypatch
):
    # About 0.6 % of generated ids hold "_5B" and the like, which the change page decodes.
    monkeypatch.setattr("maintenance.models.new_id", lambda prefix: f"{prefix}_T9D4_5B9Ru6M7INf")
    plan = make_plan()
    api_client.post(f"{BASE}/plans/{plan['id']}/execute")
    task = Task.objects.get()
    body = admin_client.get(QUEUE).content.decode()
    for url in (
        reverse("admin:maintenance_task_change", args=[quote(task.pk)]),
        reverse("admin:maintenance_plan_change", args=[quote(plan["id"])]),
    ):
        assert f'href="{url}"' in body
        assert admin_client.get(url).status_code == 200


def test_it_costs_a_fixed_number_of_queries(
    admin_client, tasks, api_client, make_plan, make_asset, django_assert_max_num_queries
):
    with django_assert_max_num_queries(QUEUE_QUERIES):
        admin_client.get(QUEUE, {"q": "Service", "mine": "1"})
    for n in range(15):
        plan = make_plan(name=f"Extra {n}", asset_ids=[make_asset()["id"]])
        api_client.post(f"{BASE}/plans/{plan['id']}/execute")
    with django_assert_max_num_queries(QUEUE_QUERIES):
        response = admin_client.get(QUEUE, {"q": "e", "mine": "1"})
    assert response.status_code == 200


def test_complete_records_the_time_spent_through_the_service_and_audits_it(admin_client, tasks):
    chosen = [tasks["fan"].pk, tasks["pump"].pk]
    response = admin_client.post(
        f"{QUEUE}?priority=low",
        {"action": "complete", "time_spent_minutes": " 45 ", "task": chosen},
    )
    assert response.status_code == 302 and response.url.endswith("?priority=low")
    for pk in chosen:
        task = Task.objects.get(pk=pk)
        assert (task.status, task.time_spent_minutes) == (Task.Status.DONE, 45)
        record = AuditRecord.objects.get(object_pk=pk, changes__has_key="time_spent_minutes")
        assert record.changes["time_spent_minutes"] == [None, 45]
        assert record.actor_name == "user:root"
    # Left empty, it records nothing (the task page may record it later).
    admin_client.post(
        QUEUE, {"action": "complete", "time_spent_minutes": "", "task": [tasks["valve"].pk]}
    )
    valve = Task.objects.get(pk=tasks["valve"].pk)
    assert (valve.status, valve.time_spent_minutes) == (Task.Status.DONE, None)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-5", "Ensure this value is greater than or equal to 0."),
        ("forty", "Enter a whole number."),
        ("1.5", "Enter a whole number."),
        ("100001", "Ensure this value is less than or equal to 100000."),
    ],
)
def test_a_bad_time_spent_is_a_400_on_its_field_and_completes_nothing(
    admin_client, tasks, typed, message
):
    chosen = [tasks["fan"].pk]
    response = admin_client.post(
        f"{QUEUE}?priority=low", {"action": "complete", "time_spent_minutes": typed, "task": chosen}
    )
    assert response.status_code == 400
    assert response.context["complete_form"].errors == {"time_spent_minutes": [message]}
    body = response.content.decode()
    assert f"Time spent (minutes): {message}" in body
    assert 'aria-invalid="true"' in body and f'value="{typed}"' in body  # kept to correct
    assert Task.objects.get(pk=tasks["fan"].pk).status == Task.Status.OPEN
    # The tick stays, and the filtered page is the one posted from.
    assert codes_of_ticked(body) == chosen
    assert codes(admin_client.get(QUEUE, {"priority": "low"})) == ["Service the fan"]


def test_the_time_spent_is_only_read_by_complete(admin_client, tasks):
    response = admin_client.post(
        QUEUE, {"action": "cancel", "time_spent_minutes": "forty", "task": [tasks["fan"].pk]}
    )
    assert response.status_code == 302
    assert Task.objects.get(pk=tasks["fan"].pk).status == Task.Status.CANCELLED


def codes_of_ticked(body: str) -> list[str]:
    import re

    return re.findall(r'name="task" value="([^"]+)" checked', body)
