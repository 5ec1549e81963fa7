"""Celery tasks of the v4 side: thin wrappers that run a service and own the retries.

Both periodic jobs are safe to run twice at once (two beats, or `run_scheduler_tick` beside
beat): events are unique per (maintenance, occurrence) and statuses move by compare-and-set.
"""

from datetime import datetime

from celery import shared_task
from django.conf import settings

from config.celery import DatabaseTask, JobResult, run_periodic_job
from scheduling import services

STATUS_ORDER = ("READY", "ONGOING", "COMPLETED")


def extend_event_horizon_job(now: datetime) -> JobResult:
    """Create the missing events of every active window up to the horizon."""
    created = services.events_extend_horizon(now=now)
    return JobResult(f"{created} events created", {"created": created})


def advance_event_statuses_job(now: datetime) -> JobResult:
    """Store every status transition that is due by `now`, each exactly once.

    After downtime one pass brings every stale event up to date; an event whose whole window
    passed while nobody looked moves straight to COMPLETED (the service decides what, if
    anything, is announced for it).
    """
    moved = services.events_advance_statuses(now=now)
    counts = {status: len(moved.get(status, ())) for status in STATUS_ORDER}
    counts.update({status: len(ids) for status, ids in moved.items() if status not in counts})
    summary = ", ".join(f"{status} {count}" for status, count in counts.items())
    return JobResult(summary, counts)


@shared_task(
    base=DatabaseTask,
    name="scheduling.tasks.extend_event_horizon",
    max_retries=settings.SCHEDULER_TASK_MAX_RETRIES,
)
def extend_event_horizon() -> dict[str, int]:
    return run_periodic_job("extend_event_horizon", extend_event_horizon_job).counts


@shared_task(
    base=DatabaseTask,
    name="scheduling.tasks.advance_event_statuses",
    max_retries=settings.SCHEDULER_TASK_MAX_RETRIES,
)
def advance_event_statuses() -> dict[str, int]:
    return run_periodic_job("advance_event_statuses", advance_event_statuses_job).counts
