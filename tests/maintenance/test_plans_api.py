"""Plans over the API: create, read, update, delete, list filters, and strict validation."""

from datetime import UTC, datetime

import pytest

from maintenance.models import Execution, Plan, Task
from notifications.models import Channel
from scheduling.recurrence import RecurrenceError, build_recurrence
from tests.maintenance.conftest import BASE, CALENDAR_PLAN, COUNTER_PLAN, _merge


def post_plan(api_client, base=CALENDAR_PLAN, **overrides):
    return api_client.post(f"{BASE}/plans", _merge(base, overrides), format="json")


def details_of(response) -> dict:
    assert response.status_code == 400, response.json()
    body = response.json()["error"]
    assert body["code"] == "BAD_REQUEST"
    return body["details"]


# --- create and read -------------------------------------------------------------------------


def test_it_creates_a_calendar_plan_with_defaults(api_client, make_asset, clock):
    asset = make_asset()
    response = post_plan(api_client, asset_ids=[asset["id"]])
    assert response.status_code == 201
    plan = response.json()
    assert plan["id"].startswith("plan_")
    assert plan["status"] == "active"
    assert plan["priority"] == "medium"
    assert plan["task_code_prefix"] == "MAN"
    assert plan["asset_ids"] == [asset["id"]]
    assert plan["calendar"] == {
        "rrule": "FREQ=DAILY;INTERVAL=1",
        "every": 1,
        "unit": "day",
        "start_at": "2026-03-02T08:00:00Z",
        "end_at": None,
        "timezone": "UTC",
        "anchor": "fixed",
        "lead_time_hours": 0.0,
        "tolerance_hours": 24.0,
    }
    assert plan["counter"] is None
    assert plan["next_due_at"] == "2026-03-02T08:00:00Z"
    assert plan["counter_value"] is None
    assert plan["last_executed_at"] is None
    assert plan["created_at"] == "2026-03-01T00:00:00Z"
    assert api_client.get(f"{BASE}/plans/{plan['id']}").json() == plan


def test_it_stores_an_rrule_in_its_normal_form(api_client, clock):
    response = post_plan(
        api_client,
        calendar={"every": None, "unit": None, "rrule": "RRULE:freq=weekly;byday=mo,th"},
    )
    assert response.status_code == 201, response.json()
    assert response.json()["calendar"]["rrule"] == "FREQ=WEEKLY;BYDAY=MO,TH"
    assert response.json()["calendar"]["every"] is None
    assert response.json()["next_due_at"] == "2026-03-02T08:00:00Z"  # a Monday


def test_it_creates_a_counter_plan(api_client, clock):
    response = post_plan(
        api_client,
        COUNTER_PLAN,
        counter={"start_value": 1200, "tolerance_units": 50, "anchor": "floating"},
    )
    assert response.status_code == 201, response.json()
    plan = response.json()
    assert plan["calendar"] is None
    assert plan["counter"] == {
        "unit": "hours",
        "interval": 500,
        "anchor": "floating",
        "start_value": 1200,
        "tolerance_units": 50,
        "min_interval": None,  # additive (issue 15): time bounds
        "max_interval": None,
    }
    assert plan["next_counter_threshold"] == 1700
    assert plan["next_due_at"] is None


def test_it_accepts_its_own_output_back_as_a_put(api_client, make_plan):
    plan = make_plan()
    response = api_client.put(f"{BASE}/plans/{plan['id']}", plan, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["next_due_at"] == plan["next_due_at"]


def test_it_recomputes_the_schedule_when_a_put_changes_it(
    api_client, make_plan, make_technician, clock
):
    plan = make_plan()
    tech = make_technician()
    body = _merge(
        CALENDAR_PLAN,
        {
            "name": "Weekly",
            "assignee_id": tech["id"],
            "calendar": {"every": 1, "unit": "week", "start_at": "2026-03-04T09:00:00Z"},
        },
    )
    response = api_client.put(f"{BASE}/plans/{plan['id']}", body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "Weekly"
    assert response.json()["assignee_id"] == tech["id"]
    assert response.json()["next_due_at"] == "2026-03-04T09:00:00Z"
    assert response.json()["calendar"]["rrule"] == "FREQ=WEEKLY;INTERVAL=1"


def test_it_switches_a_plan_from_calendar_to_counter(api_client, make_plan):
    plan = make_plan()
    response = api_client.put(f"{BASE}/plans/{plan['id']}", COUNTER_PLAN, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["calendar"] is None
    assert response.json()["next_due_at"] is None
    assert response.json()["next_counter_threshold"] == 500
    assert Plan.objects.get(pk=plan["id"]).next_run_at is None


def test_it_deletes_a_plan_and_keeps_its_history(api_client, make_plan, clock):
    plan = make_plan()
    task_id = api_client.post(f"{BASE}/plans/{plan['id']}/execute").json()["task_id"]

    response = api_client.delete(f"{BASE}/plans/{plan['id']}")
    assert response.status_code == 204
    assert api_client.get(f"{BASE}/plans/{plan['id']}").status_code == 404

    task = api_client.get(f"{BASE}/tasks/{task_id}").json()
    assert task["plan_id"] == plan["id"]
    assert [
        t["id"] for t in api_client.get(f"{BASE}/tasks?plan_id={plan['id']}").json()["items"]
    ] == [task_id]
    history = api_client.get(f"{BASE}/plans/{plan['id']}/history").json()["items"]
    assert [h["task_id"] for h in history] == [task_id]
    assert Execution.objects.get().plan_id == plan["id"]
    # The task can still be worked.
    assert api_client.post(f"{BASE}/tasks/{task_id}/complete", {}, format="json").status_code == 200


def test_it_answers_404_for_unknown_plans(api_client):
    for method in ("get", "put", "delete"):
        response = getattr(api_client, method)(f"{BASE}/plans/plan_nope", {}, format="json")
        assert response.status_code == 404, method
        assert response.json()["error"] == {
            "code": "NOT_FOUND",
            "message": "Plan with id 'plan_nope' not found",
        }


def test_it_refuses_patch_on_plans(api_client, make_plan):
    plan = make_plan()
    response = api_client.patch(f"{BASE}/plans/{plan['id']}", {"name": "x"}, format="json")
    assert response.status_code == 405


# --- list ------------------------------------------------------------------------------------


def test_it_lists_plans_with_filters(api_client, make_plan, make_asset, make_technician):
    pump, fan = make_asset(), make_asset()
    tech = make_technician()
    grease = make_plan(name="Grease pump", asset_ids=[pump["id"]], assignee_id=tech["id"])
    belts = make_plan(name="Check belts", department="HVAC", asset_ids=[fan["id"]])
    oil = make_plan(COUNTER_PLAN, name="Oil change", asset_ids=[pump["id"]])
    api_client.post(f"{BASE}/plans/{belts['id']}/pause")

    def ids(**params):
        response = api_client.get(f"{BASE}/plans", params)
        assert response.status_code == 200, response.json()
        return {p["id"] for p in response.json()["items"]}

    assert ids() == {grease["id"], belts["id"], oil["id"]}
    assert ids(status="paused") == {belts["id"]}
    assert ids(trigger="counter") == {oil["id"]}
    assert ids(asset_id=pump["id"]) == {grease["id"], oil["id"]}
    assert ids(assignee_id=tech["id"]) == {grease["id"]}
    assert ids(q="hvac") == {belts["id"]}
    assert ids(q="PUMP") == {grease["id"]}
    assert ids(q="grease pump", status="active") == {grease["id"]}

    page = api_client.get(f"{BASE}/plans", {"limit": 2, "skip": 1}).json()
    assert page["total"] == 3
    assert page["skip"] == 1
    assert page["limit"] == 2
    assert len(page["items"]) == 2


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "sleeping"}, "status"),
        ({"trigger": "sometimes"}, "trigger"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"skip": "-1"}, "skip"),
        ({"limit": "ten"}, "limit"),
    ],
)
def test_it_refuses_bad_list_parameters(api_client, params, field):
    response = api_client.get(f"{BASE}/plans", params)
    assert field in details_of(response)


# --- validation ------------------------------------------------------------------------------


def rrule_message(rule: str) -> str:
    with pytest.raises(RecurrenceError) as caught:
        build_recurrence(rule, start=datetime(2026, 3, 2, 8, tzinfo=UTC))
    return caught.value.message


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"calendar": None}, "calendar"),
        ({"counter": {"unit": "h", "interval": 5}}, "counter"),
        ({"name": ""}, "name"),
        ({"name": 42}, "name"),
        ({"trigger": "weather"}, "trigger"),
        ({"priority": "whenever"}, "priority"),
        ({"asset_ids": "asset_x"}, "asset_ids"),
        ({"asset_ids": ["asset_missing"]}, "asset_ids"),
        ({"assignee_id": "tech_missing"}, "assignee_id"),
        ({"task_code_prefix": "man"}, "task_code_prefix"),
        ({"task_code_prefix": "TOOLONGPREFIX"}, "task_code_prefix"),
        ({"task_code_prefix": "MA-N"}, "task_code_prefix"),
        ({"task": {"checklist": "grease"}}, "task.checklist"),
        ({"task": {"estimated_duration_minutes": "30"}}, "task.estimated_duration_minutes"),
        ({"calendar": {"every": 0}}, "calendar.every"),
        ({"calendar": {"every": "2"}}, "calendar.every"),
        ({"calendar": {"every": 1.5}}, "calendar.every"),
        ({"calendar": {"unit": "fortnight"}}, "calendar.unit"),
        ({"calendar": {"unit": None}}, "calendar.unit"),
        ({"calendar": {"timezone": "Mars/Olympus_Mons"}}, "calendar.timezone"),
        ({"calendar": {"start_at": "tomorrow"}}, "calendar.start_at"),
        ({"calendar": {"start_at": 1767225600}}, "calendar.start_at"),
        ({"calendar": {"end_at": "2026-03-01T00:00:00Z"}}, "calendar.end_at"),
        ({"calendar": {"lead_time_hours": -1}}, "calendar.lead_time_hours"),
        ({"calendar": {"lead_time_hours": "12"}}, "calendar.lead_time_hours"),
        ({"calendar": {"tolerance_hours": -0.5}}, "calendar.tolerance_hours"),
        ({"calendar": {"anchor": "drifting"}}, "calendar.anchor"),
        ({"calendar": {"rrule": "FREQ=DAILY"}}, "calendar.rrule"),  # and every: both
        ({"calendar": {"every": None, "unit": None}}, "calendar.rrule"),
        ({"calendar": {"surprise": 1}}, "calendar.surprise"),
        ({"preventive_cost": "100"}, "preventive_cost"),
        ({"failure_cost": -5}, "failure_cost"),
        ({"notification_channel_ids": ["a", "a"]}, "notification_channel_ids"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_it_refuses_invalid_plans_naming_the_field(api_client, overrides, field):
    details = details_of(post_plan(api_client, **overrides))
    assert field in details, details
    assert Plan.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"counter": None}, "counter"),
        ({"counter": {"interval": 0}}, "counter.interval"),
        ({"counter": {"interval": -5}}, "counter.interval"),
        ({"counter": {"interval": "500"}}, "counter.interval"),
        ({"counter": {"start_value": -1}}, "counter.start_value"),
        ({"counter": {"tolerance_units": -1}}, "counter.tolerance_units"),
        ({"calendar": {"every": 1, "unit": "day", "start_at": "2026-03-02T08:00:00Z"}}, "calendar"),
    ],
)
def test_it_refuses_invalid_counter_plans_naming_the_field(api_client, overrides, field):
    details = details_of(post_plan(api_client, COUNTER_PLAN, **overrides))
    assert field in details, details


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=SECONDLY",
        "FREQ=MINUTELY;INTERVAL=5",
        "FREQ=DAILY;BYHOUR=24",
        "FREQ=DAILY;COUNT=2;UNTIL=20270101T000000Z",
        "DTSTART:20260101T000000Z",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=WEEKLY;BYDAY=XX",
    ],
)
def test_it_refuses_bad_rrules_with_the_engine_message(api_client, rule):
    body = _merge(CALENDAR_PLAN, {"calendar": {"every": None, "unit": None, "rrule": rule}})
    details = details_of(api_client.post(f"{BASE}/plans", body, format="json"))
    assert details == {"calendar.rrule": [rrule_message(rule)]}


def test_it_names_each_unknown_asset(api_client, make_asset):
    known = make_asset()
    details = details_of(post_plan(api_client, asset_ids=[known["id"], "asset_a", "asset_b"]))
    assert details["asset_ids"] == ["Asset 'asset_a' not found", "Asset 'asset_b' not found"]


def test_it_checks_notification_channels_exist(api_client):
    channel = Channel.objects.create(name="Ops", kind="email", target="ops@example.com")
    details = details_of(post_plan(api_client, notification_channel_ids=[channel.pk, "chan_x"]))
    assert details == {"notification_channel_ids": ["Channel 'chan_x' not found"]}
    response = post_plan(api_client, notification_channel_ids=[channel.pk])
    assert response.status_code == 201
    assert response.json()["notification_channel_ids"] == [channel.pk]


def test_it_refuses_an_inactive_assignee(api_client, make_technician):
    tech = make_technician(active=False)
    details = details_of(post_plan(api_client, assignee_id=tech["id"]))
    assert details["assignee_id"] == [f"Technician '{tech['id']}' is inactive"]


def test_it_summarises_the_first_error_naming_its_field(api_client):
    response = post_plan(api_client, calendar={"every": 0})
    assert response.json()["error"]["message"].startswith("calendar.every:")


def test_it_refuses_a_body_that_is_not_json(api_client):
    response = api_client.post(f"{BASE}/plans", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Invalid JSON body"


# --- auth ------------------------------------------------------------------------------------


def test_it_requires_a_key_and_a_writable_one_for_writes(
    anon_client, read_only_client, api_client, make_plan
):
    plan = make_plan()
    assert anon_client.get(f"{BASE}/plans").status_code == 401
    assert anon_client.get(f"{BASE}/compliance").status_code == 401
    assert read_only_client.get(f"{BASE}/plans/{plan['id']}").status_code == 200
    for path in (f"{BASE}/plans/{plan['id']}/execute", f"{BASE}/plans/{plan['id']}/pause"):
        response = read_only_client.post(path)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "FORBIDDEN"
    assert read_only_client.delete(f"{BASE}/plans/{plan['id']}").status_code == 403
    assert Task.objects.count() == 0
