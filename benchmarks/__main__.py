"""`python -m benchmarks`: run every benchmark on SQLite and on PostgreSQL (+ Redis), print figures.

Each (backend, module) pair runs in its own process on a freshly created database so that one
benchmark's rows never skew another's, and the settings are read exactly as in production.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
BENCH_DB_NAME = os.environ.get("BENCH_DB_NAME", "bench_maintenance")

# (module, backends it runs on)
BENCHMARKS = [
    ("benchmarks.windows", ("sqlite", "postgres")),
    ("benchmarks.plans", ("sqlite", "postgres")),
    ("benchmarks.optimisation", ("sqlite", "postgres")),
    ("benchmarks.beat_cycle", ("postgres",)),
    ("benchmarks.plans_scaling", ("postgres",)),
]


def _fresh_postgres() -> str:
    import psycopg

    with psycopg.connect(f"{POSTGRES_ADMIN_URL}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB_NAME}")
    return f"{POSTGRES_ADMIN_URL}/{BENCH_DB_NAME}"


def _fresh_sqlite(var_dir: Path) -> str:
    path = var_dir / "bench.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def _run_one(module: str, backend: str, var_dir: Path) -> int:
    env = dict(os.environ)
    env["VAR_DIR"] = str(var_dir)
    if backend == "postgres":
        env["DATABASE_URL"] = _fresh_postgres()
        env["CELERY_BROKER_URL"] = REDIS_URL
    else:
        env["DATABASE_URL"] = _fresh_sqlite(var_dir)
        env.pop("CELERY_BROKER_URL", None)
    env["BENCH_BACKEND"] = backend
    return subprocess.call([sys.executable, "-m", "benchmarks.runner", module], cwd=REPO, env=env)


def main(selected: list[str]) -> int:
    var_dir = REPO / "var" / "bench"
    var_dir.mkdir(parents=True, exist_ok=True)
    failures = 0
    started = time.perf_counter()
    for module, backends in BENCHMARKS:
        if selected and not any(name in module for name in selected):
            continue
        for backend in backends:
            failures += _run_one(module, backend, var_dir) != 0
    print(f"\nbenchmarks finished in {time.perf_counter() - started:.0f} s, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
