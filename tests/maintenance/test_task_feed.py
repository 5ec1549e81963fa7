"""A technician's calendar: `GET /api/v1/maintenance/tasks.ics`, parsed back with icalendar."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from core.models import ApiKey
from tests.maintenance.conftest import BASE, at

FEED = f"{BASE}/tasks.ics"


@pytest.fixture
def berlin_tasks(api_client, make_plan, make_technician, make_asset, clock):
    """A plan at 08:00 Europe/Berlin assigned to Ada; tasks due before and after the
    2026-03-29 spring change, and one of another technician's."""
    ada, bob = make_technician(name="Ada"), make_technician(name="Bob")
    asset = make_asset(name="pump")
    plan = make_plan(
        assignee_id=ada["id"],
        asset_ids=[asset["id"]],
        task={"title": "Grease", "estimated_duration_minutes": 45},
        calendar={
            "every": 1,
            "unit": "week",
            "start_at": "2026-03-22T08:00:00+01:00",
            "timezone": "Europe/Berlin",
        },
    )
    other = make_plan(assignee_id=bob["id"])
    from django.utils import timezone

    from maintenance import services

    clock.move_to(at("2026-03-22 07:00"))
    services.plans_execute_due(now=timezone.now())
    clock.move_to(at("2026-03-29 06:00"))
    services.plans_execute_due(now=timezone.now())
    api_client.post(f"{BASE}/plans/{other['id']}/execute")
    return {"ada": ada, "bob": bob, "plan": plan}


def events(response) -> list:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content).walk("VEVENT")


def test_it_lists_a_technicians_open_tasks_at_their_wall_time_across_dst(api_client, berlin_tasks):
    response = api_client.get(FEED, {"assignee": berlin_tasks["ada"]["id"]})
    vevents = events(response)
    assert len(vevents) == 2
    berlin = ZoneInfo("Europe/Berlin")
    starts = [event.decoded("dtstart") for event in vevents]
    assert [s.astimezone(berlin).hour for s in starts] == [8, 8]  # 08:00 before and after
    assert [s.astimezone(UTC) for s in starts] == [
        datetime(2026, 3, 22, 7, tzinfo=UTC),
        datetime(2026, 3, 29, 6, tzinfo=UTC),
    ]
    assert "TZID=Europe/Berlin" in response.content.decode()
    first = vevents[0]
    assert (first.decoded("dtend") - first.decoded("dtstart")).total_seconds() == 45 * 60
    assert str(first["summary"]).endswith("· Grease")
    assert str(first["uid"]).startswith("task_")
    assert "pump" in str(first["description"])


def test_its_uids_are_stable_and_closed_tasks_leave(api_client, berlin_tasks):
    ada = berlin_tasks["ada"]["id"]
    before = {str(e["uid"]) for e in events(api_client.get(FEED, {"assignee": ada}))}
    task_id = next(iter(before)).split("@")[0]
    api_client.post(f"{BASE}/tasks/{task_id}/complete", {}, format="json")
    after = {str(e["uid"]) for e in events(api_client.get(FEED, {"assignee": ada}))}
    assert after == before - {f"{task_id}@maintenance-tasks"}


def test_it_answers_304_to_the_current_etag(
    api_client, berlin_tasks, clock, django_assert_max_num_queries
):
    ada = berlin_tasks["ada"]["id"]
    response = api_client.get(FEED, {"assignee": ada})
    etag = response["ETag"]
    with django_assert_max_num_queries(4):
        again = api_client.get(FEED, {"assignee": ada}, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    task_id = str(events(response)[0]["uid"]).split("@")[0]
    clock.move_to(at("2026-03-29 07:00"))
    api_client.patch(f"{BASE}/tasks/{task_id}", {"notes": "moved"}, format="json")
    assert api_client.get(FEED, {"assignee": ada}, HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_it_costs_a_fixed_number_of_queries(
    api_client, berlin_tasks, make_plan, django_assert_max_num_queries
):
    for _ in range(5):
        plan = make_plan(assignee_id=berlin_tasks["ada"]["id"])
        api_client.post(f"{BASE}/plans/{plan['id']}/execute")
    with django_assert_max_num_queries(8):
        assert len(events(api_client.get(FEED, {"assignee": berlin_tasks["ada"]["id"]}))) == 7


def test_it_takes_a_read_only_key_in_the_url_only(client, berlin_tasks):
    _, read_only = ApiKey.objects.create_key(name="calendar", read_only=True)
    _, read_write = ApiKey.objects.create_key(name="writer")
    ada = berlin_tasks["ada"]["id"]
    assert len(events(client.get(FEED, {"assignee": ada, "token": read_only}))) == 2
    refused = client.get(FEED, {"assignee": ada, "token": read_write})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"]
    assert client.get(FEED, {"assignee": ada}).status_code == 401
    header = client.get(FEED, {"assignee": ada}, HTTP_AUTHORIZATION=f"Bearer {read_write}")
    assert header.status_code == 200


def test_it_names_an_unknown_technician(api_client, db):
    response = api_client.get(FEED, {"assignee": "tech_nope"})
    assert response.status_code == 400
    assert "assignee" in response.json()["error"]["details"]


def test_it_is_in_the_schema(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/maintenance/tasks.ics"]["get"]
    assert "text/calendar" in operation["responses"]["200"]["content"]
    assert {p["name"] for p in operation["parameters"]} >= {"assignee"}
