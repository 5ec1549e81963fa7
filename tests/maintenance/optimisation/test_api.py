"""Optimisation over HTTP: failures, optimize, and a draft's apply / reject / stale 409."""

from datetime import timedelta

import numpy as np
import pytest
from scipy import stats

from maintenance.models import Plan
from maintenance.optimisation import engine
from maintenance.optimisation.models import SuggestionSet
from tests.maintenance.conftest import BASE, COUNTER_PLAN, at, iso

KINDS = {"frequency", "workload", "route", "counter_threshold"}


def _quantile_ages(beta: float, eta: float, n: int) -> list[float]:
    # A deterministic "sample" of ages (days) whose order is shuffled by a seeded generator.
    ages = stats.weibull_min.ppf((np.arange(n) + 0.5) / n, beta, scale=eta)
    return list(np.random.default_rng(1).permutation(ages))


def _record_failures(api_client, asset_id: str, start, ages_days) -> list:
    when, times = start, []
    for age in ages_days:
        when = when + timedelta(days=float(age))
        times.append(when)
        response = api_client.post(
            f"{BASE}/assets/{asset_id}/failures",
            {"occurred_at": iso(when), "description": "seized", "downtime_hours": 4, "cost": 900},
            format="json",
        )
        assert response.status_code == 201, response.json()
    return times


def optimize(api_client, plan_id: str) -> dict:
    response = api_client.post(f"{BASE}/plans/{plan_id}/optimize")
    assert response.status_code == 201, response.json()
    return response.json()


def item_of(draft: dict, kind: str) -> tuple[int, dict]:
    for index, item in enumerate(draft["items"]):
        if item["kind"] == kind:
            return index, item
    raise AssertionError(f"no {kind} item: {draft['reasons']}")


# --- failures -------------------------------------------------------------------------------------


def test_it_records_and_lists_an_assets_failures(api_client, make_asset, clock):
    asset = make_asset()
    url = f"{BASE}/assets/{asset['id']}/failures"
    first = api_client.post(
        url,
        {"occurred_at": "2026-02-01T10:00:00+01:00", "description": "belt snapped", "cost": 120.5},
        format="json",
    )
    assert first.status_code == 201, first.json()
    body = first.json()
    assert body["id"].startswith("fail_")
    assert body == {
        "id": body["id"],
        "asset_id": asset["id"],
        "occurred_at": "2026-02-01T09:00:00Z",
        "description": "belt snapped",
        "downtime_hours": 0.0,
        "cost": 120.5,
        "created_at": "2026-03-01T00:00:00Z",
        "created_by": "key:tests",
    }
    api_client.post(url, {"occurred_at": "2026-02-20T00:00:00Z"}, format="json")
    listed = api_client.get(url, {"limit": 1}).json()
    assert listed["total"] == 2 and listed["skip"] == 0 and listed["limit"] == 1
    assert listed["items"][0]["occurred_at"] == "2026-02-20T00:00:00Z"  # newest first


def test_it_validates_failures(api_client, make_asset, clock):
    asset = make_asset()
    url = f"{BASE}/assets/{asset['id']}/failures"
    bad = api_client.post(url, {"occurred_at": "2026-03-02T00:00:00Z"}, format="json")
    assert bad.status_code == 400 and "occurred_at" in bad.json()["error"]["details"]
    bad = api_client.post(
        url, {"occurred_at": "2026-02-02T00:00:00Z", "downtime_hours": "4"}, format="json"
    )
    assert bad.status_code == 400 and "downtime_hours" in bad.json()["error"]["details"]
    bad = api_client.post(url, {"occurred_at": "2026-02-02T00:00:00Z", "x": 1}, format="json")
    assert bad.status_code == 400 and "x" in bad.json()["error"]["details"]
    missing = api_client.post(
        f"{BASE}/assets/asset_nope/failures", {"occurred_at": "2026-02-02T00:00:00Z"}, format="json"
    )
    assert missing.status_code == 404
    assert api_client.get(f"{BASE}/assets/asset_nope/failures").status_code == 404


def test_a_read_only_key_cannot_record_or_optimize(read_only_client, make_asset, make_plan, clock):
    asset, plan = make_asset(), make_plan()
    response = read_only_client.post(
        f"{BASE}/assets/{asset['id']}/failures", {"occurred_at": "2026-02-02T00:00:00Z"}
    )
    assert response.status_code == 403
    assert read_only_client.post(f"{BASE}/plans/{plan['id']}/optimize").status_code == 403


# --- optimize -------------------------------------------------------------------------------------


def test_with_too_little_history_the_draft_has_no_items_and_a_reason_per_kind(
    api_client, make_plan, clock
):
    plan = make_plan()
    draft = optimize(api_client, plan["id"])
    assert draft["id"].startswith("sugg_")
    assert draft["plan_id"] == plan["id"]
    assert draft["status"] == "draft"
    assert draft["created_at"] == "2026-03-01T00:00:00Z"
    assert draft["items"] == []
    assert set(draft["reasons"]) == KINDS
    assert "0 failure(s)" in draft["reasons"]["frequency"]
    assert api_client.get(f"{BASE}/suggestions/{draft['id']}").json() == draft


def test_optimize_on_an_unknown_plan_is_404(api_client, db):
    response = api_client.post(f"{BASE}/plans/plan_nope/optimize")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


@pytest.fixture
def worn_plan(api_client, make_asset, make_plan, clock):
    """A daily plan on an asset whose 20 failures came from a wear-out Weibull (β 3, η 60 d)."""
    asset = make_asset(installed_at="2023-01-01T00:00:00Z")
    ages = _quantile_ages(3.0, 60.0, 20)
    times = _record_failures(api_client, asset["id"], at("2023-01-01 00:00"), ages)
    assert times[-1] < at("2026-03-01 00:00")
    plan = make_plan(asset_ids=[asset["id"]], preventive_cost=100, failure_cost=1500)
    return {"plan": plan, "asset": asset, "ages": ages}


def test_it_proposes_the_cost_optimal_interval_from_the_failure_history(api_client, worn_plan):
    plan = worn_plan["plan"]
    before = api_client.get(f"{BASE}/plans/{plan['id']}").json()
    draft = optimize(api_client, plan["id"])
    index, item = item_of(draft, "frequency")

    # The same numbers computed here from the ages the failures were recorded with.
    fit = engine.weibull_fit(worn_plan["ages"])
    best = engine.optimal_interval(fit.beta, fit.eta, 100.0, 1500.0)
    data = item["data"]
    assert data["n_failures"] == 20 and data["n_suspensions"] == 0
    assert data["beta"] == pytest.approx(fit.beta, abs=1e-3)
    assert data["eta"] == pytest.approx(fit.eta, rel=1e-4)
    assert data["t_star_days"] == best.t_whole
    assert data["cost_rate_at_t_star"] == pytest.approx(best.cost_rate, abs=1e-3)
    assert data["cost_rate_run_to_failure"] == pytest.approx(
        best.cost_rate_run_to_failure, abs=1e-3
    )
    assert data["ages_at_failure"] == pytest.approx(worn_plan["ages"], abs=1e-3)
    assert item["current"]["every"] == 1 and item["current"]["unit"] == "day"
    assert item["proposed"] == {
        "rrule": f"FREQ=DAILY;INTERVAL={best.t_whole}",
        "every": best.t_whole,
        "unit": "day",
        "interval_days": float(best.t_whole),
    }
    assert item["rationale"].startswith(f"failures rise with age (β = {fit.beta:.1f}); replacing")
    assert 0 <= item["confidence"] <= 1

    # Nothing changes before apply.
    assert api_client.get(f"{BASE}/plans/{plan['id']}").json() == before
    # Same data, same draft.
    again = optimize(api_client, plan["id"])
    assert again["items"] == draft["items"] and again["reasons"] == draft["reasons"]

    applied = api_client.post(
        f"{BASE}/suggestions/{draft['id']}/apply", {"items": [index]}, format="json"
    )
    assert applied.status_code == 200, applied.json()
    body = applied.json()
    assert body["status"] == "applied"
    assert body["applied_by"] == "key:tests"
    assert body["applied_at"] == "2026-03-01T00:00:00Z"
    assert body["applied_items"] == [index]
    after = api_client.get(f"{BASE}/plans/{plan['id']}").json()
    assert after["calendar"]["every"] == best.t_whole
    assert after["calendar"]["unit"] == "day"
    assert after["calendar"]["rrule"] == f"FREQ=DAILY;INTERVAL={best.t_whole}"
    assert after["calendar"]["start_at"] == before["calendar"]["start_at"]
    assert after["name"] == before["name"] and after["asset_ids"] == before["asset_ids"]

    # The other draft was made before the change: stale.
    stale = api_client.post(f"{BASE}/suggestions/{again['id']}/apply")
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "CONFLICT"
    # And an applied draft cannot be applied again.
    assert api_client.post(f"{BASE}/suggestions/{draft['id']}/apply").status_code == 409


def test_ages_restart_at_preventive_completions_which_are_suspensions(
    api_client, make_asset, make_plan, clock
):
    asset = make_asset(installed_at="2025-01-01T00:00:00Z")
    plan = make_plan(asset_ids=[asset["id"]], calendar={"start_at": "2025-01-01T00:00:00Z"})
    # Failures at +10 d, +30 d; a task completed at +45 d; failures at +50 d, +80 d, +120 d.
    for day in (10, 30):
        _record_failures(api_client, asset["id"], at("2025-01-01 00:00"), [day])
    task = api_client.post(f"{BASE}/plans/{plan['id']}/execute").json()
    done = api_client.post(
        f"{BASE}/tasks/{task['task_id']}/complete",
        {"completed_at": "2025-02-15T00:00:00Z"},
        format="json",
    )
    assert done.status_code == 200, done.json()
    for day in (50, 80, 120):
        _record_failures(api_client, asset["id"], at("2025-01-01 00:00"), [day])
    draft = optimize(api_client, plan["id"])
    # 5 failures: a Weibull fit; no costs on the plan, so a reason rather than an item.
    assert "frequency" in draft["reasons"]
    from maintenance.optimisation.inputs import renewal_ages

    renewals = renewal_ages(Plan.objects.get(pk=plan["id"]))
    assert renewals.failures == pytest.approx([10, 20, 5, 30, 40])
    assert renewals.suspensions == pytest.approx([15])  # 45 d - 30 d


# --- reject, stale, item choice -------------------------------------------------------------------


def test_reject_discards_and_a_decided_draft_is_409(api_client, worn_plan):
    plan = worn_plan["plan"]
    draft = optimize(api_client, plan["id"])
    before = api_client.get(f"{BASE}/plans/{plan['id']}").json()
    rejected = api_client.post(f"{BASE}/suggestions/{draft['id']}/reject")
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["rejected_by"] == "key:tests"
    assert api_client.get(f"{BASE}/plans/{plan['id']}").json() == before
    assert api_client.post(f"{BASE}/suggestions/{draft['id']}/reject").status_code == 409
    assert api_client.post(f"{BASE}/suggestions/{draft['id']}/apply").status_code == 409
    assert api_client.post(f"{BASE}/suggestions/sugg_nope/reject").status_code == 404


def test_a_plan_changed_since_the_draft_makes_apply_409(api_client, worn_plan, clock):
    plan = worn_plan["plan"]
    draft = optimize(api_client, plan["id"])
    clock.move_to(at("2026-03-01 01:00"))
    body = api_client.get(f"{BASE}/plans/{plan['id']}").json()
    put = api_client.put(f"{BASE}/plans/{plan['id']}", {**body, "name": "Renamed"}, format="json")
    assert put.status_code == 200, put.json()
    response = api_client.post(f"{BASE}/suggestions/{draft['id']}/apply")
    assert response.status_code == 409
    assert response.json()["error"]["details"]["stale"] == [f"plan:{plan['id']}"]
    assert api_client.get(f"{BASE}/plans/{plan['id']}").json()["calendar"]["every"] == 1
    assert SuggestionSet.objects.get(pk=draft["id"]).status == "draft"


@pytest.mark.parametrize(
    ("items", "field"),
    [([7], "items"), ([0, 0], "items"), ([], "items"), (["0"], "items[0]"), ("0", "items")],
)
def test_apply_validates_the_chosen_indexes(api_client, worn_plan, items, field):
    draft = optimize(api_client, worn_plan["plan"]["id"])
    response = api_client.post(
        f"{BASE}/suggestions/{draft['id']}/apply", {"items": items}, format="json"
    )
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["details"]
    assert SuggestionSet.objects.get(pk=draft["id"]).status == "draft"


def test_applying_an_empty_draft_records_it(api_client, make_plan, clock):
    draft = optimize(api_client, make_plan()["id"])
    response = api_client.post(f"{BASE}/suggestions/{draft['id']}/apply")
    assert response.status_code == 200
    assert response.json()["status"] == "applied"
    assert response.json()["applied_items"] == []


# --- workload, route, counter ---------------------------------------------------------------------


def test_it_reassigns_work_from_an_overloaded_technician(
    api_client, make_plan, make_technician, clock
):
    ann = make_technician(name="Ann", skills=["mech"], daily_capacity_minutes=480)
    bob = make_technician(name="Bob", skills=["mech", "elec"], daily_capacity_minutes=480)
    make_technician(name="Cat", skills=["elec"], daily_capacity_minutes=480)
    big = make_plan(
        name="Overhaul", assignee_id=ann["id"], task={"estimated_duration_minutes": 300}
    )
    small = make_plan(
        name="Inspect", assignee_id=ann["id"], task={"estimated_duration_minutes": 240}
    )
    before = api_client.get(f"{BASE}/plans/{big['id']}").json()
    draft = optimize(api_client, small["id"])
    index, item = item_of(draft, "workload")
    assert item["current"]["peak_load_ratio"] == pytest.approx(540 / 480)
    assert item["current"]["peak_technician_id"] == ann["id"]
    assert item["proposed"]["reassignments"] == [
        {
            "plan_id": big["id"],
            "label": "Overhaul",
            "from_assignee_id": ann["id"],
            "to_assignee_id": bob["id"],
            "minutes": 300.0 * 29,  # daily from 2 March, horizon 1 to 30 March
        }
    ]
    assert item["proposed"]["peak_load_ratio"] == pytest.approx(300 / 480)
    assert api_client.get(f"{BASE}/plans/{big['id']}").json() == before
    applied = api_client.post(
        f"{BASE}/suggestions/{draft['id']}/apply", {"items": [index]}, format="json"
    )
    assert applied.status_code == 200, applied.json()
    assert api_client.get(f"{BASE}/plans/{big['id']}").json()["assignee_id"] == bob["id"]


def test_it_reassigns_an_open_task_through_the_task_service(
    api_client, make_plan, make_technician, clock
):
    ann = make_technician(name="Ann", daily_capacity_minutes=60)
    bob = make_technician(name="Bob", daily_capacity_minutes=60)
    plan = make_plan(
        assignee_id=ann["id"],
        task={"estimated_duration_minutes": 50},
        calendar={"start_at": "2027-01-01T00:00:00Z"},  # nothing upcoming within 30 days
    )
    first = api_client.post(f"{BASE}/plans/{plan['id']}/execute").json()
    second = api_client.post(f"{BASE}/plans/{plan['id']}/execute").json()
    draft = optimize(api_client, plan["id"])
    _, item = item_of(draft, "workload")
    moved = item["proposed"]["reassignments"]
    assert len(moved) == 1 and moved[0]["to_assignee_id"] == bob["id"]
    assert moved[0]["task_id"] in (first["task_id"], second["task_id"])
    assert api_client.post(f"{BASE}/suggestions/{draft['id']}/apply").status_code == 200
    task = api_client.get(f"{BASE}/tasks/{moved[0]['task_id']}").json()
    assert task["assignee_id"] == bob["id"]


def test_it_groups_plans_due_at_the_same_location(
    api_client, make_asset, make_plan, make_technician, clock
):
    ann, bob = make_technician(name="Ann"), make_technician(name="Bob")
    pump = make_asset(location="Plant 1")
    valve = make_asset(location="Plant 1")
    elsewhere = make_asset(location="Plant 9", latitude=10.0, longitude=10.0)
    near = make_asset(location="Annex", latitude=10.004, longitude=10.0)  # ~0.45 km away
    weekly = {"every": 1, "unit": "week"}
    anchor = make_plan(
        name="Pump",
        asset_ids=[pump["id"], elsewhere["id"]],
        assignee_id=ann["id"],
        calendar={**weekly, "start_at": "2026-03-02T08:00:00Z"},
    )
    same_place = make_plan(
        name="Valve",
        asset_ids=[valve["id"]],
        assignee_id=bob["id"],
        calendar={**weekly, "start_at": "2026-03-02T15:00:00Z"},
    )
    close_by = make_plan(
        name="Annex",
        asset_ids=[near["id"]],
        calendar={**weekly, "start_at": "2026-03-01T20:00:00Z"},
    )
    too_late = make_plan(
        name="Later",
        asset_ids=[valve["id"]],
        calendar={**weekly, "start_at": "2026-03-04T08:00:00Z"},
    )
    draft = optimize(api_client, anchor["id"])
    index, item = item_of(draft, "route")
    assert item["proposed"] == {
        "due_at": "2026-03-02T08:00:00+00:00",
        "assignee_id": ann["id"],
        "plan_ids": [anchor["id"], close_by["id"], same_place["id"]],
    }
    hows = {m["plan_id"]: m["how"] for m in item["data"]["matches"]}
    assert hows == {same_place["id"]: "location", close_by["id"]: "distance"}
    assert too_late["id"] not in item["proposed"]["plan_ids"]
    applied = api_client.post(
        f"{BASE}/suggestions/{draft['id']}/apply", {"items": [index]}, format="json"
    )
    assert applied.status_code == 200, applied.json()
    for member in (same_place, close_by):
        after = api_client.get(f"{BASE}/plans/{member['id']}").json()
        assert after["assignee_id"] == ann["id"]
        assert after["next_due_at"] == "2026-03-02T08:00:00Z"
        assert after["calendar"]["every"] == 1 and after["calendar"]["unit"] == "week"


def test_it_forecasts_the_counter_threshold_from_the_usage_rate(api_client, make_plan, clock):
    plan = make_plan(COUNTER_PLAN, counter={"unit": "hours", "interval": 500})
    clock.move_to(at("2026-04-01 00:00"))
    rng = np.random.default_rng(9)
    start = at("2026-03-01 00:00")
    days = np.arange(0, 30)
    values = np.round(12.0 * days + rng.uniform(0, 3, size=len(days)), 2)
    for day, value in zip(days, values, strict=True):
        response = api_client.post(
            f"{BASE}/plans/{plan['id']}/counter",
            {
                "value": float(value),
                "source": "plc",
                "recorded_at": iso(start + timedelta(days=int(day))),
            },
            format="json",
        )
        assert response.status_code == 201, response.json()
    draft = optimize(api_client, plan["id"])
    _, item = item_of(draft, "counter_threshold")
    slope = np.polyfit(days.astype(float), values.astype(float), 1)[0]
    assert item["data"]["usage_rate_per_day"] == pytest.approx(slope, rel=1e-6)
    assert item["data"]["n_readings"] == 30
    # No failures: the interval stays; the item forecasts when the threshold is reached.
    assert item["proposed"] == item["current"]
    threshold = item["current"]["next_counter_threshold"]
    assert threshold == 500.0
    expected = start + timedelta(days=29) + timedelta(days=(500 - values[-1]) / slope)
    got = item["current"]["expected_at"]
    assert (
        abs(
            (np.datetime64(got[:19]) - np.datetime64(expected.replace(tzinfo=None)))
            / np.timedelta64(1, "s")
        )
        < 1
    )
    assert draft["reasons"]["frequency"].startswith("a counter plan")


def test_with_failures_the_counter_interval_comes_from_the_weibull_method_in_usage_units(
    api_client, make_asset, make_plan, clock
):
    asset = make_asset(installed_at="2025-01-01T00:00:00Z")
    plan = make_plan(
        COUNTER_PLAN,
        asset_ids=[asset["id"]],
        counter={"unit": "hours", "interval": 5000},
        preventive_cost=200,
        failure_cost=3000,
    )
    start = at("2025-01-01 00:00")
    # 10 hours a day, every day for 400 days (readings each 5 days).
    for day in range(0, 401, 5):
        api_client.post(
            f"{BASE}/plans/{plan['id']}/counter",
            {"value": 10 * day, "source": "plc", "recorded_at": iso(start + timedelta(days=day))},
            format="json",
        )
    ages_days = _quantile_ages(2.5, 30.0, 12)  # in days; 10 h/day → hours = 10 * days
    _record_failures(api_client, asset["id"], start, ages_days)
    draft = optimize(api_client, plan["id"])
    index, item = item_of(draft, "counter_threshold")
    fit = engine.weibull_fit([10 * a for a in ages_days])
    best = engine.optimal_interval(fit.beta, fit.eta, 200.0, 3000.0)
    assert item["data"]["beta"] == pytest.approx(fit.beta, abs=1e-3)
    assert item["data"]["t_star"] == best.t_whole
    assert item["proposed"]["interval"] == float(best.t_whole)
    assert "hours" in item["rationale"]
    applied = api_client.post(
        f"{BASE}/suggestions/{draft['id']}/apply", {"items": [index]}, format="json"
    )
    assert applied.status_code == 200, applied.json()
    after = api_client.get(f"{BASE}/plans/{plan['id']}").json()
    assert after["counter"]["interval"] == best.t_whole
    assert after["next_counter_threshold"] == item["proposed"]["next_counter_threshold"]


# --- lists ----------------------------------------------------------------------------------------


def test_it_lists_a_plans_suggestions_in_a_bounded_number_of_queries(
    api_client, make_plan, make_asset, clock, django_assert_max_num_queries
):
    plan = make_plan()
    ids = [optimize(api_client, plan["id"])["id"] for _ in range(25)]
    asset = make_asset()
    for day in range(1, 26):
        api_client.post(
            f"{BASE}/assets/{asset['id']}/failures",
            {"occurred_at": iso(at("2026-01-01 00:00") + timedelta(days=day))},
            format="json",
        )
    for url, total in [
        (f"{BASE}/plans/{plan['id']}/suggestions", 25),
        (f"{BASE}/assets/{asset['id']}/failures", 25),
    ]:
        for limit in (5, 100):
            with django_assert_max_num_queries(5):
                response = api_client.get(url, {"limit": limit})
            assert response.status_code == 200
            assert response.json()["total"] == total
            assert len(response.json()["items"]) == min(limit, total)
    first = api_client.get(f"{BASE}/plans/{plan['id']}/suggestions").json()["items"][0]
    assert first["id"] in ids
    assert api_client.get(f"{BASE}/plans/plan_nope/suggestions").status_code == 404
    assert api_client.get(f"{BASE}/suggestions/sugg_nope").status_code == 404
    assert api_client.get(f"{BASE}/plans/{plan['id']}/suggestions", {"limit": 0}).status_code == 400
