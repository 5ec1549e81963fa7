"""Every write through the API leaves a record naming the API key, with before and after."""

from datetime import timedelta

import pytest

from maintenance.models import Task
from scheduling.models import MaintenanceEvent
from tests.audit.conftest import CHANNELS, T0, V1, V4, one, records

PLAN = {
    "name": "Lubricate pump bearings",
    "trigger": "calendar",
    "task": {"title": "Lubricate bearings"},
    "calendar": {"every": 1, "unit": "day", "start_at": "2026-03-02T08:00:00Z"},
}


def ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json() if status != 204 else None


def test_plan_create_update_pause_delete_are_recorded_with_the_key(api_client, clock):
    asset = ok(api_client.post(f"{V1}/assets", {"code": "P-1", "name": "Pump"}, format="json"), 201)
    plan = ok(
        api_client.post(f"{V1}/plans", {**PLAN, "asset_ids": [asset["id"]]}, format="json"), 201
    )

    created = one("plan", plan["id"], "create")
    assert created.actor_name == "key:tests"
    assert created.changes["name"] == [None, "Lubricate pump bearings"]
    assert created.changes["asset_ids"] == [None, [asset["id"]]]
    assert created.changes["next_due_at"] == [None, "2026-03-02T08:00:00Z"]
    assert created.additional_data["api_key_id"]

    ok(api_client.put(f"{V1}/plans/{plan['id']}", {**PLAN, "name": "Grease"}, format="json"))
    updated = one("plan", plan["id"], "update")
    assert updated.changes == {
        "name": ["Lubricate pump bearings", "Grease"],
        "asset_ids": [[asset["id"]], []],
    }

    ok(api_client.post(f"{V1}/plans/{plan['id']}/pause"))
    paused = records("plan", plan["id"], "update")[0]
    assert paused.changes == {"status": ["active", "paused"]}

    ok(api_client.delete(f"{V1}/plans/{plan['id']}"), 204)
    deleted = one("plan", plan["id"], "delete")
    assert deleted.actor_name == "key:tests"
    assert deleted.changes["name"] == ["Grease", None]
    assert deleted.changes["status"] == ["paused", None]


def test_task_execute_patch_complete_are_recorded(api_client, clock):
    plan = ok(api_client.post(f"{V1}/plans", PLAN, format="json"), 201)
    task_id = ok(api_client.post(f"{V1}/plans/{plan['id']}/execute"))["task_id"]

    created = one("task", task_id, "create")
    assert created.actor_name == "key:tests"
    assert created.changes["code"] == [None, "MAN-001"]
    assert created.changes["status"] == [None, "open"]
    # The plan's execution shows on the plan too.
    assert records("plan", plan["id"], "update")[0].changes["last_executed_at"] == [
        None,
        "2026-03-01T00:00:00Z",
    ]

    ok(api_client.patch(f"{V1}/tasks/{task_id}", {"notes": "parts ordered"}, format="json"))
    assert one("task", task_id, "update").changes == {"notes": ["", "parts ordered"]}

    clock.move_to(T0 + timedelta(hours=1))
    ok(api_client.post(f"{V1}/tasks/{task_id}/complete", {}, format="json"))
    completed = records("task", task_id, "update")[0]
    assert completed.changes["status"] == ["open", "done"]
    assert completed.changes["completed_by"] == ["", "key:tests"]


@pytest.mark.parametrize(
    ("path", "object_type", "body", "change"),
    [
        ("assets", "asset", {"code": "A-1", "name": "Pump"}, {"name": "Main pump"}),
        ("technicians", "technician", {"name": "Ada"}, {"name": "Ada Lovelace"}),
    ],
)
def test_assets_and_technicians_are_recorded(api_client, path, object_type, body, change):
    created = ok(api_client.post(f"{V1}/{path}", body, format="json"), 201)
    ok(api_client.put(f"{V1}/{path}/{created['id']}", {**body, **change}, format="json"))
    ok(api_client.delete(f"{V1}/{path}/{created['id']}"), 204)

    assert one(object_type, created["id"], "create").changes["name"] == [None, body["name"]]
    assert one(object_type, created["id"], "update").changes == {
        "name": [body["name"], change["name"]]
    }
    deleted = one(object_type, created["id"], "delete")
    assert deleted.changes["name"] == [change["name"], None]
    assert {r.actor_name for r in records(object_type, created["id"])} == {"key:tests"}


def test_windows_and_their_events_are_recorded(api_client, clock):
    ok(api_client.post(f"{V4}/monitors", {"tag": "db"}, format="json"), 201)
    window = ok(
        api_client.post(
            f"{V4}/maintenances",
            {
                "title": "Upgrade",
                "start_date_time": int((T0 + timedelta(days=1)).timestamp()),
                "rrule": "FREQ=DAILY;COUNT=3",
                "duration_seconds": 3600,
                "monitors": [{"monitor_tag": "db", "impact": "MAINTENANCE"}],
            },
            format="json",
        ),
        201,
    )["maintenance"]
    created = one("maintenance", window["id"], "create")
    assert created.actor_name == "key:tests"
    assert created.changes["monitors"] == [None, [{"monitor_tag": "db", "impact": "MAINTENANCE"}]]
    event_ids = list(MaintenanceEvent.objects.order_by("pk").values_list("pk", flat=True))
    # The generated events are recorded on their window, in one record: who, how many, which.
    generated = one("maintenance", window["id"], "update")
    assert generated.actor_name == "key:tests"
    assert generated.changes == {
        "events": [
            None,
            {
                "count": 3,
                "ids": [[event_ids[0], event_ids[-1]]],
                "first": "2026-03-02T00:00:00Z",
                "last": "2026-03-04T00:00:00Z",
            },
        ]
    }
    assert records("event", action="create") == []
    listed = ok(api_client.get("/api/v1/audit", {"object_type": "maintenance", "action": "update"}))
    assert listed["items"][0]["actor"] == "key:tests"
    assert listed["items"][0]["changes"]["events"]["after"]["count"] == 3

    ok(
        api_client.patch(
            f"{V4}/maintenances/{window['id']}", {"title": "Big upgrade"}, format="json"
        )
    )
    assert records("maintenance", window["id"], "update")[0].changes == {
        "title": ["Upgrade", "Big upgrade"]
    }

    url = f"{V4}/maintenances/{window['id']}/events/{event_ids[0]}"
    ok(api_client.patch(url, {"status": "CANCELLED"}, format="json"))
    cancelled = one("event", event_ids[0], "update")
    assert cancelled.changes["status"] == ["SCHEDULED", "CANCELLED"]
    ok(api_client.delete(f"{V4}/maintenances/{window['id']}/events/{event_ids[1]}"))  # Kener: 200
    assert one("event", event_ids[1], "delete").changes["occurrence"][1] is None

    ok(api_client.delete(f"{V4}/maintenances/{window['id']}"))
    deleted = one("maintenance", window["id"], "delete")
    assert deleted.changes["title"] == ["Big upgrade", None]
    # The events that went with it are recorded one by one.
    assert {r.object_pk for r in records("event", action="delete")} == {str(i) for i in event_ids}
    assert {r.actor_name for r in records("event")} == {"key:tests"}


def test_monitors_are_recorded(api_client):
    ok(api_client.post(f"{V4}/monitors", {"tag": "db"}, format="json"), 201)
    ok(api_client.patch(f"{V4}/monitors/db", {"name": "Database"}, format="json"))
    ok(api_client.delete(f"{V4}/monitors/db"))

    (monitor_id,) = {r.object_pk for r in records("monitor")}
    assert one("monitor", monitor_id, "create").changes["tag"] == [None, "db"]
    assert one("monitor", monitor_id, "update").changes == {"name": ["db", "Database"]}
    assert one("monitor", monitor_id, "delete").changes["name"] == ["Database", None]


def test_channels_are_recorded(api_client):
    body = {"name": "ops", "kind": "email", "target": "ops@example.com"}
    channel = ok(api_client.post(CHANNELS, body, format="json"), 201)
    ok(api_client.patch(f"{CHANNELS}/{channel['id']}", {"active": False}, format="json"))
    ok(api_client.delete(f"{CHANNELS}/{channel['id']}"), 204)

    assert one("channel", channel["id"], "create").changes["target"] == [None, "ops@example.com"]
    assert one("channel", channel["id"], "update").changes == {"active": [True, False]}
    assert one("channel", channel["id"], "delete").actor_name == "key:tests"


def test_a_staff_session_is_recorded_as_its_user(client, superuser):
    client.force_login(superuser)
    # A session on the API sends the CSRF token like a browser; the test client skips the check.
    response = client.post(f"{V4}/monitors", {"tag": "web"}, content_type="application/json")
    assert response.status_code == 201, response.content

    (record,) = records("monitor")
    assert record.actor_name == "user:root"
    assert record.actor_id == superuser.pk
    assert record.remote_addr == "127.0.0.1"


def test_a_refused_write_records_nothing(api_client):
    ok(api_client.post(f"{V1}/assets", {"code": "A-1", "name": "Pump"}, format="json"), 201)
    plan = ok(api_client.post(f"{V1}/plans", PLAN, format="json"), 201)
    before = len(records("plan"))

    bad = api_client.put(f"{V1}/plans/{plan['id']}", {**PLAN, "asset_ids": ["nope"]}, format="json")
    assert bad.status_code == 400
    assert api_client.post(f"{V1}/plans/{plan['id']}/resume").status_code == 409  # not paused
    assert (
        api_client.post(f"{V1}/assets", {"code": "A-1", "name": "Dup"}, format="json").status_code
        == 400
    )

    assert len(records("plan")) == before
    assert len(records("asset")) == 1
    assert Task.objects.count() == 0
