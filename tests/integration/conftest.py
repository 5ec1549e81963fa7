"""Real Celery worker and beat processes against the test database the test itself uses.

The processes get `DATABASE_URL` pointing at pytest-django's test database (on PostgreSQL
`test_<NAME>`; on SQLite the file named by DATABASES TEST NAME) and the test run's broker:
Redis (its database is flushed first) or a private filesystem broker folder. Tests observe
over the API and the database with bounded polling, and every process is killed at the end.
"""

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

REPO = Path(__file__).resolve().parents[2]
DEADLINE_SECONDS = 90


def wait_for(predicate: Callable[[], object], *, timeout: float = DEADLINE_SECONDS, what: str):
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.25)


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def uses_redis() -> bool:
    return settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://"))


def _test_database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{db['NAME']}"


class Cluster:
    """Starts `celery worker` / `celery beat` processes and cleans up after them."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.processes: dict[str, subprocess.Popen] = {}
        self.env = {
            **os.environ,
            "DATABASE_URL": _test_database_url(),
            "VAR_DIR": str(tmp_path / "var"),
            "LOG_LEVEL": "INFO",
            # A message a dead worker held comes back after 10 s (production: 15 minutes).
            "CELERY_VISIBILITY_TIMEOUT": "10",
            "PYTHONUNBUFFERED": "1",
            # The tests' webhook receivers are on loopback, which the egress guard refuses
            # unless the operator allows private targets.
            "NOTIFICATIONS_ALLOW_PRIVATE_TARGETS": "true",
        }
        if uses_redis():
            self.env["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL
            self._flush_redis()
        else:
            self.env["CELERY_BROKER_URL"] = "filesystem://"
            self.env["CELERY_BROKER_DIR"] = str(tmp_path / "broker")

    def _flush_redis(self) -> None:
        import redis

        redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()

    def _start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.log_path(name), "ab")  # noqa: SIM115 - the child writes to it
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", *args, "--loglevel=INFO"],
            cwd=REPO,
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killing it kills its pool too
        )
        log.close()
        self.processes[name] = process
        return process

    def worker(self, name: str, *, concurrency: int = 1, **env: str) -> subprocess.Popen:
        process = self._start(
            name,
            [
                "worker",
                f"--hostname={name}@%h",
                f"--concurrency={concurrency}",
                "--without-mingle",
                "--without-gossip",
            ],
            env,
        )
        wait_for(lambda: "ready." in self.log(name), timeout=60, what=f"{name} to start")
        return process

    def beat(self, name: str, **env: str) -> subprocess.Popen:
        process = self._start(name, ["beat", f"--schedule={self.tmp_path / name}"], env)
        wait_for(lambda: "beat: Starting" in self.log(name), timeout=60, what=f"{name} to start")
        return process

    def log_path(self, name: str) -> Path:
        return self.tmp_path / f"{name}.log"

    def log(self, name: str) -> str:
        path = self.log_path(name)
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self, prefix: str = "") -> str:
        return "".join(self.log(name) for name in self.processes if name.startswith(prefix))

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kill the process and its pool children at once, like a crashed host would."""
        process = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
        for process in self.processes.values():
            process.wait(timeout=30)

    def job_totals(self, job: str) -> dict[str, int]:
        """Sum the counts every run of `job` logged, over all workers ("name: READY 1, ...")."""
        totals: dict[str, int] = {}
        for line in self.logs("worker").splitlines():
            match = re.search(rf"\] {job}: (.*)$", line)
            if not match:
                continue
            for label, count in re.findall(r"([A-Z]+) (\d+)", match.group(1)):
                totals[label] = totals.get(label, 0) + int(count)
        return totals


@pytest.fixture
def cluster(transactional_db, tmp_path, request, settings):
    """Celery processes for one test; killed before the test database is flushed. Like the
    processes, the test itself may create channels that point at its loopback receivers."""
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = True
    started = Cluster(tmp_path)
    yield started
    started.stop_all()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for name in started.processes:
            tail = "\n".join(started.log(name).splitlines()[-60:])
            print(f"\n----- {name} (last lines) -----\n{tail}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    # Lets the `cluster` fixture print the processes' logs when the test itself failed.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def postgres_only():
    if not is_postgres():
        pytest.skip("runs on the PostgreSQL + Redis pass (the embedded pass runs the smoke test)")


class PrivateRedis:
    """A Redis server of the test's own, so the test may kill and restart it."""

    def __init__(self, tmp_path: Path):
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.tmp_path = tmp_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        import redis

        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.tmp_path)]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = redis.Redis.from_url(self.url)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_for(answers, timeout=20, what="redis-server to start")

    def kill(self) -> None:
        """SIGKILL, no persistence: the queue and every unacknowledged message are gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path):
    import shutil

    if shutil.which("redis-server") is None:
        pytest.skip("needs the redis-server binary")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.kill()
