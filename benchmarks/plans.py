"""API v1 figures: due-plan throughput, an idle tick over many plans, counter readings over HTTP.

- `plans_execute_due` with 10,000 calendar plans due: tasks generated per second.
- `plans_execute_due` when nothing is due among 100,000 plans: the time of one tick (median).
- `POST /api/v1/maintenance/plans/{id}/counter` over real HTTP against gunicorn (2 workers),
  from 4 client threads on 40 counter plans, every 10th reading crossing a threshold.
"""

import json
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.utils import timezone

from core.models import ApiKey
from maintenance.models import Plan
from maintenance.services import plans_execute_due

DUE_PLANS = 10_000
IDLE_PLANS = 100_000
IDLE_TICKS = 9
COUNTER_PLANS = 40
COUNTER_THREADS = 4
READINGS_PER_THREAD = 150
REPO = Path(__file__).resolve().parent.parent


def _calendar_plans(count: int, *, next_due_at, name: str) -> list[Plan]:
    plans = []
    for index in range(count):
        plan = Plan(
            name=f"{name} {index}",
            task_title="Inspect",
            trigger=Plan.Trigger.CALENDAR,
            rrule="FREQ=DAILY;INTERVAL=1",
            every=1,
            unit=Plan.Unit.DAY,
            start_at=next_due_at - timedelta(days=1),
            timezone="Europe/Berlin",
            next_due_at=next_due_at,
        )
        plan.next_run_at = plan.compute_next_run_at()  # bulk_create skips save()
        plans.append(plan)
    return plans


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def _counter_readings_per_second() -> tuple[float, int]:
    plans = Plan.objects.bulk_create(
        [
            Plan(
                name=f"Pump {index}",
                task_title="Service the pump",
                trigger=Plan.Trigger.COUNTER,
                counter_unit="hours",
                counter_interval=Decimal(10),
                counter_start_value=Decimal(0),
                counter_base=Decimal(0),
                next_counter_threshold=Decimal(10),
            )
            for index in range(COUNTER_PLANS)
        ]
    )
    _, raw_key = ApiKey.objects.create_key(name="bench-counter")
    port = _free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=REPO,
    )
    errors: list[str] = []
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz", time.monotonic() + 30)

        def send(thread_index: int) -> None:
            mine = plans[thread_index::COUNTER_THREADS]
            for step in range(READINGS_PER_THREAD):
                plan = mine[step % len(mine)]
                body = json.dumps({"value": step + 1, "source": "bench"}).encode()
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/api/v1/maintenance/plans/{plan.pk}/counter",
                    data=body,
                    method="POST",
                    headers={
                        "Authorization": f"Bearer {raw_key}",
                        "Content-Type": "application/json",
                    },
                )
                try:
                    urllib.request.urlopen(request, timeout=30).read()
                except Exception as exc:  # noqa: BLE001 - a failed request is reported, not fatal
                    errors.append(str(exc))

        threads = [threading.Thread(target=send, args=(n,)) for n in range(COUNTER_THREADS)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    total = COUNTER_THREADS * READINGS_PER_THREAD
    return total / elapsed, len(errors)


def run() -> list[tuple[str, str]]:
    now = timezone.now().replace(microsecond=0)
    rows = []

    Plan.objects.bulk_create(
        _calendar_plans(DUE_PLANS, next_due_at=now - timedelta(minutes=5), name="Due"),
        batch_size=1000,
    )
    started = time.perf_counter()
    created = plans_execute_due(now=now)
    elapsed = time.perf_counter() - started
    rows.append((f"plans_execute_due: {DUE_PLANS:,} due plans", f"{created:,} tasks"))
    rows.append(("plans_execute_due throughput", f"{created / elapsed:,.0f} tasks/s"))

    Plan.objects.all().delete()
    Plan.objects.bulk_create(
        _calendar_plans(IDLE_PLANS, next_due_at=now + timedelta(days=1), name="Idle"),
        batch_size=2000,
    )
    samples = []
    for _ in range(IDLE_TICKS):
        started = time.perf_counter()
        assert plans_execute_due(now=now) == 0
        samples.append((time.perf_counter() - started) * 1000)
    rows.append(
        (
            f"idle tick: plans_execute_due with nothing due among {IDLE_PLANS:,} plans",
            f"{statistics.median(samples):.2f} ms (median of {IDLE_TICKS})",
        )
    )

    rate, failures = _counter_readings_per_second()
    rows.append(
        (
            f"counter readings over HTTP ({COUNTER_THREADS} clients, gunicorn 2 workers)",
            f"{rate:,.0f} POST/s, {failures} failed",
        )
    )
    return rows
