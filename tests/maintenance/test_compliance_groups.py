"""Compliance people can act on: grace, delay reasons, groups with names, a monthly series.

Over the hand-computed data set of test_compliance (its docstring has the numbers)."""

import pytest

from maintenance.models import Task
from tests.maintenance.conftest import BASE, at
from tests.maintenance.test_compliance import compliance
from tests.maintenance.test_compliance import data_set as data_set_fixture

data_set = data_set_fixture  # the hand-computed data set, as a fixture of this module too

MARCH = {"start_date": "2026-03-01", "end_date": "2026-03-31"}


def metrics(row: dict) -> tuple:
    return (row["on_time_count"], row["overdue_count"], row["pending_count"], row["missed_count"])


def test_the_plain_query_keeps_its_shape(api_client, data_set):
    report = compliance(api_client, **MARCH)
    assert "groups" not in report and "series" not in report and "group_by" not in report


def test_it_groups_by_plan_asset_and_technician_with_names(
    api_client, data_set, django_assert_max_num_queries
):
    a, b = data_set["a"], data_set["b"]
    with django_assert_max_num_queries(12):
        report = compliance(api_client, group_by="plan", **MARCH)
    assert report["group_by"] == "plan"
    groups = {row["id"]: row for row in report["groups"]}
    assert (groups[a["id"]]["name"], metrics(groups[a["id"]])) == ("A", (2, 2, 1, 0))
    assert (groups[b["id"]]["name"], metrics(groups[b["id"]])) == ("B", (1, 3, 0, 2))

    with django_assert_max_num_queries(12):
        report = compliance(api_client, group_by="asset", **MARCH)
    groups = {row["name"]: row for row in report["groups"]}
    assert metrics(groups["pump"]) == (2, 2, 1, 0)
    assert metrics(groups["fan"]) == (1, 3, 0, 2)  # the missed ones by B's current asset
    assert groups["pump"]["id"] == data_set["pump"]["id"]

    report = compliance(api_client, group_by="technician", **MARCH)
    [nobody] = report["groups"]
    assert (nobody["id"], nobody["name"], metrics(nobody)) == (None, None, (3, 5, 1, 2))


def test_grouping_costs_the_same_however_many_tasks(
    api_client, data_set, make_plan, clock, django_assert_max_num_queries
):
    clock.move_to(at("2026-03-30 20:00"))
    for _ in range(6):
        plan = make_plan()
        api_client.post(f"{BASE}/plans/{plan['id']}/execute")
    with django_assert_max_num_queries(12):
        report = compliance(api_client, group_by="asset", series="month", **MARCH)
    assert report["due_count"] == 15


def test_it_counts_the_technicians_tasks_under_their_name(
    api_client, make_plan, make_technician, clock
):
    ada = make_technician(name="Ada")
    plan = make_plan(assignee_id=ada["id"])
    clock.move_to(at("2026-03-02 09:00"))
    task_id = api_client.post(f"{BASE}/plans/{plan['id']}/execute").json()["task_id"]
    api_client.post(f"{BASE}/tasks/{task_id}/complete", {}, format="json")
    report = compliance(api_client, group_by="technician", **MARCH)
    [row] = report["groups"]
    assert (row["id"], row["name"], row["on_time_count"]) == (ada["id"], "Ada", 1)


def test_it_gives_a_monthly_series_with_empty_months(api_client, data_set):
    report = compliance(api_client, series="month", start_date="2026-02-15", end_date="2026-04-10")
    months = {row["month"]: row for row in report["series"]}
    assert list(months) == ["2026-02", "2026-03", "2026-04"]
    assert months["2026-02"]["compliance_rate"] is None
    assert months["2026-03"]["compliance_rate"] == 37.5
    assert months["2026-04"]["due_count"] == 0


def test_it_refuses_bad_group_and_series_values(api_client, db):
    for params, field in (
        ({"group_by": "colour"}, "group_by"),
        ({"series": "week"}, "series"),
        ({"series": "month", "start_date": "1990-01-01", "end_date": "2030-01-01"}, "end_date"),
    ):
        response = api_client.get(f"{BASE}/compliance", {**MARCH, **params})
        assert response.status_code == 400, params
        assert field in response.json()["error"]["details"]


def test_grace_hours_count_a_slightly_late_completion_on_time(api_client, make_plan, clock):
    plan = make_plan(grace_hours=6, calendar={"tolerance_hours": 2})
    assert plan["grace_hours"] == 6 and plan["grace_fraction"] is None
    clock.move_to(at("2026-03-02 08:00"))
    task_id = api_client.post(f"{BASE}/plans/{plan['id']}/execute").json()["task_id"]
    clock.move_to(at("2026-03-02 15:00"))  # 5 h past the deadline, within the grace
    api_client.post(f"{BASE}/tasks/{task_id}/complete", {}, format="json")
    assert compliance(api_client, **MARCH)["on_time_count"] == 1


def test_grace_fraction_is_a_share_of_the_interval(api_client, make_plan, clock):
    # Weekly: a quarter of the interval is 42 h of grace after the 24 h tolerance.
    plan = make_plan(grace_fraction=0.25, calendar={"every": 1, "unit": "week"})
    clock.move_to(at("2026-03-02 08:00"))
    task_id = api_client.post(f"{BASE}/plans/{plan['id']}/execute").json()["task_id"]
    clock.move_to(at("2026-03-05 01:00"))  # 65 h after due: within 24 + 42
    api_client.post(f"{BASE}/tasks/{task_id}/complete", {}, format="json")
    assert compliance(api_client, **MARCH)["on_time_count"] == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"grace_hours": 1, "grace_fraction": 0.1}, "grace_fraction"),
        ({"grace_hours": -1}, "grace_hours"),
        ({"grace_fraction": 1.5}, "grace_fraction"),
        ({"grace_hours": "2"}, "grace_hours"),
    ],
)
def test_it_refuses_bad_grace(api_client, fields, field):
    from tests.maintenance.conftest import CALENDAR_PLAN

    response = api_client.post(f"{BASE}/plans", {**CALENDAR_PLAN, **fields}, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_a_counter_plan_takes_no_grace_fraction(api_client):
    from tests.maintenance.conftest import COUNTER_PLAN

    body = {**COUNTER_PLAN, "grace_fraction": 0.1}
    response = api_client.post(f"{BASE}/plans", body, format="json")
    assert "grace_fraction" in response.json()["error"]["details"]


def test_a_late_completion_says_why_and_compliance_reports_it(api_client, make_plan, clock):
    plan = make_plan()
    clock.move_to(at("2026-03-02 08:00"))
    late = api_client.post(f"{BASE}/plans/{plan['id']}/execute").json()["task_id"]
    on_time = api_client.post(f"{BASE}/plans/{plan['id']}/execute").json()["task_id"]
    response = api_client.post(
        f"{BASE}/tasks/{on_time}/complete", {"delay_reason": "parts"}, format="json"
    )
    assert response.status_code == 400
    assert "delay_reason" in response.json()["error"]["details"]
    api_client.post(f"{BASE}/tasks/{on_time}/complete", {}, format="json")

    clock.move_to(at("2026-03-04 08:00"))  # a day past the deadline
    for body, field in (
        ({"delay_reason": "colour"}, "delay_reason"),
        ({"delay_reason": "other"}, "delay_note"),
        ({"delay_reason": "parts", "delay_note": "x" * 501}, "delay_note"),
    ):
        response = api_client.post(f"{BASE}/tasks/{late}/complete", body, format="json")
        assert response.status_code == 400, body
        assert field in response.json()["error"]["details"], body
    body = {"delay_reason": "parts", "delay_note": "bearing on back order"}
    response = api_client.post(f"{BASE}/tasks/{late}/complete", body, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["delay_reason"], response.json()["delay_note"]) == (
        "parts",
        "bearing on back order",
    )
    assert Task.objects.get(pk=late).delay_reason == "parts"

    report = compliance(api_client, group_by="delay_reason", **MARCH)
    groups = {row["id"]: row for row in report["groups"]}
    assert groups["parts"]["name"] == "Waiting for parts"
    assert (groups["parts"]["overdue_count"], groups["parts"]["average_delay_hours"]) == (1, 48.0)
    assert groups[None]["on_time_count"] == 1
