"""/api/v4/maintenances: CRUD, wire format, strict validation, list filters."""

import re

import pytest

from scheduling.models import DeletedOccurrence, Maintenance, MaintenanceEvent, MaintenanceMonitor
from tests.scheduling.conftest import body, create, error, events_of, ts

pytestmark = pytest.mark.usefixtures("frozen")

ISO_MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_it_creates_a_maintenance_in_the_wire_format(api_client, monitors):
    response = api_client.post(
        "/api/v4/maintenances",
        body(
            start_date_time=ts(2026, 1, 6, 2, 0) + 59,  # floored to the minute
            rrule="RRULE:FREQ=DAILY;COUNT=3",
            monitors=[{"monitor_tag": "api", "impact": "DOWN"}, {"monitor_tag": "db"}],
        ),
        format="json",
    )

    assert response.status_code == 201
    maintenance = response.json()["maintenance"]
    assert set(maintenance) == {
        "exdates",  # beyond Kener, additive
        "id",
        "title",
        "description",
        "start_date_time",
        "rrule",
        "duration_seconds",
        "timezone",
        "status",
        "monitors",
        "created_at",
        "updated_at",
    }
    assert maintenance["title"] == "Database upgrade"
    assert maintenance["description"] is None
    assert maintenance["start_date_time"] == ts(2026, 1, 6, 2, 0)
    assert maintenance["rrule"] == "FREQ=DAILY;COUNT=3"  # stored without "RRULE:"
    assert maintenance["duration_seconds"] == 3600
    assert maintenance["timezone"] == "UTC"
    assert maintenance["status"] == "ACTIVE"
    assert maintenance["monitors"] == [
        {"monitor_tag": "api", "impact": "DOWN"},
        {"monitor_tag": "db", "impact": "MAINTENANCE"},
    ]
    assert maintenance["created_at"] == "2026-01-05T12:00:00.000Z"
    assert ISO_MILLIS.match(maintenance["updated_at"])
    assert len(events_of(api_client, maintenance["id"])) == 3


def test_it_gets_a_maintenance(api_client):
    created = create(api_client, description="Minor version")

    response = api_client.get(f"/api/v4/maintenances/{created['id']}")

    assert response.status_code == 200
    assert response.json() == {"maintenance": created}


@pytest.mark.parametrize("bad_id", ["999", "abc", "1.5", "-1", "0", "99999999999999999999999"])
def test_it_answers_404_with_the_spec_message_for_unknown_ids(api_client, bad_id):
    create(api_client)
    for method in ("get", "patch", "delete"):
        response = getattr(api_client, method)(
            f"/api/v4/maintenances/{bad_id}", {"title": "x"}, format="json"
        )
        assert error(response, 404) == {
            "code": "NOT_FOUND",
            "message": f"Maintenance with id '{bad_id}' not found",
        }
    response = api_client.get(f"/api/v4/maintenances/{bad_id}/events")
    assert error(response, 404)["message"] == f"Maintenance with id '{bad_id}' not found"


def test_it_lists_maintenances_newest_first(api_client):
    first = create(api_client, title="first")
    second = create(api_client, title="second")

    response = api_client.get("/api/v4/maintenances")

    assert response.status_code == 200
    assert [m["id"] for m in response.json()["maintenances"]] == [second["id"], first["id"]]


def test_it_filters_maintenances_by_status_and_monitor_tag(api_client, monitors):
    on_api = create(api_client, monitors=[{"monitor_tag": "api"}])
    on_db = create(api_client, monitors=[{"monitor_tag": "db"}], status="INACTIVE")

    def ids(**params):
        response = api_client.get("/api/v4/maintenances", params)
        assert response.status_code == 200
        return [m["id"] for m in response.json()["maintenances"]]

    assert ids(status="ACTIVE") == [on_api["id"]]
    assert ids(status="inactive") == [on_db["id"]]
    assert ids(monitor_tag="db") == [on_db["id"]]
    assert ids(monitor_tag="api", status="INACTIVE") == []
    assert ids(monitor_tag="unknown") == []


def test_it_refuses_an_unknown_status_filter(api_client):
    response = api_client.get("/api/v4/maintenances", {"status": "PAUSED"})

    assert error(response, 400)["message"] == (
        "Invalid status 'PAUSED'. Must be one of: ACTIVE, INACTIVE"
    )


def test_it_lists_maintenances_in_a_constant_number_of_queries(
    api_client, monitors, django_assert_max_num_queries
):
    for index in range(12):
        create(
            api_client, title=f"m{index}", monitors=[{"monitor_tag": "api"}, {"monitor_tag": "db"}]
        )

    with django_assert_max_num_queries(4):  # key, maintenances, links+monitors
        response = api_client.get("/api/v4/maintenances")

    assert len(response.json()["maintenances"]) == 12


def test_it_updates_fields_partially(api_client, monitors):
    created = create(api_client, monitors=[{"monitor_tag": "api"}])
    event_ids = [e["id"] for e in events_of(api_client, created["id"])]

    response = api_client.patch(
        f"/api/v4/maintenances/{created['id']}",
        {"title": "Renamed", "description": "Now with details"},
        format="json",
    )

    assert response.status_code == 200
    updated = response.json()["maintenance"]
    assert updated["title"] == "Renamed"
    assert updated["description"] == "Now with details"
    assert updated["monitors"] == created["monitors"]
    assert updated["rrule"] == created["rrule"]
    # No schedule change: the events are the same rows.
    assert [e["id"] for e in events_of(api_client, created["id"])] == event_ids


def test_it_replaces_the_whole_monitor_list_on_patch(api_client, monitors):
    created = create(api_client, monitors=[{"monitor_tag": "api"}, {"monitor_tag": "db"}])

    response = api_client.patch(
        f"/api/v4/maintenances/{created['id']}",
        {"monitors": [{"monitor_tag": "web", "impact": "DEGRADED"}, {"monitor_tag": "api"}]},
        format="json",
    )

    assert response.json()["maintenance"]["monitors"] == [
        {"monitor_tag": "web", "impact": "DEGRADED"},
        {"monitor_tag": "api", "impact": "MAINTENANCE"},
    ]
    cleared = api_client.patch(
        f"/api/v4/maintenances/{created['id']}", {"monitors": []}, format="json"
    )
    assert cleared.json()["maintenance"]["monitors"] == []


def test_it_sets_the_description_to_null(api_client):
    created = create(api_client, description="something")

    response = api_client.patch(
        f"/api/v4/maintenances/{created['id']}", {"description": None}, format="json"
    )

    assert response.json()["maintenance"]["description"] is None


def test_it_ignores_echoed_read_only_fields(api_client):
    created = create(api_client)
    echoed = {**created, "title": "Echoed back"}

    response = api_client.patch(f"/api/v4/maintenances/{created['id']}", echoed, format="json")

    assert response.status_code == 200
    assert response.json()["maintenance"]["title"] == "Echoed back"
    assert response.json()["maintenance"]["id"] == created["id"]


def test_it_deletes_a_maintenance_with_its_events_and_links(api_client, monitors):
    created = create(api_client, monitors=[{"monitor_tag": "api"}])
    event = events_of(api_client, created["id"])[0]
    api_client.delete(f"/api/v4/maintenances/{created['id']}/events/{event['id']}")

    response = api_client.delete(f"/api/v4/maintenances/{created['id']}")

    assert response.status_code == 200
    assert response.json() == {
        "message": f"Maintenance with id '{created['id']}' deleted successfully"
    }
    assert not Maintenance.objects.exists()
    assert not MaintenanceEvent.objects.exists()
    assert not MaintenanceMonitor.objects.exists()
    assert not DeletedOccurrence.objects.exists()
    assert error(api_client.get(f"/api/v4/maintenances/{created['id']}"), 404)


# --- validation ----------------------------------------------------------------------------------

LONG_TITLE = "x" * 256
TOO_LONG = 366 * 86400 + 1
INTEGER_SECONDS = "start_date_time must be an integer (Unix seconds)"
REAL_DATE = "start_date_time must be a date after 1970 and before 2200 (Unix seconds)"
IMPACTS = "UP, DOWN, DEGRADED, MAINTENANCE"

CREATE_ERRORS = [
    ({"title": None}, "title", "title must be a string"),
    ({"title": 5}, "title", "title must be a string"),
    ({"title": ["a"]}, "title", "title must be a string"),
    ({"title": ""}, "title", "title must not be empty"),
    ({"title": "   "}, "title", "title must not be empty"),
    ({"title": LONG_TITLE}, "title", "title must be at most 255 characters"),
    ({"description": 5}, "description", "description must be a string"),
    ({"start_date_time": "1767664800"}, "start_date_time", INTEGER_SECONDS),
    ({"start_date_time": 1767664800.0}, "start_date_time", INTEGER_SECONDS),
    ({"start_date_time": True}, "start_date_time", INTEGER_SECONDS),
    ({"start_date_time": None}, "start_date_time", INTEGER_SECONDS),
    ({"start_date_time": 0}, "start_date_time", REAL_DATE),
    ({"start_date_time": -60}, "start_date_time", REAL_DATE),
    ({"start_date_time": 7258118400}, "start_date_time", REAL_DATE),  # 2200-01-01
    ({"start_date_time": 10**30}, "start_date_time", REAL_DATE),
    ({"rrule": 5}, "rrule", "rrule must be a string"),
    ({"rrule": ""}, "rrule", "rrule must not be empty"),
    ({"duration_seconds": 0}, "duration_seconds", "duration_seconds must be greater than 0"),
    ({"duration_seconds": -1}, "duration_seconds", "duration_seconds must be greater than 0"),
    (
        {"duration_seconds": TOO_LONG},
        "duration_seconds",
        "duration_seconds must be at most 31622400 (366 days)",
    ),
    ({"duration_seconds": "60"}, "duration_seconds", "duration_seconds must be an integer"),
    ({"duration_seconds": 60.5}, "duration_seconds", "duration_seconds must be an integer"),
    ({"timezone": 1}, "timezone", "timezone must be a string"),
    (
        {"status": "PAUSED"},
        "status",
        "Invalid status 'PAUSED'. Must be one of: ACTIVE, INACTIVE",
    ),
    ({"status": "active"}, "status", "Invalid status 'active'. Must be one of: ACTIVE, INACTIVE"),
    (
        {"monitors": "api"},
        "monitors",
        "monitors must be an array of {monitor_tag, impact} objects",
    ),
    (
        {"monitors": {"monitor_tag": "api"}},
        "monitors",
        "monitors must be an array of {monitor_tag, impact} objects",
    ),
    (
        {"monitors": ["api"]},
        "monitors[0]",
        "each item of monitors must be an object",
    ),
    ({"monitors": [{}]}, "monitors[0].monitor_tag", "monitor_tag is required"),
    (
        {"monitors": [{"monitor_tag": 7}]},
        "monitors[0].monitor_tag",
        "monitor_tag must be a non-empty string",
    ),
    (
        {"monitors": [{"monitor_tag": "nope"}]},
        "monitors[0].monitor_tag",
        "Monitor with tag 'nope' not found",
    ),
    (
        {"monitors": [{"monitor_tag": "api"}, {"monitor_tag": "api", "impact": "DOWN"}]},
        "monitors[1].monitor_tag",
        "Duplicate monitor_tag 'api' in monitors",
    ),
    (
        {"monitors": [{"monitor_tag": "api", "impact": "BROKEN"}]},
        "monitors[0].impact",
        f"Invalid impact 'BROKEN'. Must be one of: {IMPACTS}",
    ),
    (
        {"monitors": [{"monitor_tag": "api", "impact": "down"}]},
        "monitors[0].impact",
        f"Invalid impact 'down'. Must be one of: {IMPACTS}",
    ),
    (
        {"monitors": [{"monitor_tag": "api", "impact": None}]},
        "monitors[0].impact",
        f"Invalid impact 'null'. Must be one of: {IMPACTS}",
    ),
    ({"url": "https://example.com"}, "url", "Unknown field 'url'"),
]


@pytest.mark.parametrize(("change", "field", "message"), CREATE_ERRORS)
def test_it_refuses_invalid_create_bodies_naming_the_field(
    api_client, monitors, change, field, message
):
    response = api_client.post("/api/v4/maintenances", body(**change), format="json")

    problem = error(response, 400)
    assert problem["code"] == "BAD_REQUEST"
    assert problem["message"] == message
    assert problem["details"][field] == [message]
    assert not Maintenance.objects.exists()


@pytest.mark.parametrize("field", ["title", "start_date_time", "rrule", "duration_seconds"])
def test_it_requires_the_create_fields(api_client, field):
    incomplete = body()
    del incomplete[field]

    response = api_client.post("/api/v4/maintenances", incomplete, format="json")

    assert error(response, 400)["message"] == f"{field} is required"


def test_it_reports_every_invalid_field_at_once(api_client):
    response = api_client.post(
        "/api/v4/maintenances",
        {"title": 5, "start_date_time": "soon", "rrule": "FREQ=DAILY", "extra": 1},
        format="json",
    )

    details = error(response, 400)["details"]
    assert set(details) == {"title", "start_date_time", "duration_seconds", "extra"}


@pytest.mark.parametrize(("change", "field", "message"), CREATE_ERRORS)
def test_it_validates_patch_fields_with_the_same_rules(
    api_client, monitors, change, field, message
):
    created = create(api_client)

    response = api_client.patch(f"/api/v4/maintenances/{created['id']}", change, format="json")

    assert error(response, 400)["message"] == message
    assert api_client.get(f"/api/v4/maintenances/{created['id']}").json() == {
        "maintenance": created
    }


@pytest.mark.parametrize(
    ("rrule", "field"),
    [
        ("FREQ=SECONDLY", "rrule"),
        ("FREQ=DAILY;INTERVAL=0", "rrule"),
        ("FREQ=DAILY;COUNT=2;UNTIL=20270101T000000Z", "rrule"),
        ("DTSTART:20260101T000000Z\nRRULE:FREQ=DAILY", "rrule"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "rrule"),
        ("not a rule", "rrule"),
    ],
)
def test_it_maps_rule_errors_to_a_400_on_the_rrule_field(api_client, rrule, field):
    response = api_client.post("/api/v4/maintenances", body(rrule=rrule), format="json")

    problem = error(response, 400)
    assert list(problem["details"]) == [field]
    assert field in problem["message"]


def test_it_refuses_an_unknown_timezone(api_client):
    response = api_client.post("/api/v4/maintenances", body(timezone="Mars/Olympus"), format="json")

    problem = error(response, 400)
    assert list(problem["details"]) == ["timezone"]
    assert "Mars/Olympus" in problem["message"]


@pytest.mark.parametrize("payload", ["{not json", "title=x", '{"title": "x",}'])
def test_it_answers_invalid_json_bodies_with_400(api_client, payload):
    created = create(api_client)
    for method, url in (
        ("post", "/api/v4/maintenances"),
        ("patch", f"/api/v4/maintenances/{created['id']}"),
        ("post", "/api/v4/maintenances/preview"),
    ):
        response = getattr(api_client, method)(url, payload, content_type="application/json")
        assert error(response, 400) == {"code": "BAD_REQUEST", "message": "Invalid JSON body"}


@pytest.mark.parametrize("payload", ["[]", '"title"', "5", "null", "[{}]"])
def test_it_refuses_a_body_that_is_not_an_object(api_client, payload):
    response = api_client.post("/api/v4/maintenances", payload, content_type="application/json")

    assert error(response, 400)["message"] == "Request body must be a JSON object"


def test_it_accepts_json_without_a_content_type(api_client):
    import json

    response = api_client.generic(
        "POST", "/api/v4/maintenances", json.dumps(body()), content_type=""
    )

    assert response.status_code == 201


def test_it_answers_405_for_an_unsupported_method(api_client):
    response = api_client.put("/api/v4/maintenances", body(), format="json")

    assert error(response, 405)["code"] == "METHOD_NOT_ALLOWED"
