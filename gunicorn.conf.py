"""Read by gunicorn from the working directory (Procfile, README "Running in production").

Workers are `gthread`: each keeps a client's connection open between requests (HTTP/1.1
keep-alive, `keepalive` seconds idle), so a status page, a gateway or a load balancer
reusing its connection pays no TCP handshake per request, where the default sync worker
closes the connection after every response. Each worker serves `GUNICORN_THREADS` requests
at once, each thread with its own database connection (Django's are per thread), kept
between requests by `DATABASE_CONN_MAX_AGE`: the database sees workers x threads
connections per host. Command-line flags (`--workers`, `--threads`, `--worker-class`) win.

The master empties the request-metrics folder before forking its workers, so every counter
starts at zero with the server, and drops a dead worker's live gauges.
"""

import os

worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Seconds an idle keep-alive connection stays open: longer than a poller's gap between two
# requests, short enough that idle clients do not hold the worker's connection slots.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))


def on_starting(server):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings

    from core.metrics import clean_multiprocess_dir

    clean_multiprocess_dir(settings.PROMETHEUS_MULTIPROC_DIR)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
