"""Maintenance history for SLAs: /api/v4/monitors/{tag}/maintenance with ?at= or ?from=&to=,
and /api/v4/monitors/maintenance?tags= for many monitors at once."""

from datetime import UTC, datetime

import pytest

from scheduling.history import MaintenanceInterval, merge_intervals
from scheduling.models import Monitor
from tests.scheduling.conftest import create, error, events_of, ts

pytestmark = pytest.mark.usefixtures("frozen")

STATUS_KEYS = {"monitor_tag", "under_maintenance", "impact", "events"}


def one_off(client, start: int, minutes: int, *tags_impacts: tuple[str, str]) -> dict:
    return create(
        client,
        start_date_time=start,
        rrule="FREQ=DAILY;COUNT=1",
        duration_seconds=minutes * 60,
        monitors=[{"monitor_tag": tag, "impact": impact} for tag, impact in tags_impacts],
    )


def history(client, tag: str, since: int, until: int) -> list[dict]:
    response = client.get(f"/api/v4/monitors/{tag}/maintenance", {"from": since, "to": until})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == {"monitor_tag", "intervals"}
    assert body["monitor_tag"] == tag
    return body["intervals"]


def only_event(client, maintenance: dict) -> dict:
    (event,) = events_of(client, maintenance["id"])
    return event


DAY = (ts(2026, 1, 6, 0, 0), ts(2026, 1, 7, 0, 0))


# --- intervals ---------------------------------------------------------------------------------


def test_overlapping_events_merge_and_split_where_the_worst_impact_changes(api_client, monitors):
    degraded = one_off(api_client, ts(2026, 1, 6, 0, 0), 360, ("api", "DEGRADED"))
    down = one_off(api_client, ts(2026, 1, 6, 5, 0), 30, ("api", "DOWN"), ("db", "UP"))
    touching = one_off(api_client, ts(2026, 1, 6, 6, 0), 60, ("api", "DEGRADED"))
    later = one_off(api_client, ts(2026, 1, 6, 9, 0), 60, ("api", "MAINTENANCE"))
    ids = {
        name: only_event(api_client, maintenance)["id"]
        for name, maintenance in [
            ("degraded", degraded),
            ("down", down),
            ("touching", touching),
            ("later", later),
        ]
    }

    intervals = history(api_client, "api", *DAY)

    assert intervals == [
        {
            "start_date_time": ts(2026, 1, 6, 0, 0),
            "end_date_time": ts(2026, 1, 6, 5, 0),
            "impact": "DEGRADED",
            "event_ids": [ids["degraded"]],
        },
        {
            "start_date_time": ts(2026, 1, 6, 5, 0),
            "end_date_time": ts(2026, 1, 6, 5, 30),
            "impact": "DOWN",
            "event_ids": sorted([ids["degraded"], ids["down"]]),
        },
        {  # DEGRADED again, through the event that starts where the first ends
            "start_date_time": ts(2026, 1, 6, 5, 30),
            "end_date_time": ts(2026, 1, 6, 7, 0),
            "impact": "DEGRADED",
            "event_ids": sorted([ids["degraded"], ids["touching"]]),
        },
        {
            "start_date_time": ts(2026, 1, 6, 9, 0),
            "end_date_time": ts(2026, 1, 6, 10, 0),
            "impact": "MAINTENANCE",
            "event_ids": [ids["later"]],
        },
    ]
    assert history(api_client, "db", *DAY) == [
        {
            "start_date_time": ts(2026, 1, 6, 5, 0),
            "end_date_time": ts(2026, 1, 6, 5, 30),
            "impact": "UP",
            "event_ids": [ids["down"]],
        }
    ]
    assert history(api_client, "web", *DAY) == []


def test_intervals_are_clipped_to_the_range_and_cover_future_events(api_client, monitors):
    maintenance = one_off(api_client, ts(2026, 1, 6, 2, 0), 120, ("api", "DOWN"))

    intervals = history(api_client, "api", ts(2026, 1, 6, 3, 0), ts(2026, 1, 6, 3, 30))

    assert intervals == [
        {
            "start_date_time": ts(2026, 1, 6, 3, 0),
            "end_date_time": ts(2026, 1, 6, 3, 30),
            "impact": "DOWN",
            "event_ids": [only_event(api_client, maintenance)["id"]],
        }
    ]
    assert history(api_client, "api", ts(2026, 1, 6, 4, 0), ts(2026, 1, 6, 5, 0)) == []


def test_a_recurring_window_gives_one_interval_per_event(api_client, monitors):
    create(api_client, rrule="FREQ=DAILY;COUNT=3", monitors=[{"monitor_tag": "api"}])

    intervals = history(api_client, "api", ts(2026, 1, 1, 0, 0), ts(2026, 2, 1, 0, 0))

    assert [(i["start_date_time"], i["end_date_time"]) for i in intervals] == [
        (ts(2026, 1, day, 2, 0), ts(2026, 1, day, 3, 0)) for day in (6, 7, 8)
    ]


def test_a_window_across_the_dst_change_counts_its_real_length(api_client, monitors, frozen):
    frozen.move_to("2026-10-20T12:00:00Z")
    create(
        api_client,
        start_date_time=ts(2026, 10, 25, 1, 30, tz="Europe/Berlin"),
        rrule="FREQ=DAILY;COUNT=1",
        duration_seconds=2 * 3600,
        timezone="Europe/Berlin",
        monitors=[{"monitor_tag": "api"}],
    )

    (interval,) = history(api_client, "api", ts(2026, 10, 24, 0, 0), ts(2026, 10, 27, 0, 0))

    assert interval["end_date_time"] - interval["start_date_time"] == 2 * 3600
    assert interval["start_date_time"] == ts(2026, 10, 24, 23, 30)


def test_what_happened_counts_and_what_did_not_does_not(api_client, monitors, frozen):
    """Cancelled before it started: never happened. Cancelled or completed under way: counts
    until then. A maintenance deactivated since: its past events still count."""
    cancelled_early = one_off(api_client, ts(2026, 1, 6, 1, 0), 60, ("api", "DOWN"))
    cancelled_late = one_off(api_client, ts(2026, 1, 6, 2, 0), 60, ("api", "DOWN"))
    completed_early = one_off(api_client, ts(2026, 1, 6, 4, 0), 60, ("api", "DOWN"))
    deactivated = one_off(api_client, ts(2026, 1, 6, 6, 0), 60, ("api", "DOWN"))

    def stop(maintenance, status):
        event = only_event(api_client, maintenance)
        url = f"/api/v4/maintenances/{maintenance['id']}/events/{event['id']}"
        assert api_client.patch(url, {"status": status}, format="json").status_code == 200

    stop(cancelled_early, "CANCELLED")
    frozen.move_to("2026-01-06T02:20:00Z")
    stop(cancelled_late, "CANCELLED")
    frozen.move_to("2026-01-06T04:10:00Z")
    stop(completed_early, "COMPLETED")
    frozen.move_to("2026-01-06T08:00:00Z")
    api_client.patch(
        f"/api/v4/maintenances/{deactivated['id']}", {"status": "INACTIVE"}, format="json"
    )

    spans = [(i["start_date_time"], i["end_date_time"]) for i in history(api_client, "api", *DAY)]

    assert spans == [
        (ts(2026, 1, 6, 2, 0), ts(2026, 1, 6, 2, 20)),
        (ts(2026, 1, 6, 4, 0), ts(2026, 1, 6, 4, 10)),
        (ts(2026, 1, 6, 6, 0), ts(2026, 1, 6, 7, 0)),
    ]


# --- at an instant -----------------------------------------------------------------------------


def test_at_answers_like_now_for_a_past_instant(api_client, monitors, frozen):
    maintenance = one_off(api_client, ts(2026, 1, 6, 2, 0), 60, ("api", "DOWN"), ("db", "UP"))
    one_off(api_client, ts(2026, 1, 6, 2, 0), 60, ("api", "DEGRADED"))
    frozen.move_to("2026-01-07T00:00:00Z")

    now = api_client.get("/api/v4/monitors/api/maintenance").json()
    then = api_client.get("/api/v4/monitors/api/maintenance", {"at": ts(2026, 1, 6, 2, 30)})

    assert now == {"monitor_tag": "api", "under_maintenance": False, "impact": None, "events": []}
    body = then.json()
    assert set(body) == STATUS_KEYS
    assert (body["under_maintenance"], body["impact"]) == (True, "DOWN")
    assert len(body["events"]) == 2
    assert {e["status"] for e in body["events"]} == {"COMPLETED"}  # true at the response
    assert maintenance["id"] in {e["maintenance_id"] for e in body["events"]}
    before = api_client.get("/api/v4/monitors/api/maintenance", {"at": ts(2026, 1, 6, 1, 59)})
    assert before.json()["under_maintenance"] is False
    at_end = api_client.get("/api/v4/monitors/api/maintenance", {"at": ts(2026, 1, 6, 3, 0)})
    assert at_end.json()["under_maintenance"] is False  # [start, end)


def test_at_answers_for_a_future_instant(api_client, monitors):
    one_off(api_client, ts(2026, 1, 6, 2, 0), 60, ("api", "MAINTENANCE"))

    body = api_client.get("/api/v4/monitors/api/maintenance", {"at": ts(2026, 1, 6, 2, 0)}).json()

    assert (body["under_maintenance"], body["impact"]) == (True, "MAINTENANCE")
    assert body["events"][0]["status"] == "SCHEDULED"


# --- many monitors -----------------------------------------------------------------------------


def test_many_monitors_in_one_call_in_the_order_asked(api_client, monitors, frozen):
    one_off(api_client, ts(2026, 1, 6, 2, 0), 60, ("api", "DOWN"))
    frozen.move_to("2026-01-06T02:30:00Z")

    now = api_client.get("/api/v4/monitors/maintenance", {"tags": "web, api,web"})
    ranged = api_client.get(
        "/api/v4/monitors/maintenance", {"tags": "api,db", "from": DAY[0], "to": DAY[1]}
    )
    then = api_client.get(
        "/api/v4/monitors/maintenance", {"tags": "api", "at": ts(2026, 1, 6, 1, 0)}
    )

    assert [(m["monitor_tag"], m["under_maintenance"]) for m in now.json()["monitors"]] == [
        ("web", False),
        ("api", True),
    ]
    assert now.json()["monitors"][1] == api_client.get("/api/v4/monitors/api/maintenance").json()
    assert [(m["monitor_tag"], len(m["intervals"])) for m in ranged.json()["monitors"]] == [
        ("api", 1),
        ("db", 0),
    ]
    assert then.json()["monitors"][0]["under_maintenance"] is False


def test_many_monitors_read_in_a_constant_number_of_queries(
    api_client, django_assert_max_num_queries
):
    tags = [f"m{n}" for n in range(30)]
    for tag in tags:
        Monitor.objects.create(tag=tag, name=tag)
        one_off(api_client, ts(2026, 1, 6, 2, 0), 60, (tag, "DOWN"))
    params = {"tags": ",".join(tags)}

    # key, monitors, links, events (+ the events' ids for intervals: none)
    with django_assert_max_num_queries(4):
        ranged = api_client.get(
            "/api/v4/monitors/maintenance", {**params, "from": DAY[0], "to": DAY[1]}
        )
    with django_assert_max_num_queries(4):
        at = api_client.get("/api/v4/monitors/maintenance", {**params, "at": ts(2026, 1, 6, 2, 0)})

    assert all(len(m["intervals"]) == 1 for m in ranged.json()["monitors"])
    assert all(m["under_maintenance"] for m in at.json()["monitors"])


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (None, "tags is required: comma-separated monitor tags"),
        (" , ", "tags is required: comma-separated monitor tags"),
        ("api,nope", "Monitor with tag 'nope' not found"),
        ("api,a b", "Monitor with tag 'a b' not found"),
        ("api,x\x00y", "tags must not contain NUL characters"),
        (",".join(f"t{n}" for n in range(101)), "tags may name at most 100 monitors"),
    ],
)
def test_bad_tags_are_a_400_naming_tags(api_client, monitors, tags, message):
    params = {} if tags is None else {"tags": tags}

    problem = error(api_client.get("/api/v4/monitors/maintenance", params), 400)

    assert problem["details"] == {"tags": [message]}


def test_maintenance_is_a_reserved_monitor_tag(api_client):
    problem = error(api_client.post("/api/v4/monitors", {"tag": "maintenance"}, format="json"), 400)

    assert problem["details"] == {"tag": ["tag 'maintenance' is reserved"]}


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        (
            {"from": "yesterday", "to": "1767657600"},
            "from",
            "from must be an integer (Unix seconds) after 1970 and before 2200",
        ),
        (
            {"from": "1767571200", "to": "-5"},
            "to",
            "to must be an integer (Unix seconds) after 1970 and before 2200",
        ),
        (
            {"from": "1767571200.5", "to": "1767657600"},
            "from",
            "from must be an integer (Unix seconds) after 1970 and before 2200",
        ),
        (
            {"from": "1767571200", "to": "99999999999"},
            "to",
            "to must be an integer (Unix seconds) after 1970 and before 2200",
        ),
        ({"at": "0"}, "at", "at must be an integer (Unix seconds) after 1970 and before 2200"),
        ({"at": ""}, "at", "at must be an integer (Unix seconds) after 1970 and before 2200"),
        ({"from": "1767571200"}, "to", "to is required with from"),
        ({"to": "1767571200"}, "from", "from is required with to"),
        ({"from": "1767657600", "to": "1767571200"}, "to", "to must be after from"),
        ({"from": "1767571200", "to": "1767571200"}, "to", "to must be after from"),
        (
            {"from": "1767571200", "to": str(1767571200 + 367 * 86400)},
            "to",
            "to must be at most 366 days after from",
        ),
        (
            {"at": "1767571200", "from": "1767571200", "to": "1767657600"},
            "at",
            "at cannot be combined with from and to",
        ),
    ],
)
def test_bad_parameters_are_a_400_naming_them(api_client, monitors, params, field, message):
    for url, extra in (
        ("/api/v4/monitors/api/maintenance", {}),
        ("/api/v4/monitors/maintenance", {"tags": "api"}),
    ):
        problem = error(api_client.get(url, {**params, **extra}), 400)
        assert (problem["message"], problem["details"]) == (message, {field: [message]})


def test_a_range_of_exactly_366_days_is_allowed(api_client, monitors):
    assert history(api_client, "api", 1767571200, 1767571200 + 366 * 86400) == []


def test_an_unknown_monitor_is_the_404_as_before(api_client):
    response = api_client.get("/api/v4/monitors/nope/maintenance", {"from": DAY[0], "to": DAY[1]})

    assert error(response, 404)["message"] == "Monitor with tag 'nope' not found"


def test_a_read_only_key_may_read_history(read_only_client, monitors):
    response = read_only_client.get(
        "/api/v4/monitors/api/maintenance", {"from": DAY[0], "to": DAY[1]}
    )

    assert response.status_code == 200


# --- the merge itself --------------------------------------------------------------------------


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, 6, hour, minute, tzinfo=UTC)


def test_merge_of_nothing_is_nothing():
    assert merge_intervals([]) == []


def test_merge_joins_same_impact_overlaps_and_keeps_gaps():
    spans = [
        (_at(1), _at(3), "MAINTENANCE", 1),
        (_at(2), _at(4), "MAINTENANCE", 2),
        (_at(5), _at(6), "MAINTENANCE", 3),
    ]

    assert merge_intervals(spans) == [
        MaintenanceInterval(_at(1), _at(4), "MAINTENANCE", (1, 2)),
        MaintenanceInterval(_at(5), _at(6), "MAINTENANCE", (3,)),
    ]


def test_merge_a_worse_event_inside_a_longer_one_splits_it_in_three():
    spans = [(_at(0), _at(6), "UP", 1), (_at(2), _at(3), "DEGRADED", 2)]

    assert [(i.start, i.end, i.impact, i.event_ids) for i in merge_intervals(spans)] == [
        (_at(0), _at(2), "UP", (1,)),
        (_at(2), _at(3), "DEGRADED", (1, 2)),
        (_at(3), _at(6), "UP", (1,)),
    ]


def test_merge_equal_spans_with_different_impacts_take_the_worst():
    spans = [
        (_at(1), _at(2), "DEGRADED", 1),
        (_at(1), _at(2), "DOWN", 2),
        (_at(1), _at(2), "UP", 3),
    ]

    assert merge_intervals(spans) == [MaintenanceInterval(_at(1), _at(2), "DOWN", (1, 2, 3))]


def test_merge_ignores_empty_spans():
    assert merge_intervals([(_at(1), _at(1), "DOWN", 1)]) == []
