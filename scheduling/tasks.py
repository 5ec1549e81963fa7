"""Celery tasks of the v4 side: thin wrappers that run a service and own the retries.

Both periodic jobs are safe to run twice at once (two beats, or `run_scheduler_tick` beside
beat): events are unique per (maintenance, occurrence) and statuses move by compare-and-set.
"""

from datetime import datetime

from django.conf import settings

from core.jobs import JobResult, periodic_job
from scheduling import services

STATUS_ORDER = ("READY", "ONGOING", "COMPLETED")


# Horizon first in a manual tick, so an event that is due now exists before statuses advance.
@periodic_job(every=lambda: settings.SCHEDULER_HORIZON_SECONDS, tick_order=10)
def extend_event_horizon(now: datetime) -> JobResult:
    """Create the missing events of every active window up to the horizon."""
    created = services.events_extend_horizon(now=now)
    return JobResult(f"{created} events created", {"created": created})


# After the statuses, so an event that just started is not reminded about in the same tick.
@periodic_job(every=lambda: settings.SCHEDULER_TICK_SECONDS, tick_order=35)
def send_reminders(now: datetime) -> JobResult:
    """Announce each channel's `reminders` lead times before events, each exactly once."""
    sent = services.events_send_reminders(now=now)
    return JobResult(f"{sent} reminders", {"reminders": sent})


@periodic_job(every=lambda: settings.SCHEDULER_TICK_SECONDS, tick_order=20)
def advance_event_statuses(now: datetime) -> JobResult:
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
