"""Run one benchmark module in this process against the database named by DATABASE_URL."""

import importlib
import os
import sys
import time


def main(module_name: str) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    backend = os.environ.get("BENCH_BACKEND", "?")
    module = importlib.import_module(module_name)
    print(f"\n== {module_name} on {backend}")
    started = time.perf_counter()
    for label, figure in module.run():
        print(f"  {label:<70} {figure}", flush=True)
    print(f"  ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
