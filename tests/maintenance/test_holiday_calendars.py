"""Holiday calendars: CRUD with dates, .ics import, and the working-day shift of a plan's
scheduled tasks (frozen clock, DST in Europe/Madrid)."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.audit import records_for
from maintenance import services
from maintenance.models import HolidayCalendar
from tests.maintenance.conftest import BASE, COUNTER_PLAN, at

CALENDARS = f"{BASE}/calendars"


def make_calendar(api_client, **body) -> dict:
    response = api_client.post(CALENDARS, {"name": "Spain", **body}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def run_scheduler() -> int:
    return services.plans_execute_due(now=timezone.now())


def tasks_of(api_client, plan_id: str) -> list[dict]:
    return api_client.get(f"{BASE}/tasks", {"plan_id": plan_id, "limit": 100}).json()["items"]


# --- CRUD --------------------------------------------------------------------------------------


def test_it_creates_reads_replaces_and_deletes_a_calendar(api_client, clock):
    created = make_calendar(
        api_client,
        timezone="Europe/Madrid",
        weekends=True,
        dates=[{"date": "2026-12-25", "name": "Navidad"}, {"date": "2026-01-06"}],
    )
    assert created["id"].startswith("hcal_")
    assert created["timezone"] == "Europe/Madrid"
    assert created["weekends"] is True
    assert created["dates"] == [
        {"date": "2026-01-06", "name": ""},
        {"date": "2026-12-25", "name": "Navidad"},
    ]
    url = f"{CALENDARS}/{created['id']}"
    assert api_client.get(url).json() == created

    replaced = api_client.put(
        url, {**created, "timezone": None, "dates": [{"date": "2026-05-01"}]}, format="json"
    )
    assert replaced.status_code == 200, replaced.json()
    assert replaced.json()["timezone"] is None
    assert replaced.json()["dates"] == [{"date": "2026-05-01", "name": ""}]
    calendar = HolidayCalendar.objects.get(pk=created["id"])
    actions = [record.action for record in records_for(calendar)]
    assert len(actions) == 2

    assert api_client.delete(url).status_code == 204
    assert api_client.get(url).status_code == 404


def test_it_lists_calendars_in_constant_queries(api_client, clock, django_assert_max_num_queries):
    for index in range(5):
        make_calendar(api_client, name=f"c{index}", dates=[{"date": f"2026-01-0{index + 1}"}])
    with django_assert_max_num_queries(8):
        body = api_client.get(CALENDARS).json()
    assert body["total"] == 5
    assert [len(item["dates"]) for item in body["items"]] == [1] * 5


def test_it_refuses_bad_calendars_naming_the_field(api_client, clock):
    make_calendar(api_client)
    cases = [
        ({"name": "Spain"}, "name"),
        ({"name": "x", "timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "x", "dates": [{"date": "2026-02-30"}]}, "dates"),
        ({"name": "x", "dates": [{"date": "2026-01-01"}, {"date": "2026-01-01"}]}, "dates"),
        ({"name": "x", "weekends": "yes"}, "weekends"),
        ({"name": "x" * 256}, "name"),
        ({"name": "x", "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        response = api_client.post(CALENDARS, body, format="json")
        assert response.status_code == 400, (body, response.json())
        assert any(key.startswith(field) for key in response.json()["error"]["details"]), (
            body,
            response.json(),
        )


def test_a_calendar_a_plan_names_cannot_be_deleted(api_client, make_plan, clock):
    calendar = make_calendar(api_client)
    make_plan(holiday_calendar_id=calendar["id"])
    response = api_client.delete(f"{CALENDARS}/{calendar['id']}")
    assert response.status_code == 409
    assert "used by plans" in response.json()["error"]["message"]


def test_a_plan_naming_an_unknown_calendar_is_400(api_client, clock):
    from tests.maintenance.conftest import CALENDAR_PLAN

    response = api_client.post(
        f"{BASE}/plans", {**CALENDAR_PLAN, "holiday_calendar_id": "hcal_nope"}, format="json"
    )
    assert response.status_code == 400
    assert "holiday_calendar_id" in response.json()["error"]["details"]


def test_a_read_only_key_cannot_write_calendars(read_only_client, clock):
    assert read_only_client.get(CALENDARS).status_code == 200
    assert read_only_client.post(CALENDARS, {"name": "x"}, format="json").status_code == 403


# --- the shift ---------------------------------------------------------------------------------


def test_a_task_due_on_a_holiday_is_due_the_next_working_day(api_client, make_plan, clock):
    calendar = make_calendar(api_client, dates=[{"date": "2026-03-02", "name": "Fiesta"}])
    plan = make_plan(holiday_calendar_id=calendar["id"])  # daily 08:00 UTC from 2026-03-02
    assert plan["holiday_calendar_id"] == calendar["id"]
    preview = api_client.get(f"{BASE}/plans/{plan['id']}/preview").json()
    assert preview["task"]["due_at"] == "2026-03-03T08:00:00Z"
    assert preview["next_due_at"] == "2026-03-02T08:00:00Z"  # the rule's occurrence

    clock.move_to(at("2026-03-02 08:00"))
    assert run_scheduler() == 1
    [task] = tasks_of(api_client, plan["id"])
    assert task["due_at"] == "2026-03-03T08:00:00Z"
    assert task["deadline_at"] == "2026-03-04T08:00:00Z"
    [execution] = api_client.get(f"{BASE}/plans/{plan['id']}/history").json()["items"]
    assert execution["due_at"] == "2026-03-02T08:00:00Z"

    # The next day's own occurrence still gets its own task (both due on the 3rd).
    clock.move_to(at("2026-03-03 08:00"))
    assert run_scheduler() == 1
    assert [t["due_at"] for t in tasks_of(api_client, plan["id"])] == [
        "2026-03-03T08:00:00Z",
        "2026-03-03T08:00:00Z",
    ]


def madrid_weekly_plan(make_plan, calendar_id: str, start: str) -> dict:
    return make_plan(
        calendar={
            "rrule": "FREQ=WEEKLY",
            "every": None,
            "unit": None,
            "start_at": start,
            "timezone": "Europe/Madrid",
        },
        holiday_calendar_id=calendar_id,
    )


def test_weekends_shift_across_the_spring_dst_change(api_client, make_plan, clock):
    # Saturday 2026-03-28 09:00 CET (08:00Z); clocks go forward on Sunday the 29th, so the
    # Monday 09:00 CEST it moves to is 07:00Z.
    calendar = make_calendar(api_client, weekends=True)
    clock.move_to(at("2026-03-20 00:00"))
    plan = madrid_weekly_plan(make_plan, calendar["id"], "2026-03-28T08:00:00Z")
    clock.move_to(at("2026-03-28 08:00"))
    assert run_scheduler() == 1
    [task] = tasks_of(api_client, plan["id"])
    assert task["due_at"] == "2026-03-30T07:00:00Z"


def test_weekends_shift_across_the_autumn_dst_change(api_client, make_plan, clock):
    # Saturday 2026-10-24 09:00 CEST (07:00Z) → Monday the 26th 09:00 CET (08:00Z).
    calendar = make_calendar(api_client, weekends=True)
    clock.move_to(at("2026-10-20 00:00"))
    plan = madrid_weekly_plan(make_plan, calendar["id"], "2026-10-24T07:00:00Z")
    clock.move_to(at("2026-10-24 07:00"))
    assert run_scheduler() == 1
    [task] = tasks_of(api_client, plan["id"])
    assert task["due_at"] == "2026-10-26T08:00:00Z"


def test_a_shift_that_lands_in_the_spring_gap_moves_forward(api_client, make_plan, clock):
    # Saturday 02:30 Madrid; Sunday 29 March 02:30 does not exist (a holiday-free Sunday is a
    # working day here): it is read as 03:30 CEST, 01:30Z.
    calendar = make_calendar(api_client, dates=[{"date": "2026-03-28"}])
    clock.move_to(at("2026-03-20 00:00"))
    plan = madrid_weekly_plan(make_plan, calendar["id"], "2026-03-28T01:30:00Z")
    clock.move_to(at("2026-03-28 01:30"))
    assert run_scheduler() == 1
    [task] = tasks_of(api_client, plan["id"])
    assert task["due_at"] == "2026-03-29T01:30:00Z"


def test_the_calendars_timezone_decides_the_date(api_client, make_plan, clock):
    # 23:30Z on Thursday 2026-03-05 is already Friday the 6th in Madrid.
    calendar = make_calendar(api_client, timezone="Europe/Madrid", dates=[{"date": "2026-03-06"}])
    plan = make_plan(
        calendar={"every": 1, "unit": "week", "start_at": "2026-03-05T23:30:00Z"},
        holiday_calendar_id=calendar["id"],
    )
    preview = api_client.get(f"{BASE}/plans/{plan['id']}/preview").json()
    assert preview["task"]["due_at"] == "2026-03-06T23:30:00Z"  # Saturday 00:30 Madrid


def test_a_counter_plans_max_interval_task_shifts_too(api_client, make_plan, clock):
    calendar = make_calendar(api_client, weekends=True)
    # A year after Sunday 2026-03-01 is Monday 2027-03-01: no shift; a month is Wednesday.
    plan = make_plan(
        {
            **COUNTER_PLAN,
            "counter": {**COUNTER_PLAN["counter"], "max_interval": {"every": 6, "unit": "day"}},
        },
        holiday_calendar_id=calendar["id"],
    )
    clock.move_to(at("2026-03-07 00:00"))  # a Saturday
    assert run_scheduler() == 1
    [task] = tasks_of(api_client, plan["id"])
    assert task["trigger"] == "max_interval"
    assert task["due_at"] == "2026-03-09T00:00:00Z"


# --- .ics import -------------------------------------------------------------------------------

ICS = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//holidays//EN
BEGIN:VEVENT
UID:1
DTSTART;VALUE=DATE:20260101
DTEND;VALUE=DATE:20260102
SUMMARY:Year's day
RRULE:FREQ=YEARLY
END:VEVENT
BEGIN:VEVENT
UID:2
DTSTART;VALUE=DATE:20260406
SUMMARY:Easter Monday
END:VEVENT
BEGIN:VEVENT
UID:3
DTSTART;VALUE=DATE:20261224
DTEND;VALUE=DATE:20261227
SUMMARY:Christmas break
END:VEVENT
BEGIN:VEVENT
UID:4
DTSTART:20260310T090000Z
SUMMARY:A meeting
END:VEVENT
BEGIN:VEVENT
UID:5
DTSTART;VALUE=DATE:20260105
RRULE:FREQ=WEEKLY
SUMMARY:Weekly
END:VEVENT
END:VCALENDAR
"""


def upload(api_client, calendar_id: str, content: bytes, **extra):
    return api_client.post(
        f"{CALENDARS}/{calendar_id}/import",
        {"file": SimpleUploadedFile("holidays.ics", content, "text/calendar"), **extra},
        format="multipart",
    )


def test_it_imports_all_day_events_and_expands_yearly_ones(api_client, clock):
    calendar = make_calendar(api_client, dates=[{"date": "2026-04-06", "name": "Kept"}])
    response = upload(api_client, calendar["id"], ICS, horizon_years=3)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["ignored"] == 2  # the timed meeting and the weekly rule
    dates = {item["date"]: item["name"] for item in body["calendar"]["dates"]}
    assert dates == {
        "2026-01-01": "Year's day",
        "2027-01-01": "Year's day",
        "2028-01-01": "Year's day",
        "2026-04-06": "Kept",
        "2026-12-24": "Christmas break",
        "2026-12-25": "Christmas break",
        "2026-12-26": "Christmas break",
    }
    assert body["imported"] == 6
    # Importing the same file again adds nothing.
    assert upload(api_client, calendar["id"], ICS, horizon_years=3).json()["imported"] == 0


def test_it_refuses_a_file_that_is_not_icalendar(api_client, clock):
    calendar = make_calendar(api_client)
    response = upload(api_client, calendar["id"], b"hello, world")
    assert response.status_code == 400
    assert "file" in response.json()["error"]["details"]


def test_it_refuses_a_bad_horizon_or_a_missing_file(api_client, clock):
    calendar = make_calendar(api_client)
    response = upload(api_client, calendar["id"], ICS, horizon_years=99)
    assert response.status_code == 400
    assert "horizon_years" in response.json()["error"]["details"]
    response = api_client.post(f"{CALENDARS}/{calendar['id']}/import", {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()["error"]["details"]
    assert upload(api_client, "hcal_nope", ICS).status_code == 404


def test_the_schema_names_the_new_routes_and_fields(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"})
    if schema.status_code != 200:
        schema = api_client.get("/api/schema", {"format": "json"})
    text = schema.content.decode()
    for name in (
        "/api/v1/maintenance/calendars",
        "/api/v1/maintenance/calendars/{id}/import",
        "/api/v1/maintenance/plans/{id}/skip",
        "holiday_calendar_id",
        "max_interval",
        "whichever_first",
        "next_trigger",
        "skip_reason",
    ):
        assert name in text, name
