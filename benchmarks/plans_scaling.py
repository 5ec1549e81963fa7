"""`plans_execute_due` through Celery with 1, 2 and 4 workers on PostgreSQL + Redis.

Beat's `execute_due_plans` job is sent once (as beat does each tick); it fans the due plans
out in `execute_plans` messages of SCHEDULER_PLAN_CHUNK ids, and the workers (one pool
process each, the shipped config otherwise) claim and generate them in bulk. Timed from
sending until every task exists; printed with the speed-up over one worker. On this 2-core
machine shared with PostgreSQL and Redis, more than 2 workers cannot add CPU: the figure at
4 shows the contention, the test of spreading workers over hosts is the shape of the curve
up to the cores available.
"""

import os
import time
from datetime import timedelta
from pathlib import Path

from benchmarks.plans import _calendar_plans
from benchmarks.report import Figure
from benchmarks.workers import WORKER_COUNTS, celery_workers, wait_until

SCALE = max(1, int(os.environ.get("BENCH_SCALE", "1")))
# One tick's worth: beat dispatches at most SCHEDULER_PLAN_BATCH (2,000) due plans a tick.
DUE = 2_000 // SCALE


def _run_with(workers: int, log_dir: Path) -> float:
    import redis
    from django.conf import settings
    from django.utils import timezone

    from config.celery import app
    from maintenance.models import Execution, Plan, Task

    Task.objects.all().delete()
    Execution.objects.all().delete()
    Plan.objects.all().delete()
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    now = timezone.now()
    Plan.objects.bulk_create(
        _calendar_plans(DUE, next_due_at=now - timedelta(minutes=1), name="Due"),
        batch_size=1000,
    )
    with celery_workers(workers, log_dir=log_dir, name="plans"):
        clock = time.perf_counter()
        app.send_task("maintenance.tasks.execute_due_plans")
        wait_until(lambda: Task.objects.count() >= DUE, 600, f"{DUE} tasks")
        elapsed = time.perf_counter() - clock
    assert Task.objects.count() == DUE  # once each, whatever the worker count
    return elapsed


def run() -> list[tuple[str, str] | Figure]:
    from django.conf import settings
    from django.db import connection

    if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith("redis"):
        return [("plans_execute_due scaling", "skipped: needs PostgreSQL + Redis")]
    rows = []
    baseline = None
    for workers in WORKER_COUNTS:
        elapsed = _run_with(workers, Path(settings.VAR_DIR))
        baseline = baseline or elapsed
        # The Procfile's worker runs 2 pool processes (`--concurrency=2`): the shipped
        # config is the 2-worker row (2 processes of one each), where the goal is set.
        shipped = " = the Procfile's worker" if workers == 2 else ""
        rows.append(
            Figure(
                f"plans_execute_due via Celery, {DUE:,} plans due, {workers} worker(s){shipped}",
                DUE / elapsed,
                "tasks/s",
                goal=1_000 if workers == 2 else None,
            )
        )
        rows.append(
            Figure(f"  speed-up over 1 worker ({workers})", baseline / elapsed, "x", digits=2)
        )
    return rows
