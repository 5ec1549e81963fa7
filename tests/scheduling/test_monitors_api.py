"""/api/v4/monitors and /api/v4/monitors/{tag}/maintenance."""

import pytest

from scheduling.models import Monitor
from tests.scheduling.conftest import create, error, ts

pytestmark = pytest.mark.usefixtures("frozen")


def test_it_creates_a_monitor(api_client):
    response = api_client.post(
        "/api/v4/monitors",
        {"tag": "checkout-api", "name": "Checkout API", "description": "Payments"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json() == {
        "monitor": {
            "tag": "checkout-api",
            "name": "Checkout API",
            "description": "Payments",
            "created_at": "2026-01-05T12:00:00.000Z",
            "updated_at": "2026-01-05T12:00:00.000Z",
        }
    }


def test_the_name_defaults_to_the_tag(api_client):
    response = api_client.post("/api/v4/monitors", {"tag": "db_1"}, format="json")

    assert response.json()["monitor"]["name"] == "db_1"
    assert response.json()["monitor"]["description"] == ""


def test_it_lists_monitors_by_tag(api_client, monitors):
    response = api_client.get("/api/v4/monitors")

    assert [m["tag"] for m in response.json()["monitors"]] == ["api", "db", "web"]


def test_it_gets_updates_and_deletes_a_monitor(api_client, monitors):
    assert api_client.get("/api/v4/monitors/api").json()["monitor"]["name"] == "API"

    patched = api_client.patch(
        "/api/v4/monitors/api", {"name": "Public API", "tag": "public-api"}, format="json"
    )
    assert patched.status_code == 200
    assert patched.json()["monitor"]["tag"] == "public-api"
    assert patched.json()["monitor"]["name"] == "Public API"
    assert error(api_client.get("/api/v4/monitors/api"), 404)

    deleted = api_client.delete("/api/v4/monitors/public-api")
    assert deleted.json() == {"message": "Monitor with tag 'public-api' deleted successfully"}
    assert not Monitor.objects.filter(tag="public-api").exists()


def test_it_answers_404_for_an_unknown_tag(api_client):
    for method in ("get", "patch", "delete"):
        response = getattr(api_client, method)("/api/v4/monitors/nope", {}, format="json")
        assert error(response, 404)["message"] == "Monitor with tag 'nope' not found"
    response = api_client.get("/api/v4/monitors/nope/maintenance")
    assert error(response, 404)["message"] == "Monitor with tag 'nope' not found"


def test_a_taken_tag_is_a_conflict(api_client, monitors):
    created = api_client.post("/api/v4/monitors", {"tag": "api"}, format="json")
    renamed = api_client.patch("/api/v4/monitors/db", {"tag": "api"}, format="json")

    for response in (created, renamed):
        assert error(response, 409) == {
            "code": "CONFLICT",
            "message": "Monitor with tag 'api' already exists",
            "details": {"tag": ["Monitor with tag 'api' already exists"]},
        }


def test_deleting_a_monitor_a_maintenance_names_is_a_conflict(api_client, monitors):
    first = create(api_client, monitors=[{"monitor_tag": "api"}])
    second = create(api_client, monitors=[{"monitor_tag": "api"}, {"monitor_tag": "db"}])

    problem = error(api_client.delete("/api/v4/monitors/api"), 409)

    assert problem["message"] == (
        f"Monitor with tag 'api' is used by maintenances {first['id']}, {second['id']}; "
        "remove it from them first"
    )
    assert problem["details"] == {"maintenance_ids": [str(first["id"]), str(second["id"])]}
    assert Monitor.objects.filter(tag="api").exists()


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({}, "tag", "tag is required"),
        ({"tag": ""}, "tag", "tag must not be empty"),
        ({"tag": 5}, "tag", "tag must be a string"),
        ({"tag": "has space"}, "tag", "tag must be a slug: letters, digits, '-' and '_' only"),
        ({"tag": "x" * 101}, "tag", "tag must be at most 100 characters"),
        ({"tag": "ok", "name": 5}, "name", "name must be a string"),
        ({"tag": "ok", "description": None}, "description", "description must be a string"),
        ({"tag": "ok", "impact": "DOWN"}, "impact", "Unknown field 'impact'"),
    ],
)
def test_it_validates_monitor_bodies(api_client, payload, field, message):
    problem = error(api_client.post("/api/v4/monitors", payload, format="json"), 400)

    assert problem["message"] == message
    assert problem["details"] == {field: [message]}


# --- under maintenance -------------------------------------------------------------------------


def test_a_monitor_without_ongoing_events_is_not_under_maintenance(api_client, monitors):
    create(api_client, monitors=[{"monitor_tag": "api", "impact": "DOWN"}])

    response = api_client.get("/api/v4/monitors/api/maintenance")

    assert response.status_code == 200
    assert response.json() == {
        "monitor_tag": "api",
        "under_maintenance": False,
        "impact": None,
        "events": [],
    }


def test_the_worst_impact_of_the_ongoing_events_wins(api_client, monitors, frozen):
    one_off = {"start_date_time": ts(2026, 1, 6, 2, 0), "rrule": "FREQ=DAILY;COUNT=1"}
    degraded = create(
        api_client, **one_off, monitors=[{"monitor_tag": "api", "impact": "DEGRADED"}]
    )
    create(api_client, **one_off, monitors=[{"monitor_tag": "api", "impact": "UP"}])
    maintenance = create(
        api_client,
        **one_off,
        monitors=[{"monitor_tag": "api"}, {"monitor_tag": "db", "impact": "DOWN"}],
    )
    later = create(
        api_client,
        start_date_time=ts(2026, 1, 6, 4, 0),
        rrule="FREQ=DAILY;COUNT=1",
        monitors=[{"monitor_tag": "api", "impact": "DOWN"}],
    )
    frozen.move_to("2026-01-06T02:30:00Z")

    api = api_client.get("/api/v4/monitors/api/maintenance").json()
    db = api_client.get("/api/v4/monitors/db/maintenance").json()
    web = api_client.get("/api/v4/monitors/web/maintenance").json()

    assert (api["under_maintenance"], api["impact"]) == (True, "MAINTENANCE")
    assert len(api["events"]) == 3
    assert {e["status"] for e in api["events"]} == {"ONGOING"}
    assert later["id"] not in {e["maintenance_id"] for e in api["events"]}
    assert degraded["id"] in {e["maintenance_id"] for e in api["events"]}
    assert (db["under_maintenance"], db["impact"]) == (True, "DOWN")
    assert db["events"][0]["maintenance_id"] == maintenance["id"]
    assert (web["under_maintenance"], web["impact"]) == (False, None)

    frozen.move_to("2026-01-06T04:10:00Z")
    api = api_client.get("/api/v4/monitors/api/maintenance").json()
    assert (api["impact"], [e["maintenance_id"] for e in api["events"]]) == ("DOWN", [later["id"]])


def test_cancelled_events_and_inactive_maintenances_do_not_count(api_client, monitors, frozen):
    one_off = {"start_date_time": ts(2026, 1, 6, 2, 0), "rrule": "FREQ=DAILY;COUNT=1"}
    cancelled = create(api_client, **one_off, monitors=[{"monitor_tag": "api", "impact": "DOWN"}])
    event = api_client.get(f"/api/v4/maintenances/{cancelled['id']}/events").json()["events"][0]
    api_client.patch(
        f"/api/v4/maintenances/{cancelled['id']}/events/{event['id']}",
        {"status": "CANCELLED"},
        format="json",
    )
    inactive = create(api_client, **one_off, monitors=[{"monitor_tag": "api"}])
    frozen.move_to("2026-01-06T02:30:00Z")
    assert api_client.get("/api/v4/monitors/api/maintenance").json()["under_maintenance"]

    api_client.patch(
        f"/api/v4/maintenances/{inactive['id']}", {"status": "INACTIVE"}, format="json"
    )

    assert api_client.get("/api/v4/monitors/api/maintenance").json()["under_maintenance"] is False
