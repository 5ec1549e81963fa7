"""Time spent on a task (labour, whole minutes): recorded through the v1 PATCH and complete
and on the admin's task page, validated with a 400 naming the field, audited like every
task write, and exported with the tasks."""

import csv
import io

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from core.models import AuditRecord
from maintenance.models import Task
from tests.maintenance.conftest import BASE, at
from tests.maintenance.test_board_exports import _export

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def task(api_client, make_plan) -> dict:
    response = api_client.post(f"{BASE}/plans/{make_plan()['id']}/execute")
    assert response.status_code == 200, response.json()
    return api_client.get(f"{BASE}/tasks/{response.json()['task_id']}").json()


def _patch(api_client, task: dict, body: dict):
    return api_client.patch(f"{BASE}/tasks/{task['id']}", body, format="json")


# --- API -------------------------------------------------------------------------------------


def test_a_new_task_has_no_time_spent(task):
    assert task["time_spent_minutes"] is None


def test_it_records_time_spent_through_patch_and_audits_it(api_client, task):
    response = _patch(api_client, task, {"time_spent_minutes": 45, "notes": "Greased"})
    assert response.status_code == 200, response.json()
    assert response.json()["time_spent_minutes"] == 45
    assert Task.objects.get(pk=task["id"]).time_spent_minutes == 45
    record = AuditRecord.objects.filter(
        object_pk=task["id"], changes__has_key="time_spent_minutes"
    ).get()
    assert record.changes["time_spent_minutes"] == [None, 45]
    assert record.actor_name == "key:tests"

    cleared = _patch(api_client, task, {"time_spent_minutes": None})
    assert cleared.json()["time_spent_minutes"] is None


def test_it_records_time_spent_with_the_completion(api_client, task, clock):
    clock.move_to(at("2026-03-02 09:00"))
    response = api_client.post(
        f"{BASE}/tasks/{task['id']}/complete",
        {"time_spent_minutes": 90, "notes": "Bearing replaced"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["time_spent_minutes"], body["notes"]) == (
        "done",
        90,
        "Bearing replaced",
    )
    record = AuditRecord.objects.filter(object_pk=task["id"], action=1).get()
    assert record.changes["time_spent_minutes"] == [None, 90]


def test_a_completion_without_time_spent_keeps_what_was_recorded(api_client, task):
    _patch(api_client, task, {"time_spent_minutes": 30})
    response = api_client.post(f"{BASE}/tasks/{task['id']}/complete", {}, format="json")
    assert response.json()["time_spent_minutes"] == 30


def test_time_spent_is_written_up_after_the_job_too(api_client, task):
    api_client.post(f"{BASE}/tasks/{task['id']}/complete", {}, format="json")
    response = _patch(api_client, task, {"time_spent_minutes": 120})
    assert response.status_code == 200, response.json()
    assert response.json()["time_spent_minutes"] == 120
    # Still nothing else on a closed task.
    assert _patch(api_client, task, {"status": "open"}).status_code == 409


@pytest.mark.parametrize(
    "value", [-1, 100_001, 1.5, "30", True, "half an hour"], ids=lambda v: repr(v)
)
@pytest.mark.parametrize("route", ["patch", "complete"])
def test_a_bad_time_spent_is_a_400_naming_the_field(api_client, task, route, value):
    body = {"time_spent_minutes": value}
    if route == "patch":
        response = _patch(api_client, task, body)
    else:
        response = api_client.post(f"{BASE}/tasks/{task['id']}/complete", body, format="json")
    assert response.status_code == 400, response.json()
    assert "time_spent_minutes" in response.json()["error"]["details"]
    stored = Task.objects.get(pk=task["id"])
    assert (stored.status, stored.time_spent_minutes) == (Task.Status.OPEN, None)


def test_the_service_refuses_what_the_api_would(task):
    from django.utils import timezone

    from core.errors import InvalidInput
    from maintenance import services

    with pytest.raises(InvalidInput) as refused:
        services.task_update(
            task_id=task["id"], changes={"time_spent_minutes": -5}, by="t", now=timezone.now()
        )
    assert "time_spent_minutes" in refused.value.details


def test_the_schema_describes_time_spent(api_client):
    response = api_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schemas = response.json()["components"]["schemas"]
    patch = next(v for k, v in schemas.items() if "TaskPatchInput" in k)
    complete = next(v for k, v in schemas.items() if "TaskCompleteInput" in k)
    for body in (patch, complete):
        field = body["properties"]["time_spent_minutes"]
        assert (field["minimum"], field["maximum"]) == (0, Task.TIME_SPENT_MAX_MINUTES)
    assert "time_spent_minutes" in schemas["Task"]["properties"]


# --- admin -----------------------------------------------------------------------------------


def _url(task_id: str) -> str:
    return reverse("admin:maintenance_task_change", args=[quote(task_id)])


def _post(client, task_id: str, **fields):
    page = client.get(_url(task_id))
    form = page.context["adminform"].form
    body = {name: form[name].value() or "" for name in form.fields}
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        body.update(
            {management[name].html_name: management[name].value() for name in management.fields}
        )
    if isinstance(body.get("checklist"), list):
        import json

        body["checklist"] = json.dumps(body["checklist"])
    body.update(fields)
    return client.post(_url(task_id), body, follow=True)


def test_the_task_page_records_time_spent_and_notes_with_complete(admin_client, task):
    html = admin_client.get(_url(task["id"])).content.decode()
    assert 'name="time_spent_minutes"' in html
    page = _post(
        admin_client,
        task["id"],
        time_spent_minutes="75",
        notes="Seal replaced",
        _task_status="complete",
    )
    assert "Task completed." in page.content.decode()
    stored = Task.objects.get(pk=task["id"])
    assert (stored.status, stored.time_spent_minutes, stored.notes) == (
        Task.Status.DONE,
        75,
        "Seal replaced",
    )
    assert AuditRecord.objects.filter(
        object_pk=task["id"], changes__has_key="time_spent_minutes", actor_name="user:root"
    ).exists()
    # A done task still takes its time spent from the page.
    assert 'name="time_spent_minutes"' in page.content.decode()
    _post(admin_client, task["id"], time_spent_minutes="80")
    assert Task.objects.get(pk=task["id"]).time_spent_minutes == 80


@pytest.mark.parametrize("value", ["-3", "100001", "1.5"])
def test_the_task_page_refuses_a_bad_time_spent_on_the_field(admin_client, task, value):
    page = _post(admin_client, task["id"], time_spent_minutes=value, _task_status="complete")
    assert page.context["adminform"].form.errors["time_spent_minutes"]
    assert Task.objects.get(pk=task["id"]).status == Task.Status.OPEN


def test_the_tasks_export_has_the_time_spent(api_client, admin_client, task):
    _patch(api_client, task, {"time_spent_minutes": 40})
    rows = list(csv.DictReader(io.StringIO(_export(admin_client, "task", 0).decode("utf-8-sig"))))
    assert [row["time_spent_minutes"] for row in rows] == ["40"]


# --- labour in the reports -------------------------------------------------------------------


def test_compliance_sums_the_time_spent_per_plan_and_in_the_export(
    api_client, admin_client, make_plan, clock
):
    plan, other = make_plan(), make_plan(name="Other")
    tasks = []
    for _ in range(3):
        response = api_client.post(f"{BASE}/plans/{plan['id']}/execute")
        tasks.append(response.json()["task_id"])
    api_client.post(f"{BASE}/plans/{other['id']}/execute")
    api_client.post(f"{BASE}/tasks/{tasks[0]}/complete", {"time_spent_minutes": 30}, format="json")
    api_client.post(f"{BASE}/tasks/{tasks[1]}/cancel", {}, format="json")
    api_client.patch(f"{BASE}/tasks/{tasks[1]}", {"time_spent_minutes": 15}, format="json")

    dates = {"start_date": "2026-03-01", "end_date": "2026-03-31"}
    report = api_client.get(f"{BASE}/compliance", dates).json()
    by_plan = {row["plan_id"]: row["time_spent_minutes"] for row in report["by_plan"]}
    assert by_plan == {plan["id"]: 45, other["id"]: 0}
    assert report["time_spent_minutes"] == 45

    body = admin_client.get("/admin/exports/compliance.csv", dates).content.decode()
    rows = {
        row["plan_name"]: row["time_spent_minutes"] for row in csv.DictReader(io.StringIO(body))
    }
    assert rows["All plans"] == "45"

    page = admin_client.get(f"/admin/maintenance/plan/{quote(plan['id'])}/change/")
    assert "Time spent on this plan&#x27;s tasks: 45 min" in page.content.decode()
