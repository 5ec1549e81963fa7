"""The Celery app. Settings come from Django settings under the CELERY_ namespace
(config/settings.py, "Celery"); tasks and the periodic-job registry live in ``core.jobs`` and
each app's ``tasks.py``."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("maintenance_scheduler")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(sender=None, **kwargs) -> None:
    """Each task is to a worker what a request is to a web worker: before and after it, a
    database connection that is broken, or older than ``DATABASE_CONN_MAX_AGE``, is closed
    (Django's `close_old_connections`, health-checked on PostgreSQL); a sound one is kept.

    Celery's own Django fixup closes every connection around every task instead (unless
    ``CELERY_DB_REUSE_MAX``, set in settings), so each message paid a new PostgreSQL
    connection and backend. Eager tasks run inside the caller's transaction: left alone.
    """
    if sender is None or getattr(sender.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
