"""Counter plans: readings, thresholds (fixed and floating), jumps, resets, pauses."""

import pytest

from maintenance.models import CounterReading, Execution, Task
from tests.maintenance.conftest import BASE, at


def read(api_client, plan_id: str, value, **extra):
    return api_client.post(
        f"{BASE}/plans/{plan_id}/counter",
        {"value": value, "source": "plc-7", **extra},
        format="json",
    )


def threshold_of(api_client, plan_id: str):
    return api_client.get(f"{BASE}/plans/{plan_id}").json()["next_counter_threshold"]


def test_it_records_a_reading_below_the_threshold(api_client, make_counter_plan, clock):
    plan = make_counter_plan()
    response = read(api_client, plan["id"], 120.5)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["executed"] is False
    assert body["execution"] is None
    assert body["task"] is None
    assert body["next_counter_threshold"] == 500
    reading = body["reading"]
    assert reading["id"].startswith("reading_")
    assert reading["value"] == 120.5
    assert reading["source"] == "plc-7"
    assert reading["recorded_at"] == "2026-03-01T00:00:00Z"
    assert reading["reset"] is False
    assert api_client.get(f"{BASE}/plans/{plan['id']}").json()["counter_value"] == 120.5


def test_it_executes_once_when_a_reading_reaches_the_threshold(
    api_client, make_counter_plan, clock
):
    plan = make_counter_plan(counter={"tolerance_units": 50})
    read(api_client, plan["id"], 480)
    clock.move_to(at("2026-03-03 10:00"))
    body = read(api_client, plan["id"], 500).json()  # reaching it is enough
    assert body["executed"] is True
    assert body["execution"]["trigger"] == "counter"
    assert body["execution"]["executed_by"] == "system"
    assert body["execution"]["counter_value"] == 500
    assert body["execution"]["task_id"] == body["task"]["id"]
    assert body["task"]["code"] == "MAN-001"
    assert body["task"]["trigger"] == "counter"
    assert body["task"]["due_at"] == "2026-03-03T10:00:00Z"
    assert body["task"]["deadline_at"] is None  # until usage passes threshold + tolerance
    assert body["next_counter_threshold"] == 1000

    assert read(api_client, plan["id"], 520).json()["executed"] is False
    clock.move_to(at("2026-03-04 10:00"))
    read(api_client, plan["id"], 551)
    task = api_client.get(f"{BASE}/tasks/{body['task']['id']}").json()
    assert task["deadline_at"] == "2026-03-04T10:00:00Z"  # 500 + 50 passed here
    assert Execution.objects.count() == 1


@pytest.mark.parametrize(
    ("anchor", "expected_threshold"),
    [("fixed", 2000), ("floating", 2230)],
)
def test_it_executes_once_for_a_jump_over_several_intervals(
    api_client, make_counter_plan, anchor, expected_threshold
):
    plan = make_counter_plan(counter={"anchor": anchor})
    read(api_client, plan["id"], 400)
    body = read(api_client, plan["id"], 1730).json()  # past 500, 1000 and 1500
    assert body["executed"] is True
    assert body["next_counter_threshold"] == expected_threshold
    assert Execution.objects.count() == Task.objects.count() == 1


def test_it_counts_a_fixed_grid_from_the_start_value(api_client, make_counter_plan):
    plan = make_counter_plan(counter={"start_value": 12_000, "interval": 250})
    assert plan["next_counter_threshold"] == 12_250
    assert read(api_client, plan["id"], 12_100).json()["executed"] is False
    body = read(api_client, plan["id"], 12_260).json()
    assert body["executed"] is True
    assert body["next_counter_threshold"] == 12_500


def test_it_refuses_a_reading_lower_than_the_last(api_client, make_counter_plan):
    plan = make_counter_plan()
    read(api_client, plan["id"], 300)
    response = read(api_client, plan["id"], 299)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    assert "reset" in response.json()["error"]["message"]
    assert CounterReading.objects.count() == 1
    assert api_client.get(f"{BASE}/plans/{plan['id']}").json()["counter_value"] == 300


def test_it_rebases_the_threshold_on_a_reset(api_client, make_counter_plan):
    plan = make_counter_plan()
    read(api_client, plan["id"], 450)
    body = read(api_client, plan["id"], 20, reset=True).json()
    assert body["executed"] is False
    assert body["reading"]["reset"] is True
    assert body["next_counter_threshold"] == 520
    assert read(api_client, plan["id"], 519).json()["executed"] is False
    body = read(api_client, plan["id"], 530).json()
    assert body["executed"] is True
    assert body["next_counter_threshold"] == 1020  # the grid now runs from 20


def test_it_stores_readings_of_a_paused_plan_without_executing(api_client, make_counter_plan):
    plan = make_counter_plan()
    api_client.post(f"{BASE}/plans/{plan['id']}/pause")
    body = read(api_client, plan["id"], 700).json()
    assert body["executed"] is False
    assert body["next_counter_threshold"] == 500
    assert CounterReading.objects.count() == 1
    assert Execution.objects.count() == 0

    api_client.post(f"{BASE}/plans/{plan['id']}/resume")
    body = read(api_client, plan["id"], 710).json()
    assert body["executed"] is True
    assert body["next_counter_threshold"] == 1000


def test_it_refuses_readings_for_a_calendar_plan(api_client, make_plan):
    plan = make_plan()
    response = read(api_client, plan["id"], 10)
    assert response.status_code == 409
    assert CounterReading.objects.count() == 0


def test_it_answers_404_for_readings_of_an_unknown_plan(api_client):
    assert read(api_client, "plan_nope", 1).status_code == 404
    assert api_client.get(f"{BASE}/plans/plan_nope/counter/history").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"value": -1, "source": "x"}, "value"),
        ({"value": "12", "source": "x"}, "value"),
        ({"value": None, "source": "x"}, "value"),
        ({"value": True, "source": "x"}, "value"),
        ({"source": "x"}, "value"),
        ({"value": 1}, "source"),
        ({"value": 1, "source": ""}, "source"),
        ({"value": 1, "source": "x", "reset": "yes"}, "reset"),
        ({"value": 1, "source": "x", "recorded_at": "2026-03-01T01:00:00Z"}, "recorded_at"),
        ({"value": 1, "source": "x", "recorded_at": "now"}, "recorded_at"),
        ({"value": 1, "source": "x", "unit": "h"}, "unit"),
    ],
)
def test_it_refuses_bad_readings(api_client, make_counter_plan, clock, body, field):
    plan = make_counter_plan()
    response = api_client.post(f"{BASE}/plans/{plan['id']}/counter", body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["details"]
    assert CounterReading.objects.count() == 0


def test_it_accepts_a_reading_slightly_ahead_of_our_clock(api_client, make_counter_plan, clock):
    plan = make_counter_plan()
    response = read(api_client, plan["id"], 5, recorded_at="2026-03-01T00:02:00Z")
    assert response.status_code == 201


def test_it_refuses_a_reading_older_than_the_last(api_client, make_counter_plan, clock):
    plan = make_counter_plan()
    clock.move_to(at("2026-03-02 00:00"))
    read(api_client, plan["id"], 100)
    response = read(api_client, plan["id"], 150, recorded_at="2026-03-01T12:00:00Z")
    assert response.status_code == 409


def test_it_lists_readings_newest_first(api_client, make_counter_plan, clock):
    plan = make_counter_plan()
    for hour, value in enumerate([10, 20, 30]):
        clock.move_to(at(f"2026-03-01 0{hour}:00"))
        read(api_client, plan["id"], value)
    page = api_client.get(f"{BASE}/plans/{plan['id']}/counter/history?limit=2").json()
    assert page["total"] == 3
    assert [r["value"] for r in page["items"]] == [30, 20]
    page = api_client.get(f"{BASE}/plans/{plan['id']}/counter/history?skip=2").json()
    assert [r["value"] for r in page["items"]] == [10]


def test_it_executes_a_counter_plan_manually(api_client, make_counter_plan):
    fixed = make_counter_plan()
    floating = make_counter_plan(counter={"anchor": "floating"})
    for plan in (fixed, floating):
        read(api_client, plan["id"], 320)
    body = api_client.post(f"{BASE}/plans/{fixed['id']}/execute").json()
    assert body["next_counter_threshold"] == 500  # the grid does not move
    body = api_client.post(f"{BASE}/plans/{floating['id']}/execute").json()
    assert body["next_counter_threshold"] == 820  # one interval from the last reading
    [execution] = api_client.get(f"{BASE}/plans/{floating['id']}/history").json()["items"]
    assert execution["trigger"] == "manual"
    assert execution["counter_value"] == 320


def test_it_moves_an_open_tasks_usage_deadline_with_a_meter_reset(api_client, make_counter_plan):
    plan = make_counter_plan(counter={"tolerance_units": 100})
    task = read(api_client, plan["id"], 520).json()["task"]  # late once usage passes 600
    read(api_client, plan["id"], 20, reset=True)  # new meter: 600 on the old one is 100 now
    read(api_client, plan["id"], 99)
    assert api_client.get(f"{BASE}/tasks/{task['id']}").json()["deadline_at"] is None
    read(api_client, plan["id"], 100)
    assert api_client.get(f"{BASE}/tasks/{task['id']}").json()["deadline_at"] is not None
