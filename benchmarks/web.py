"""The web process as `make run` starts it, and a client that sends one request at a time.

`web_server()` runs the Procfile's `web:` command (the one `make run` starts through honcho;
the README's production section runs the same gunicorn with more workers) with this
interpreter's gunicorn, on a free port, against the database in the environment.
`KeepAliveClient` is one `http.client` connection reused for every request, as a status page
or a gateway would hold it; it times each request from sending until the body is read.
"""

from __future__ import annotations

import http.client
import json
import os
import shlex
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def procfile_command(process: str = "web") -> list[str]:
    """The Procfile's command for `process`, split like a shell would (without expansion)."""
    for line in (REPO / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            return shlex.split(command)
    raise LookupError(f"Procfile has no {process!r} process")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _web_command(port: int) -> list[str]:
    command = procfile_command("web")
    # `.venv/bin/gunicorn` is the project's venv; run the gunicorn installed beside this
    # interpreter (the same venv when started through `make bench`).
    command[0] = str(Path(sys.executable).with_name(Path(command[0]).name))
    return [part.replace("${PORT:-8000}", str(port)) for part in command]


@dataclass
class WebServer:
    port: int
    process: subprocess.Popen
    log_path: Path

    def worker_pids(self) -> list[int]:
        """The gunicorn workers (children of the arbiter)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def workers_cpu_seconds(self) -> float:
        """User + system CPU the workers have used so far (Linux): the difference over a series
        of requests is the server's own cost per request, which other tenants of a shared
        machine inflate far less than the wall time the client sees."""
        ticks = 0
        for pid in self.worker_pids():
            # Fields after the command name (which may hold spaces): utime and stime are the
            # 14th and 15th of the line, the 12th and 13th after it.
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def web_server(*, log_dir: Path, env: dict[str, str] | None = None) -> Iterator[WebServer]:
    """Start the Procfile's web process on a free port; stop it (and wait) on exit."""
    port = _free_port()
    log_path = log_dir / f"web-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            _web_command(port),
            cwd=REPO,
            env={**os.environ, **(env or {}), "PORT": str(port)},
            stdout=log,  # the access log, as honcho would show it
            stderr=subprocess.STDOUT,
        )
    server = WebServer(port=port, process=process, log_path=log_path)
    try:
        _wait_until_up(server, deadline=time.monotonic() + 60)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung arbiter
            process.kill()
            process.wait()


def _wait_until_up(server: WebServer, *, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"web process exited; see {server.log_path}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"web process did not answer; see {server.log_path}")


@dataclass
class Timings:
    """Per-request latencies in seconds, and the wall time of the whole series."""

    samples: list[float] = field(default_factory=list)
    wall: float = 0.0

    @property
    def per_second(self) -> float:
        return len(self.samples) / self.wall

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    def percentile_ms(self, fraction: float) -> float:
        ordered = sorted(self.samples)
        # Nearest rank: with 200 samples p99 is the second slowest.
        rank = max(1, round(fraction * len(ordered) + 0.5))
        return ordered[min(rank, len(ordered)) - 1] * 1000


class KeepAliveClient:
    """One HTTP/1.1 connection, one request at a time; reconnects only if the server closed it
    (gunicorn's sync workers close after every response: that cost is then in the figures)."""

    def __init__(self, port: int, *, api_key: str):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Bearer {api_key}", "Host": "127.0.0.1"}
        self.reconnects = 0

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        headers = dict(self.headers)
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.connection.sock is None:
            self.reconnects += 1
        self.connection.request(method, path, body=payload, headers=headers)
        response = self.connection.getresponse()
        return response.status, response.read()

    def timed(self, requests: list[tuple[str, str, dict | None]], *, expect: int) -> Timings:
        timings = Timings()
        started = time.perf_counter()
        for method, path, body in requests:
            clock = time.perf_counter()
            status, content = self.request(method, path, body)
            timings.samples.append(time.perf_counter() - clock)
            if status != expect:
                raise AssertionError(f"{method} {path}: {status} {content[:300]!r}")
        timings.wall = time.perf_counter() - started
        return timings

    def close(self) -> None:
        self.connection.close()


def rss_kib(pid: int, part: str = "VmRSS") -> int:
    """Resident set size of a process (or one `part` of it: RssAnon, RssFile), in KiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{part}:"):
            return int(line.split()[1])
    raise LookupError(f"no {part} for {pid}")
