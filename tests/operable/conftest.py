"""Real processes for the operations tests: the service under gunicorn (as production runs it,
with several workers), a Prometheus scraping it, and the JSON log output of the real LOGGING
configuration.

The processes use pytest-django's test database (like the Celery processes of
tests/integration) and are killed at the end of each test.
"""

import contextlib
import copy
import io
import json
import logging.config
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.conf import settings

from tests.integration.conftest import (  # noqa: F401 - `cluster` is a fixture used here too
    REPO,
    _test_database_url,
    cluster,
    uses_redis,
    wait_for,
)

METRICS_TOKEN = "scrape-token-for-tests"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def json_log():
    """The real LOGGING with LOG_FORMAT=json, writing to a buffer; returns a function that
    parses every line written so far (each must be one JSON object)."""
    buffer = io.StringIO()
    config = copy.deepcopy(settings.LOGGING)
    config["handlers"]["console"].update(formatter="json", stream=buffer)
    logging.config.dictConfig(config)

    def lines() -> list[dict]:
        return [json.loads(line) for line in buffer.getvalue().splitlines()]

    yield lines
    logging.config.dictConfig(settings.LOGGING)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


@dataclass
class Service:
    url: str
    log_path: Path
    metrics_dir: Path

    def log_lines(self) -> list[dict]:
        """The server's log lines that are JSON objects (gunicorn's own lines are plain)."""
        parsed = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                parsed.append(json.loads(line))
        return parsed


@pytest.fixture
def service(transactional_db, tmp_path):
    """The service under gunicorn with two workers, JSON logs and metrics on."""
    port = free_port()
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"left over by a previous run")
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "VAR_DIR": str(tmp_path / "var"),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "METRICS_TOKEN": METRICS_TOKEN,
        "LOG_FORMAT": "json",
        "PYTHONUNBUFFERED": "1",
        # The test's webhook receiver is on loopback, which the egress guard refuses otherwise.
        "NOTIFICATIONS_ALLOW_PRIVATE_TARGETS": "true",
    }
    if uses_redis():
        env["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL
    else:
        env["CELERY_BROKER_URL"] = "filesystem://"
        env["CELERY_BROKER_DIR"] = str(tmp_path / "broker")
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "config.wsgi"),
                *(f"--bind=127.0.0.1:{port}", "--workers=2", "--access-logfile=/dev/null"),
            ],
            cwd=REPO,  # gunicorn reads gunicorn.conf.py from here, as in production
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited:\n{log_path.read_text(errors='replace')[-3000:]}")
        try:
            return requests.get(f"{url}/healthz", timeout=5).status_code in (200, 503)
        except (requests.ConnectionError, requests.Timeout):
            return False

    try:
        wait_for(answers, timeout=60, what="gunicorn to answer")
        yield Service(url=url, log_path=log_path, metrics_dir=metrics_dir)
    finally:
        _stop(process)


class Prometheus:
    """Debian's prometheus on loopback, scraping one target every second."""

    def __init__(self, tmp_path: Path, target: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n"
            "  - job_name: maintenance\n"
            "    metrics_path: /metrics\n"
            "    authorization:\n"
            "      type: Bearer\n"
            f"      credentials: {METRICS_TOKEN}\n"
            "    static_configs:\n"
            f"      - targets: ['{target}']\n"
        )
        self.log_path = tmp_path / "prometheus.log"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    "prometheus",
                    f"--config.file={config}",
                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def ready(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"prometheus exited:\n{self.log_path.read_text()[-3000:]}")
        try:
            return requests.get(f"{self.url}/-/ready", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    def query(self, expression: str) -> list[dict]:
        """The instant vector of `expression` now, through the HTTP API."""
        reply = requests.get(f"{self.url}/api/v1/query", params={"query": expression}, timeout=5)
        reply.raise_for_status()
        body = reply.json()
        assert body["status"] == "success", body
        return body["data"]["result"]

    def value(self, expression: str) -> float | None:
        result = self.query(expression)
        return float(result[0]["value"][1]) if result else None

    def wait_for_value(self, expression: str, expected: float, *, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        seen = None
        while time.monotonic() < deadline:
            seen = self.value(expression)
            if seen == expected:
                return
            time.sleep(0.5)
        pytest.fail(f"{expression} = {seen} after {timeout:.0f} s, expected {expected}")


@pytest.fixture
def prometheus(service, tmp_path):
    import shutil

    if shutil.which("prometheus") is None:
        # Never skipped: `make test` installs it (scripts/ensure_system.sh).
        pytest.fail("needs Debian's prometheus: apt-get install prometheus")
    server = Prometheus(tmp_path, service.url.removeprefix("http://"))
    try:
        wait_for(server.ready, timeout=60, what="prometheus to be ready")
        yield server
    finally:
        _stop(server.process)
