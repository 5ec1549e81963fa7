"""Hostile input on every write route of /api/schema/: never a server error, always the envelope.

The routes come from the OpenAPI document (every POST, PUT, PATCH and DELETE), so a new write
route is fuzzed the day it is added. Each route gets the same bounded, deterministic cases:
- each field of its request body, in an otherwise valid body where the test knows one, set to
  wrong types, huge and hostile strings (NUL, lone surrogates, 100,000 characters, markup),
  huge and tiny numbers, dates at the edge of the calendar, and deeply nested values;
- whole bodies that are not objects, not JSON, or nested thousands deep;
- hostile path ids (NUL, surrogate bytes, huge, negative, path tricks).
Every case runs in a savepoint rolled back afterwards, so one case never changes the next.
"""

import json
import time

import pytest
from django.core.cache import cache
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

WRITE_METHODS = ("post", "put", "patch", "delete")
HUGE = "x" * 100_000
TOMORROW = (int(time.time()) // 86_400 + 1) * 86_400  # events start in the future

HOSTILE_VALUES = [
    None,
    True,
    -1,
    10**30,
    1.5e308,
    "",
    "a\x00b",
    "ok\ud800ok",
    HUGE,
    "<script>{{ 7*7 }}</script>'; DROP TABLE x; -- %s",
    "9999-12-31T23:59:59-05:00",
    "0001-01-01T00:00:00+05:00",
    253402300800,
    ["\x00", 10**30, {}],
    {"\ud800": "\x00"},
    json.loads("[" * 60 + "]" * 60),
]
# Raw bodies (bytes), for the parser rather than the fields.
HOSTILE_BODIES = [
    b"",
    b"null",
    b"[]",
    b'"text"',
    b"{",
    b"\xff\xfe\x00",
    b'{"a": NaN}',
    b"[" * 5000 + b"]" * 5000,
    b'{"\\ud800": 1}',
]
HOSTILE_IDS = ["-1", "99999999999999999999999", "a%00b", "%ED%A0%80", "x" * 2000]

# Valid bodies by request schema, so that one bad field reaches the checks behind the others.
VALID = {
    "AssetRequest": {"code": "PMP-9", "name": "Pump 9"},
    "TechnicianRequest": {"name": "Ada"},
    "PlanInputRequest": {
        "name": "Fuzz plan",
        "trigger": "calendar",
        "task": {"title": "t"},
        "calendar": {"every": 1, "unit": "day", "start_at": "2026-03-02T08:00:00Z"},
    },
    "CounterReadingInputRequest": {"value": 10, "source": "meter"},
    "FailureInputRequest": {"occurred_at": "2026-02-01T00:00:00Z"},
    "ChannelInputRequest": {"name": "ops", "kind": "email", "target": "ops@example.com"},
    "MaintenanceWriteRequest": {
        "title": "Fuzz",
        "start_date_time": TOMORROW,
        "rrule": "FREQ=DAILY;COUNT=3",
        "duration_seconds": 3600,
        "monitors": [{"monitor_tag": "web"}],
    },
    "MaintenancePreviewRequest": {
        "start_date_time": TOMORROW,
        "rrule": "FREQ=DAILY;COUNT=3",
        "duration_seconds": 3600,
    },
    "MonitorWriteRequest": {"tag": "db"},
    "HolidayCalendarRequest": {"name": "Plant holidays", "dates": [{"date": "2026-12-25"}]},
    "ReportScheduleInputRequest": {"name": "Weekly", "frequency": "weekly"},
    "TaskCompleteInputRequest": {},
    "TaskCancelInputRequest": {},
}


def _schema() -> dict:
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document))


SCHEMA = _schema()
ROUTES = [
    (method.upper(), path, operation)
    for path, operations in SCHEMA["paths"].items()
    for method, operation in operations.items()
    if method in WRITE_METHODS
]


def _request_schema(operation: dict) -> tuple[str | None, dict]:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = content.get("schema", {}).get("$ref")
    if ref is None:
        return None, {}
    name = ref.rsplit("/", 1)[-1]
    return name, SCHEMA["components"]["schemas"][name]


def _cases(operation: dict):
    """(label, body bytes) for one route."""
    name, component = _request_schema(operation)
    base = VALID.get((name or "").removeprefix("Patched"), {})
    if name and name.startswith("Patched"):
        base = {}  # a partial update: one field alone reaches the service
    yield "valid", json.dumps(base).encode()
    for field in component.get("properties", {}):
        for index, value in enumerate(HOSTILE_VALUES):
            yield f"{field}={index}", json.dumps({**base, field: value}).encode()
    yield "unknown key", json.dumps({**base, "\x00\ud800": HUGE}).encode()
    for index, body in enumerate(HOSTILE_BODIES):
        yield f"body {index}", body


@pytest.fixture
def objects(api_client) -> dict[str, str]:
    """One of everything a path can name, made through the API."""

    def post(path: str, body: dict) -> dict:
        response = api_client.post(path, body, format="json")
        assert response.status_code == 201, response.content
        return response.json()

    v1 = "/api/v1/maintenance"
    api_client.post("/api/v4/monitors", {"tag": "web"}, format="json")
    asset = post(f"{v1}/assets", {"code": "PMP-1", "name": "Pump"})
    technician = post(f"{v1}/technicians", {"name": "Grace"})
    plan = post(f"{v1}/plans", VALID["PlanInputRequest"])
    task = api_client.post(f"{v1}/plans/{plan['id']}/execute").json()
    suggestion = api_client.post(f"{v1}/plans/{plan['id']}/optimize").json()
    channel = post("/api/v1/notifications/channels", VALID["ChannelInputRequest"])
    maintenance = post("/api/v4/maintenances", VALID["MaintenanceWriteRequest"])["maintenance"]
    events = api_client.get(f"/api/v4/maintenances/{maintenance['id']}/events").json()
    calendar = post(f"{v1}/calendars", VALID["HolidayCalendarRequest"])
    schedule = post(
        f"{v1}/report-schedules",
        {**VALID["ReportScheduleInputRequest"], "channel_ids": [channel["id"]]},
    )
    return {
        "assets": asset["id"],
        "technicians": technician["id"],
        "plans": plan["id"],
        "tasks": task["task_id"],
        "channels": channel["id"],
        "calendars": calendar["id"],
        "report-schedules": schedule["id"],
        "asset_id": asset["id"],
        "plan_id": plan["id"],
        "suggestion_id": suggestion.get("id", "sug_none"),
        "maintenance_id": str(maintenance["id"]),
        "event_id": str(events["events"][0]["id"]),
        "tag": "web",
    }


def _fill(path: str, objects: dict[str, str], override: str | None = None) -> str:
    """The path with real ids, or with `override` in place of every id."""
    parts = []
    previous = ""
    for part in path.split("/"):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            part = override if override is not None else objects[previous if name == "id" else name]
        parts.append(part)
        previous = part
    return "/".join(parts)


def _check(response, label: str) -> None:
    assert response.status_code < 500, f"{label}: {response.status_code} {response.content[:300]}"
    if response.status_code >= 400:
        body = response.json()  # JSON, never an HTML page
        assert set(body) == {"error"}, label
        assert body["error"]["code"] and body["error"]["message"], label


@pytest.mark.parametrize(
    ("method", "path", "operation"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES]
)
def test_hostile_input_never_gives_a_server_error(api_client, objects, method, path, operation):
    requests = [(f"{label}", _fill(path, objects), body) for label, body in _cases(operation)]
    if "{" in path:
        requests += [(f"id {raw!r}", _fill(path, objects, raw), b"{}") for raw in HOSTILE_IDS]
    for label, url, body in requests:
        cache.clear()  # no throttle state carried from one case to the next
        with transaction.atomic():
            response = api_client.generic(method, url, body, content_type="application/json")
            transaction.set_rollback(True)
        _check(response, f"{method} {url[:80]} {label}")


def test_every_write_route_is_fuzzed():
    assert len(ROUTES) >= 37
