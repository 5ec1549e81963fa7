"""Downtime: the scheduler was stopped for a while; the next tick catches up in one pass.

The ticks here run exactly what beat sends (the periodic tasks, with Celery inline), under a
stopped clock, so days of downtime take no time.
"""

import pytest

from maintenance import tasks as maintenance_tasks
from scheduling import tasks as scheduling_tasks
from scheduling.models import MaintenanceEvent
from tests.scheduler.conftest import at

V1 = "/api/v1/maintenance"
DAILY_AT_EIGHT = {
    "name": "Lubricate pump bearings",
    "trigger": "calendar",
    "task": {"title": "Lubricate bearings"},
    "calendar": {"every": 1, "unit": "day", "start_at": "2026-03-02T08:00:00Z"},
}


def beat_tick() -> None:
    """What one beat tick sends; the fan-out runs inline (eager Celery)."""
    scheduling_tasks.extend_event_horizon()
    scheduling_tasks.advance_event_statuses()
    maintenance_tasks.execute_due_plans()


@pytest.mark.django_db
def test_it_catches_up_a_daily_plan_stopped_across_three_occurrences(
    api_client, clock, eager_celery
):
    plan = api_client.post(f"{V1}/plans", DAILY_AT_EIGHT, format="json").json()
    clock.move_to(at("2026-03-02 08:00:05"))
    beat_tick()
    # The scheduler stops here; 03-03, 03-04 and 03-05 08:00 pass while it is down.
    clock.move_to(at("2026-03-05 09:30"))
    beat_tick()
    beat_tick()  # a second tick (or a second beat) finds nothing more to do

    tasks = api_client.get(f"{V1}/tasks", {"plan_id": plan["id"], "limit": 100}).json()
    assert sorted(task["due_at"] for task in tasks["items"]) == [
        "2026-03-02T08:00:00Z",
        "2026-03-05T08:00:00Z",  # one catch-up task, for the latest missed occurrence
    ]
    history = api_client.get(f"{V1}/plans/{plan['id']}/history", {"limit": 100}).json()
    rows = sorted(
        (row["due_at"], row["missed"], row["task_id"] is not None) for row in history["items"]
    )
    assert rows == [
        ("2026-03-02T08:00:00Z", False, True),
        ("2026-03-03T08:00:00Z", True, False),  # recorded, no task
        ("2026-03-04T08:00:00Z", True, False),
        ("2026-03-05T08:00:00Z", False, True),
    ]
    assert all(row["executed_by"] == "system" for row in history["items"])
    after = api_client.get(f"{V1}/plans/{plan['id']}").json()
    assert after["next_due_at"] == "2026-03-06T08:00:00Z"
    compliance = api_client.get(
        f"{V1}/compliance", {"start_date": "2026-03-02", "end_date": "2026-03-05"}
    ).json()
    assert compliance["overdue_count"] >= 2  # the two missed occurrences count as overdue


@pytest.mark.django_db
def test_it_brings_every_stale_event_status_up_to_date_in_one_pass(api_client, clock):
    # Daily 08:00-08:30 from 03-02; statuses are stored while the scheduler runs...
    window = api_client.post(
        "/api/v4/maintenances",
        {
            "title": "Nightly backup",
            "start_date_time": int(at("2026-03-02 08:00").timestamp()),
            "rrule": "FREQ=DAILY",
            "duration_seconds": 1800,
        },
        format="json",
    ).json()["maintenance"]
    clock.move_to(at("2026-03-02 08:10"))
    assert scheduling_tasks.advance_event_statuses()["ONGOING"] == 1

    # ... then it stops for three days and comes back during the 03-05 window.
    clock.move_to(at("2026-03-05 08:10"))
    counts = scheduling_tasks.advance_event_statuses()

    events = MaintenanceEvent.objects.filter(maintenance_id=window["id"]).order_by("occurrence")
    stored = {event.start_date_time.strftime("%m-%d"): event.status for event in events[:5]}
    assert stored == {
        "03-02": "COMPLETED",
        "03-03": "COMPLETED",
        "03-04": "COMPLETED",
        "03-05": "ONGOING",
        "03-06": "SCHEDULED",
    }
    # Each past event is reported once, as where it ended up: no READY or ONGOING for the past.
    assert counts == {"READY": 0, "ONGOING": 1, "COMPLETED": 3}
    assert scheduling_tasks.advance_event_statuses() == {"READY": 0, "ONGOING": 0, "COMPLETED": 0}
    # What the API shows agrees with what is stored.
    shown = api_client.get(f"/api/v4/maintenances/{window['id']}/events", {"limit": 5}).json()
    assert [event["status"] for event in shown["events"]] == list(stored.values())
