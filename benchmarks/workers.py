"""Celery workers for the benchmarks that go through the broker (PostgreSQL + Redis).

`celery_workers(n)` starts n worker processes (one pool process each, the shipped worker
otherwise) as separate hosts would run them, waits until all answer a ping, and kills them on
exit; `wait_until` polls a condition with a deadline. Used by `beat_cycle`, `horizon` and
`plans_scaling`, so every worker-count figure runs the same workers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORKER_COUNTS = (1, 2, 4)


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)


@contextmanager
def celery_workers(
    count: int, *, log_dir: Path, name: str = "bench", env: dict[str, str] | None = None
) -> Iterator[list[subprocess.Popen]]:
    """`count` Celery workers on this project's app, up and answering when the block starts."""
    from config.celery import app

    processes = []
    try:
        for n in range(1, count + 1):
            with open(log_dir / f"{name}_worker{n}.log", "wb") as log:
                processes.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "celery",
                            "-A",
                            "config",
                            "worker",
                            f"--hostname={name}{n}@%h",
                            "--concurrency=1",
                            "--without-mingle",
                            "--without-gossip",
                            "--loglevel=WARNING",
                        ],
                        cwd=REPO,
                        env={**os.environ, "LOG_LEVEL": "WARNING", **(env or {})},
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        wait_until(lambda: len(app.control.ping(timeout=0.5)) >= count, 120, "workers")
        yield processes
    finally:
        for process in processes:
            os.killpg(process.pid, 9)
            process.wait()
