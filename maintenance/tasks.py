"""Celery tasks of the v1 side: thin wrappers that run a service and own the retries.

`execute_due_plans` (beat, every tick) only finds the due plans and fans them out in chunks
of SCHEDULER_PLAN_CHUNK ids, one `execute_plans` message each, so several workers share the
work and each creates its chunk's tasks in bulk. `execute_plans` locks the plan rows
(skip_locked), re-checks that they are still due and creates the executions and tasks for
the occurrences, which are unique in the database: duplicated messages (two beats, a
redelivery after a crash, a tick that overlaps the previous one) are harmless no-ops.
"""

from datetime import datetime

from celery import current_app
from django.conf import settings
from django.utils import timezone

from core.jobs import JobResult, database_task, periodic_job
from maintenance import reminders, reports, selectors, services


def execute_due_plans_inline(now: datetime) -> JobResult:
    """The same work as `execute_due_plans` without a broker, in this process (manual tick)."""
    created = services.plans_execute_due(now=now)
    return JobResult(f"{created} tasks created", {"created": created})


@periodic_job(
    every=lambda: settings.SCHEDULER_TICK_SECONDS, tick_order=30, inline=execute_due_plans_inline
)
def execute_due_plans(now: datetime) -> JobResult:
    """Fan out the due plans, at most SCHEDULER_PLAN_BATCH a tick, SCHEDULER_PLAN_CHUNK ids
    per `execute_plans` message."""
    plan_ids = selectors.due_plan_ids(now=now, limit=settings.SCHEDULER_PLAN_BATCH)
    chunk = settings.SCHEDULER_PLAN_CHUNK
    chunks = [plan_ids[start : start + chunk] for start in range(0, len(plan_ids), chunk)]
    # Each tick sends every still-due plan again, so an old message is redundant: it expires
    # after two ticks, which bounds the queue to two ticks' worth while workers are behind.
    # (A duplicate that does run is a cheap no-op: its plans are no longer due.)
    expires = 2 * settings.SCHEDULER_TICK_SECONDS
    with current_app.producer_or_acquire() as producer:
        for ids in chunks:
            execute_plans.apply_async((ids,), expires=expires, producer=producer)
    return JobResult(
        f"{len(plan_ids)} plans dispatched in {len(chunks)} messages",
        {"dispatched": len(plan_ids), "messages": len(chunks)},
    )


# Its writes are the fan-out job's: recorded as system:execute-due-plans.
@database_task("maintenance.tasks.execute_plans", audit_actor="execute_due_plans")
def execute_plans(plan_ids: list[str]) -> int:
    """Execute those of `plan_ids` that are (still) due, in bulk; returns how many tasks."""
    return services.plans_execute(plan_ids=plan_ids, now=timezone.now())


# Messages of the one-plan-per-message fan-out may still be queued during an upgrade.
@database_task("maintenance.tasks.execute_plan", audit_actor="execute_due_plans")
def execute_plan(plan_id: str) -> str | None:
    """Execute one plan if it is (still) due; returns the new task's id, or None."""
    task = services.plan_execute_if_due(plan_id=plan_id, now=timezone.now())
    return None if task is None else str(task.pk)


# A minute is the precision an overdue notice needs.
@periodic_job(every=lambda: 60, tick_order=40)
def notify_overdue_tasks(now: datetime) -> JobResult:
    """Announce `task.overdue` once for each open task whose deadline passed."""
    announced = services.tasks_notify_overdue(now=now)
    return JobResult(f"{announced} overdue tasks announced", {"announced": announced})


@periodic_job(every=lambda: settings.REPORTS_TICK_SECONDS, tick_order=45)
def send_due_reports(now: datetime) -> JobResult:
    """Produce and send each scheduled report whose period has ended, once."""
    produced = reports.reports_send_due(now=now)
    return JobResult(f"{produced} reports sent", {"reports": produced})


# Every scheduler tick, like the reminders of windows: a reminder is sent while it is true
# (until the next shorter lead), so the sweep must come more often than leads are apart.
@periodic_job(every=lambda: settings.SCHEDULER_TICK_SECONDS, tick_order=38)
def send_task_reminders(now: datetime) -> JobResult:
    """Announce `task.due_soon` at each lead time and `task.escalated` at each fraction of the
    time to the deadline, each exactly once per channel (`maintenance.reminders`)."""
    sent = reminders.tasks_send_reminders(now=now)
    return JobResult(f"{sent} task reminders", {"reminders": sent})
