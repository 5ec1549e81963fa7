"""`python -m benchmarks [name ...]`: run every benchmark (or those whose module name contains
one of the names) on SQLite and on PostgreSQL (+ Redis), print figures beside their goals.

Each (backend, module) pair runs in its own process on a freshly created database so that one
benchmark's rows never skew another's, and the settings are read exactly as in production.
At the end every goal is listed once more, met or missed. `BENCH_SCALE=0.1` runs reduced
sizes while developing; `BENCH_BACKENDS=sqlite` (or `postgres`) runs one backend only.
To add a benchmark: a module with `run()` yielding rows (`benchmarks.report`), one line below.
"""

import json
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
    ("benchmarks.kener", ("sqlite", "postgres")),
    ("benchmarks.windows", ("sqlite", "postgres")),
    ("benchmarks.idle_windows", ("sqlite", "postgres")),
    ("benchmarks.horizon", ("postgres",)),
    ("benchmarks.web_memory", ("sqlite",)),
    ("benchmarks.plans", ("sqlite", "postgres")),
    ("benchmarks.optimisation", ("sqlite", "postgres")),
    ("benchmarks.beat_cycle", ("postgres",)),
    ("benchmarks.plans_scaling", ("postgres",)),
]
# Run only when named (`python -m benchmarks profile`): pyinstrument call trees, not figures.
ON_REQUEST = [
    ("benchmarks.profile_v4", ("sqlite", "postgres")),
    ("benchmarks.cpu_v4", ("sqlite", "postgres")),
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


def _run_one(module: str, backend: str, var_dir: Path, results: Path) -> int:
    env = dict(os.environ)
    env["VAR_DIR"] = str(var_dir)
    env["BENCH_RESULTS"] = str(results)
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
    results = var_dir / "results.jsonl"
    results.unlink(missing_ok=True)
    only = os.environ.get("BENCH_BACKENDS", "sqlite,postgres").split(",")
    failures = 0
    started = time.perf_counter()
    for module, backends in BENCHMARKS + ON_REQUEST:
        wanted = any(name in module for name in selected)
        if (selected and not wanted) or (not selected and (module, backends) in ON_REQUEST):
            continue
        for backend in backends:
            if backend in only:
                failures += _run_one(module, backend, var_dir, results) != 0
    _print_goals(results)
    print(f"\nbenchmarks finished in {time.perf_counter() - started:.0f} s, {failures} failed")
    return 1 if failures else 0


def _print_goals(results: Path) -> None:
    if not results.exists():
        return
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    goals = [row for row in rows if row.get("goal")]
    if not goals:
        return
    print("\n== goals")
    for row in goals:
        label = f"{row['label'].strip()} ({row['backend']})"
        verdict = "met   " if row["met"] else "MISSED"
        print(f"  {verdict} {label:<70} {row['text']:<32} {row['goal']}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
