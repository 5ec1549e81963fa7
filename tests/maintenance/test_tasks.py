"""Tasks: codes, list filters, get, PATCH, complete, cancel."""

import pytest
from django.utils import timezone

from maintenance import services
from maintenance.models import Task, TaskCodeSequence
from tests.maintenance.conftest import BASE, at


def execute(api_client, plan_id: str) -> dict:
    response = api_client.post(f"{BASE}/plans/{plan_id}/execute")
    assert response.status_code == 200, response.json()
    return api_client.get(f"{BASE}/tasks/{response.json()['task_id']}").json()


# --- codes -----------------------------------------------------------------------------------


def test_it_numbers_tasks_per_prefix(api_client, make_plan):
    man = make_plan()
    other_man = make_plan()
    pump = make_plan(task_code_prefix="PUMP")
    codes = [
        execute(api_client, man["id"])["code"],
        execute(api_client, pump["id"])["code"],
        execute(api_client, other_man["id"])["code"],
        execute(api_client, pump["id"])["code"],
    ]
    assert codes == ["MAN-001", "PUMP-001", "MAN-002", "PUMP-002"]


def test_it_widens_codes_past_three_digits(api_client, make_plan):
    plan = make_plan()
    TaskCodeSequence.objects.create(prefix="MAN", last_value=998)
    assert execute(api_client, plan["id"])["code"] == "MAN-999"
    assert execute(api_client, plan["id"])["code"] == "MAN-1000"


def test_it_never_reuses_a_code_after_deletion(api_client, make_plan):
    plan = make_plan()
    first = execute(api_client, plan["id"])
    second = execute(api_client, plan["id"])
    Task.objects.filter(pk=second["id"]).delete()
    api_client.delete(f"{BASE}/plans/{plan['id']}")
    Task.objects.filter(pk=first["id"]).delete()
    again = make_plan()
    assert execute(api_client, again["id"])["code"] == "MAN-003"


# --- get and list ----------------------------------------------------------------------------


def test_it_shows_a_task(api_client, make_plan, make_asset, make_technician, clock):
    asset, tech = make_asset(), make_technician()
    plan = make_plan(asset_ids=[asset["id"]], assignee_id=tech["id"], priority="urgent")
    clock.move_to(at("2026-03-02 08:00"))
    services.plans_execute_due(now=timezone.now())
    [task] = api_client.get(f"{BASE}/tasks").json()["items"]
    assert task["id"].startswith("task_")
    assert task["execution_id"].startswith("exec_")
    assert {k: task[k] for k in ("plan_id", "asset_ids", "assignee_id", "priority", "status")} == {
        "plan_id": plan["id"],
        "asset_ids": [asset["id"]],
        "assignee_id": tech["id"],
        "priority": "urgent",
        "status": "open",
    }
    assert task["started_at"] is task["completed_at"] is task["completed_by"] is None
    assert api_client.get(f"{BASE}/tasks/{task['id']}").json() == task


def test_it_answers_404_for_an_unknown_task(api_client):
    for method, path in [
        ("get", "task_nope"),
        ("patch", "task_nope"),
        ("post", "task_nope/complete"),
        ("post", "task_nope/cancel"),
    ]:
        response = getattr(api_client, method)(f"{BASE}/tasks/{path}", {}, format="json")
        assert response.status_code == 404, path
        assert response.json()["error"]["message"] == "Task with id 'task_nope' not found"


def test_it_filters_tasks(api_client, make_plan, make_technician, clock):
    tech = make_technician()
    daily = make_plan()
    weekly = make_plan(
        calendar={"every": 1, "unit": "week", "start_at": "2026-03-02T09:00:00Z"},
        assignee_id=tech["id"],
    )
    for day in ("2026-03-02", "2026-03-03", "2026-03-04"):
        clock.move_to(at(f"{day} 09:00"))
        services.plans_execute_due(now=timezone.now())
    tasks = api_client.get(f"{BASE}/tasks").json()["items"]
    assert [(t["due_at"][:10], t["plan_id"]) for t in tasks] == [
        ("2026-03-02", daily["id"]),
        ("2026-03-02", weekly["id"]),
        ("2026-03-03", daily["id"]),
        ("2026-03-04", daily["id"]),
    ]
    api_client.patch(f"{BASE}/tasks/{tasks[2]['id']}", {"status": "in_progress"}, format="json")
    api_client.post(f"{BASE}/tasks/{tasks[3]['id']}/cancel", {}, format="json")

    def ids(**params):
        response = api_client.get(f"{BASE}/tasks", params)
        assert response.status_code == 200, response.json()
        return [t["id"] for t in response.json()["items"]]

    assert ids(plan_id=weekly["id"]) == [tasks[1]["id"]]
    assert ids(assignee_id=tech["id"]) == [tasks[1]["id"]]
    assert ids(status="in_progress") == [tasks[2]["id"]]
    assert ids(status="open,in_progress") == [t["id"] for t in tasks[:3]]
    assert ids(due_after="2026-03-03T08:00:00Z") == [tasks[2]["id"], tasks[3]["id"]]
    assert ids(due_before="2026-03-03T08:00:00Z") == [t["id"] for t in tasks[:3]]
    assert ids(due_before="2026-03-02T08:59:59Z") == [tasks[0]["id"]]
    assert ids(due_after="2026-03-03T00:00:00Z", due_before="2026-03-03T23:59:59Z") == [
        tasks[2]["id"]
    ]
    assert ids(due_after="2026-03-03T10:00:00+02:00") == [tasks[2]["id"], tasks[3]["id"]]
    assert ids(plan_id="plan_unknown") == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "finished"}, "status"),
        ({"status": "open,finished"}, "status"),
        ({"due_before": "yesterday"}, "due_before"),
        ({"due_after": "2026-13-01T00:00:00Z"}, "due_after"),
        # Far years and offsets PostgreSQL refuses (it answered 500 there).
        ({"due_before": "0684-02-16T12:30:18-20:24"}, "due_before"),
        ({"due_after": "9999-12-31T23:59:59Z"}, "due_after"),
        ({"limit": "1000"}, "limit"),
    ],
)
def test_it_refuses_bad_task_filters(api_client, params, field):
    response = api_client.get(f"{BASE}/tasks", params)
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


# --- PATCH -----------------------------------------------------------------------------------


def test_it_starts_assigns_and_ticks_a_task(api_client, make_plan, make_technician, clock):
    tech = make_technician()
    task = execute(api_client, make_plan()["id"])
    clock.move_to(at("2026-03-01 09:00"))
    response = api_client.patch(
        f"{BASE}/tasks/{task['id']}",
        {
            "status": "in_progress",
            "assignee_id": tech["id"],
            "checklist": [
                {"item": "Clean nipple", "done": True},
                {"item": "Grease 5 g", "done": False},
            ],
            "notes": "started",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "in_progress"
    assert body["started_at"] == "2026-03-01T09:00:00Z"
    assert body["assignee_id"] == tech["id"]
    assert body["checklist"][0] == {"item": "Clean nipple", "done": True}
    assert body["notes"] == "started"

    response = api_client.patch(f"{BASE}/tasks/{task['id']}", {"assignee_id": None}, format="json")
    assert response.json()["assignee_id"] is None


def test_it_completes_a_task_through_patch(api_client, make_plan, clock):
    task = execute(api_client, make_plan()["id"])
    clock.move_to(at("2026-03-01 10:00"))
    response = api_client.patch(f"{BASE}/tasks/{task['id']}", {"status": "done"}, format="json")
    assert response.json()["status"] == "done"
    assert response.json()["completed_at"] == "2026-03-01T10:00:00Z"
    assert response.json()["completed_by"] == "key:tests"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "closed"}, "status"),
        ({"assignee_id": "tech_nope"}, "assignee_id"),
        ({"assignee_id": 7}, "assignee_id"),
        ({"checklist": [{"item": "x", "done": "yes"}]}, "checklist[0].done"),
        ({"checklist": [{"done": True}]}, "checklist[0].item"),
        ({"checklist": "all done"}, "checklist"),
        ({"due_at": "2026-04-01T00:00:00Z"}, "due_at"),
        ({"notes": 5}, "notes"),
    ],
)
def test_it_refuses_bad_patches(api_client, make_plan, body, field):
    task = execute(api_client, make_plan()["id"])
    response = api_client.patch(f"{BASE}/tasks/{task['id']}", body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["details"]


def test_it_only_takes_notes_on_a_closed_task(api_client, make_plan):
    task = execute(api_client, make_plan()["id"])
    api_client.post(f"{BASE}/tasks/{task['id']}/complete", {}, format="json")
    for body in ({"status": "open"}, {"checklist": []}, {"status": "cancelled"}):
        response = api_client.patch(f"{BASE}/tasks/{task['id']}", body, format="json")
        assert response.status_code == 409, body
    response = api_client.patch(f"{BASE}/tasks/{task['id']}", {"notes": "ok"}, format="json")
    assert response.status_code == 200
    assert response.json()["notes"] == "ok"


# --- complete and cancel ---------------------------------------------------------------------


def test_it_completes_a_task(api_client, make_plan, clock):
    task = execute(api_client, make_plan()["id"])
    clock.move_to(at("2026-03-02 12:00"))
    response = api_client.post(
        f"{BASE}/tasks/{task['id']}/complete",
        {"completed_at": "2026-03-02T11:00:00+01:00", "notes": "Bearing was noisy"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "done"
    assert body["completed_at"] == "2026-03-02T10:00:00Z"
    assert body["completed_by"] == "key:tests"
    assert body["notes"] == "Bearing was noisy"


def test_it_refuses_a_completion_in_the_future(api_client, make_plan, clock):
    task = execute(api_client, make_plan()["id"])
    response = api_client.post(
        f"{BASE}/tasks/{task['id']}/complete",
        {"completed_at": "2026-03-01T01:00:00Z"},
        format="json",
    )
    assert response.status_code == 400
    assert "completed_at" in response.json()["error"]["details"]


def test_it_refuses_to_complete_a_closed_task(api_client, make_plan):
    plan = make_plan()
    done, cancelled = execute(api_client, plan["id"]), execute(api_client, plan["id"])
    api_client.post(f"{BASE}/tasks/{done['id']}/complete", {}, format="json")
    api_client.post(f"{BASE}/tasks/{cancelled['id']}/cancel", {}, format="json")

    response = api_client.post(f"{BASE}/tasks/{cancelled['id']}/complete", {}, format="json")
    assert response.status_code == 409
    assert "cancelled" in response.json()["error"]["message"]
    assert api_client.post(f"{BASE}/tasks/{done['id']}/complete").status_code == 409
    assert api_client.post(f"{BASE}/tasks/{done['id']}/cancel").status_code == 409
    assert api_client.post(f"{BASE}/tasks/{cancelled['id']}/cancel").status_code == 409


def test_it_cancels_a_task(api_client, make_plan, clock):
    task = execute(api_client, make_plan()["id"])
    clock.move_to(at("2026-03-01 06:00"))
    response = api_client.post(
        f"{BASE}/tasks/{task['id']}/cancel", {"notes": "Asset decommissioned"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancelled_at"] == "2026-03-01T06:00:00Z"
    assert response.json()["notes"] == "Asset decommissioned"


def test_it_refuses_task_writes_with_a_read_only_key(read_only_client, api_client, make_plan):
    task = execute(api_client, make_plan()["id"])
    assert read_only_client.get(f"{BASE}/tasks/{task['id']}").status_code == 200
    assert read_only_client.post(f"{BASE}/tasks/{task['id']}/complete").status_code == 403
    response = read_only_client.patch(f"{BASE}/tasks/{task['id']}", {"notes": "x"}, format="json")
    assert response.status_code == 403
