"""Run one benchmark module in this process against the database named by DATABASE_URL.

Prints each row as it comes (`label  figure  goal`) and appends the figures to the results
file `python -m benchmarks` summarises (BENCH_RESULTS, one JSON object a line).
"""

import importlib
import json
import logging
import os
import sys
import time

from benchmarks.report import Figure, scale


def _print_row(row) -> dict:
    if isinstance(row, Figure):
        print(f"  {row.label:<62} {row.text:<34} {row.goal_text}", flush=True)
        return {
            "label": row.label,
            "text": row.text,
            "value": row.value,
            "unit": row.unit,
            "goal": row.goal_text,
            "met": row.met,
        }
    label, text = row
    print(f"  {label:<62} {text}", flush=True)
    return {"label": label, "text": text}


def main(module_name: str) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    # A request served in this process would print its access line between the figures; the
    # servers the HTTP benchmarks start still log every request (to their own log files).
    logging.getLogger("core.requests").setLevel(logging.WARNING)
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    backend = os.environ.get("BENCH_BACKEND", "?")
    module = importlib.import_module(module_name)
    reduced = f" (BENCH_SCALE={scale()}: reduced sizes)" if scale() != 1 else ""
    print(f"\n== {module_name} on {backend}{reduced}")
    started = time.perf_counter()
    results = os.environ.get("BENCH_RESULTS")
    for row in module.run():
        record = _print_row(row)
        if results:
            with open(results, "a") as out:
                out.write(json.dumps({"module": module_name, "backend": backend, **record}) + "\n")
    print(f"  ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
