"""An idle tick among 100,000 windows and 1,000,000 plans: nothing due, in process.

100,000 ACTIVE yearly windows whose next occurrence is 10 days away (one event each within
the 90-day horizon, made by one `events_extend_horizon` pass: the setup row, which is also
the first pass of that many yearly windows), and 1,000,000 daily calendar plans next due
tomorrow (100,000 on SQLite), copied in one INSERT … SELECT. Then every job that runs at
least once a minute, plus the 10-minute horizon pass, each with nothing to do (the manual
tick's inline versions, no broker): median of 9. Issue 12's goal: ≤ 50 ms. The hourly sweep
that brings back events removed behind the services' back is timed once beside it (no goal:
it is the slow part moved out of the tick).
"""

import statistics
import time
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from benchmarks.fixtures import calendar_plans, clone_plans_in_sql
from benchmarks.report import Figure, scaled
from core.jobs import periodic_jobs
from scheduling.models import Maintenance
from scheduling.services import events_extend_horizon

WINDOWS = scaled(100_000)
PLANS = {"postgresql": 1_000_000, "sqlite": 100_000}
SAMPLES = 9


def _tick_jobs():
    """The horizon pass and every job that runs at least once a minute, in the manual tick's
    order: the busiest tick (the 60-second jobs come every other one)."""
    return [
        job for job in periodic_jobs() if job.name == "extend_event_horizon" or job.every() <= 60
    ]


def run():
    now = timezone.now()
    start = (now + timedelta(days=10)).replace(second=0, microsecond=0)
    Maintenance.objects.bulk_create(
        (
            Maintenance(
                title=f"Yearly {n}",
                start_date_time=start + timedelta(minutes=n % 1440),
                rrule="FREQ=YEARLY",
                duration_seconds=3600,
            )
            for n in range(WINDOWS)
        ),
        batch_size=2000,
    )
    clock = time.perf_counter()
    created = events_extend_horizon(now=now)
    elapsed = time.perf_counter() - clock
    yield (
        f"setup: first horizon pass, {WINDOWS:,} yearly windows",
        f"{created:,} events in {elapsed:.1f} s ({WINDOWS / elapsed:,.0f} windows/s)",
    )
    plans = scaled(PLANS[connection.vendor])
    clock = time.perf_counter()
    template = calendar_plans(1, next_due_at=now + timedelta(days=1), name="Idle")[0]
    template.save()
    clone_plans_in_sql(template, plans - 1)
    yield (f"setup: {plans:,} plans next due tomorrow", f"{time.perf_counter() - clock:.1f} s")
    if connection.vendor == "postgresql":
        # What autovacuum does after the setup's mass writes: the first pass rewrote every
        # window's row, and until the dead versions are gone an index probe still visits them.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")

    jobs = _tick_jobs()
    samples: dict[str, list[float]] = {job.name: [] for job in jobs}
    for n in range(SAMPLES):
        later = now + timedelta(seconds=30 * (n + 1))
        for job in jobs:
            clock = time.perf_counter()
            result = job.inline(later)
            samples[job.name].append(time.perf_counter() - clock)
            assert not any(result.counts.values()), (job.name, result.summary)
    for job in jobs:
        yield Figure(
            f"  {job.name}, nothing due (median of {SAMPLES})",
            statistics.median(samples[job.name]) * 1000,
            "ms",
            digits=1,
        )
    ticks = [sum(parts) for parts in zip(*samples.values(), strict=True)]
    yield Figure(
        f"idle tick: {len(jobs)} jobs, {WINDOWS:,} windows + {plans:,} plans (median of {SAMPLES})",
        statistics.median(ticks) * 1000,
        "ms",
        goal=50,
        higher_is_better=False,
        digits=1,
    )
    sweep = [job for job in periodic_jobs() if job.name == "sweep_event_horizon"]
    if sweep:  # the hourly repair, where it exists
        clock = time.perf_counter()
        result = sweep[0].inline(now + timedelta(seconds=30 * SAMPLES))
        yield (
            f"hourly sweep of the horizon, {WINDOWS:,} windows (once)",
            f"{(time.perf_counter() - clock) * 1000:,.0f} ms ({result.summary})",
        )
