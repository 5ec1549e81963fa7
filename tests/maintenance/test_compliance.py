"""Compliance over a data set computed by hand.

Range 2026-03-01 .. 2026-03-31, asked at 2026-03-30 20:00 UTC.

Plan A, weekly on Mondays 08:00, tolerance 24 h, asset "pump":
  03-02  done 03-02 12:00                      on time
  03-09  done 03-10 08:00 (exactly the deadline) on time
  03-12  manual, cancelled                     cancelled: counted nowhere
  03-16  done 03-18 08:00                      overdue, 48 h late
  03-23  open, deadline 03-24 08:00 passed     overdue
  03-30  open, deadline 03-31 08:00 ahead      pending
Plan B, daily 06:00 from 03-20, tolerance 12 h, asset "fan"; the scheduler is down from
03-20 until 03-23 07:00, and B is paused from 03-23 12:00 on:
  03-20  done 03-20 20:00 (deadline 18:00)     overdue, 14 h late
  03-21  missed (no task)                      overdue
  03-22  missed (no task)                      overdue
  03-23  catch-up task, done 03-23 10:00       on time (due before the pause: counted)
Plan C, weekly on Wednesdays 09:00 from 03-25, lead time 48 h: its 03-25 task is generated
on 03-23, then C is paused 03-24 00:00 .. 03-27 00:00, so the task falls due while paused
and is left out (it is still open and would otherwise be overdue).

Totals: on time 3, overdue 5 (2 missed), pending 1, cancelled 1; due 9;
rate 100 * 3 / 8 = 37.5; average delay (48 + 14) / 2 = 31.0 h.
A: 2 on time, 2 overdue, 1 pending -> 50.0 %, 48.0 h. B: 1 on time, 3 overdue -> 25.0 %, 14.0 h.
"""

import pytest
from django.utils import timezone

from maintenance import services
from maintenance.models import Task
from tests.maintenance.conftest import BASE, at


@pytest.fixture
def data_set(api_client, make_plan, make_asset, clock):
    pump, fan = make_asset(name="pump"), make_asset(name="fan")
    a = make_plan(
        name="A",
        asset_ids=[pump["id"]],
        calendar={"every": 1, "unit": "week", "start_at": "2026-03-02T08:00:00Z"},
    )
    b = make_plan(
        name="B",
        asset_ids=[fan["id"]],
        calendar={"start_at": "2026-03-20T06:00:00Z", "tolerance_hours": 12},
    )
    c = make_plan(
        name="C",
        calendar={
            "every": 1,
            "unit": "week",
            "start_at": "2026-03-25T09:00:00Z",
            "lead_time_hours": 48,
        },
    )

    def tick(when: str) -> None:
        clock.move_to(at(when))
        services.plans_execute_due(now=timezone.now())

    def task_due(plan: dict, due: str) -> str:
        return Task.objects.get(plan_id=plan["id"], due_at=at(due)).pk

    def complete(plan: dict, due: str, when: str) -> None:
        clock.move_to(at(when))
        response = api_client.post(f"{BASE}/tasks/{task_due(plan, due)}/complete")
        assert response.status_code == 200, response.json()

    tick("2026-03-02 08:00")
    complete(a, "2026-03-02 08:00", "2026-03-02 12:00")
    tick("2026-03-09 08:00")
    complete(a, "2026-03-09 08:00", "2026-03-10 08:00")
    clock.move_to(at("2026-03-12 10:00"))
    manual = api_client.post(f"{BASE}/plans/{a['id']}/execute").json()["task_id"]
    api_client.post(f"{BASE}/tasks/{manual}/cancel")
    tick("2026-03-16 08:00")
    complete(a, "2026-03-16 08:00", "2026-03-18 08:00")
    tick("2026-03-20 06:00")
    complete(b, "2026-03-20 06:00", "2026-03-20 20:00")
    tick("2026-03-23 07:00")  # B catches up: 03-21 and 03-22 missed, a task for 03-23
    tick("2026-03-23 08:00")  # A's 03-23
    tick("2026-03-23 09:00")  # C's 03-25, 48 h ahead
    complete(b, "2026-03-23 06:00", "2026-03-23 10:00")
    clock.move_to(at("2026-03-23 12:00"))
    assert api_client.post(f"{BASE}/plans/{b['id']}/pause").status_code == 200
    clock.move_to(at("2026-03-24 00:00"))
    assert api_client.post(f"{BASE}/plans/{c['id']}/pause").status_code == 200
    clock.move_to(at("2026-03-27 00:00"))
    assert api_client.post(f"{BASE}/plans/{c['id']}/resume").status_code == 200
    tick("2026-03-30 08:00")  # A's 03-30
    clock.move_to(at("2026-03-30 20:00"))
    assert Task.objects.filter(plan_id=c["id"]).count() == 1
    return {"a": a, "b": b, "c": c, "pump": pump, "fan": fan}


def compliance(api_client, **params):
    response = api_client.get(f"{BASE}/compliance", params)
    assert response.status_code == 200, response.json()
    return response.json()


def test_it_computes_compliance_over_the_hand_computed_data_set(api_client, data_set):
    a, b = data_set["a"], data_set["b"]
    report = compliance(api_client, start_date="2026-03-01", end_date="2026-03-31")
    by_plan = {row.pop("plan_id"): row for row in report.pop("by_plan")}
    assert report == {
        "start_date": "2026-03-01",
        "end_date": "2026-03-31",
        "due_count": 9,
        "on_time_count": 3,
        "overdue_count": 5,
        "pending_count": 1,
        "missed_count": 2,
        "cancelled_count": 1,
        "compliance_rate": 37.5,
        "average_delay_hours": 31.0,
        "time_spent_minutes": 0,
    }
    assert by_plan == {
        a["id"]: {
            "due_count": 5,
            "on_time_count": 2,
            "overdue_count": 2,
            "pending_count": 1,
            "missed_count": 0,
            "cancelled_count": 1,
            "compliance_rate": 50.0,
            "average_delay_hours": 48.0,
            "time_spent_minutes": 0,
        },
        b["id"]: {
            "due_count": 4,
            "on_time_count": 1,
            "overdue_count": 3,
            "pending_count": 0,
            "missed_count": 2,
            "cancelled_count": 0,
            "compliance_rate": 25.0,
            "average_delay_hours": 14.0,
            "time_spent_minutes": 0,
        },
    }  # C's only task fell due while C was paused: not there at all


def test_it_filters_compliance_by_plan_and_asset(api_client, data_set):
    a, b = data_set["a"], data_set["b"]
    dates = {"start_date": "2026-03-01", "end_date": "2026-03-31"}
    report = compliance(api_client, plan_id=b["id"], **dates)
    assert (report["on_time_count"], report["overdue_count"], report["missed_count"]) == (1, 3, 2)
    assert [row["plan_id"] for row in report["by_plan"]] == [b["id"]]

    report = compliance(api_client, asset_id=data_set["fan"]["id"], **dates)
    assert (report["on_time_count"], report["overdue_count"], report["missed_count"]) == (1, 3, 2)
    report = compliance(api_client, asset_id=data_set["pump"]["id"], **dates)
    assert [row["plan_id"] for row in report["by_plan"]] == [a["id"]]
    assert report["compliance_rate"] == 50.0


def test_it_counts_whole_days_inclusively(api_client, data_set):
    # 03-16 .. 03-22: A's 03-16 (late) and B's 03-20 (late), 03-21 and 03-22 (missed).
    report = compliance(api_client, start_date="2026-03-16", end_date="2026-03-22")
    assert (report["due_count"], report["on_time_count"], report["overdue_count"]) == (4, 0, 4)
    assert report["compliance_rate"] == 0.0
    assert report["average_delay_hours"] == 31.0
    # One day: A's 03-02 task only.
    report = compliance(api_client, start_date="2026-03-02", end_date="2026-03-02")
    assert (report["due_count"], report["compliance_rate"]) == (1, 100.0)


def test_it_reports_no_rate_when_nothing_can_be_counted(api_client, data_set):
    report = compliance(api_client, start_date="2026-03-30", end_date="2026-03-31")
    assert report["pending_count"] == 1
    assert report["compliance_rate"] is None
    assert report["average_delay_hours"] == 0.0
    report = compliance(api_client, start_date="2025-01-01", end_date="2025-01-31")
    assert report["due_count"] == 0
    assert report["compliance_rate"] is None
    assert report["by_plan"] == []


def test_it_rounds_the_rate_half_up_to_a_tenth(api_client, make_plan, clock):
    plan = make_plan()  # daily 08:00, tolerance 24 h
    for day in range(2, 5):
        clock.move_to(at(f"2026-03-0{day} 08:00"))
        services.plans_execute_due(now=timezone.now())
    tasks = list(Task.objects.order_by("due_at"))
    clock.move_to(at("2026-03-05 12:00"))
    for task, completed in zip(tasks, ("03-02 09:00", "03-03 09:00", "03-05 12:00"), strict=True):
        api_client.post(
            f"{BASE}/tasks/{task.pk}/complete",
            {"completed_at": f"2026-{completed[:5]}T{completed[6:]}:00Z"},
            format="json",
        )
    report = compliance(api_client, start_date="2026-03-01", end_date="2026-03-31")
    assert report["compliance_rate"] == 66.7  # 2 / 3
    assert report["average_delay_hours"] == 28.0  # 03-04 08:00 -> 03-05 12:00
    assert report["by_plan"][0]["plan_id"] == plan["id"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"end_date": "2026-03-31"}, "start_date"),
        ({"start_date": "2026-03-01"}, "end_date"),
        ({"start_date": "2026-03-31", "end_date": "2026-03-01"}, "end_date"),
        ({"start_date": "March", "end_date": "2026-03-31"}, "start_date"),
        ({"start_date": "2026-03-01T00:00:00Z", "end_date": "2026-03-31"}, "start_date"),
    ],
)
def test_it_refuses_bad_compliance_dates(api_client, params, field):
    response = api_client.get(f"{BASE}/compliance", params)
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
