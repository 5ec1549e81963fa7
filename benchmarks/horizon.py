"""Horizon extension through Celery with 1, 2 and 4 workers on PostgreSQL + Redis.

2,000 daily windows without events (180,000 events to generate). Beat's `extend_event_horizon`
job is sent once, as beat does; with more windows due than SCHEDULER_HORIZON_BATCH (set to
250 for the workers here) it cuts the pass into id ranges and sends each range to the workers
(`extend_event_horizon_range`), which share it. Timed from sending until no window is due.
The events are removed between the runs. Prints the time and the speed-up over one worker;
on this 2-core machine (shared with PostgreSQL) more than 2x cannot show.
"""

import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from benchmarks.report import Figure, scaled
from benchmarks.workers import WORKER_COUNTS, celery_workers, wait_until
from scheduling import selectors
from scheduling.models import Maintenance, MaintenanceEvent

WINDOWS = scaled(2_000)
BATCH = max(1, WINDOWS // 8)


def run():
    from config.celery import app

    if not settings.CELERY_BROKER_URL.startswith("redis"):
        yield ("horizon extension via Celery", "skipped: needs PostgreSQL + Redis")
        return
    now = timezone.now()
    start = (now - timedelta(days=3)).replace(second=0, microsecond=0)
    Maintenance.objects.bulk_create(
        (
            Maintenance(
                title=f"Daily {n}",
                start_date_time=start + timedelta(minutes=n % 1440),
                rrule="FREQ=DAILY",
                duration_seconds=3600,
            )
            for n in range(WINDOWS)
        ),
        batch_size=1000,
    )
    horizon = timedelta(days=settings.MAINTENANCE_EVENT_HORIZON_DAYS)
    single = None
    for workers in WORKER_COUNTS:
        MaintenanceEvent.objects.all().delete()
        Maintenance.objects.update(events_complete_until=None)
        env = {"SCHEDULER_HORIZON_BATCH": str(BATCH)}
        with celery_workers(workers, log_dir=Path(settings.VAR_DIR), name="horizon", env=env):
            started = time.perf_counter()
            app.send_task("scheduling.tasks.extend_event_horizon")
            wait_until(
                lambda: not selectors.windows_due(now=timezone.now(), horizon=horizon).exists(),
                600,
                "the horizon pass",
            )
            elapsed = time.perf_counter() - started
        created = MaintenanceEvent.objects.count()
        single = single or elapsed
        yield (
            f"horizon extension via Celery, {WINDOWS:,} daily windows, {workers} worker(s)",
            f"{created:,} events in {elapsed:.2f} s ({created / elapsed:,.0f} events/s)",
        )
        yield Figure(
            f"  speed-up over 1 worker ({workers} workers)", single / elapsed, "x", digits=2
        )
