"""The window part of an idle tick at 100,000 windows: nothing due, in process.

100,000 ACTIVE yearly windows whose next occurrence is 10 days away (one event each within
the 90-day horizon, made by one `events_extend_horizon` pass: the setup row), then the
horizon pass and the status pass that every tick runs, with nothing to do: median of 9.
Issue 12's goal for an idle tick among 100,000 windows and 1,000,000 plans is ≤ 50 ms; the
plans' part is `benchmarks.plans` (idle tick among 1,000,000 plans).
"""

import statistics
import time
from datetime import timedelta

from django.utils import timezone

from benchmarks.report import Figure, scaled
from scheduling.models import Maintenance
from scheduling.services import events_advance_statuses, events_extend_horizon

WINDOWS = scaled(100_000)
SAMPLES = 9


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
    yield (
        f"setup: first horizon pass, {WINDOWS:,} yearly windows",
        f"{created:,} events in {time.perf_counter() - clock:.1f} s",
    )
    horizon, statuses = [], []
    for n in range(SAMPLES):
        later = now + timedelta(seconds=30 * (n + 1))
        clock = time.perf_counter()
        assert events_extend_horizon(now=later) == 0
        horizon.append(time.perf_counter() - clock)
        clock = time.perf_counter()
        events_advance_statuses(now=later)
        statuses.append(time.perf_counter() - clock)
    yield Figure(
        f"idle horizon pass, {WINDOWS:,} windows, nothing due (median of {SAMPLES})",
        statistics.median(horizon) * 1000,
        "ms",
        digits=1,
    )
    yield Figure("  idle status pass beside it", statistics.median(statuses) * 1000, "ms", digits=1)
    both = [h + s for h, s in zip(horizon, statuses, strict=True)]
    yield Figure(
        f"  idle tick, window part ({WINDOWS:,} windows)",
        statistics.median(both) * 1000,
        "ms",
        goal=50,
        higher_is_better=False,
        digits=1,
    )
