"""Events over HTTP: per-maintenance list, one event, PATCH in both forms, DELETE, and the
global flat list with its filters."""

from datetime import timedelta

import pytest

from scheduling.models import DeletedOccurrence, MaintenanceEvent
from scheduling.services import events_extend_horizon
from tests.scheduling.conftest import NOW, create, error, events_of, ts

pytestmark = pytest.mark.usefixtures("frozen")

EVENT_KEYS = {
    "id",
    "maintenance_id",
    "start_date_time",
    "end_date_time",
    "status",
    "created_at",
    "updated_at",
}


def event_url(maintenance_id, event_id) -> str:
    return f"/api/v4/maintenances/{maintenance_id}/events/{event_id}"


# --- per-maintenance list ---------------------------------------------------------------------


def test_it_lists_a_maintenances_events_start_ascending_with_total(api_client):
    maintenance = create(api_client, rrule="FREQ=DAILY;COUNT=5")

    response = api_client.get(f"/api/v4/maintenances/{maintenance['id']}/events", {"limit": 2})

    assert response.status_code == 200
    page = response.json()
    assert (page["page"], page["limit"], page["total"]) == (1, 2, 5)
    assert [e["start_date_time"] for e in page["events"]] == [
        ts(2026, 1, 6, 2, 0),
        ts(2026, 1, 7, 2, 0),
    ]
    first = page["events"][0]
    assert set(first) == EVENT_KEYS
    assert first["maintenance_id"] == maintenance["id"]
    assert first["end_date_time"] == ts(2026, 1, 6, 3, 0)
    assert first["status"] == "SCHEDULED"
    assert first["created_at"] == "2026-01-05T12:00:00.000Z"

    third = api_client.get(
        f"/api/v4/maintenances/{maintenance['id']}/events", {"limit": 2, "page": 3}
    ).json()
    assert len(third["events"]) == 1
    assert third["total"] == 5
    beyond = api_client.get(
        f"/api/v4/maintenances/{maintenance['id']}/events", {"limit": 2, "page": 9}
    ).json()
    assert (beyond["events"], beyond["total"]) == ([], 5)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"page": "0"}, "page must be >= 1, got 0"),
        ({"page": "x"}, "page must be an integer, got 'x'"),
        ({"limit": "0"}, "limit must be between 1 and 100, got 0"),
        ({"limit": "101"}, "limit must be between 1 and 100, got 101"),
        ({"limit": "ten"}, "limit must be an integer, got 'ten'"),
    ],
)
def test_it_refuses_out_of_range_paging(api_client, params, message):
    maintenance = create(api_client)
    for url in (f"/api/v4/maintenances/{maintenance['id']}/events", "/api/v4/maintenances/events"):
        problem = error(api_client.get(url, params), 400)
        assert problem["message"] == message
        assert list(problem["details"]) == list(params)


def test_it_accepts_the_paging_bounds(api_client):
    maintenance = create(api_client)
    for params in ({"limit": 1}, {"limit": 100}, {"page": 1}):
        response = api_client.get(f"/api/v4/maintenances/{maintenance['id']}/events", params)
        assert response.status_code == 200


# --- one event ------------------------------------------------------------------------------


def test_it_gets_one_event(api_client):
    maintenance = create(api_client)
    listed = events_of(api_client, maintenance["id"])[0]

    response = api_client.get(event_url(maintenance["id"], listed["id"]))

    assert response.status_code == 200
    assert response.json() == {"event": listed}


@pytest.mark.parametrize("bad_id", ["999", "abc", "0", "1e3"])
def test_it_answers_404_for_an_unknown_event(api_client, bad_id):
    maintenance = create(api_client)
    for method in ("get", "patch", "delete"):
        response = getattr(api_client, method)(
            event_url(maintenance["id"], bad_id), {"status": "CANCELLED"}, format="json"
        )
        assert error(response, 404) == {
            "code": "NOT_FOUND",
            "message": f"Event with id '{bad_id}' not found for this maintenance",
        }


def test_it_answers_404_for_an_event_of_another_maintenance(api_client):
    one = create(api_client)
    other = create(api_client)
    event_of_other = events_of(api_client, other["id"])[0]

    response = api_client.get(event_url(one["id"], event_of_other["id"]))

    assert error(response, 404)["message"] == (
        f"Event with id '{event_of_other['id']}' not found for this maintenance"
    )


def test_it_answers_the_maintenance_404_before_the_event_one(api_client):
    response = api_client.get(event_url("404", "1"))

    assert error(response, 404)["message"] == "Maintenance with id '404' not found"


# --- PATCH: window edit ---------------------------------------------------------------------


def test_it_moves_an_events_window_floored_to_the_minute(api_client):
    maintenance = create(api_client)
    event = events_of(api_client, maintenance["id"])[0]

    response = api_client.patch(
        event_url(maintenance["id"], event["id"]),
        {"start_date_time": ts(2026, 1, 6, 4, 0) + 30, "end_date_time": ts(2026, 1, 6, 6, 0) + 59},
        format="json",
    )

    assert response.status_code == 200
    moved = response.json()["event"]
    assert moved["start_date_time"] == ts(2026, 1, 6, 4, 0)
    assert moved["end_date_time"] == ts(2026, 1, 6, 6, 0)
    assert moved["status"] == "SCHEDULED"
    assert MaintenanceEvent.objects.get(pk=event["id"]).is_modified


def test_it_recomputes_the_status_of_a_moved_event(api_client, frozen):
    maintenance = create(api_client)
    event = events_of(api_client, maintenance["id"])[0]
    url = event_url(maintenance["id"], event["id"])
    now = int(NOW.timestamp())

    starting_now = api_client.patch(
        url, {"start_date_time": now, "end_date_time": now + 600}, format="json"
    )
    assert starting_now.json()["event"]["status"] == "ONGOING"

    soon = api_client.patch(
        url, {"start_date_time": now + 120, "end_date_time": now + 600}, format="json"
    )
    assert soon.json()["event"]["status"] == "READY"


def test_an_edited_event_is_not_regenerated_at_its_old_time(api_client):
    maintenance = create(api_client)
    event = events_of(api_client, maintenance["id"])[0]
    api_client.patch(
        event_url(maintenance["id"], event["id"]),
        {"start_date_time": ts(2026, 1, 6, 8, 0), "end_date_time": ts(2026, 1, 6, 9, 0)},
        format="json",
    )

    events_extend_horizon(now=NOW)
    events_extend_horizon(now=NOW + timedelta(hours=1))

    starts = [e["start_date_time"] for e in events_of(api_client, maintenance["id"])]
    assert starts == [ts(2026, 1, 6, 8, 0), ts(2026, 1, 7, 2, 0), ts(2026, 1, 8, 2, 0)]


WINDOW_ERRORS = [
    (
        {"start_date_time": ts(2026, 1, 6, 4, 0)},
        "end_date_time",
        "end_date_time is required with start_date_time",
    ),
    (
        {"end_date_time": ts(2026, 1, 6, 4, 0)},
        "start_date_time",
        "start_date_time is required with end_date_time",
    ),
    (
        {"start_date_time": ts(2026, 1, 6, 4, 0), "end_date_time": ts(2026, 1, 6, 4, 0) + 30},
        "end_date_time",
        "end_date_time must be greater than start_date_time",  # equal once floored
    ),
    (
        {"start_date_time": ts(2026, 1, 6, 4, 0), "end_date_time": ts(2026, 1, 6, 3, 0)},
        "end_date_time",
        "end_date_time must be greater than start_date_time",
    ),
    (
        {"start_date_time": ts(2026, 1, 6, 4, 0), "end_date_time": ts(2027, 1, 8, 4, 0)},
        "end_date_time",
        "end_date_time must be at most 366 days after start_date_time",
    ),
    (
        {"start_date_time": "2026-01-06", "end_date_time": ts(2026, 1, 6, 4, 0)},
        "start_date_time",
        "start_date_time must be an integer (Unix seconds)",
    ),
    (
        {"start_date_time": ts(2026, 1, 6, 4, 0), "end_date_time": 1.5e9},
        "end_date_time",
        "end_date_time must be an integer (Unix seconds)",
    ),
    (
        {"status": "CANCELLED", "start_date_time": ts(2026, 1, 6, 4, 0)},
        "status",
        "status cannot be combined with start_date_time and end_date_time",
    ),
    (
        {
            "status": "COMPLETED",
            "start_date_time": ts(2026, 1, 6, 4, 0),
            "end_date_time": ts(2026, 1, 6, 5, 0),
        },
        "status",
        "status cannot be combined with start_date_time and end_date_time",
    ),
    ({}, "non_field_errors", "Provide either start_date_time and end_date_time, or status"),
    ({"title": "x"}, "title", "Unknown field 'title'"),
    (
        {"status": "DONE"},
        "status",
        "Invalid status 'DONE'. Must be one of: COMPLETED, CANCELLED",
    ),
    (
        {"status": None},
        "status",
        "Invalid status 'null'. Must be one of: COMPLETED, CANCELLED",
    ),
    (
        {"status": "cancelled"},
        "status",
        "Invalid status 'cancelled'. Must be one of: COMPLETED, CANCELLED",
    ),
]


@pytest.mark.parametrize(("payload", "field", "message"), WINDOW_ERRORS)
def test_it_refuses_invalid_event_patches(api_client, payload, field, message):
    maintenance = create(api_client)
    event = events_of(api_client, maintenance["id"])[0]

    response = api_client.patch(event_url(maintenance["id"], event["id"]), payload, format="json")

    problem = error(response, 400)
    assert problem["message"] == message
    assert problem["details"][field] == [message]
    assert events_of(api_client, maintenance["id"])[0] == event


# --- PATCH: status transitions ---------------------------------------------------------------


def _event_at(api_client, frozen, *, when) -> tuple[str, dict]:
    """Create a one-off 02:00-03:00 window on 2026-01-06 and move the clock to `when`."""
    maintenance = create(api_client, rrule="FREQ=DAILY;COUNT=1")
    event = events_of(api_client, maintenance["id"])[0]
    frozen.move_to(when)
    return event_url(maintenance["id"], event["id"]), event


def test_it_completes_an_ongoing_event_now(api_client, frozen):
    url, _ = _event_at(api_client, frozen, when="2026-01-06T02:30:15Z")

    response = api_client.patch(url, {"status": "COMPLETED"}, format="json")

    assert response.status_code == 200
    completed = response.json()["event"]
    assert completed["status"] == "COMPLETED"
    assert completed["end_date_time"] == ts(2026, 1, 6, 2, 30) + 15
    assert completed["start_date_time"] == ts(2026, 1, 6, 2, 0)


def test_it_cancels_an_ongoing_event_ending_it_now(api_client, frozen):
    url, _ = _event_at(api_client, frozen, when="2026-01-06T02:10:00Z")

    cancelled = api_client.patch(url, {"status": "CANCELLED"}, format="json").json()["event"]

    assert cancelled["status"] == "CANCELLED"
    assert cancelled["end_date_time"] == ts(2026, 1, 6, 2, 10)


@pytest.mark.parametrize("when", ["2026-01-05T12:00:00Z", "2026-01-06T01:57:00Z"])
def test_it_cancels_an_event_that_has_not_started_keeping_its_window(api_client, frozen, when):
    url, event = _event_at(api_client, frozen, when=when)

    cancelled = api_client.patch(url, {"status": "CANCELLED"}, format="json").json()["event"]

    assert cancelled["status"] == "CANCELLED"
    assert (cancelled["start_date_time"], cancelled["end_date_time"]) == (
        event["start_date_time"],
        event["end_date_time"],
    )
    # CANCELLED is terminal: time passing does not change it.
    frozen.move_to("2026-01-07T00:00:00Z")
    assert api_client.get(url).json()["event"]["status"] == "CANCELLED"


@pytest.mark.parametrize(
    ("when", "target", "message"),
    [
        (
            "2026-01-05T12:00:00Z",
            "COMPLETED",
            "Cannot transition event from SCHEDULED to COMPLETED",
        ),
        ("2026-01-06T01:56:00Z", "COMPLETED", "Cannot transition event from READY to COMPLETED"),
        (
            "2026-01-06T04:00:00Z",
            "CANCELLED",
            "Cannot transition event from COMPLETED to CANCELLED",
        ),
        (
            "2026-01-06T04:00:00Z",
            "COMPLETED",
            "Cannot transition event from COMPLETED to COMPLETED",
        ),
        ("2026-01-05T12:00:00Z", "ONGOING", "Cannot transition event from SCHEDULED to ONGOING"),
        ("2026-01-06T02:30:00Z", "SCHEDULED", "Cannot transition event from ONGOING to SCHEDULED"),
    ],
)
def test_it_refuses_other_transitions(api_client, frozen, when, target, message):
    url, _ = _event_at(api_client, frozen, when=when)

    problem = error(api_client.patch(url, {"status": target}, format="json"), 400)

    assert problem["message"] == message
    assert problem["details"] == {"status": [message]}


def test_it_refuses_transitions_out_of_cancelled(api_client, frozen):
    url, _ = _event_at(api_client, frozen, when="2026-01-05T12:00:00Z")
    api_client.patch(url, {"status": "CANCELLED"}, format="json")

    for target in ("CANCELLED", "COMPLETED"):
        problem = error(api_client.patch(url, {"status": target}, format="json"), 400)
        assert problem["message"] == f"Cannot transition event from CANCELLED to {target}"


def test_it_refuses_to_move_a_finished_event(api_client, frozen):
    url, _ = _event_at(api_client, frozen, when="2026-01-06T05:00:00Z")
    window = {"start_date_time": ts(2026, 1, 7, 2, 0), "end_date_time": ts(2026, 1, 7, 3, 0)}

    problem = error(api_client.patch(url, window, format="json"), 400)
    assert problem["message"] == (
        "Cannot change start_date_time and end_date_time of a COMPLETED event"
    )

    frozen.move_to("2026-01-05T12:00:00Z")
    api_client.patch(url, {"status": "CANCELLED"}, format="json")
    problem = error(api_client.patch(url, window, format="json"), 400)
    assert "CANCELLED event" in problem["message"]


# --- DELETE ----------------------------------------------------------------------------------


def test_it_deletes_an_event_and_does_not_recreate_its_occurrence(api_client):
    maintenance = create(api_client)
    event = events_of(api_client, maintenance["id"])[0]

    response = api_client.delete(event_url(maintenance["id"], event["id"]))

    assert response.status_code == 200
    assert response.json() == {"message": f"Event with id '{event['id']}' deleted successfully"}
    assert DeletedOccurrence.objects.count() == 1
    events_extend_horizon(now=NOW)
    assert [e["start_date_time"] for e in events_of(api_client, maintenance["id"])] == [
        ts(2026, 1, 7, 2, 0),
        ts(2026, 1, 8, 2, 0),
    ]
    assert error(api_client.get(event_url(maintenance["id"], event["id"])), 404)


def test_it_does_not_recreate_a_deleted_edited_event_at_either_time(api_client):
    maintenance = create(api_client)
    event = events_of(api_client, maintenance["id"])[0]
    url = event_url(maintenance["id"], event["id"])
    api_client.patch(
        url,
        {"start_date_time": ts(2026, 1, 6, 8, 0), "end_date_time": ts(2026, 1, 6, 9, 0)},
        format="json",
    )
    api_client.delete(url)

    events_extend_horizon(now=NOW)

    assert len(events_of(api_client, maintenance["id"])) == 2


# --- global list ------------------------------------------------------------------------------


def _rows(api_client, **params) -> list[dict]:
    response = api_client.get("/api/v4/maintenances/events", {"limit": 100, **params})
    assert response.status_code == 200, response.json()
    return response.json()["events"]


def test_it_lists_global_events_as_flat_rows(api_client, monitors):
    maintenance = create(
        api_client,
        description="Kernel",
        monitors=[{"monitor_tag": "api", "impact": "DOWN"}],
    )

    response = api_client.get("/api/v4/maintenances/events")

    assert response.status_code == 200
    page = response.json()
    assert (page["page"], page["limit"], page["total"]) == (1, 20, 3)
    assert page["events"][0] == {
        "maintenance_id": maintenance["id"],
        "event_id": page["events"][0]["event_id"],
        "event_start_date_time": ts(2026, 1, 6, 2, 0),
        "event_end_date_time": ts(2026, 1, 6, 3, 0),
        "event_status": "SCHEDULED",
        "maintenance_title": "Database upgrade",
        "maintenance_description": "Kernel",
        "maintenance_status": "ACTIVE",
        "maintenance_rrule": "FREQ=DAILY;COUNT=3",
        "maintenance_duration_seconds": 3600,
        "maintenance_timezone": "UTC",
        "monitors": [{"monitor_tag": "api", "impact": "DOWN"}],
    }


def test_the_global_list_shows_ongoing_and_upcoming_events_by_default(api_client, frozen):
    # Created the day before, daily 11:30-12:30: at noon one has ended, one is under way.
    frozen.move_to("2026-01-04T11:00:00Z")
    create(api_client, start_date_time=ts(2026, 1, 4, 11, 30), rrule="FREQ=DAILY;COUNT=3")
    frozen.move_to(NOW)

    rows = _rows(api_client)

    assert [(r["event_start_date_time"], r["event_status"]) for r in rows] == [
        (ts(2026, 1, 5, 11, 30), "ONGOING"),
        (ts(2026, 1, 6, 11, 30), "SCHEDULED"),
    ]
    everything = _rows(api_client, event_start_date_time=0)
    assert [r["event_status"] for r in everything] == ["COMPLETED", "ONGOING", "SCHEDULED"]


def test_it_sorts_the_global_list_by_start_then_id(api_client):
    first = create(api_client, title="a")
    second = create(api_client, title="b")

    rows = _rows(api_client)

    assert [(r["maintenance_id"], r["event_start_date_time"]) for r in rows[:2]] == [
        (first["id"], ts(2026, 1, 6, 2, 0)),
        (second["id"], ts(2026, 1, 6, 2, 0)),
    ]
    assert rows[0]["event_id"] < rows[1]["event_id"]


def test_it_filters_global_events_by_start(api_client):
    create(api_client, rrule="FREQ=DAILY;COUNT=5")

    rows = _rows(api_client, event_start_date_time=ts(2026, 1, 8, 2, 0))

    assert [r["event_start_date_time"] for r in rows] == [
        ts(2026, 1, 8, 2, 0),
        ts(2026, 1, 9, 2, 0),
        ts(2026, 1, 10, 2, 0),
    ]


def test_it_filters_global_events_by_time_true_status(api_client, frozen):
    create(
        api_client,
        start_date_time=ts(2026, 1, 5, 12, 0),
        rrule="FREQ=HOURLY;COUNT=3",
        duration_seconds=1800,
    )
    create(api_client, start_date_time=ts(2026, 1, 5, 12, 3), rrule="FREQ=DAILY;COUNT=1")
    # The stored statuses are all SCHEDULED: the filter uses the time-true ones.
    frozen.move_to("2026-01-05T12:59:00Z")

    def statuses(value):
        return [
            (r["event_start_date_time"], r["event_status"])
            for r in _rows(api_client, event_status=value, event_start_date_time=0)
        ]

    assert statuses("COMPLETED") == [(ts(2026, 1, 5, 12, 0), "COMPLETED")]
    assert statuses("ongoing") == [(ts(2026, 1, 5, 12, 3), "ONGOING")]
    assert statuses("Ready") == [(ts(2026, 1, 5, 13, 0), "READY")]
    assert statuses("SCHEDULED") == [(ts(2026, 1, 5, 14, 0), "SCHEDULED")]
    assert statuses("CANCELLED") == []


def test_it_refuses_an_unknown_event_status(api_client):
    problem = error(api_client.get("/api/v4/maintenances/events", {"event_status": "late"}), 400)

    assert problem["message"] == (
        "Invalid event_status 'late'. "
        "Must be one of: SCHEDULED, READY, ONGOING, COMPLETED, CANCELLED"
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"event_start_date_time": "yesterday"}, "event_start_date_time"),
        ({"event_start_date_time": "-5"}, "event_start_date_time"),
        ({"event_start_date_time": str(10**20)}, "event_start_date_time"),
        ({"maintenance_id": "one"}, "maintenance_id"),
        ({"maintenance_id": "0"}, "maintenance_id"),
        ({"maintenance_id": str(10**20)}, "maintenance_id"),
    ],
)
def test_it_refuses_invalid_global_filters(api_client, params, field):
    problem = error(api_client.get("/api/v4/maintenances/events", params), 400)

    assert list(problem["details"]) == [field]
    assert problem["message"].startswith(field)


def test_it_filters_global_events_by_any_of_the_monitors(api_client, monitors):
    on_api = create(api_client, monitors=[{"monitor_tag": "api"}, {"monitor_tag": "db"}])
    on_web = create(api_client, monitors=[{"monitor_tag": "web"}])
    create(api_client)

    def maintenance_ids(tags):
        return {r["maintenance_id"] for r in _rows(api_client, monitors=tags)}

    assert maintenance_ids("api") == {on_api["id"]}
    assert maintenance_ids("db,web") == {on_api["id"], on_web["id"]}
    assert maintenance_ids(" web , nope ") == {on_web["id"]}
    assert maintenance_ids("nope") == set()
    assert len(_rows(api_client, monitors="api,db")) == 3  # no duplicate rows


def test_it_filters_global_events_by_maintenance(api_client):
    create(api_client)
    wanted = create(api_client)

    rows = _rows(api_client, maintenance_id=wanted["id"])

    assert {r["maintenance_id"] for r in rows} == {wanted["id"]}
    assert len(rows) == 3
    assert _rows(api_client, maintenance_id=999) == []


def test_the_global_list_counts_every_matching_row(api_client):
    create(api_client, rrule="FREQ=DAILY;COUNT=30")

    page = api_client.get("/api/v4/maintenances/events", {"limit": 7, "page": 5}).json()

    assert page["total"] == 30
    assert len(page["events"]) == 2


@pytest.mark.parametrize("limit", [5, 100])
def test_the_lists_take_a_constant_number_of_queries(
    api_client, monitors, django_assert_max_num_queries, limit
):
    for index in range(10):
        maintenance = create(
            api_client,
            title=f"m{index}",
            rrule="FREQ=DAILY;COUNT=12",
            monitors=[{"monitor_tag": "api"}, {"monitor_tag": "db", "impact": "DOWN"}],
        )

    # key lookup, COUNT, page, monitors of the page's maintenances
    with django_assert_max_num_queries(4):
        response = api_client.get("/api/v4/maintenances/events", {"limit": limit})
    assert len(response.json()["events"]) == min(limit, 120)
    assert all(len(row["monitors"]) == 2 for row in response.json()["events"])

    # key lookup, maintenance, COUNT, page
    with django_assert_max_num_queries(4):
        response = api_client.get(
            f"/api/v4/maintenances/{maintenance['id']}/events", {"limit": limit}
        )
    assert len(response.json()["events"]) == min(limit, 12)
