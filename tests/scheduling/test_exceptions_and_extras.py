"""Beyond Kener: `exdates` (occurrences a window skips), extra one-off events
(`POST /maintenances/{id}/events`) and an ONGOING event's end moved alone."""

from datetime import timedelta

import pytest

from scheduling.models import Maintenance, MaintenanceEvent
from scheduling.services import events_advance_statuses, events_extend_horizon
from tests.scheduling.conftest import NOW, create, error, events_of, ts

pytestmark = pytest.mark.usefixtures("frozen")

# body(): daily 02:00-03:00 UTC from 6 January 2026, three times (NOW is 5 January, noon).
JAN_6, JAN_7, JAN_8 = (ts(2026, 1, day, 2, 0) for day in (6, 7, 8))


def url(maintenance_id, suffix: str = "") -> str:
    return f"/api/v4/maintenances/{maintenance_id}{suffix}"


def starts(client, maintenance_id) -> list[int]:
    return [event["start_date_time"] for event in events_of(client, maintenance_id)]


def patch(client, maintenance_id, **fields):
    return client.patch(url(maintenance_id), fields, format="json")


# --- exdates -----------------------------------------------------------------------------------


def test_it_skips_the_exdates_and_shows_them(api_client):
    maintenance = create(api_client, exdates=[JAN_7])

    assert maintenance["exdates"] == [JAN_7]
    assert starts(api_client, maintenance["id"]) == [JAN_6, JAN_8]
    fetched = api_client.get(url(maintenance["id"])).json()["maintenance"]
    assert fetched["exdates"] == [JAN_7]


def test_regeneration_never_recreates_an_exdate(api_client):
    maintenance = create(api_client, exdates=[JAN_7])

    events_extend_horizon(now=NOW)
    events_extend_horizon(now=NOW + timedelta(days=1))

    assert starts(api_client, maintenance["id"]) == [JAN_6, JAN_8]


def test_it_lists_exdates_ascending_whatever_the_order_given(api_client):
    maintenance = create(api_client, exdates=[JAN_8, JAN_6])

    assert maintenance["exdates"] == [JAN_6, JAN_8]


@pytest.mark.parametrize(
    ("exdates", "field", "words"),
    [
        ([JAN_6, JAN_7 + 60], "exdates[1]", "is not an occurrence of the rule"),
        ([JAN_6, ts(2026, 1, 9, 2, 0)], "exdates[1]", "is not an occurrence"),  # after COUNT=3
        ([JAN_7, JAN_7], "exdates[1]", "is listed twice"),
        ([JAN_6, "x"], "exdates[1]", "must be an integer date"),
        ([True], "exdates[0]", "must be an integer date"),
        ([2**40], "exdates[0]", "must be an integer date"),
        ("1767664800", "exdates", "must be an array"),
        ([JAN_6] * 1001, "exdates", "at most 1000"),
    ],
)
def test_it_refuses_a_bad_exdate_and_names_it(api_client, exdates, field, words):
    response = api_client.post(
        "/api/v4/maintenances",
        {
            "title": "t",
            "start_date_time": JAN_6,
            "rrule": "FREQ=DAILY;COUNT=3",
            "duration_seconds": 3600,
            "exdates": exdates,
        },
        format="json",
    )

    problem = error(response, 400)
    assert field in problem["details"]
    assert words in problem["details"][field][0]
    assert field in problem["message"]
    assert not Maintenance.objects.exists()


def test_a_patch_that_adds_an_exdate_removes_its_event_and_one_that_drops_it_brings_it_back(
    api_client,
):
    maintenance = create(api_client)

    added = patch(api_client, maintenance["id"], exdates=[JAN_7])
    assert added.status_code == 200
    assert added.json()["maintenance"]["exdates"] == [JAN_7]
    assert starts(api_client, maintenance["id"]) == [JAN_6, JAN_8]

    dropped = patch(api_client, maintenance["id"], exdates=[])
    assert dropped.json()["maintenance"]["exdates"] == []
    assert starts(api_client, maintenance["id"]) == [JAN_6, JAN_7, JAN_8]


def test_a_dropped_exdate_in_the_past_stays_without_an_event(api_client, frozen):
    maintenance = create(api_client, exdates=[JAN_6])
    frozen.move_to(NOW + timedelta(days=1, hours=16))  # 6 January 04:00, the window is over

    assert patch(api_client, maintenance["id"], exdates=[]).status_code == 200

    assert starts(api_client, maintenance["id"]) == [JAN_7, JAN_8]


def test_it_refuses_to_skip_an_occurrence_that_is_under_way(api_client, frozen):
    maintenance = create(api_client)
    frozen.move_to(NOW + timedelta(hours=14, minutes=30))  # 6 January 02:30

    response = patch(api_client, maintenance["id"], exdates=[JAN_8, JAN_6])

    problem = error(response, 400)
    assert problem["details"] == {
        "exdates[1]": [
            f"exdates[1]: the event of occurrence {JAN_6} is ONGOING; "
            "complete or cancel it instead of skipping it"
        ]
    }
    assert api_client.get(url(maintenance["id"])).json()["maintenance"]["exdates"] == []
    assert starts(api_client, maintenance["id"]) == [JAN_6, JAN_7, JAN_8]


def test_a_schedule_change_keeps_the_exdates_that_are_still_occurrences(api_client):
    maintenance = create(api_client, exdates=[JAN_7])

    longer = patch(api_client, maintenance["id"], rrule="FREQ=DAILY;COUNT=5")
    assert longer.json()["maintenance"]["exdates"] == [JAN_7]
    assert starts(api_client, maintenance["id"]) == [JAN_6, JAN_8] + [
        ts(2026, 1, day, 2, 0) for day in (9, 10)
    ]

    later = patch(api_client, maintenance["id"], start_date_time=ts(2026, 1, 6, 3, 0))
    assert later.json()["maintenance"]["exdates"] == []  # 02:00 is no longer an occurrence


def test_exdates_given_with_a_new_rule_are_checked_against_the_new_rule(api_client):
    maintenance = create(api_client)

    response = patch(api_client, maintenance["id"], rrule="FREQ=WEEKLY;COUNT=3", exdates=[JAN_7])

    assert "exdates[0]" in error(response, 400)["details"]
    ok = patch(
        api_client, maintenance["id"], rrule="FREQ=WEEKLY;COUNT=3", exdates=[ts(2026, 1, 13, 2)]
    )
    assert ok.status_code == 200
    assert starts(api_client, maintenance["id"]) == [JAN_6, ts(2026, 1, 20, 2)]


def test_the_preview_leaves_the_exdates_out(api_client):
    response = api_client.post(
        "/api/v4/maintenances/preview",
        {
            "start_date_time": JAN_6,
            "rrule": "FREQ=DAILY",
            "duration_seconds": 600,
            "limit": 3,
            "exdates": [JAN_7],
        },
        format="json",
    )

    assert response.status_code == 200
    result = response.json()
    assert [o["start_date_time"] for o in result["occurrences"]] == [
        JAN_6,
        JAN_8,
        ts(2026, 1, 9, 2, 0),
    ]
    assert result["exdates"] == [JAN_7]


def test_the_preview_names_a_bad_exdate(api_client):
    response = api_client.post(
        "/api/v4/maintenances/preview",
        {"start_date_time": JAN_6, "rrule": "FREQ=DAILY", "duration_seconds": 600, "exdates": [1]},
        format="json",
    )

    assert "exdates[0]" in error(response, 400)["details"]


# --- extra events ------------------------------------------------------------------------------


def add(client, maintenance_id, start, end):
    return client.post(
        url(maintenance_id, "/events"),
        {"start_date_time": start, "end_date_time": end},
        format="json",
    )


def test_it_adds_an_extra_event_beside_the_rule(api_client):
    maintenance = create(api_client)
    start = ts(2026, 1, 6, 20, 0)

    response = add(api_client, maintenance["id"], start + 59, start + 1800)

    assert response.status_code == 201
    event = response.json()["event"]
    assert (event["start_date_time"], event["end_date_time"]) == (start, start + 1800)
    assert event["status"] == "SCHEDULED"
    assert event["maintenance_id"] == maintenance["id"]
    assert starts(api_client, maintenance["id"]) == [JAN_6, start, JAN_7, JAN_8]
    events_extend_horizon(now=NOW)
    assert len(events_of(api_client, maintenance["id"])) == 4


def test_an_extra_event_starting_a_moment_ago_is_ongoing(api_client):
    maintenance = create(api_client)
    start = int(NOW.timestamp()) - 240

    event = add(api_client, maintenance["id"], start, start + 3600).json()["event"]

    assert event["status"] == "ONGOING"


@pytest.mark.parametrize(
    ("start", "end", "field", "words"),
    [
        (ts(2026, 1, 6, 20), ts(2026, 1, 6, 20), "end_date_time", "greater than start_date_time"),
        (ts(2026, 1, 6, 20), ts(2027, 1, 8, 20), "end_date_time", "at most 366 days"),
        (int(NOW.timestamp()) - 360, int(NOW.timestamp()), "start_date_time", "5 minutes"),
        (JAN_7, JAN_7 + 60, "start_date_time", "already has an event starting at"),
        ("soon", JAN_7, "start_date_time", "must be an integer"),
    ],
)
def test_it_refuses_a_bad_extra_event(api_client, start, end, field, words):
    maintenance = create(api_client)

    problem = error(add(api_client, maintenance["id"], start, end), 400)

    assert field in problem["details"]
    assert words in problem["message"]
    assert len(events_of(api_client, maintenance["id"])) == 3


def test_it_refuses_an_occurrence_of_the_rule_beyond_the_horizon(api_client):
    maintenance = create(api_client, rrule="FREQ=DAILY")
    later = JAN_6 + 120 * 86400  # no event yet: the horizon is 90 days

    problem = error(add(api_client, maintenance["id"], later, later + 60), 400)

    assert problem["message"] == (
        f"start_date_time: {later} is an occurrence of the rule, which has (or will have) "
        "its own event"
    )


def test_it_refuses_two_extra_events_at_one_start(api_client):
    maintenance = create(api_client)
    start = ts(2026, 1, 6, 20, 0)
    assert add(api_client, maintenance["id"], start, start + 600).status_code == 201

    problem = error(add(api_client, maintenance["id"], start, start + 1200), 400)

    assert problem["message"] == (
        f"start_date_time: the maintenance already has an event starting at {start}"
    )


def test_it_refuses_a_start_an_edited_event_holds(api_client):
    maintenance = create(api_client)
    first = events_of(api_client, maintenance["id"])[0]
    moved = ts(2026, 1, 6, 5, 0)
    api_client.patch(
        url(maintenance["id"], f"/events/{first['id']}"),
        {"start_date_time": moved, "end_date_time": moved + 600},
        format="json",
    )

    assert error(add(api_client, maintenance["id"], moved, moved + 60), 400)["details"] == {
        "start_date_time": [
            f"start_date_time: the maintenance already has an event starting at {moved}"
        ]
    }


def test_an_extra_event_may_take_the_place_of_an_exdate(api_client):
    maintenance = create(api_client, exdates=[JAN_7])

    response = add(api_client, maintenance["id"], JAN_7, JAN_7 + 7200)

    assert response.status_code == 201
    assert [e["end_date_time"] for e in events_of(api_client, maintenance["id"])][1] == (
        JAN_7 + 7200
    )


def test_a_schedule_change_keeps_extra_events(api_client):
    maintenance = create(api_client)
    start = ts(2026, 1, 6, 20, 0)
    add(api_client, maintenance["id"], start, start + 600)

    patch(api_client, maintenance["id"], rrule="FREQ=WEEKLY;COUNT=2")

    assert starts(api_client, maintenance["id"]) == [JAN_6, start, ts(2026, 1, 13, 2, 0)]


def test_it_refuses_an_extra_event_on_an_inactive_maintenance(api_client):
    maintenance = create(api_client, status="INACTIVE")

    problem = error(add(api_client, maintenance["id"], JAN_6 + 3600, JAN_6 + 7200), 400)

    assert "INACTIVE" in problem["message"]
    assert not MaintenanceEvent.objects.exists()


def test_adding_needs_a_read_write_key_and_a_known_maintenance(api_client, read_only_client):
    maintenance = create(api_client)

    assert add(read_only_client, maintenance["id"], JAN_6 + 3600, JAN_6 + 7200).status_code == 403
    assert add(api_client, 999, JAN_6 + 3600, JAN_6 + 7200).status_code == 404
    assert error(
        api_client.post(
            url(maintenance["id"], "/events"), {"start_date_time": JAN_6}, format="json"
        ),
        400,
    )["details"] == {"end_date_time": ["end_date_time is required"]}


# --- an ONGOING event's end alone --------------------------------------------------------------


def event_patch(client, maintenance_id, event_id, **fields):
    return client.patch(url(maintenance_id, f"/events/{event_id}"), fields, format="json")


def test_an_ongoing_event_is_extended_by_its_end_alone(api_client, frozen):
    maintenance = create(api_client)
    first = events_of(api_client, maintenance["id"])[0]
    frozen.move_to(NOW + timedelta(hours=14, minutes=30))  # 6 January 02:30
    events_advance_statuses(now=NOW + timedelta(hours=14, minutes=30))

    response = event_patch(api_client, maintenance["id"], first["id"], end_date_time=JAN_6 + 7200)

    assert response.status_code == 200
    event = response.json()["event"]
    assert (event["start_date_time"], event["end_date_time"]) == (JAN_6, JAN_6 + 7200)
    assert event["status"] == "ONGOING"
    # At the old end it is still under way; at the new one it completes.
    assert events_advance_statuses(now=NOW + timedelta(hours=15, minutes=30))["COMPLETED"] == []
    done = events_advance_statuses(now=NOW + timedelta(hours=16))
    assert done["COMPLETED"] == [first["id"]]


def test_an_ongoing_event_is_shortened_but_not_into_the_past(api_client, frozen):
    maintenance = create(api_client)
    first = events_of(api_client, maintenance["id"])[0]
    frozen.move_to(NOW + timedelta(hours=14, minutes=30, seconds=20))  # 02:30:20

    past = event_patch(api_client, maintenance["id"], first["id"], end_date_time=JAN_6 + 1830)
    problem = error(past, 400)  # floored to 02:30:00, which is past
    assert problem["details"] == {
        "end_date_time": [
            'end_date_time must be in the future; to end the event now, PATCH {"status": '
            '"COMPLETED"}'
        ]
    }

    shorter = event_patch(api_client, maintenance["id"], first["id"], end_date_time=JAN_6 + 1860)
    assert shorter.json()["event"]["end_date_time"] == JAN_6 + 1860


def test_an_event_that_is_not_ongoing_needs_both_times(api_client):
    maintenance = create(api_client)
    first = events_of(api_client, maintenance["id"])[0]

    response = event_patch(api_client, maintenance["id"], first["id"], end_date_time=JAN_6 + 7200)

    assert error(response, 400)["details"] == {
        "start_date_time": ["start_date_time is required with end_date_time"]
    }
    assert events_of(api_client, maintenance["id"])[0]["end_date_time"] == JAN_6 + 3600


@pytest.mark.parametrize(
    ("language", "message"),
    [
        # No header: Kener's clients get the English text, byte for byte as before.
        (None, f"exdates[1]: {JAN_7 + 60} (2026-01-07T02:01:00Z) is not an occurrence of the rule"),
        ("es", f"exdates[1]: {JAN_7 + 60} (2026-01-07T02:01:00Z) no es una ocurrencia de la regla"),
    ],
)
def test_a_service_refusal_speaks_the_language_asked_for(api_client, language, message):
    headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    response = api_client.post(
        "/api/v4/maintenances",
        {
            "title": "t",
            "start_date_time": JAN_6,
            "rrule": "FREQ=DAILY;COUNT=3",
            "duration_seconds": 3600,
            "exdates": [JAN_6, JAN_7 + 60],
        },
        format="json",
        **headers,
    )

    problem = error(response, 400)
    assert problem["message"] == message
    assert problem["details"] == {"exdates[1]": [message]}  # field names never change
