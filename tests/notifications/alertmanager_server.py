"""Debian's Prometheus Alertmanager on loopback, for the tests of alertmanager channels.

Each test gets its own: a free port, a temporary configuration (one receiver that sends
nothing) and storage folder, clustering off. `make test` installs the package
(scripts/ensure_system.sh); its packaged service is never used.
"""

import contextlib
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.notifications.conftest import free_port

CONFIG = "route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n"


class AlertmanagerServer:
    def __init__(self, tmp_path: Path, binary: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = tmp_path / "alertmanager.yml"
        config.write_text(CONFIG)
        self.log_path = tmp_path / "alertmanager.log"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.path={tmp_path / 'alertmanager-data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--cluster.listen-address=",  # no gossip port: one instance, alone
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def ready(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"alertmanager exited:\n{self.log_path.read_text()[-3000:]}")
        try:
            return requests.get(f"{self.url}/-/ready", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    def silences(self) -> list[dict]:
        reply = requests.get(f"{self.url}/api/v2/silences", timeout=5)
        reply.raise_for_status()
        return reply.json()

    def silence(self, silence_id: str) -> dict:
        reply = requests.get(f"{self.url}/api/v2/silence/{silence_id}", timeout=5)
        reply.raise_for_status()
        return reply.json()

    def live(self) -> list[dict]:
        """The silences that are in force or pending (not expired)."""
        return [s for s in self.silences() if s["status"]["state"] != "expired"]

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture
def alertmanager(tmp_path):
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        # Never skipped: `make test` installs it (scripts/ensure_system.sh).
        pytest.fail("needs Debian's Alertmanager: apt-get install prometheus-alertmanager")
    server = AlertmanagerServer(tmp_path, binary)
    try:
        deadline = time.monotonic() + 30
        while not server.ready():
            if time.monotonic() > deadline:
                pytest.fail("alertmanager did not get ready in 30 s")
            time.sleep(0.1)
        yield server
    finally:
        server.stop()
