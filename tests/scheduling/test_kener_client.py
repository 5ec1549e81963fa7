"""A client written for Kener, replayed against us: requests shaped exactly like the reference
OpenAPI's request schemas, responses checked against its response schemas (with the spec's
corrections: events carry `status`, global rows are flat)."""

import json
from pathlib import Path

import pytest

from tests.scheduling.conftest import error, ts

pytestmark = pytest.mark.usefixtures("frozen", "monitors")

OPENAPI = json.loads(
    (
        Path(__file__).resolve().parents[1] / "data" / "kener-v4-maintenances.openapi.json"
    ).read_text()
)
SCHEMAS = OPENAPI["components"]["schemas"]
TYPES = {"integer": int, "string": str, "array": list, "object": dict, "boolean": bool}


def assert_matches(value, schema: dict, path: str = "$") -> None:
    """A small JSON-schema check: required keys, property types, enums, items, $ref."""
    if "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]]
    if "allOf" in schema:
        for part in schema["allOf"]:
            assert_matches(value, part, path)
        return
    expected = schema.get("type")
    if expected == "boolean":
        assert isinstance(value, bool), f"{path}: {value!r} is not a boolean"
    elif expected:
        assert isinstance(value, TYPES[expected]), f"{path}: {value!r} is not {expected}"
        assert not isinstance(value, bool), f"{path}: {value!r} is a boolean"
    if "enum" in schema:
        assert value in schema["enum"], f"{path}: {value!r} not in {schema['enum']}"
    if "minimum" in schema:
        assert value >= schema["minimum"], path
    for name in schema.get("required", []):
        assert name in value, f"{path}: missing {name}"
    for name, sub in schema.get("properties", {}).items():
        if name in value and value[name] is not None:
            assert_matches(value[name], sub, f"{path}.{name}")
    if "items" in schema:
        for index, item in enumerate(value):
            assert_matches(item, schema["items"], f"{path}[{index}]")


def response_schema(path: str, method: str, status: str) -> dict:
    operation = OPENAPI["paths"][path][method]
    return operation["responses"][status]["content"]["application/json"]["schema"]


def test_a_kener_client_round_trip(api_client):
    # CreateMaintenanceRequest: no timezone (Kener has none), monitors with impact.
    create_request = {
        "title": "Scheduled DB maintenance",
        "description": "Upgrading primary",
        "start_date_time": ts(2026, 1, 6, 2, 0),
        "rrule": "FREQ=WEEKLY;BYDAY=TU",
        "duration_seconds": 7200,
        "monitors": [{"monitor_tag": "api", "impact": "MAINTENANCE"}, {"monitor_tag": "db"}],
    }
    assert set(create_request) <= set(SCHEMAS["CreateMaintenanceRequest"]["properties"])

    created = api_client.post("/api/v4/maintenances", create_request, format="json")
    assert created.status_code == 201
    assert_matches(created.json(), response_schema("/api/v4/maintenances", "post", "201"))
    maintenance = created.json()["maintenance"]
    assert maintenance["timezone"] == "UTC"
    url = f"/api/v4/maintenances/{maintenance['id']}"

    listed = api_client.get("/api/v4/maintenances", {"status": "ACTIVE", "monitor_tag": "db"})
    assert_matches(listed.json(), response_schema("/api/v4/maintenances", "get", "200"))
    assert [m["id"] for m in listed.json()["maintenances"]] == [maintenance["id"]]

    got = api_client.get(url)
    assert_matches(
        got.json(), response_schema("/api/v4/maintenances/{maintenance_id}", "get", "200")
    )

    # UpdateMaintenanceRequest with every property it lists.
    update_request = {
        "title": "Scheduled DB maintenance (moved)",
        "description": "Upgrading replica",
        "start_date_time": ts(2026, 1, 7, 3, 0),
        "rrule": "FREQ=WEEKLY;BYDAY=WE",
        "duration_seconds": 3600,
        "status": "ACTIVE",
        "monitors": [{"monitor_tag": "web", "impact": "DEGRADED"}],
    }
    assert set(update_request) == set(SCHEMAS["UpdateMaintenanceRequest"]["properties"])
    updated = api_client.patch(url, update_request, format="json")
    assert updated.status_code == 200
    assert_matches(
        updated.json(), response_schema("/api/v4/maintenances/{maintenance_id}", "patch", "200")
    )
    assert updated.json()["maintenance"]["monitors"] == [
        {"monitor_tag": "web", "impact": "DEGRADED"}
    ]

    events = api_client.get(f"{url}/events", {"page": 1, "limit": 5})
    assert_matches(
        events.json(), response_schema("/api/v4/maintenances/{maintenance_id}/events", "get", "200")
    )
    first, second = events.json()["events"][:2]
    assert first["start_date_time"] == ts(2026, 1, 7, 3, 0)
    assert first["status"] == "SCHEDULED"

    event_path = "/api/v4/maintenances/{maintenance_id}/events/{event_id}"
    one = api_client.get(f"{url}/events/{first['id']}")
    assert_matches(one.json(), response_schema(event_path, "get", "200"))

    # UpdateMaintenanceEventRequest, window edit mode.
    window = {"start_date_time": ts(2026, 1, 7, 4, 0), "end_date_time": ts(2026, 1, 7, 5, 30)}
    moved = api_client.patch(f"{url}/events/{first['id']}", window, format="json")
    assert moved.status_code == 200
    assert_matches(moved.json(), response_schema(event_path, "patch", "200"))
    assert moved.json()["event"]["end_date_time"] == ts(2026, 1, 7, 5, 30)

    # UpdateMaintenanceEventRequest, status transition mode.
    cancelled = api_client.patch(
        f"{url}/events/{second['id']}", {"status": "CANCELLED"}, format="json"
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["event"]["status"] == "CANCELLED"

    # Both modes at once is the documented 400.
    both = api_client.patch(
        f"{url}/events/{first['id']}", {**window, "status": "CANCELLED"}, format="json"
    )
    assert_matches(both.json(), SCHEMAS["ErrorResponse"])
    assert error(both, 400)["code"] == "BAD_REQUEST"

    rows = api_client.get(
        "/api/v4/maintenances/events",
        {
            "page": 1,
            "limit": 10,
            "monitors": "web",
            "event_status": "SCHEDULED",
            "event_start_date_time": ts(2026, 1, 1, 0, 0),
            "maintenance_id": maintenance["id"],
        },
    )
    page = rows.json()
    for key in ("events", "page", "limit", "total"):
        assert key in page
    row = page["events"][0]
    assert row["maintenance_id"] == maintenance["id"]
    assert row["event_id"] == first["id"]
    assert row["event_status"] == "SCHEDULED"
    assert row["monitors"] == [{"monitor_tag": "web", "impact": "DEGRADED"}]

    deleted_event = api_client.delete(f"{url}/events/{first['id']}")
    assert_matches(deleted_event.json(), SCHEMAS["MessageResponse"])
    deleted = api_client.delete(url)
    assert_matches(deleted.json(), SCHEMAS["MessageResponse"])
    assert (
        deleted.json()["message"]
        == f"Maintenance with id '{maintenance['id']}' deleted successfully"
    )


def test_kener_error_responses_match_the_error_schema(anon_client, api_client):
    for response in (
        anon_client.get("/api/v4/maintenances"),
        api_client.get("/api/v4/maintenances/12345"),
        api_client.post("/api/v4/maintenances", {"title": ""}, format="json"),
    ):
        assert_matches(response.json(), SCHEMAS["ErrorResponse"])
