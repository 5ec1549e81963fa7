"""The iCalendar feeds: /api/v4/maintenances/events.ics and /api/v4/maintenances/{id}/events.ics.

Every feed is parsed back with `icalendar` and checked against RFC 5545 (`check_rfc5545`).
"""

from datetime import timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from core.models import ApiKey
from scheduling.feeds import FEED_MAX_EVENTS
from scheduling.models import MaintenanceEvent, Monitor
from tests.scheduling.conftest import body, create, error, events_of, ts
from tests.scheduling.ical import check_rfc5545, utc, vevents

pytestmark = pytest.mark.usefixtures("frozen")

FEED = "/api/v4/maintenances/events.ics"


def feed_of(client, url: str = FEED, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response


def raw_key(*, read_only: bool) -> str:
    return ApiKey.objects.create_key(name="calendar", read_only=read_only)[1]


def event_url(maintenance_id: int, event_id: int) -> str:
    return f"/api/v4/maintenances/{maintenance_id}/events/{event_id}"


# --- the feed ----------------------------------------------------------------------------------


def test_it_serves_one_vevent_per_event_as_valid_icalendar(api_client, monitors):
    create(
        api_client,
        title="Database upgrade",
        description="Failover to the replica first.",
        monitors=[{"monitor_tag": "api", "impact": "DEGRADED"}, {"monitor_tag": "db"}],
    )
    create(api_client, title="Edge patch", rrule="FREQ=DAILY;COUNT=2", timezone="Europe/Berlin")

    response = feed_of(api_client)

    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["ETag"].startswith('"')
    found = vevents(response.content)
    assert len(found) == 5 == MaintenanceEvent.objects.count()
    upgrade = sorted(
        (e for e in found.values() if e["summary"] == "Database upgrade"), key=lambda e: e["start"]
    )
    assert [(e["start"], e["end"]) for e in upgrade] == [
        (utc(2026, 1, day, 2), utc(2026, 1, day, 3)) for day in (6, 7, 8)
    ]
    first = upgrade[0]
    assert (first["sequence"], first["status"], first["tzid"]) == (0, "CONFIRMED", None)
    assert "Failover to the replica first." in first["description"]
    assert "Impact: MAINTENANCE" in first["description"]  # the worst of DEGRADED, MAINTENANCE
    assert "Monitors: api (DEGRADED), db (MAINTENANCE)" in first["description"]
    edge = [e for e in found.values() if e["summary"] == "Edge patch"]
    assert {e["tzid"] for e in edge} == {"Europe/Berlin"}
    assert {e["wall"].hour for e in edge} == {3}  # 02:00 UTC is 03:00 in Berlin in winter


def test_uids_come_from_the_occurrence_and_are_unique_across_maintenances(api_client):
    first = create(api_client)
    second = create(api_client)

    uids = set(vevents(feed_of(api_client).content))

    assert f"maintenance-{first['id']}-20260106T020000Z@maintenance-windows" in uids
    assert f"maintenance-{second['id']}-20260106T020000Z@maintenance-windows" in uids
    assert len(uids) == 6


def test_a_window_across_the_october_dst_change_keeps_its_berlin_wall_time(api_client):
    with time_machine.travel("2026-10-20T12:00:00Z", tick=False):
        create(
            api_client,
            title="Nightly backup",
            start_date_time=ts(2026, 10, 24, 1, 30, tz="Europe/Berlin"),
            rrule="FREQ=DAILY;COUNT=3",
            duration_seconds=2 * 3600,
            timezone="Europe/Berlin",
        )
        content = feed_of(api_client).content

    found = sorted(vevents(content).values(), key=lambda e: e["start"])
    assert [e["wall"].hour * 60 + e["wall"].minute for e in found] == [90, 90, 90]
    assert [e["start"] for e in found] == [
        utc(2026, 10, 23, 23, 30),  # CEST, UTC+2
        utc(2026, 10, 24, 23, 30),  # 01:30 on the 25th is still CEST
        utc(2026, 10, 26, 0, 30),  # CET, UTC+1
    ]
    # Two real hours each, the one across the change included (01:30 CEST → 02:30 CET).
    assert [e["end"] - e["start"] for e in found] == [timedelta(hours=2)] * 3
    text = content.decode()
    assert "DTSTART;TZID=Europe/Berlin:20261025T013000" in text
    # 02:30 CET: Berlin's wall clock shows 02:30 twice that night and RFC 5545 reads a local
    # 02:30 as the first (CEST), so this end can only be written in UTC.
    assert "DTEND:20261025T013000Z" in text
    assert "DTEND;TZID=Europe/Berlin:20261024T033000" in text
    assert "20261025T030000" in text  # the VTIMEZONE's change back to CET that year
    assert "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100" in text


def test_a_cancelled_event_is_status_cancelled_with_a_higher_sequence(api_client, frozen):
    maintenance = create(api_client)
    event = events_of(api_client, maintenance["id"])[0]
    frozen.shift(60)

    api_client.patch(
        event_url(maintenance["id"], event["id"]), {"status": "CANCELLED"}, format="json"
    )

    by_status = {}
    for vevent in vevents(feed_of(api_client).content).values():
        by_status.setdefault(vevent["status"], []).append(vevent)
    assert [e["sequence"] for e in by_status["CANCELLED"]] == [1]
    assert by_status["CANCELLED"][0]["start"] == utc(2026, 1, 6, 2)
    assert len(by_status["CONFIRMED"]) == 2


# --- subscribing ---------------------------------------------------------------------------------


def test_a_subscriber_sees_a_moved_event_update_in_place(api_client, frozen):
    maintenance = create(api_client)
    first = feed_of(api_client)
    before = vevents(first.content)
    event = events_of(api_client, maintenance["id"])[1]
    frozen.shift(60)

    api_client.patch(
        event_url(maintenance["id"], event["id"]),
        {"start_date_time": ts(2026, 1, 7, 5, 0), "end_date_time": ts(2026, 1, 7, 7, 0)},
        format="json",
    )
    second = api_client.get(FEED, HTTP_IF_NONE_MATCH=first["ETag"])

    assert second.status_code == 200
    assert second["ETag"] != first["ETag"]
    after = vevents(second.content)
    assert set(after) == set(before)  # the same UIDs: updated in place, not duplicated
    (moved_uid,) = [uid for uid in after if after[uid] != before[uid]]
    assert moved_uid.endswith("-20260107T020000Z@maintenance-windows")  # the occurrence's
    assert after[moved_uid]["sequence"] > before[moved_uid]["sequence"]
    assert (after[moved_uid]["start"], after[moved_uid]["end"]) == (
        utc(2026, 1, 7, 5),
        utc(2026, 1, 7, 7),
    )
    third = api_client.get(FEED, HTTP_IF_NONE_MATCH=second["ETag"])
    assert third.status_code == 304
    assert third.content == b""
    assert third["ETag"] == second["ETag"]


def test_a_schedule_change_keeps_the_uid_of_an_occurrence_and_raises_its_sequence(
    api_client, frozen
):
    maintenance = create(api_client)
    event = events_of(api_client, maintenance["id"])[0]
    api_client.patch(
        event_url(maintenance["id"], event["id"]),
        {"start_date_time": ts(2026, 1, 6, 4, 0), "end_date_time": ts(2026, 1, 6, 5, 0)},
        format="json",
    )
    before = vevents(feed_of(api_client).content)
    frozen.shift(60)

    changed = api_client.patch(
        f"/api/v4/maintenances/{maintenance['id']}", {"duration_seconds": 7200}, format="json"
    )
    assert changed.status_code == 200

    after = vevents(feed_of(api_client).content)
    assert set(after) == set(before)
    for uid, vevent in after.items():
        assert vevent["sequence"] > before[uid]["sequence"]
        assert vevent["end"] - vevent["start"] == timedelta(hours=2)


def test_nothing_changed_is_a_304_and_every_change_a_new_etag(api_client, monitors, frozen):
    maintenance = create(api_client, monitors=[{"monitor_tag": "api"}])
    etags = [feed_of(api_client)["ETag"]]
    assert api_client.get(FEED, HTTP_IF_NONE_MATCH=etags[0]).status_code == 304
    assert api_client.get(FEED, HTTP_IF_NONE_MATCH=f'"other", {etags[0]}').status_code == 304
    assert api_client.get(FEED, HTTP_IF_NONE_MATCH='"other"').status_code == 200

    changes = [
        lambda: api_client.patch(
            f"/api/v4/maintenances/{maintenance['id']}", {"title": "Renamed"}, format="json"
        ),
        lambda: api_client.patch("/api/v4/monitors/api", {"name": "Public API"}, format="json"),
        lambda: api_client.patch(
            f"/api/v4/maintenances/{maintenance['id']}",
            {"monitors": [{"monitor_tag": "api", "impact": "DOWN"}]},
            format="json",
        ),
        lambda: api_client.delete(
            event_url(maintenance["id"], events_of(api_client, maintenance["id"])[0]["id"])
        ),
        lambda: api_client.post("/api/v4/maintenances", body(), format="json"),
    ]
    for change in changes:
        frozen.shift(60)
        assert change().status_code in (200, 201)
        response = api_client.get(FEED, HTTP_IF_NONE_MATCH=etags[-1])
        assert response.status_code == 200
        etags.append(response["ETag"])
    assert len(set(etags)) == len(etags)


def test_events_leave_the_default_feed_thirty_days_after_they_end(api_client, frozen):
    create(api_client, rrule="FREQ=DAILY;COUNT=1")
    frozen.move_to("2026-02-04T12:00:00Z")  # 29 days after the end
    assert len(vevents(feed_of(api_client).content)) == 1

    frozen.move_to("2026-02-06T12:00:00Z")
    assert vevents(feed_of(api_client).content) == {}
    assert len(vevents(feed_of(api_client, event_start_date_time=ts(2026, 1, 1)).content)) == 1


# --- filters, as in the JSON list ----------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"monitors": "db,web"},
        {"event_status": "ongoing"},
        {"event_status": "SCHEDULED", "monitors": "api"},
        {"event_start_date_time": ts(2026, 1, 7, 0, 0)},
        {"maintenance_id": "first"},
    ],
)
def test_the_feed_holds_the_events_the_json_list_holds(api_client, monitors, frozen, params):
    first = create(api_client, monitors=[{"monitor_tag": "api"}], rrule="FREQ=DAILY;COUNT=4")
    create(api_client, monitors=[{"monitor_tag": "db"}], start_date_time=ts(2026, 1, 5, 11, 30))
    create(api_client, monitors=[{"monitor_tag": "web"}, {"monitor_tag": "api"}])
    if params.get("maintenance_id") == "first":
        params = {"maintenance_id": first["id"]}

    rows = api_client.get("/api/v4/maintenances/events", {**params, "limit": 100}).json()["events"]
    found = vevents(feed_of(api_client, **params).content)

    occurrences = [MaintenanceEvent.objects.get(pk=row["event_id"]).occurrence for row in rows]
    assert rows
    assert sorted(found) == sorted(
        f"maintenance-{row['maintenance_id']}-{occurrence:%Y%m%dT%H%M%SZ}@maintenance-windows"
        for row, occurrence in zip(rows, occurrences, strict=True)
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"event_status": "LATER"}, "event_status"),
        ({"event_start_date_time": "soon"}, "event_start_date_time"),
        ({"event_start_date_time": "99999999999"}, "event_start_date_time"),
        ({"maintenance_id": "0"}, "maintenance_id"),
    ],
)
def test_a_bad_filter_is_a_json_400_naming_it(api_client, params, field):
    response = api_client.get(FEED, params, HTTP_ACCEPT="text/calendar")

    problem = error(response, 400)
    assert response["Content-Type"] == "application/json"
    assert field in problem["details"]
    assert field in problem["message"] or field in str(problem["details"])


def test_the_feed_reads_in_a_constant_number_of_queries(
    api_client, monitors, django_assert_max_num_queries
):
    for _ in range(20):
        create(
            api_client,
            rrule="FREQ=DAILY;COUNT=5",
            timezone="America/New_York",
            monitors=[{"monitor_tag": "api"}, {"monitor_tag": "db", "impact": "DOWN"}],
        )
    # key, ETag aggregate, events + maintenances, links + monitors
    with django_assert_max_num_queries(4):
        response = api_client.get(FEED)
    assert len(vevents(response.content)) == 100
    with django_assert_max_num_queries(2):  # key, ETag aggregate
        assert api_client.get(FEED, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


def test_the_feed_is_bounded(api_client, settings, monkeypatch):
    monkeypatch.setattr("scheduling.feeds.FEED_MAX_EVENTS", 4)
    create(api_client, rrule="FREQ=DAILY;COUNT=6")

    found = vevents(feed_of(api_client).content)

    assert sorted(e["start"] for e in found.values()) == [
        utc(2026, 1, day, 2) for day in range(6, 10)
    ]
    assert FEED_MAX_EVENTS == 5000


# --- one maintenance -----------------------------------------------------------------------------


def test_a_maintenance_feed_holds_its_own_events_only(api_client):
    mine = create(api_client, title="Mine", rrule="FREQ=DAILY;COUNT=2")
    create(api_client, title="Other")

    response = feed_of(api_client, f"/api/v4/maintenances/{mine['id']}/events.ics")

    found = vevents(response.content)
    assert {e["summary"] for e in found.values()} == {"Mine"}
    assert len(found) == 2
    assert b"X-WR-CALNAME:Maintenance windows: Mine" in response.content
    scheduled = feed_of(
        api_client, f"/api/v4/maintenances/{mine['id']}/events.ics", event_status="scheduled"
    )
    assert len(vevents(scheduled.content)) == 2


@pytest.mark.parametrize("maintenance_id", ["999", "abc", "1.ics"])
def test_an_unknown_maintenance_feed_is_the_specs_404(api_client, maintenance_id):
    response = api_client.get(f"/api/v4/maintenances/{maintenance_id}/events.ics")

    assert error(response, 404)["message"] == f"Maintenance with id '{maintenance_id}' not found"


# --- who may read it -----------------------------------------------------------------------------


def test_a_calendar_app_subscribes_with_a_read_only_key_in_the_url(db):
    maintenance_id = create(_writer())["id"]
    key = raw_key(read_only=True)
    app = APIClient()

    for url in (FEED, f"/api/v4/maintenances/{maintenance_id}/events.ics"):
        response = app.get(url, {"token": key}, HTTP_ACCEPT="text/calendar")
        assert response.status_code == 200
        assert len(vevents(response.content)) == 3
        assert response["Cache-Control"] == "private, no-cache"


def test_a_read_write_key_in_the_url_is_refused(db):
    create(_writer())
    response = APIClient().get(FEED, {"token": raw_key(read_only=False)})

    problem = error(response, 403)
    assert problem["code"] == "FORBIDDEN"
    assert "read-write API key may not be sent in a URL" in problem["message"]
    assert "read-only key" in problem["message"]


def test_a_bad_key_or_none_is_a_401(db):
    anonymous = APIClient()
    assert error(anonymous.get(FEED), 401)["message"] == "Missing or invalid authorization header"
    assert error(anonymous.get(FEED, {"token": "nope"}), 401)["message"] == "Invalid API key"
    assert error(anonymous.get("/api/v4/maintenances/1/events.ics"), 401)


def test_a_revoked_read_only_key_in_the_url_is_a_401(db):
    api_key, key = ApiKey.objects.create_key(name="calendar", read_only=True)
    api_key.revoked = True
    api_key.save()

    assert error(APIClient().get(FEED, {"token": key}), 401)["message"] == "Invalid API key"


def test_the_url_token_opens_the_feeds_only(db):
    key = raw_key(read_only=True)

    for url in ("/api/v4/maintenances", "/api/v4/maintenances/events", "/api/v4/monitors"):
        assert error(APIClient().get(url, {"token": key}), 401)


def test_the_header_and_a_staff_session_work_too(read_only_client, staff_client):
    create(_writer())

    assert len(vevents(feed_of(read_only_client).content)) == 3
    assert len(vevents(feed_of(staff_client).content)) == 3


def test_writes_are_not_allowed(api_client):
    response = api_client.post(FEED, {}, format="json")

    assert error(response, 405)["code"] == "METHOD_NOT_ALLOWED"


def _writer() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key(read_only=False)}")
    return client


def test_monitor_names_and_tags_in_the_feed_are_escaped(api_client):
    Monitor.objects.create(tag="eu-1", name="EU; edge, west")
    create(api_client, title="Patch, then reboot; check", monitors=[{"monitor_tag": "eu-1"}])

    content = feed_of(api_client).content

    assert b"SUMMARY:Patch\\, then reboot\\; check" in content
    found = vevents(content)
    assert {e["summary"] for e in found.values()} == {"Patch, then reboot; check"}
    check_rfc5545(content)


def test_a_format_parameter_is_ignored(api_client):
    create(api_client)

    response = api_client.get(FEED, {"format": "json"})

    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert len(vevents(response.content)) == 3
    assert api_client.get(FEED, {"format": "AAA"}).status_code == 200


def test_the_feeds_are_in_the_openapi_schema_as_text_calendar(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()

    for path in (
        "/api/v4/maintenances/events.ics",
        "/api/v4/maintenances/{maintenance_id}/events.ics",
    ):
        operation = schema["paths"][path]["get"]
        assert set(operation["responses"]["200"]["content"]) == {"text/calendar"}
        assert {"304", "400", "401", "403"} <= set(operation["responses"])
        assert {"readOnlyKeyInQuery": []} in operation["security"]
        names = {p["name"] for p in operation.get("parameters", [])}
        assert "format" not in names
        assert {"event_status", "event_start_date_time", "monitors"} <= names
    assert "{maintenance_id}" in path and "404" in operation["responses"]
    assert schema["components"]["securitySchemes"]["readOnlyKeyInQuery"]["in"] == "query"


def test_the_etag_holds_while_only_the_clock_moves(api_client, frozen):
    create(api_client)
    etag = feed_of(api_client)["ETag"]

    frozen.shift(600)

    assert api_client.get(FEED, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_an_event_ended_early_gets_its_new_end_and_a_higher_sequence(api_client, frozen):
    completed = create(
        api_client, start_date_time=ts(2026, 1, 5, 11, 30), rrule="FREQ=DAILY;COUNT=1"
    )
    deactivated = create(
        api_client, start_date_time=ts(2026, 1, 5, 11, 45), rrule="FREQ=DAILY;COUNT=1"
    )
    before = vevents(feed_of(api_client).content)
    frozen.shift(60)
    event = events_of(api_client, completed["id"])[0]
    api_client.patch(
        event_url(completed["id"], event["id"]), {"status": "COMPLETED"}, format="json"
    )
    api_client.patch(
        f"/api/v4/maintenances/{deactivated['id']}", {"status": "INACTIVE"}, format="json"
    )

    after = vevents(feed_of(api_client).content)

    assert set(after) == set(before)
    for uid, vevent in after.items():
        assert vevent["sequence"] == before[uid]["sequence"] + 1
        assert vevent["end"] == utc(2026, 1, 5, 12, 1)
        assert vevent["status"] == "CONFIRMED"
