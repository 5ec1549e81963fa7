"""Horizon extension split across 1, 2 and 4 worker processes on PostgreSQL.

2,000 daily windows without events (180,000 events to generate), cut into id ranges by
`selectors.windows_due_id_ranges` and extended by N processes side by side, each
`events_extend_horizon(first_id=..., last_id=...)` on its own connection, as N Celery
workers would share the pass. The events are removed between the runs. Prints the time and
the speed-up over one worker; on this 2-core machine (shared) more than 2x cannot show.
"""

import multiprocessing
import time
from datetime import timedelta

from django.db import connections
from django.utils import timezone

from benchmarks.report import Figure, scaled
from scheduling import selectors
from scheduling.models import Maintenance, MaintenanceEvent
from scheduling.services import events_extend_horizon

WINDOWS = scaled(2_000)
WORKERS = (1, 2, 4)


def _extend(args) -> int:
    now, first_id, last_id = args
    connections.close_all()  # a fresh connection per worker process
    return events_extend_horizon(now=now, first_id=first_id, last_id=last_id)


def run():
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
    horizon = timedelta(days=90)
    single = None
    for workers in WORKERS:
        MaintenanceEvent.objects.all().delete()
        Maintenance.objects.update(events_complete_until=None)
        ranges = selectors.windows_due_id_ranges(
            now=now, horizon=horizon, size=-(-WINDOWS // workers)
        )
        connections.close_all()
        started = time.perf_counter()
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            created = sum(pool.map(_extend, [(now, lo, hi) for lo, hi in ranges]))
        elapsed = time.perf_counter() - started
        single = single or elapsed
        yield (
            f"horizon extension, {WINDOWS:,} daily windows, {workers} worker(s)",
            f"{created:,} events in {elapsed:.2f} s ({created / elapsed:,.0f} events/s)",
        )
        yield Figure(
            f"  speed-up over 1 worker ({workers} workers)", single / elapsed, "x", digits=2
        )
