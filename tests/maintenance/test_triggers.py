"""Whichever-first plans (calendar and counter together) and a counter plan's time bounds
(`min_interval`, `max_interval`): frozen clock, the scheduler called directly."""

from datetime import timedelta

import pytest
from django.utils import timezone

from maintenance import services
from maintenance.models import Execution, Plan
from tests.maintenance.conftest import BASE, COUNTER_PLAN, at

WHICHEVER = {
    "name": "Service the truck",
    "trigger": "whichever_first",
    "task": {"title": "Yearly or 10,000 km service"},
    "calendar": {"every": 1, "unit": "year", "start_at": "2026-06-01T08:00:00Z"},
    "counter": {"unit": "km", "interval": 10000},
}


def run_scheduler() -> int:
    return services.plans_execute_due(now=timezone.now())


def read(api_client, plan_id: str, value, **extra):
    response = api_client.post(
        f"{BASE}/plans/{plan_id}/counter",
        {"value": value, "source": "odometer", **extra},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def get_plan(api_client, plan_id: str) -> dict:
    return api_client.get(f"{BASE}/plans/{plan_id}").json()


def history(api_client, plan_id: str) -> list[dict]:
    return api_client.get(f"{BASE}/plans/{plan_id}/history").json()["items"]


def tasks_of(api_client, plan_id: str) -> list[dict]:
    return api_client.get(f"{BASE}/tasks", {"plan_id": plan_id, "limit": 100}).json()["items"]


# --- whichever first ---------------------------------------------------------------------------


def test_it_creates_a_whichever_first_plan_with_both_blocks(api_client, make_plan, clock):
    plan = make_plan(WHICHEVER)
    assert plan["trigger"] == "whichever_first"
    assert plan["calendar"]["rrule"] == "FREQ=YEARLY;INTERVAL=1"
    assert plan["counter"]["interval"] == 10000
    assert plan["next_due_at"] == "2026-06-01T08:00:00Z"
    assert plan["next_counter_threshold"] == 10000
    assert get_plan(api_client, plan["id"]) == plan


def test_the_counter_firing_first_restarts_both_clocks(api_client, make_plan, clock):
    plan = make_plan(WHICHEVER)
    read(api_client, plan["id"], 4000)
    clock.move_to(at("2026-04-10 12:00"))
    body = read(api_client, plan["id"], 10250)
    assert body["executed"] is True
    assert body["execution"]["trigger"] == "counter"
    assert body["task"]["due_at"] == "2026-04-10T12:00:00Z"
    # Reading at the execution + interval; one year after the execution.
    assert body["next_counter_threshold"] == 20250
    after = get_plan(api_client, plan["id"])
    assert after["next_due_at"] == "2027-04-10T12:00:00Z"

    # The old calendar date passes without a task.
    clock.move_to(at("2026-06-01 08:00"))
    assert run_scheduler() == 0


def test_the_calendar_firing_first_restarts_both_clocks(api_client, make_plan, clock):
    plan = make_plan(WHICHEVER)
    read(api_client, plan["id"], 3000)
    clock.move_to(at("2026-06-01 08:00"))
    assert run_scheduler() == 1
    [task] = tasks_of(api_client, plan["id"])
    assert task["trigger"] == "calendar"
    assert task["due_at"] == "2026-06-01T08:00:00Z"
    assert task["deadline_at"] == "2026-06-02T08:00:00Z"
    after = get_plan(api_client, plan["id"])
    assert after["next_due_at"] == "2027-06-01T08:00:00Z"
    assert after["next_counter_threshold"] == 13000  # the reading then + 10,000

    # 10,000 km from the first start no longer executes: the counter restarted too.
    assert read(api_client, plan["id"], 10000)["executed"] is False
    assert read(api_client, plan["id"], 13000)["executed"] is True


def test_a_late_scheduler_does_not_push_the_calendar_back(api_client, make_plan, clock):
    plan = make_plan(WHICHEVER)
    clock.move_to(at("2026-06-03 10:00"))  # two days of downtime
    assert run_scheduler() == 1
    assert get_plan(api_client, plan["id"])["next_due_at"] == "2027-06-01T08:00:00Z"
    assert run_scheduler() == 0


def test_a_manual_execution_restarts_both_clocks(api_client, make_plan, clock):
    plan = make_plan(WHICHEVER)
    read(api_client, plan["id"], 2500)
    clock.move_to(at("2026-03-05 09:30"))
    response = api_client.post(f"{BASE}/plans/{plan['id']}/execute")
    assert response.status_code == 200, response.json()
    assert response.json()["next_due_at"] == "2027-03-05T09:30:00Z"
    assert response.json()["next_counter_threshold"] == 12500
    [execution] = history(api_client, plan["id"])
    assert execution["trigger"] == "manual"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"counter": None}, "counter", "needs a counter block"),
        ({"calendar": None}, "calendar", "needs a calendar block"),
        ({"calendar": {"anchor": "floating"}}, "calendar.anchor", "leave anchor fixed"),
        ({"counter": {"anchor": "floating"}}, "counter.anchor", "leave anchor fixed"),
        (
            {"counter": {"max_interval": {"every": 2, "unit": "year"}}},
            "counter.max_interval",
            "Only a counter plan",
        ),
        ({"calendar": {"every": 0}}, "calendar.every", ""),
        ({"counter": {"interval": 0}}, "counter.interval", "greater than 0"),
    ],
)
def test_it_refuses_a_bad_whichever_first_plan(api_client, clock, change, field, words):
    body = {**WHICHEVER}
    for key, value in change.items():
        body[key] = None if value is None else {**WHICHEVER[key], **value}
    response = api_client.post(f"{BASE}/plans", body, format="json")
    assert response.status_code == 400, response.json()
    details = response.json()["error"]["details"]
    assert field in details, details
    assert words in " ".join(details[field])


def test_a_whichever_first_plan_reads_back_through_put(api_client, make_plan, clock):
    plan = make_plan(WHICHEVER)
    response = api_client.put(f"{BASE}/plans/{plan['id']}", plan, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["calendar"] == plan["calendar"]
    assert response.json()["counter"] == plan["counter"]


def test_a_plan_can_turn_into_whichever_first(api_client, make_plan, clock):
    plan = make_plan()  # daily calendar
    body = {**WHICHEVER, "calendar": plan["calendar"]}
    response = api_client.put(f"{BASE}/plans/{plan['id']}", body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["trigger"] == "whichever_first"
    assert response.json()["next_counter_threshold"] == 10000


# --- preview ---------------------------------------------------------------------------------


def preview(api_client, plan_id: str) -> dict:
    response = api_client.get(f"{BASE}/plans/{plan_id}/preview")
    assert response.status_code == 200, response.json()
    return response.json()


def test_preview_says_the_calendar_fires_next_without_usage(api_client, make_plan, clock):
    plan = make_plan(WHICHEVER)
    body = preview(api_client, plan["id"])
    assert body["trigger"] == "whichever_first"
    assert body["next_trigger"] == "calendar"
    assert body["next_trigger_at"] == "2026-06-01T08:00:00Z"
    assert body["counter_expected_at"] is None
    assert body["task"]["due_at"] == "2026-06-01T08:00:00Z"


def test_preview_says_the_counter_fires_next_when_usage_is_fast(api_client, make_plan, clock):
    plan = make_plan(WHICHEVER)
    read(api_client, plan["id"], 0)
    clock.move_to(at("2026-03-11 00:00"))
    read(api_client, plan["id"], 2000)  # 200 km a day: 10,000 on 2026-04-20
    body = preview(api_client, plan["id"])
    assert body["next_trigger"] == "counter"
    assert body["next_trigger_at"] == "2026-04-20T00:00:00Z"
    assert body["counter_expected_at"] == "2026-04-20T00:00:00Z"

    clock.move_to(at("2026-03-21 00:00"))
    read(api_client, plan["id"], 2100)  # it slowed down: the calendar wins again
    assert preview(api_client, plan["id"])["next_trigger"] == "calendar"


def test_preview_of_plain_plans_is_unchanged_but_says_the_next_trigger(
    api_client, make_plan, make_counter_plan, clock
):
    calendar = preview(api_client, make_plan()["id"])
    assert calendar["next_trigger"] == "calendar"
    assert calendar["next_trigger_at"] == calendar["next_due_at"] == "2026-03-02T08:00:00Z"
    counter = preview(api_client, make_counter_plan()["id"])
    assert counter["task"]["due_at"] is None
    assert counter["next_trigger"] is None  # no usage yet


# --- counter time bounds -----------------------------------------------------------------------

BOUNDED = {**COUNTER_PLAN, "counter": {**COUNTER_PLAN["counter"]}}


def bounded(**bounds) -> dict:
    return {**COUNTER_PLAN, "counter": {**COUNTER_PLAN["counter"], **bounds}}


def test_a_stalled_meter_still_gets_its_yearly_service(api_client, make_plan, clock):
    plan = make_plan(bounded(max_interval={"every": 1, "unit": "year"}))
    assert plan["counter"]["max_interval"] == {"every": 1, "unit": "year"}
    assert plan["counter"]["min_interval"] is None
    assert plan["next_due_at"] == "2027-03-01T00:00:00Z"  # a year after creation
    read(api_client, plan["id"], 120)  # then the meter stalls

    clock.move_to(at("2027-02-28 23:59"))
    assert run_scheduler() == 0
    clock.move_to(at("2027-03-01 00:00"))
    assert run_scheduler() == 1
    [task] = tasks_of(api_client, plan["id"])
    assert task["trigger"] == "max_interval"
    assert task["due_at"] == "2027-03-01T00:00:00Z"
    assert task["deadline_at"] == "2027-03-02T00:00:00Z"  # the plan's 24 h tolerance
    [execution] = history(api_client, plan["id"])
    assert execution["trigger"] == "max_interval"
    after = get_plan(api_client, plan["id"])
    assert after["next_due_at"] == "2028-03-01T00:00:00Z"
    assert after["next_counter_threshold"] == 500  # the usage grid is not touched
    assert run_scheduler() == 0


def test_a_counter_execution_restarts_the_max_interval(api_client, make_plan, clock):
    plan = make_plan(bounded(max_interval={"every": 6, "unit": "month"}))
    clock.move_to(at("2026-05-15 10:00"))
    assert read(api_client, plan["id"], 510)["executed"] is True
    assert get_plan(api_client, plan["id"])["next_due_at"] == "2026-11-15T10:00:00Z"
    clock.move_to(at("2026-09-01 00:00"))  # the old bound passes quietly
    assert run_scheduler() == 0


def test_min_interval_holds_an_early_threshold_until_the_bound(api_client, make_plan, clock):
    plan = make_plan(bounded(min_interval={"every": 30, "unit": "day"}))
    clock.move_to(at("2026-03-02 00:00"))
    assert read(api_client, plan["id"], 500)["executed"] is True  # first execution
    clock.move_to(at("2026-03-10 00:00"))
    body = read(api_client, plan["id"], 1000)
    assert body["executed"] is False  # only 8 days later
    assert get_plan(api_client, plan["id"])["next_due_at"] == "2026-04-01T00:00:00Z"
    assert read(api_client, plan["id"], 1200)["executed"] is False  # still held, once

    clock.move_to(at("2026-04-01 00:00"))
    assert run_scheduler() == 1
    tasks = tasks_of(api_client, plan["id"])
    assert [t["trigger"] for t in tasks] == ["counter", "counter"]
    assert tasks[-1]["due_at"] == "2026-04-01T00:00:00Z"
    [latest, _] = history(api_client, plan["id"])
    assert latest["counter_threshold"] == 1000
    after = get_plan(api_client, plan["id"])
    assert after["next_counter_threshold"] == 1500
    assert after["next_due_at"] is None  # no max bound: nothing left on the clock


def test_a_reading_after_the_min_bound_executes_at_once(api_client, make_plan, clock):
    plan = make_plan(bounded(min_interval={"every": 1, "unit": "week"}))
    assert read(api_client, plan["id"], 500)["executed"] is True
    clock.move_to(at("2026-03-09 00:00"))
    assert read(api_client, plan["id"], 1000)["executed"] is True


def test_a_reset_drops_a_held_threshold(api_client, make_plan, clock):
    plan = make_plan(bounded(min_interval={"every": 30, "unit": "day"}))
    read(api_client, plan["id"], 500)
    clock.move_to(at("2026-03-05 00:00"))
    read(api_client, plan["id"], 1000)  # held
    read(api_client, plan["id"], 10, reset=True)
    assert get_plan(api_client, plan["id"])["next_due_at"] is None
    clock.move_to(at("2026-04-01 00:00"))
    assert run_scheduler() == 0


@pytest.mark.parametrize(
    ("bounds", "field"),
    [
        (
            {
                "min_interval": {"every": 1, "unit": "year"},
                "max_interval": {"every": 6, "unit": "month"},
            },
            "counter.min_interval",
        ),
        ({"max_interval": {"every": 0, "unit": "year"}}, "counter.max_interval.every"),
        ({"max_interval": {"every": 1, "unit": "fortnight"}}, "counter.max_interval.unit"),
        ({"max_interval": {"every": 1}}, "counter.max_interval.unit"),
        ({"min_interval": {"every": "1", "unit": "day"}}, "counter.min_interval.every"),
        ({"min_interval": {"every": 1, "unit": "day", "extra": 1}}, "counter.min_interval.extra"),
    ],
)
def test_it_refuses_bad_time_bounds(api_client, clock, bounds, field):
    response = api_client.post(f"{BASE}/plans", bounded(**bounds), format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["details"], response.json()


def test_adding_a_max_bound_later_counts_from_the_last_execution(api_client, make_plan, clock):
    plan = make_plan(COUNTER_PLAN)
    clock.move_to(at("2026-03-10 00:00"))
    read(api_client, plan["id"], 500)
    clock.move_to(at("2026-04-01 00:00"))
    body = get_plan(api_client, plan["id"])
    body["counter"]["max_interval"] = {"every": 3, "unit": "month"}
    response = api_client.put(f"{BASE}/plans/{plan['id']}", body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["next_due_at"] == "2026-06-10T00:00:00Z"
    body = response.json()
    body["counter"]["max_interval"] = None
    response = api_client.put(f"{BASE}/plans/{plan['id']}", body, format="json")
    assert response.json()["next_due_at"] is None


def test_a_paused_bounded_plan_generates_nothing_and_resumes_due_now(api_client, make_plan, clock):
    plan = make_plan(bounded(max_interval={"every": 1, "unit": "month"}))
    api_client.post(f"{BASE}/plans/{plan['id']}/pause")
    clock.move_to(at("2026-05-01 00:00"))
    assert run_scheduler() == 0
    resumed = api_client.post(f"{BASE}/plans/{plan['id']}/resume").json()
    assert resumed["next_due_at"] == "2026-05-01T00:00:00Z"
    assert run_scheduler() == 1


def test_many_bounded_plans_are_generated_in_one_pass(api_client, make_plan, clock):
    ids = [
        make_plan(bounded(max_interval={"every": 1, "unit": "day"}), name=f"p{i}")["id"]
        for i in range(3)
    ]
    clock.move_to(at("2026-03-02 00:00"))
    assert run_scheduler() == 3
    assert set(Execution.objects.filter(plan_id__in=ids).values_list("trigger", flat=True)) == {
        "max_interval"
    }
    assert all(p.next_due_at == at("2026-03-03 00:00") for p in Plan.objects.filter(pk__in=ids))


# --- compliance and the optimiser --------------------------------------------------------------


def test_compliance_counts_tasks_of_every_trigger(api_client, make_plan, clock):
    plan = make_plan(WHICHEVER)
    bounded_plan = make_plan(bounded(max_interval={"every": 1, "unit": "month"}))
    clock.move_to(at("2026-04-01 00:00"))
    assert run_scheduler() == 1  # the bounded plan's monthly bound
    read(api_client, plan["id"], 10000)  # the truck's counter
    for task in tasks_of(api_client, plan["id"]) + tasks_of(api_client, bounded_plan["id"]):
        api_client.post(f"{BASE}/tasks/{task['id']}/complete", {}, format="json")
    report = api_client.get(
        f"{BASE}/compliance", {"start_date": "2026-03-01", "end_date": "2026-04-30"}
    ).json()
    assert report["on_time_count"] == 2
    assert report["compliance_rate"] == 100.0
    assert {row["plan_id"] for row in report["by_plan"]} == {plan["id"], bounded_plan["id"]}


def test_the_optimiser_reads_a_whichever_first_plan_both_ways(api_client, make_plan, clock):
    plan = make_plan(WHICHEVER)
    read(api_client, plan["id"], 0)
    clock.move_to(at("2026-03-11 00:00"))
    read(api_client, plan["id"], 500)
    clock.move_to(clock_time := at("2026-03-21 00:00"))
    read(api_client, plan["id"], 1000)
    response = api_client.post(f"{BASE}/plans/{plan['id']}/optimize")
    assert response.status_code == 201, response.json()
    kinds = {item["kind"]: item for item in response.json()["items"]}
    # The counter side: the usage rate and the date the threshold is expected.
    counter = kinds["counter_threshold"]
    assert counter["current"]["interval"] == 10000
    assert counter["current"]["expected_at"] > (clock_time + timedelta(days=100)).isoformat()[:10]
    # The calendar side goes through the frequency analysis on the calendar interval (no
    # failures recorded: no proposal, and not the "counter plan" refusal).
    reasons = response.json()["reasons"]
    assert "frequency" in kinds or "counter" not in reasons.get("frequency", "")
    assert "frequency" in kinds or "failure" in reasons["frequency"]
