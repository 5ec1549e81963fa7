"""Beat jobs (through their registered job functions and Celery tasks) and management commands
are recorded as `system:<job>` / `system:<command>`; bulk writes are recorded in bulk."""

from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import audit
from core.jobs import periodic_jobs, run_periodic_job
from core.models import ApiKey
from maintenance import services as maintenance_services
from maintenance.models import Task
from maintenance.specs import CalendarTrigger, PlanSpec, TaskTemplate
from maintenance.tasks import execute_plan
from scheduling import services as scheduling_services
from scheduling.models import MaintenanceEvent
from scheduling.specs import MaintenanceSpec
from tests.audit.conftest import T0, one, records


def job(name: str):
    return next(j for j in periodic_jobs() if j.name == name)


def window(**fields) -> int:
    spec = MaintenanceSpec(
        title="Nightly",
        description="",
        start_date_time=T0 + timedelta(hours=1),
        rrule="FREQ=DAILY",
        duration_seconds=3600,
        timezone="UTC",
        status="ACTIVE",
        monitors=(),
        **fields,
    )
    return scheduling_services.maintenance_create(spec=spec, now=T0).pk


def plan() -> str:
    spec = PlanSpec(
        name="Grease",
        task=TaskTemplate(title="Grease"),
        trigger=CalendarTrigger(every=1, unit="day", start_at=T0 + timedelta(hours=8)),
    )
    return maintenance_services.plan_create(spec=spec, now=T0).pk


def audit_inserts(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith('INSERT INTO "core_auditrecord"')]


def test_outside_every_entry_point_the_actor_is_system(db):
    window_id = window()
    assert one("maintenance", window_id, "create").actor_name == "system"


def generations(window_id=None) -> list:
    """The records of events generated for windows (newest first)."""
    return [r for r in records("maintenance", window_id, "update") if "events" in r.changes]


def test_the_horizon_job_records_the_new_events_of_each_window_in_one_insert(clock, settings):
    settings.MAINTENANCE_EVENT_HORIZON_DAYS = 2
    ids = [window() for _ in range(2)]
    settings.MAINTENANCE_EVENT_HORIZON_DAYS = 30

    with CaptureQueriesContext(connection) as queries:
        result = job("extend_event_horizon").run_inline()

    assert result.counts["created"] == 2 * 28
    assert len(audit_inserts(queries.captured_queries)) == 1
    for window_id in ids:
        record = generations(window_id)[0]  # the job's, after the create's
        assert record.actor_name == "system:extend-event-horizon"
        new = MaintenanceEvent.objects.filter(maintenance_id=window_id).order_by("pk")[2:]
        summary = record.changes["events"][1]
        assert summary["count"] == 28
        assert summary["ids"] == [[new[0].pk, new[27].pk]]
        iso = lambda at: at.isoformat().replace("+00:00", "Z")  # noqa: E731
        assert (summary["first"], summary["last"]) == (
            iso(new[0].start_date_time),
            iso(new[27].start_date_time),
        )
    assert records("event", action="create") == []


def test_the_status_job_records_each_transition_set_based(clock):
    window()
    clock.move_to(T0 + timedelta(minutes=58))  # inside the ready lead of the first event
    with CaptureQueriesContext(connection) as queries:
        run_periodic_job("advance_event_statuses", job("advance_event_statuses").run)
    (first,) = MaintenanceEvent.objects.filter(status="READY")
    record = one("event", first.pk, "update")
    assert record.actor_name == "system:advance-event-statuses"
    assert record.changes == {"status": ["SCHEDULED", "READY"]}
    assert len(audit_inserts(queries.captured_queries)) == 1


def test_due_plans_are_recorded_as_the_job_inline_and_on_a_worker(clock, eager_celery):
    first, second = plan(), plan()
    clock.move_to(T0 + timedelta(hours=8))
    job("execute_due_plans").run_inline()  # run_scheduler_tick's way: this process
    task = Task.objects.get(plan_id=first)
    assert one("task", task.pk, "create").actor_name == "system:execute-due-plans"
    update = records("plan", first, "update")[0]
    assert update.actor_name == "system:execute-due-plans"
    assert update.changes["next_due_at"] == ["2026-03-01T08:00:00Z", "2026-03-02T08:00:00Z"]

    clock.move_to(T0 + timedelta(days=1, hours=8))
    execute_plan.delay(second)  # beat's way: one message per plan, run by a worker
    latest = Task.objects.filter(plan_id=second).latest("due_at")
    assert one("task", latest.pk, "create").actor_name == "system:execute-due-plans"


def test_a_counter_reset_records_each_open_task_it_moves(clock):
    from decimal import Decimal

    from maintenance.specs import CounterTrigger

    spec = PlanSpec(
        name="Oil",
        task=TaskTemplate(title="Oil"),
        trigger=CounterTrigger(unit="h", interval=Decimal(10), tolerance_units=Decimal(5)),
    )
    plan_id = maintenance_services.plan_create(spec=spec, now=T0).pk
    record = maintenance_services.counter_record
    record(plan_id=plan_id, value=Decimal(12), source="s", recorded_at=None, reset=False, now=T0)
    task = Task.objects.get()
    with audit.acting_as(audit.Actor("key:meter")):
        record(plan_id=plan_id, value=Decimal(2), source="s", recorded_at=None, reset=True, now=T0)

    moved = one("task", task.pk, "update")
    assert moved.actor_name == "key:meter"
    assert moved.changes == {"deadline_counter_value": ["15.0000", "5.0000"]}


def test_management_commands_are_recorded_as_the_command(clock, settings):
    out = StringIO()
    call_command("create_api_key", "dashboards", "--read-only", stdout=out)
    key = ApiKey.objects.get(name="dashboards")
    created = one("api_key", key.prefix, "create")
    assert created.actor_name == "system:create-api-key"
    assert created.changes["read_only"] == [None, True]
    assert out.getvalue().strip().splitlines()[-1] not in str(created.changes)

    # run_scheduler_tick runs each job under the job's own name.
    settings.MAINTENANCE_EVENT_HORIZON_DAYS = 2
    window()
    settings.MAINTENANCE_EVENT_HORIZON_DAYS = 5
    call_command("run_scheduler_tick", stdout=StringIO())
    generated = [(r.actor_name, r.changes["events"][1]["count"]) for r in generations()]
    assert generated == [("system:extend-event-horizon", 3), ("system", 2)]
