"""``manage.py backup PATH``: a consistent copy of the database, safe while the service runs."""

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection


class Command(BaseCommand):
    help = (
        "Copy the database to PATH while the service keeps running. SQLite: SQLite's online "
        "backup (one consistent snapshot; writers are not blocked in WAL mode), checked with "
        "PRAGMA quick_check. PostgreSQL: runs pg_dump --format=custom (restore with "
        "pg_restore), or prints the command when pg_dump is not installed."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="File to write (replaced only with --force).")
        parser.add_argument("--force", action="store_true", help="Replace PATH if it exists.")

    def handle(self, *args, path: str, force: bool, **options):
        target = Path(path).expanduser().resolve()
        if target.exists() and not force:
            raise CommandError(f"{target} exists; pass --force to replace it")
        if not target.parent.is_dir():
            raise CommandError(f"{target.parent} is not a folder")
        if connection.vendor == "sqlite":
            self._sqlite(target)
        elif connection.vendor == "postgresql":
            self._postgres(target)
        else:  # settings accept no other engine
            raise CommandError(f"No backup for the {connection.vendor} engine")

    def _sqlite(self, target: Path) -> None:
        source_path = connection.settings_dict["NAME"]
        partial = target.with_name(target.name + ".partial")
        partial.unlink(missing_ok=True)
        # Connections of our own, not Django's: the backup reads one snapshot of the file in a
        # single step (pages=-1), so it never restarts because the service wrote meanwhile.
        source = sqlite3.connect(source_path, timeout=30)
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy, pages=-1)
            # A self-contained file: no -wal beside it to lose when it is copied elsewhere.
            copy.execute("PRAGMA journal_mode=DELETE")
            verdict = copy.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            copy.close()
            source.close()
        if verdict != "ok":
            partial.unlink(missing_ok=True)
            raise CommandError(f"The copy failed its integrity check: {verdict}")
        os.replace(partial, target)  # never a half-written file under the final name
        size = target.stat().st_size
        self.stdout.write(f"Backed up {source_path} to {target} ({size:,} bytes)")
        self.stdout.write(f"Restore: stop the service, then copy it to {source_path}")

    def _postgres(self, target: Path) -> None:
        db = connection.settings_dict
        command = ["pg_dump", "--format=custom", "--no-owner", f"--file={target}"]
        for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
            if db.get(key):
                command.append(f"{flag}={db[key]}")
        command.append(db["NAME"])
        restore = f"pg_restore --clean --if-exists --no-owner --dbname={db['NAME']} {target}"
        if shutil.which("pg_dump") is None:
            self.stdout.write(
                "pg_dump is not installed here. Run it where it is (same major version as the "
                f"server or newer):\n  {' '.join(command)}\nRestore with:\n  {restore}"
            )
            raise CommandError("pg_dump not found on PATH")
        env = {**os.environ}
        if db.get("PASSWORD"):
            env["PGPASSWORD"] = db["PASSWORD"]  # never on the command line (ps shows it)
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise CommandError(f"pg_dump failed: {result.stderr.strip()}")
        self.stdout.write(f"Backed up {db['NAME']} to {target} with pg_dump (custom format)")
        self.stdout.write(f"Restore: {restore}")
