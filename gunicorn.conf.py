"""Read by gunicorn from the working directory (Procfile, README "Running in production").

The master empties the request-metrics folder before forking its workers, so every counter
starts at zero with the server, and drops a dead worker's live gauges.
"""

import os


def on_starting(server):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings

    from core.metrics import clean_multiprocess_dir

    clean_multiprocess_dir(settings.PROMETHEUS_MULTIPROC_DIR)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
