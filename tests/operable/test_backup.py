"""`manage.py backup PATH` while the service writes; the restored copy serves the app."""

import os
import subprocess
import sys
import threading
import time
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction

from maintenance.models import Asset, Technician
from tests.integration.conftest import REPO

pytestmark = pytest.mark.django_db(transaction=True)


class Writer(threading.Thread):
    """Writes pairs (an asset and a technician, one transaction) until told to stop."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.committed = 0
        self.error: BaseException | None = None

    def run(self):
        try:
            while not self.stop.is_set():
                with transaction.atomic():
                    n = self.committed
                    Asset.objects.create(code=f"W-{n:05d}", name=f"Pump {n}")
                    Technician.objects.create(name=f"Tech {n}")
                self.committed += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
        finally:
            connections.close_all()


def _app_on(database_url: str, tmp_path) -> tuple[int, int]:
    """Start the app on the restored database: its migrations are complete, and it counts."""
    env = {**os.environ, "DATABASE_URL": database_url, "VAR_DIR": str(tmp_path / "var")}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--check"], cwd=REPO, env=env, check=True
    )
    script = (
        "from maintenance.models import Asset, Technician; "
        "print(Asset.objects.count(), Technician.objects.count())"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    assets, technicians = result.stdout.splitlines()[-1].split()
    return int(assets), int(technicians)


def _backup_while_writing(target) -> tuple[int, int]:
    writer = Writer()
    writer.start()
    try:
        while writer.committed < 20:  # well under way
            time.sleep(0.01)
        before = writer.committed
        call_command("backup", str(target))
        after = writer.committed
    finally:
        writer.stop.set()
        writer.join(timeout=30)
    assert writer.error is None
    assert after > before or after >= 20  # the writer kept going meanwhile
    return before, after


@pytest.fixture
def postgres_restore_db():
    name = f"operable_restore_{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    base = ["--host", db["HOST"] or "127.0.0.1", "--port", str(db["PORT"] or 5432)]
    base += ["--username", db["USER"] or "postgres"]
    subprocess.run(["createdb", *base, name], check=True)
    yield name, base
    subprocess.run(["dropdb", *base, "--if-exists", name], check=True)


def test_it_copies_a_consistent_snapshot_while_the_service_writes(tmp_path, request):
    Asset.objects.create(code="KEEP", name="Main pump")
    target = tmp_path / "backup.db"

    before, after = _backup_while_writing(target)

    if connection.vendor == "sqlite":
        database_url = f"sqlite:///{target}"
    else:
        name, base = request.getfixturevalue("postgres_restore_db")
        subprocess.run(
            ["pg_restore", *base, "--no-owner", f"--dbname={name}", str(target)], check=True
        )
        db = connection.settings_dict
        database_url = (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"
        )
    assets, technicians = _app_on(database_url, tmp_path)
    # One snapshot: every pair whole (never an asset without its technician), and it holds
    # at least what was committed when the backup began.
    assert assets == technicians + 1  # + the "KEEP" asset
    assert before <= technicians <= after


def test_it_never_overwrites_without_force(tmp_path):
    target = tmp_path / "backup.db"
    target.write_text("an older backup")
    with pytest.raises(CommandError, match="exists; pass --force"):
        call_command("backup", str(target))
    assert target.read_text() == "an older backup"
    call_command("backup", str(target), "--force")
    assert target.stat().st_size > 1000


def test_it_refuses_a_folder_that_does_not_exist(tmp_path):
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("backup", str(tmp_path / "nowhere" / "backup.db"))
