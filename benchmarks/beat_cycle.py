"""One beat cycle with 10,000 active windows and 10,000 plans, on PostgreSQL + Redis, with 1, 2
and 4 workers.

A cycle is what beat sends when every periodic job is due at once (extend the event horizon,
advance event statuses, execute due plans), timed from sending until the workers finished
all of it, fan-out included. Measured when nothing is due and when 1,000 plans and 1,000
events are due. 1, 2 and 4 Celery worker processes (one pool process each,
`benchmarks.workers`) do the work, as on that many hosts; this process plays beat.
"""

import statistics
import time
from datetime import timedelta
from pathlib import Path

from benchmarks.report import Figure, scaled
from benchmarks.workers import WORKER_COUNTS, celery_workers

WINDOWS = scaled(10_000)
PLANS = scaled(10_000)
DUE = scaled(1_000)
WORKERS = 2  # the shipped worker count: the 30-s tick rows are measured with it
JOBS = {
    "extend_event_horizon": "scheduling.tasks.extend_event_horizon",
    "advance_event_statuses": "scheduling.tasks.advance_event_statuses",
    "execute_due_plans": "maintenance.tasks.execute_due_plans",
}
TICK_JOBS = ("advance_event_statuses", "execute_due_plans")  # the every-30-s ones


def _seed_windows(now) -> float:
    """10,000 weekly one-hour windows; events generated once (timed: the first extension)."""
    from scheduling import services
    from scheduling.models import Maintenance

    start = (now - timedelta(days=3)).replace(second=0, microsecond=0)
    Maintenance.objects.bulk_create(
        (
            Maintenance(
                title=f"Window {n}",
                start_date_time=start + timedelta(minutes=n % 1440),
                rrule="FREQ=WEEKLY",
                duration_seconds=3600,
            )
            for n in range(WINDOWS)
        ),
        batch_size=1000,
    )
    clock = time.perf_counter()
    services.events_extend_horizon(now=now)
    return time.perf_counter() - clock


def _seed_plans(now) -> None:
    """10,000 daily calendar plans, none due: one made by the service, cloned in bulk."""
    from maintenance import services
    from maintenance.models import Plan
    from maintenance.specs import CalendarTrigger, PlanSpec, TaskTemplate

    start_at = (now - timedelta(days=2)).replace(second=0, microsecond=0)
    template = services.plan_create(
        spec=PlanSpec(
            name="Template",
            task=TaskTemplate(title="Inspect"),
            trigger=CalendarTrigger(every=1, unit="day", start_at=start_at),
        ),
        now=now,
    )
    skip = {"id", "name", "created_at", "updated_at"}
    fields = {
        f.attname: getattr(template, f.attname)
        for f in Plan._meta.concrete_fields
        if f.name not in skip
    }
    Plan.objects.bulk_create(
        (Plan(name=f"Plan {n}", **fields) for n in range(PLANS - 1)), batch_size=1000
    )


def _make_due(now) -> None:
    """1,000 plans reach today's occurrence, 1,000 upcoming events start a minute ago."""
    from django.db.models import F

    from maintenance.models import Plan
    from scheduling.models import MaintenanceEvent

    fresh = Plan.objects.filter(next_due_at__gt=now, last_executed_at=None)  # not yet run
    plan_ids = list(fresh.order_by("id").values_list("id", flat=True)[:DUE])
    Plan.objects.filter(id__in=plan_ids).update(
        next_due_at=F("next_due_at") - timedelta(days=1),
        next_run_at=F("next_run_at") - timedelta(days=1),
    )
    event_ids = list(
        MaintenanceEvent.objects.filter(
            status="SCHEDULED", start_date_time__gt=now + timedelta(days=1)
        )
        .order_by("id")
        .values_list("id", flat=True)[:DUE]
    )
    MaintenanceEvent.objects.filter(id__in=event_ids).update(
        start_date_time=now - timedelta(minutes=1), end_date_time=now + timedelta(hours=1)
    )


def _cycle(jobs, *, expect_tasks: int = 0) -> tuple[float, dict[str, int], int]:
    """Send `jobs` like beat does; return seconds until all (and their fan-out) finished.

    Like beat, sends the every-30-s jobs again each 30 s while the work is not done (plans
    whose message expired in a long queue are dispatched again); returns how many ticks.
    """
    from django.utils import timezone

    from config.celery import app
    from core.jobs import beat_schedule
    from core.models import SchedulerJob
    from maintenance.models import Task

    # The expiry beat gives each job (django-celery-beat's expire_seconds).
    expires = {
        entry["task"]: entry["options"]["expire_seconds"] for entry in beat_schedule().values()
    }
    tasks_before = Task.objects.count()
    sent_at = timezone.now()
    clock = time.perf_counter()
    for job in jobs:
        app.send_task(JOBS[job], expires=expires[JOBS[job]])
    ticks, next_tick = 1, clock + 30

    def finished() -> bool:
        done = SchedulerJob.objects.filter(name__in=jobs, last_started_at__gte=sent_at)
        if done.exclude(last_finished_at=None).count() < len(jobs):
            return False
        return Task.objects.count() - tasks_before >= expect_tasks

    deadline = clock + 600
    while not finished():
        now = time.perf_counter()
        if now > deadline:
            raise TimeoutError(f"timed out waiting for {', '.join(jobs)}")
        if now >= next_tick:
            for job in TICK_JOBS:
                app.send_task(JOBS[job], expires=expires[JOBS[job]])
            ticks, next_tick = ticks + 1, next_tick + 30
        time.sleep(0.02)
    elapsed = time.perf_counter() - clock
    durations = dict(
        SchedulerJob.objects.filter(name__in=jobs).values_list("name", "last_duration_ms")
    )
    return elapsed, durations, ticks


def _cycles(workers: int):
    """The idle cycle (median of 3) and the cycle with work due, with `workers` workers; the
    30-s tick rows with the shipped count (2)."""
    from django.utils import timezone

    from maintenance.models import Task

    _cycle(list(JOBS))  # warm-up: connections, imports
    idle = [_cycle(list(JOBS)) for _ in range(3)]
    yield Figure(
        f"beat cycle, all 3 jobs, nothing due ({workers} worker(s), median of 3)",
        statistics.median(e for e, _, _ in idle),
        "s",
        goal=0.5,
        higher_is_better=False,
        digits=3,
    )
    for job in JOBS:
        ms = statistics.median(d[job] for _, d, _ in idle)
        yield (f"  {job} alone, nothing due", f"{ms:.0f} ms")
    if workers == WORKERS:
        tick = statistics.median(_cycle(list(TICK_JOBS))[0] for _ in range(3))
        yield ("30-s tick (statuses + due plans), nothing due", f"{tick * 1000:.0f} ms")

    _make_due(timezone.now())
    before = Task.objects.count()
    elapsed, durations, ticks = _cycle(list(JOBS), expect_tasks=DUE)
    created = Task.objects.count() - before
    yield Figure(
        f"beat cycle, {DUE:,} plans + {DUE:,} events due ({workers} worker(s))",
        elapsed,
        "s",
        goal=2,
        higher_is_better=False,
        digits=2,
    )
    yield ("  tasks created, ticks", f"{created}, {ticks}")
    for job in JOBS:
        yield (f"  {job}, {DUE:,} due", f"{durations[job]:.0f} ms")
    if workers == WORKERS:
        _make_due(timezone.now())
        elapsed, _, ticks = _cycle(list(TICK_JOBS), expect_tasks=DUE)
        yield (
            f"30-s tick, {DUE:,} plans + {DUE:,} events due",
            f"{elapsed:.2f} s ({DUE / elapsed:.0f} plans/s, {ticks} tick(s))",
        )


def run():
    import redis
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from scheduling.models import MaintenanceEvent

    if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith("redis"):
        yield ("beat cycle", "skipped: needs PostgreSQL + Redis")
        return
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    now = timezone.now()
    first_extension = _seed_windows(now)
    _seed_plans(now)
    events = MaintenanceEvent.objects.count()
    yield (
        f"setup: first horizon extension, {WINDOWS:,} windows → {events:,} events",
        f"{first_extension:.1f} s",
    )
    for workers in WORKER_COUNTS:
        with celery_workers(workers, log_dir=Path(settings.VAR_DIR), name="beat"):
            yield from _cycles(workers)
