"""Celery tasks of the v4 side: thin wrappers that run a service and own the retries.

The periodic jobs are safe to run twice at once (two beats, or `run_scheduler_tick` beside
beat): events are unique per (maintenance, occurrence) and statuses move by compare-and-set.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings

from core.jobs import JobResult, database_task, periodic_job
from scheduling import selectors, services

STATUS_ORDER = ("READY", "ONGOING", "COMPLETED")


def extend_event_horizon_inline(now: datetime) -> JobResult:
    """Create the missing events of every active window up to the horizon, in this process."""
    created = services.events_extend_horizon(now=now)
    return JobResult(f"{created} events created", {"created": created})


# Horizon first in a manual tick, so an event that is due now exists before statuses advance.
@periodic_job(
    every=lambda: settings.SCHEDULER_HORIZON_SECONDS,
    tick_order=10,
    inline=extend_event_horizon_inline,
)
def extend_event_horizon(now: datetime) -> JobResult:
    """Create the missing events of every active window up to the horizon (see below)."""
    return _extend_event_horizon(now)


def _extend_event_horizon(now: datetime) -> JobResult:
    """Create the missing events of every active window up to the horizon.

    When more windows need events than SCHEDULER_HORIZON_BATCH, the pass is cut into id
    ranges of that many and each range is sent to the workers (`extend_event_horizon_range`),
    so they share it; otherwise this worker does it all.
    """
    ranges = selectors.windows_due_id_ranges(
        now=now,
        horizon=timedelta(days=settings.MAINTENANCE_EVENT_HORIZON_DAYS),
        size=settings.SCHEDULER_HORIZON_BATCH,
    )
    if len(ranges) <= 1:
        return extend_event_horizon_inline(now)
    # A range left over from an earlier pass is redundant once the next pass runs.
    expires = settings.SCHEDULER_HORIZON_SECONDS
    with current_app.producer_or_acquire() as producer:
        for first_id, last_id in ranges:
            extend_event_horizon_range.apply_async(
                (now.isoformat(), first_id, last_id), expires=expires, producer=producer
            )
    return JobResult(f"{len(ranges)} id ranges dispatched", {"dispatched": len(ranges)})


def _sweep(now: datetime, extend: Callable[[datetime], JobResult]) -> JobResult:
    rechecked = services.events_horizon_recheck(now=now)
    result = extend(now)
    summary = f"{rechecked} windows rechecked, {result.summary}"
    return JobResult(summary, {"rechecked": rechecked, **result.counts})


def sweep_event_horizon_inline(now: datetime) -> JobResult:
    """`sweep_event_horizon` without a broker, in this process (manual tick)."""
    return _sweep(now, extend_event_horizon_inline)


# It runs its own horizon pass, so in a manual tick its place is anywhere before the statuses.
@periodic_job(
    every=lambda: settings.SCHEDULER_HORIZON_SWEEP_SECONDS,
    tick_order=15,
    inline=sweep_event_horizon_inline,
)
def sweep_event_horizon(now: datetime) -> JobResult:
    """Bring back events removed behind the services' back: mark every active window without
    an upcoming event "not known", then run a horizon pass (shared out to the workers like
    the 10-minute one). The anti-join this needs probes the event index once per window,
    which is why it runs here, hourly, and not in every horizon pass."""
    return _sweep(now, _extend_event_horizon)


# Its writes are the horizon job's: recorded as system:extend-event-horizon.
@database_task("scheduling.tasks.extend_event_horizon_range", audit_actor="extend_event_horizon")
def extend_event_horizon_range(now: str, first_id: int, last_id: int) -> int:
    """One share of a horizon pass: the windows with ids in [first_id, last_id]."""
    return services.events_extend_horizon(
        now=datetime.fromisoformat(now), first_id=first_id, last_id=last_id
    )


# As often as the horizon pass, which appends most of the rows it folds.
@periodic_job(every=lambda: settings.SCHEDULER_HORIZON_SECONDS, tick_order=95)
def compact_event_counts(now: datetime) -> JobResult:
    """Fold the rows of the maintained event count into one per hour (PostgreSQL)."""
    before, after = services.event_end_counts_compact()
    return JobResult("event counts compacted", {"rows_before": before, "rows_after": after})


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
