"""Work orders that open maintenance windows, seen where people look: the v1 task, the v4
monitor's maintenance status and the audit trail. Frozen clock."""

from datetime import timedelta

import pytest

from core.models import AuditRecord
from scheduling import services as scheduling
from scheduling.models import EventStatus, Maintenance, MaintenanceEvent
from tests.conftest import at
from tests.maintenance.conftest import BASE, CALENDAR_PLAN, T0, iso

pytestmark = pytest.mark.django_db

V4_MONITORS = "/api/v4/monitors"


@pytest.fixture
def monitors():
    return [scheduling.monitor_create(tag=tag) for tag in ("api", "db", "www")]


@pytest.fixture
def asset(api_client, monitors):
    body = {"code": "PUMP-1", "name": "Pump 1", "monitor_tags": ["api", "db"]}
    response = api_client.post(f"{BASE}/assets", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def work_plan(make_plan, asset):
    return make_plan(asset_ids=[asset["id"]], open_window=True, window_impact="DOWN")


def execute(api_client, plan) -> str:
    response = api_client.post(f"{BASE}/plans/{plan['id']}/execute")
    assert response.status_code in (200, 201), response.json()
    return response.json()["task_id"]


def patch_task(api_client, task_id, **body):
    response = api_client.patch(f"{BASE}/tasks/{task_id}", body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def monitor_status(api_client, tag, **params):
    response = api_client.get(f"{V4_MONITORS}/{tag}/maintenance", params)
    assert response.status_code == 200, response.json()
    return response.json()


# --- assets name their monitors ------------------------------------------------------------


def test_an_asset_names_existing_monitors(api_client, asset):
    assert asset["monitor_tags"] == ["api", "db"]
    response = api_client.patch(
        f"{BASE}/assets/{asset['id']}", {"monitor_tags": ["www"]}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["monitor_tags"] == ["www"]
    plain = api_client.post(f"{BASE}/assets", {"code": "P2", "name": "P2"}, format="json")
    assert plain.json()["monitor_tags"] == []


@pytest.mark.parametrize(
    ("tags", "words"),
    [
        (["api", "nope"], "monitor_tags[1]: no monitor with tag 'nope'"),
        (["api", "api"], "Must not contain duplicates."),
        ("api", None),
    ],
)
def test_an_unknown_monitor_tag_is_a_400_naming_the_field(api_client, monitors, tags, words):
    body = {"code": "PUMP-9", "name": "Pump 9", "monitor_tags": tags}
    response = api_client.post(f"{BASE}/assets", body, format="json")

    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert "monitor_tags" in details
    if words:
        assert words in details["monitor_tags"]


# --- open_window: in progress → ongoing window → ended -------------------------------------


def test_starting_the_task_opens_an_ongoing_window_on_its_monitors(api_client, clock, work_plan):
    task_id = execute(api_client, work_plan)
    assert monitor_status(api_client, "api")["under_maintenance"] is False

    clock.move_to(T0 + timedelta(minutes=10))
    task = patch_task(api_client, task_id, status="in_progress")

    window = Maintenance.objects.get(pk=task["window_maintenance_id"])
    assert sorted(window.monitor_links.values_list("monitor__tag", "impact")) == [
        ("api", "DOWN"),
        ("db", "DOWN"),
    ]
    [event] = window.events.all()
    assert event.status == EventStatus.ONGOING  # stored at once, not on the next tick
    assert event.start_date_time == T0 + timedelta(minutes=10)
    for tag in ("api", "db"):
        status = monitor_status(api_client, tag)
        assert status["under_maintenance"] is True
        assert status["impact"] == "DOWN"
        assert [e["id"] for e in status["events"]] == [event.pk]
    assert monitor_status(api_client, "www")["under_maintenance"] is False
    assert work_plan["open_window"] is True
    assert work_plan["window_impact"] == "DOWN"


def test_starting_twice_opens_one_window(api_client, clock, work_plan):
    task_id = execute(api_client, work_plan)
    first = patch_task(api_client, task_id, status="in_progress")
    clock.move_to(T0 + timedelta(minutes=5))
    again = patch_task(api_client, task_id, status="in_progress", notes="still on it")

    assert again["window_maintenance_id"] == first["window_maintenance_id"]
    assert Maintenance.objects.count() == 1


def test_completing_the_task_ends_the_window_now(api_client, clock, work_plan):
    task_id = execute(api_client, work_plan)
    window_id = patch_task(api_client, task_id, status="in_progress")["window_maintenance_id"]
    done_at = T0 + timedelta(hours=2)
    clock.move_to(done_at)

    response = api_client.post(f"{BASE}/tasks/{task_id}/complete", {}, format="json")
    assert response.status_code == 200, response.json()

    event = MaintenanceEvent.objects.get(maintenance_id=window_id)
    assert event.status == EventStatus.COMPLETED
    assert event.end_date_time == done_at
    assert monitor_status(api_client, "api")["under_maintenance"] is False
    # The history still shows the work order's two hours on the monitor.
    during = monitor_status(api_client, "api", at=int((T0 + timedelta(hours=1)).timestamp()))
    assert during["under_maintenance"] is True
    assert response.json()["window_maintenance_id"] is None


@pytest.mark.parametrize("how", ["cancel", "reopen"])
def test_cancelling_or_reopening_the_task_ends_the_window(api_client, clock, work_plan, how):
    task_id = execute(api_client, work_plan)
    window_id = patch_task(api_client, task_id, status="in_progress")["window_maintenance_id"]
    clock.move_to(T0 + timedelta(minutes=30))

    if how == "cancel":
        response = api_client.post(f"{BASE}/tasks/{task_id}/cancel", {}, format="json")
        assert response.status_code == 200, response.json()
    else:
        patch_task(api_client, task_id, status="open")

    event = MaintenanceEvent.objects.get(maintenance_id=window_id)
    assert event.status == EventStatus.COMPLETED
    assert monitor_status(api_client, "db")["under_maintenance"] is False


def test_the_window_is_audited_as_the_caller(api_client, clock, work_plan):
    task_id = execute(api_client, work_plan)
    window_id = patch_task(api_client, task_id, status="in_progress")["window_maintenance_id"]
    api_client.post(f"{BASE}/tasks/{task_id}/complete", {}, format="json")

    records = AuditRecord.objects.filter(
        content_type__model="maintenance", object_pk=str(window_id)
    )
    assert records.filter(action=0).exists()
    event = MaintenanceEvent.objects.get(maintenance_id=window_id)
    changes = AuditRecord.objects.filter(
        content_type__model="maintenanceevent", object_pk=str(event.pk)
    )
    assert changes.count() >= 2  # ONGOING when opened, COMPLETED when the task was done
    assert {r.actor_name for r in [*records, *changes]} == {"key:tests"}


def test_no_window_without_open_window_or_without_monitors(api_client, clock, make_plan, asset):
    quiet = make_plan(asset_ids=[asset["id"]])
    bare = api_client.post(f"{BASE}/assets", {"code": "X", "name": "X"}, format="json").json()
    no_monitors = make_plan(asset_ids=[bare["id"]], open_window=True)

    for plan in (quiet, no_monitors):
        task = patch_task(api_client, execute(api_client, plan), status="in_progress")
        assert task["window_maintenance_id"] is None
    assert not Maintenance.objects.exists()


# --- plan_window: a scheduled window at the due time ---------------------------------------


def test_a_generated_task_plans_a_window_at_its_due_time(api_client, clock, make_plan, asset):
    plan = make_plan(
        asset_ids=[asset["id"]],
        plan_window=True,
        open_window=True,
        task={**CALENDAR_PLAN["task"], "estimated_duration_minutes": 90},
    )
    due = at("2026-03-02 08:00")
    from maintenance import services

    services.plans_execute_due(now=due)  # the scheduler, at the first occurrence
    [task] = api_client.get(f"{BASE}/tasks", {"plan_id": plan["id"]}).json()["items"]

    planned = Maintenance.objects.get(pk=task["planned_maintenance_id"])
    [event] = planned.events.all()
    assert (event.start_date_time, event.end_date_time) == (due, due + timedelta(minutes=90))
    inside = monitor_status(api_client, "api", at=int((due + timedelta(minutes=30)).timestamp()))
    assert inside["under_maintenance"] is True
    assert inside["impact"] == "MAINTENANCE"

    # Started early: the planned window gives way to the work order's ongoing one.
    clock.move_to(due - timedelta(hours=1))
    started = patch_task(api_client, task["id"], status="in_progress")
    event.refresh_from_db()
    assert event.status == EventStatus.CANCELLED
    assert started["planned_maintenance_id"] is None
    assert started["window_maintenance_id"] not in (None, planned.pk)
    assert monitor_status(api_client, "api")["under_maintenance"] is True
    assert iso(due) == task["due_at"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"plan_window": True}, "task.estimated_duration_minutes"),
        ({"window_impact": "SIDEWAYS"}, "window_impact"),
        ({"open_window": "yes"}, "open_window"),
    ],
)
def test_bad_window_settings_are_a_400_naming_the_field(api_client, body, field):
    response = api_client.post(f"{BASE}/plans", {**CALENDAR_PLAN, **body}, format="json")

    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["details"]


def test_the_openapi_schema_documents_the_new_fields(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    components = schema["components"]["schemas"]

    plan_in = components["PlanInputRequest"]["properties"]
    for name in (
        "due_soon_lead_times",
        "escalation_fractions",
        "escalation_channel_ids",
        "open_window",
        "window_impact",
        "plan_window",
    ):
        assert name in plan_in, name
        assert name in components["Plan"]["properties"], name
    assert components["WindowImpact"]["enum"] == ["UP", "DOWN", "DEGRADED", "MAINTENANCE"]
    assert "monitor_tags" in components["Asset"]["properties"]
    for name in ("window_maintenance_id", "planned_maintenance_id"):
        assert name in components["Task"]["properties"], name
