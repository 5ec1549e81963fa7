"""The calendar scheduler: `plans_execute_due`, anchors, lead time, tolerance, catch-up, DST,
pause and resume, manual execution. The clock is frozen; the scheduler is called directly."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from maintenance import selectors, services
from maintenance.models import Execution, Plan, Task
from tests.maintenance.conftest import BASE, at


def run_scheduler() -> int:
    return services.plans_execute_due(now=timezone.now())


def get_plan(api_client, plan_id: str) -> dict:
    return api_client.get(f"{BASE}/plans/{plan_id}").json()


def tasks_of(api_client, plan_id: str) -> list[dict]:
    return api_client.get(f"{BASE}/tasks", {"plan_id": plan_id, "limit": 100}).json()["items"]


# --- fixed anchor, lead time, tolerance ------------------------------------------------------


def test_it_generates_a_task_when_the_occurrence_is_due(api_client, make_plan, clock):
    plan = make_plan()
    assert plan["next_due_at"] == "2026-03-02T08:00:00Z"

    clock.move_to(at("2026-03-02 07:59:59"))
    assert run_scheduler() == 0

    clock.move_to(at("2026-03-02 08:00"))
    assert run_scheduler() == 1
    [task] = tasks_of(api_client, plan["id"])
    assert task["code"] == "MAN-001"
    assert task["trigger"] == "calendar"
    assert task["due_at"] == "2026-03-02T08:00:00Z"
    assert task["deadline_at"] == "2026-03-03T08:00:00Z"  # default tolerance: 24 h
    assert task["title"] == "Lubricate bearings"
    assert task["checklist"] == [
        {"item": "Clean nipple", "done": False},
        {"item": "Grease 5 g", "done": False},
    ]
    assert get_plan(api_client, plan["id"])["next_due_at"] == "2026-03-03T08:00:00Z"
    [execution] = api_client.get(f"{BASE}/plans/{plan['id']}/history").json()["items"]
    assert execution["executed_by"] == "system"
    assert execution["task_id"] == task["id"]


def test_it_generates_each_occurrence_once_however_often_it_runs(api_client, make_plan, clock):
    plan = make_plan()
    clock.move_to(at("2026-03-02 08:00"))
    assert [run_scheduler() for _ in range(3)] == [1, 0, 0]
    clock.move_to(at("2026-03-02 20:00"))
    assert run_scheduler() == 0
    assert len(tasks_of(api_client, plan["id"])) == 1


def test_it_generates_lead_time_hours_before_the_occurrence(api_client, make_plan, clock):
    plan = make_plan(calendar={"lead_time_hours": 48, "tolerance_hours": 6})

    clock.move_to(at("2026-02-28 07:59:59"))
    # The first occurrence from creation on is 2026-03-02 08:00; its run time is 48 h earlier.
    assert run_scheduler() == 0
    clock.move_to(at("2026-02-28 08:00"))
    assert run_scheduler() == 1

    [task] = tasks_of(api_client, plan["id"])
    assert task["due_at"] == "2026-03-02T08:00:00Z"  # due at the occurrence, not at generation
    assert task["deadline_at"] == "2026-03-02T14:00:00Z"  # tolerance 6 h
    assert task["created_at"] == "2026-02-28T08:00:00Z"
    assert get_plan(api_client, plan["id"])["next_due_at"] == "2026-03-03T08:00:00Z"


def test_it_selects_due_plans_by_their_run_time(make_plan, clock):
    soon = make_plan(calendar={"lead_time_hours": 24})
    later = make_plan()
    make_plan(trigger="counter", calendar=None, counter={"unit": "h", "interval": 10})
    clock.move_to(at("2026-03-01 08:00"))
    assert selectors.due_plan_ids(now=timezone.now()) == [soon["id"]]
    clock.move_to(at("2026-03-02 08:00"))
    assert set(selectors.due_plan_ids(now=timezone.now())) == {soon["id"], later["id"]}


def test_it_keeps_a_fixed_plan_on_its_grid_whatever_the_completion(api_client, make_plan, clock):
    plan = make_plan(calendar={"every": 7, "unit": "day"})
    clock.move_to(at("2026-03-02 08:00"))
    run_scheduler()
    [task] = tasks_of(api_client, plan["id"])
    clock.move_to(at("2026-03-05 15:00"))
    api_client.post(f"{BASE}/tasks/{task['id']}/complete", {}, format="json")
    assert get_plan(api_client, plan["id"])["next_due_at"] == "2026-03-09T08:00:00Z"


def test_it_stops_after_end_at(api_client, make_plan, clock):
    plan = make_plan(calendar={"end_at": "2026-03-03T08:00:00Z"})
    clock.move_to(at("2026-03-02 08:00"))
    run_scheduler()
    clock.move_to(at("2026-03-03 08:00"))
    run_scheduler()
    assert get_plan(api_client, plan["id"])["next_due_at"] is None
    clock.move_to(at("2026-03-10 08:00"))
    assert run_scheduler() == 0
    assert len(tasks_of(api_client, plan["id"])) == 2


def test_it_ignores_occurrences_before_the_plan_existed(api_client, make_plan, clock):
    clock.move_to(at("2026-03-10 09:00"))
    plan = make_plan()  # starts 2026-03-02 08:00, daily
    assert plan["next_due_at"] == "2026-03-11T08:00:00Z"
    assert run_scheduler() == 0


# --- floating anchor -------------------------------------------------------------------------


def test_it_schedules_a_floating_plan_one_interval_after_the_completion(
    api_client, make_plan, clock
):
    plan = make_plan(calendar={"every": 7, "unit": "day", "anchor": "floating"})
    assert plan["next_due_at"] == "2026-03-02T08:00:00Z"  # the first occurrence is start_at

    clock.move_to(at("2026-03-02 08:00"))
    assert run_scheduler() == 1
    # Nothing more until the task is done: the next occurrence depends on the completion.
    assert get_plan(api_client, plan["id"])["next_due_at"] is None
    clock.move_to(at("2026-03-20 08:00"))
    assert run_scheduler() == 0

    [task] = tasks_of(api_client, plan["id"])
    api_client.post(
        f"{BASE}/tasks/{task['id']}/complete",
        {"completed_at": "2026-03-11T16:30:00+01:00"},
        format="json",
    )
    assert get_plan(api_client, plan["id"])["next_due_at"] == "2026-03-18T15:30:00Z"
    # ...which has already passed at 2026-03-20, so it is generated now.
    assert run_scheduler() == 1
    assert tasks_of(api_client, plan["id"])[-1]["due_at"] == "2026-03-18T15:30:00Z"


def test_it_restarts_a_floating_plan_from_a_cancellation(api_client, make_plan, clock):
    plan = make_plan(calendar={"every": 2, "unit": "week", "anchor": "floating"})
    clock.move_to(at("2026-03-02 08:00"))
    run_scheduler()
    [task] = tasks_of(api_client, plan["id"])
    clock.move_to(at("2026-03-04 10:00"))
    api_client.post(f"{BASE}/tasks/{task['id']}/cancel", {}, format="json")
    assert get_plan(api_client, plan["id"])["next_due_at"] == "2026-03-18T10:00:00Z"


def test_it_starts_a_floating_plan_whose_start_has_passed_now(make_plan, clock):
    clock.move_to(at("2026-03-05 12:00"))
    plan = make_plan(calendar={"anchor": "floating"})
    assert plan["next_due_at"] == "2026-03-05T12:00:00Z"


# --- catch-up after downtime -------------------------------------------------------------------


def test_it_catches_up_with_one_task_for_the_latest_missed_occurrence(api_client, make_plan, clock):
    plan = make_plan()
    clock.move_to(at("2026-03-02 08:00"))
    run_scheduler()

    # The scheduler is down from 2026-03-02 until 2026-03-05 09:00.
    clock.move_to(at("2026-03-05 09:00"))
    assert run_scheduler() == 1
    assert run_scheduler() == 0

    tasks = tasks_of(api_client, plan["id"])
    assert [t["due_at"] for t in tasks] == ["2026-03-02T08:00:00Z", "2026-03-05T08:00:00Z"]
    history = api_client.get(f"{BASE}/plans/{plan['id']}/history").json()["items"]
    assert [(h["due_at"], h["task_id"] is not None, h["missed"]) for h in history] == [
        ("2026-03-05T08:00:00Z", True, False),
        ("2026-03-04T08:00:00Z", False, True),
        ("2026-03-03T08:00:00Z", False, True),
        ("2026-03-02T08:00:00Z", True, False),
    ]
    assert get_plan(api_client, plan["id"])["next_due_at"] == "2026-03-06T08:00:00Z"


def test_it_never_gives_an_occurrence_a_second_execution(make_plan, clock):
    plan = make_plan()
    clock.move_to(at("2026-03-02 08:00"))
    run_scheduler()
    # A stale next_due_at (say, restored from a backup) points at a generated occurrence.
    Plan.objects.filter(pk=plan["id"]).update(
        next_due_at=at("2026-03-02 08:00"), next_run_at=at("2026-03-02 08:00")
    )
    assert run_scheduler() == 0
    assert Execution.objects.filter(plan_id=plan["id"]).count() == 1
    assert Plan.objects.get(pk=plan["id"]).next_due_at == at("2026-03-03 08:00")


# --- DST -------------------------------------------------------------------------------------


BERLIN_0230 = {
    "rrule": "FREQ=DAILY;BYHOUR=2;BYMINUTE=30",
    "every": None,
    "unit": None,
    "start_at": "2026-01-01T02:30:00+01:00",
    "timezone": "Europe/Berlin",
}


@pytest.mark.parametrize(
    ("day", "expected_utc"),
    [
        # Winter (CET, +01:00) and summer (CEST, +02:00): 02:30 Berlin time both.
        ("2026-03-28", "2026-03-28T01:30:00Z"),
        ("2026-03-30", "2026-03-30T00:30:00Z"),
        # 2026-03-29 02:30 does not exist (02:00 -> 03:00): shifted forward by the gap,
        # to 03:30 CEST.
        ("2026-03-29", "2026-03-29T01:30:00Z"),
        # 2026-10-25 02:30 happens twice (03:00 -> 02:00): the first, 02:30 CEST.
        ("2026-10-25", "2026-10-25T00:30:00Z"),
        ("2026-10-26", "2026-10-26T01:30:00Z"),
    ],
)
def test_it_keeps_a_berlin_plan_at_0230_local_across_dst(
    api_client, make_plan, clock, day, expected_utc
):
    clock.move_to(datetime.fromisoformat(f"{day}T00:00:00+00:00"))
    plan = make_plan(calendar=BERLIN_0230)
    assert plan["next_due_at"] == expected_utc

    clock.move_to(datetime.fromisoformat(expected_utc))
    assert run_scheduler() == 1
    assert run_scheduler() == 0
    assert [t["due_at"] for t in tasks_of(api_client, plan["id"])] == [expected_utc]


def test_it_generates_one_task_per_day_through_the_autumn_overlap(api_client, make_plan, clock):
    clock.move_to(at("2026-10-24 00:00"))
    plan = make_plan(calendar={**BERLIN_0230, "start_at": "2026-10-01T02:30:00+02:00"})
    for minutes in range(0, 3 * 24 * 60, 15):  # a beat every 15 minutes for three days
        clock.move_to(datetime(2026, 10, 24, tzinfo=UTC) + timedelta(minutes=minutes))
        run_scheduler()
    due = [t["due_at"] for t in tasks_of(api_client, plan["id"])]
    assert due == ["2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]


def test_it_generates_the_spring_gap_occurrence_once(api_client, make_plan, clock):
    clock.move_to(at("2026-03-28 00:00"))
    plan = make_plan(calendar=BERLIN_0230)
    for minutes in range(0, 3 * 24 * 60, 15):
        clock.move_to(datetime(2026, 3, 28, tzinfo=UTC) + timedelta(minutes=minutes))
        run_scheduler()
    due = [t["due_at"] for t in tasks_of(api_client, plan["id"])]
    assert due == ["2026-03-28T01:30:00Z", "2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z"]


# --- pause and resume ------------------------------------------------------------------------


def test_it_generates_nothing_while_paused_and_no_backlog_on_resume_fixed(
    api_client, make_plan, clock
):
    plan = make_plan()
    response = api_client.post(f"{BASE}/plans/{plan['id']}/pause")
    assert response.status_code == 200
    assert response.json()["status"] == "paused"
    assert response.json()["next_due_at"] == "2026-03-02T08:00:00Z"  # kept

    clock.move_to(at("2026-03-04 12:00"))
    assert run_scheduler() == 0

    response = api_client.post(f"{BASE}/plans/{plan['id']}/resume")
    assert response.status_code == 200
    assert response.json()["status"] == "active"
    # Passed while paused: the next occurrence after now, and nothing for the ones missed.
    assert response.json()["next_due_at"] == "2026-03-05T08:00:00Z"
    assert run_scheduler() == 0
    assert tasks_of(api_client, plan["id"]) == []
    assert Execution.objects.filter(plan_id=plan["id"]).count() == 0


def test_it_makes_a_floating_plan_due_now_on_resume(api_client, make_plan, clock):
    plan = make_plan(calendar={"anchor": "floating", "every": 1, "unit": "month"})
    api_client.post(f"{BASE}/plans/{plan['id']}/pause")
    clock.move_to(at("2026-03-04 12:00"))
    assert run_scheduler() == 0

    response = api_client.post(f"{BASE}/plans/{plan['id']}/resume")
    assert response.json()["next_due_at"] == "2026-03-04T12:00:00Z"
    assert run_scheduler() == 1
    [task] = tasks_of(api_client, plan["id"])
    assert task["due_at"] == "2026-03-04T12:00:00Z"


def test_it_keeps_next_due_at_on_resume_before_it_passes(api_client, make_plan, clock):
    plan = make_plan(calendar={"every": 1, "unit": "week"})
    api_client.post(f"{BASE}/plans/{plan['id']}/pause")
    clock.move_to(at("2026-03-01 12:00"))
    response = api_client.post(f"{BASE}/plans/{plan['id']}/resume")
    assert response.json()["next_due_at"] == "2026-03-02T08:00:00Z"


def test_it_refuses_to_pause_a_paused_plan_or_resume_an_active_one(api_client, make_plan):
    plan = make_plan()
    response = api_client.post(f"{BASE}/plans/{plan['id']}/resume")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    assert api_client.post(f"{BASE}/plans/{plan['id']}/pause").status_code == 200
    assert api_client.post(f"{BASE}/plans/{plan['id']}/pause").status_code == 409


# --- manual execution ------------------------------------------------------------------------


def test_it_executes_a_fixed_plan_now_and_moves_to_the_next_occurrence(
    api_client, make_plan, clock
):
    plan = make_plan(calendar={"every": 1, "unit": "week"})
    clock.move_to(at("2026-03-04 10:00"))  # the 2026-03-02 occurrence was not generated
    response = api_client.post(f"{BASE}/plans/{plan['id']}/execute")
    assert response.status_code == 200
    body = response.json()
    assert body["task_code"] == "MAN-001"
    assert body["next_due_at"] == "2026-03-09T08:00:00Z"

    task = api_client.get(f"{BASE}/tasks/{body['task_id']}").json()
    assert task["trigger"] == "manual"
    assert task["due_at"] == "2026-03-04T10:00:00Z"
    assert task["deadline_at"] == "2026-03-05T10:00:00Z"
    assert task["execution_id"] == body["execution_id"]
    [execution] = api_client.get(f"{BASE}/plans/{plan['id']}/history").json()["items"]
    assert execution["trigger"] == "manual"
    assert execution["executed_by"] == "key:tests"
    assert run_scheduler() == 0


def test_it_executes_a_floating_plan_now_and_moves_one_interval_after_now(
    api_client, make_plan, clock
):
    plan = make_plan(calendar={"every": 10, "unit": "day", "anchor": "floating"})
    clock.move_to(at("2026-03-01 15:00"))
    body = api_client.post(f"{BASE}/plans/{plan['id']}/execute").json()
    assert body["next_due_at"] == "2026-03-11T15:00:00Z"


def test_it_records_the_staff_user_as_executor(staff_client, staff_user, make_plan):
    plan = make_plan()
    staff_client.get("/admin/")  # renders a form, so sets the CSRF cookie
    token = staff_client.cookies["csrftoken"].value
    response = staff_client.post(
        f"{BASE}/plans/{plan['id']}/execute", HTTP_X_CSRFTOKEN=token, format="json"
    )
    assert response.status_code == 200
    assert Execution.objects.get().executed_by == f"user:{staff_user.pk}"


def test_it_does_not_regenerate_an_occurrence_generated_ahead_by_lead_time(
    api_client, make_plan, clock
):
    plan = make_plan(calendar={"lead_time_hours": 48})
    clock.move_to(at("2026-03-01 09:00"))
    assert run_scheduler() == 2  # 2026-03-02 and 03-03 08:00: both within the 48 h
    next_due = get_plan(api_client, plan["id"])["next_due_at"]
    assert next_due == "2026-03-04T08:00:00Z"
    # A manual execution must not move the plan back onto an occurrence already generated.
    body = api_client.post(f"{BASE}/plans/{plan['id']}/execute").json()
    assert body["next_due_at"] == next_due
    assert run_scheduler() == 0


def test_it_refuses_to_execute_a_paused_plan(api_client, make_plan):
    plan = make_plan()
    api_client.post(f"{BASE}/plans/{plan['id']}/pause")
    response = api_client.post(f"{BASE}/plans/{plan['id']}/execute")
    assert response.status_code == 409
    assert Task.objects.count() == 0


def test_it_gives_each_occurrence_inside_the_lead_time_its_own_task(api_client, make_plan, clock):
    # Lead time (3 days) longer than the interval (1 day): three tasks are always out ahead.
    plan = make_plan(calendar={"lead_time_hours": 72})
    clock.move_to(at("2026-03-01 08:00"))
    assert run_scheduler() == 3
    clock.move_to(at("2026-03-02 08:00"))
    assert run_scheduler() == 1
    # Down for two days: 03-06 and 03-07 have come within the lead time meanwhile. Every
    # occurrence already due had its task generated ahead, so nothing was missed.
    clock.move_to(at("2026-03-04 08:00"))
    assert run_scheduler() == 2
    due = [t["due_at"][:10] for t in tasks_of(api_client, plan["id"])]
    assert due == [f"2026-03-0{day}" for day in range(2, 8)]
    assert not Execution.objects.filter(missed=True).exists()


def test_it_does_not_count_occurrences_not_yet_due_as_missed_after_downtime(
    api_client, make_plan, clock
):
    plan = make_plan(calendar={"lead_time_hours": 24})
    # Down until 03-04 12:00: 03-02..03-04 08:00 are due (one catch-up task for 03-04, two
    # missed) and 03-05 08:00 is inside the lead time (its task, on time).
    clock.move_to(at("2026-03-04 12:00"))
    assert run_scheduler() == 2
    history = api_client.get(f"{BASE}/plans/{plan['id']}/history").json()["items"]
    assert sorted((h["due_at"][:10], h["missed"]) for h in history) == [
        ("2026-03-02", True),
        ("2026-03-03", True),
        ("2026-03-04", False),
        ("2026-03-05", False),
    ]


def test_it_answers_404_for_an_unknown_plan(api_client):
    for method, suffix in [
        ("post", "execute"),
        ("get", "preview"),
        ("post", "pause"),
        ("post", "resume"),
        ("get", "history"),
    ]:
        response = getattr(api_client, method)(f"{BASE}/plans/plan_nope/{suffix}")
        assert response.status_code == 404, suffix
        assert response.json()["error"]["message"] == "Plan with id 'plan_nope' not found"


# --- preview ---------------------------------------------------------------------------------


def test_it_previews_the_next_task_without_side_effects(
    api_client, make_plan, make_asset, make_technician, clock
):
    asset = make_asset()
    tech = make_technician()
    plan = make_plan(
        asset_ids=[asset["id"]],
        assignee_id=tech["id"],
        priority="high",
        task={"estimated_duration_minutes": 45},
        calendar={"tolerance_hours": 2},
    )
    response = api_client.get(f"{BASE}/plans/{plan['id']}/preview")
    assert response.status_code == 200
    assert response.json() == {
        "task": {
            "code": "MAN-001",
            "title": "Lubricate bearings",
            "description": "",
            "checklist": [
                {"item": "Clean nipple", "done": False},
                {"item": "Grease 5 g", "done": False},
            ],
            "priority": "high",
            "asset_ids": [asset["id"]],
            "assignee_id": tech["id"],
            "due_at": "2026-03-02T08:00:00Z",
            "deadline_at": "2026-03-02T10:00:00Z",
            "estimated_duration_minutes": 45,
        },
        "next_due_at": "2026-03-02T08:00:00Z",
        "next_counter_threshold": None,
        "trigger": "calendar",
        # Additive (issue 15): which trigger is expected to fire next.
        "next_trigger": "calendar",
        "next_trigger_at": "2026-03-02T08:00:00Z",
        "counter_expected_at": None,
    }
    api_client.get(f"{BASE}/plans/{plan['id']}/preview")
    assert Task.objects.count() == Execution.objects.count() == 0
    # Previewing consumed no code.
    assert api_client.post(f"{BASE}/plans/{plan['id']}/execute").json()["task_code"] == "MAN-001"
    assert api_client.get(f"{BASE}/plans/{plan['id']}/preview").json()["task"]["code"] == (
        "MAN-002"
    )


def test_it_previews_a_counter_plan_without_a_date(api_client, make_counter_plan):
    plan = make_counter_plan()
    body = api_client.get(f"{BASE}/plans/{plan['id']}/preview").json()
    assert body["trigger"] == "counter"
    assert body["task"]["due_at"] is None
    assert body["next_counter_threshold"] == 500


def test_it_keeps_a_floating_plan_waiting_when_a_put_changes_its_rule(api_client, make_plan, clock):
    plan = make_plan(calendar={"anchor": "floating"})
    clock.move_to(at("2026-03-02 08:00"))
    run_scheduler()
    body = {**plan, "calendar": {**plan["calendar"], "every": 2, "rrule": None}}
    response = api_client.put(f"{BASE}/plans/{plan['id']}", body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["calendar"]["rrule"] == "FREQ=DAILY;INTERVAL=2"
    assert response.json()["next_due_at"] is None  # its task is still open
