"""`manage.py run_scheduler_tick`: every periodic job once, here and now, and what it did."""

import pytest
from django.core.management import CommandError, call_command

from core.models import SchedulerJob
from scheduling import services as scheduling_services
from tests.scheduler.conftest import at

V1 = "/api/v1/maintenance"


def tick(capsys) -> list[str]:
    call_command("run_scheduler_tick")
    return capsys.readouterr().out.strip().splitlines()


@pytest.fixture
def due_work(api_client, clock):
    """At 08:05: a window that started at 08:00 and two plans due at 08:00."""
    api_client.post(
        "/api/v4/maintenances",
        {
            "title": "Patch",
            "start_date_time": int(at("2026-03-02 08:00").timestamp()),
            "rrule": "FREQ=DAILY;COUNT=2",
            "duration_seconds": 3600,
        },
        format="json",
    )
    for name in ("Belts", "Filters"):
        api_client.post(
            f"{V1}/plans",
            {
                "name": name,
                "trigger": "calendar",
                "task": {"title": name},
                "calendar": {"every": 1, "unit": "day", "start_at": "2026-03-02T08:00:00Z"},
            },
            format="json",
        )
    clock.move_to(at("2026-03-02 08:05"))


@pytest.mark.django_db
def test_it_runs_every_job_once_and_prints_what_it_did(due_work, capsys):
    assert tick(capsys) == [
        "extend_event_horizon: 0 events created",  # the API generated them already
        "sweep_event_horizon: 0 windows rechecked, 0 events created",
        "advance_event_statuses: READY 0, ONGOING 1, COMPLETED 0",
        "execute_due_plans: 2 tasks created",
        "send_reminders: 0 reminders",
        "send_task_reminders: 0 task reminders",
        "notify_overdue_tasks: 0 overdue tasks announced",
        "send_due_reports: 0 reports sent",
        "retry_due_deliveries: 0 deliveries enqueued",
        "prune_expired_records: nothing pruned",
        "compact_event_counts: event counts compacted",
    ]
    jobs = SchedulerJob.objects.order_by("name")
    assert [(job.name, job.run_count, job.last_ok) for job in jobs] == [
        ("advance_event_statuses", 1, True),
        ("compact_event_counts", 1, True),
        ("execute_due_plans", 1, True),
        ("extend_event_horizon", 1, True),
        ("notify_overdue_tasks", 1, True),
        ("prune_expired_records", 1, True),
        ("retry_due_deliveries", 1, True),
        ("send_due_reports", 1, True),
        ("send_reminders", 1, True),
        ("send_task_reminders", 1, True),
        ("sweep_event_horizon", 1, True),
    ]


@pytest.mark.django_db
def test_it_does_nothing_twice(due_work, capsys):
    tick(capsys)
    assert tick(capsys) == [
        "extend_event_horizon: 0 events created",
        "sweep_event_horizon: 0 windows rechecked, 0 events created",
        "advance_event_statuses: READY 0, ONGOING 0, COMPLETED 0",
        "execute_due_plans: 0 tasks created",
        "send_reminders: 0 reminders",
        "send_task_reminders: 0 task reminders",
        "notify_overdue_tasks: 0 overdue tasks announced",
        "send_due_reports: 0 reports sent",
        "retry_due_deliveries: 0 deliveries enqueued",
        "prune_expired_records: nothing pruned",
        "compact_event_counts: event counts compacted",
    ]


@pytest.mark.django_db
def test_it_runs_the_other_jobs_and_fails_when_one_job_fails(monkeypatch, capsys, clock):
    def broken(*, now):
        raise RuntimeError("rule engine down")

    monkeypatch.setattr(scheduling_services, "events_extend_horizon", broken)
    # Both horizon jobs (the 10-minute pass and the hourly sweep's) expand rules.
    with pytest.raises(CommandError, match="2 job"):
        call_command("run_scheduler_tick")
    output = capsys.readouterr()
    assert "extend_event_horizon: failed: RuntimeError: rule engine down" in output.err
    assert "sweep_event_horizon: failed: RuntimeError: rule engine down" in output.err
    assert "execute_due_plans: 0 tasks created" in output.out
    assert SchedulerJob.objects.get(name="extend_event_horizon").last_ok is False
