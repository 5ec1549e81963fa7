"""Celery tasks of the v1 side: thin wrappers that run a service and own the retries.

`execute_due_plans` (beat, every tick) only finds the due plans and fans out one
`execute_plan` per plan, so several workers share the work. `execute_plan` locks the plan row
(skip_locked), re-checks that it is still due and creates the execution and task for the
occurrence, which is unique in the database: duplicated messages (two beats, a redelivery
after a crash, a tick that overlaps the previous one) are harmless no-ops.
"""

from datetime import datetime

from celery import current_app
from django.conf import settings
from django.utils import timezone

from core.jobs import JobResult, database_task, periodic_job
from maintenance import selectors, services


def execute_due_plans_inline(now: datetime) -> JobResult:
    """The same work as `execute_due_plans` without a broker, in this process (manual tick)."""
    created = services.plans_execute_due(now=now)
    return JobResult(f"{created} tasks created", {"created": created})


@periodic_job(
    every=lambda: settings.SCHEDULER_TICK_SECONDS, tick_order=30, inline=execute_due_plans_inline
)
def execute_due_plans(now: datetime) -> JobResult:
    """Fan out: one `execute_plan` message per due plan, at most SCHEDULER_PLAN_BATCH a tick."""
    plan_ids = selectors.due_plan_ids(now=now, limit=settings.SCHEDULER_PLAN_BATCH)
    # Each tick sends every still-due plan again, so an old message is redundant: it expires
    # after two ticks, which bounds the queue to two ticks' worth while workers are behind.
    # (A duplicate that does run is a cheap no-op: the plan is no longer due.)
    expires = 2 * settings.SCHEDULER_TICK_SECONDS
    with current_app.producer_or_acquire() as producer:
        for plan_id in plan_ids:
            execute_plan.apply_async((plan_id,), expires=expires, producer=producer)
    return JobResult(f"{len(plan_ids)} plans dispatched", {"dispatched": len(plan_ids)})


# Its writes are the fan-out job's: recorded as system:execute-due-plans.
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
