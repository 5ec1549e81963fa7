"""The gateways' batch route: many readings in one request, with the single route's rules."""

import pytest

from maintenance.models import CounterReading, Execution, Plan, Task, TaskCodeSequence
from tests.maintenance.conftest import BASE, at

URL = f"{BASE}/counters/readings"


def send(api_client, *readings):
    return api_client.post(URL, {"readings": list(readings)}, format="json")


def reading(plan_id: str, value, **extra) -> dict:
    return {"plan_id": plan_id, "value": value, "source": "gw-1", **extra}


def single(api_client, plan_id: str, value, **extra) -> dict:
    response = api_client.post(
        f"{BASE}/plans/{plan_id}/counter",
        {"value": value, "source": "gw-1", **extra},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_it_applies_a_batch_in_request_order_executing_once_per_threshold(
    api_client, make_counter_plan, clock
):
    pump, press = make_counter_plan(), make_counter_plan(name="Press")

    response = send(
        api_client,
        reading(pump["id"], 480),
        reading(press["id"], 100),
        reading(pump["id"], 500),  # reaches 500: executes
        reading(pump["id"], 520),
        reading(pump["id"], 1700),  # jumps over 1000 and 1500: executes once
        reading(press["id"], 499),
    )

    assert response.status_code == 201, response.json()
    results = response.json()["results"]
    assert [r["plan_id"] for r in results] == [
        pump["id"],
        press["id"],
        *[pump["id"]] * 3,
        press["id"],
    ]
    assert [r["executed"] for r in results] == [False, False, True, False, True, False]
    assert [r["next_counter_threshold"] for r in results] == [500, 500, 1000, 1000, 2000, 500]
    assert [r["task_id"] is None for r in results] == [True, True, False, True, False, True]
    stored = CounterReading.objects.filter(pk__in=[r["reading_id"] for r in results])
    assert stored.count() == 6
    tasks = {t.pk: t for t in Task.objects.filter(plan_id=pump["id"])}
    assert set(tasks) == {results[2]["task_id"], results[4]["task_id"]}
    assert tasks[results[2]["task_id"]].code == "MAN-001"  # codes in request order
    assert tasks[results[4]["task_id"]].code == "MAN-002"
    assert Execution.objects.get(task__pk=results[4]["task_id"]).counter_threshold == 1000
    plan = api_client.get(f"{BASE}/plans/{pump['id']}").json()
    assert (plan["counter_value"], plan["next_counter_threshold"]) == (1700, 2000)
    history = api_client.get(f"{BASE}/plans/{pump['id']}/counter/history").json()
    assert [r["value"] for r in history["items"]] == [1700, 520, 500, 480]


def test_a_batch_leaves_a_plan_exactly_as_the_same_single_readings_do(
    api_client, make_counter_plan, clock
):
    counter = {"tolerance_units": 50, "start_value": 100}
    by_single, by_batch = make_counter_plan(counter=counter), make_counter_plan(counter=counter)
    steps = [
        {"value": 590},
        {"value": 600},  # crosses 600, late once usage passes 650
        {"value": 640},
        {"value": 30, "reset": True},  # meter replaced: the open task's deadline moves to 80
        {"value": 70},
        {"value": 81},  # now late
        {"value": 560},
        {"value": 1200},
    ]
    singles = [single(api_client, by_single["id"], **step) for step in steps]
    response = send(api_client, *(reading(by_batch["id"], **step) for step in steps))
    assert response.status_code == 201, response.json()
    batch = response.json()["results"]

    assert [r["executed"] for r in batch] == [r["executed"] for r in singles]
    assert [r["next_counter_threshold"] for r in batch] == [
        r["next_counter_threshold"] for r in singles
    ]

    def state(plan_id: str):
        plan = api_client.get(f"{BASE}/plans/{plan_id}").json()
        tasks = api_client.get(f"{BASE}/tasks", {"plan_id": plan_id}).json()["items"]
        return (
            plan["counter_value"],
            plan["next_counter_threshold"],
            [(t["due_at"], t["deadline_at"], t["status"]) for t in tasks],
        )

    assert state(by_batch["id"]) == state(by_single["id"])
    deadlines = [t[1] for t in state(by_batch["id"])[2]]
    assert deadlines[0] is not None  # the first task went late at 81, inside the batch


def test_a_task_created_by_a_batch_goes_late_within_the_same_batch(
    api_client, make_counter_plan, clock
):
    plan = make_counter_plan(counter={"tolerance_units": 50})
    clock.move_to(at("2026-03-01 10:00"))
    results = send(
        api_client,
        reading(plan["id"], 500, recorded_at="2026-03-01T08:00:00Z"),
        reading(plan["id"], 560, recorded_at="2026-03-01T09:00:00Z"),
    ).json()["results"]
    task = api_client.get(f"{BASE}/tasks/{results[0]['task_id']}").json()
    assert task["deadline_at"] == "2026-03-01T09:00:00Z"


def test_it_stores_a_paused_plans_readings_without_executing(api_client, make_counter_plan):
    plan = make_counter_plan()
    api_client.post(f"{BASE}/plans/{plan['id']}/pause")
    results = send(api_client, reading(plan["id"], 700)).json()["results"]
    assert results[0]["executed"] is False
    assert results[0]["next_counter_threshold"] == 500
    assert CounterReading.objects.count() == 1
    assert Execution.objects.count() == 0


def _nothing_stored(plan_ids: list[str]) -> None:
    assert CounterReading.objects.count() == 0
    assert Task.objects.count() == Execution.objects.count() == 0
    assert not TaskCodeSequence.objects.filter(last_value__gt=0).exists()  # no code spent
    for plan in Plan.objects.filter(pk__in=plan_ids):
        assert plan.counter_value is None
        assert plan.next_counter_threshold == 500


def test_a_decrease_without_reset_refuses_the_whole_batch(api_client, make_counter_plan):
    pump, press = make_counter_plan(), make_counter_plan(name="Press")
    response = send(
        api_client,
        reading(press["id"], 600),  # would execute
        reading(pump["id"], 300),
        reading(pump["id"], 200),
    )
    assert response.status_code == 409, response.json()
    error = response.json()["error"]
    assert list(error["details"]) == ["readings[2].value"]
    assert "lower than the last reading 300" in error["message"]
    _nothing_stored([pump["id"], press["id"]])


def test_a_reading_older_than_the_plans_last_refuses_the_batch(
    api_client, make_counter_plan, clock
):
    plan = make_counter_plan()
    response = send(
        api_client,
        reading(plan["id"], 1, recorded_at="2026-03-01T00:00:00Z"),
        reading(plan["id"], 2, recorded_at="2026-02-28T00:00:00Z"),
    )
    assert response.status_code == 409
    assert list(response.json()["error"]["details"]) == ["readings[1].recorded_at"]
    _nothing_stored([plan["id"]])


def test_unknown_and_calendar_plans_are_named_by_their_item(
    api_client, make_counter_plan, make_plan
):
    counter, calendar = make_counter_plan(), make_plan()
    response = send(api_client, reading(counter["id"], 600), reading("plan_nope", 1))
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "readings[1].plan_id": ["Plan with id 'plan_nope' not found"]
    }
    response = send(api_client, reading(counter["id"], 600), reading(calendar["id"], 1))
    assert response.status_code == 409
    assert list(response.json()["error"]["details"]) == ["readings[1].plan_id"]
    _nothing_stored([counter["id"]])


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"value": -1}, "readings[1].value"),
        ({"value": "12"}, "readings[1].value"),
        ({"value": None}, "readings[1].value"),
        ({"source": ""}, "readings[1].source"),
        ({"reset": "yes"}, "readings[1].reset"),
        ({"recorded_at": "now"}, "readings[1].recorded_at"),
        ({"recorded_at": "2026-03-01T01:00:00Z"}, "readings[1].recorded_at"),  # future
        ({"plan_id": 7}, "readings[1].plan_id"),
        ({"plan_id": "x" * 41}, "readings[1].plan_id"),
        ({"unit": "h"}, "readings[1].unit"),
    ],
)
def test_it_refuses_a_bad_item_naming_it(api_client, make_counter_plan, clock, item, field):
    plan = make_counter_plan()
    response = send(api_client, reading(plan["id"], 600), {**reading(plan["id"], 700), **item})
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["details"]
    _nothing_stored([plan["id"]])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"readings": []}, "readings"),
        ({"readings": None}, "readings"),
        ({"readings": {"plan_id": "x"}}, "readings"),
        ({}, "readings"),
        ({"readings": [], "extra": 1}, "extra"),
    ],
)
def test_it_refuses_a_body_without_a_list_of_readings(api_client, body, field):
    response = api_client.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_it_takes_1000_readings_and_refuses_1001(api_client, make_counter_plan):
    plan = make_counter_plan()
    items = [reading(plan["id"], n) for n in range(1001)]
    response = send(api_client, *items)
    assert response.status_code == 400
    assert "readings" in response.json()["error"]["details"]
    assert CounterReading.objects.count() == 0
    response = send(api_client, *items[:1000])
    assert response.status_code == 201
    assert len(response.json()["results"]) == 1000
    assert Task.objects.count() == 1  # 500 crossed once


def test_a_read_only_key_may_not_send_readings(read_only_client, make_counter_plan):
    plan = make_counter_plan()
    response = send(read_only_client, reading(plan["id"], 1))
    assert response.status_code == 403
    assert CounterReading.objects.count() == 0


def test_a_batch_costs_the_same_queries_for_10_or_300_readings(
    api_client, make_counter_plan, django_assert_max_num_queries
):
    plans = [make_counter_plan(name=f"Pump {n}", counter={"tolerance_units": 5}) for n in range(10)]
    # Every plan has executed once already: its open task's usage deadline is tracked.
    send(api_client, *(reading(p["id"], 500) for p in plans))

    def batch(count: int, start: int) -> list[dict]:
        return [reading(plans[n % 10]["id"], start + n) for n in range(count)]

    with django_assert_max_num_queries(16):  # auth, locks, tasks, bulk writes, one per kind
        assert send(api_client, *batch(10, 1000)).status_code == 201
    with django_assert_max_num_queries(16):
        response = send(api_client, *batch(300, 1400))  # each plan crosses 1500
    assert response.status_code == 201
    assert sum(r["executed"] for r in response.json()["results"]) == 10
