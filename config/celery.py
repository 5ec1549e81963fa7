"""The Celery app. Settings come from Django settings under the CELERY_ namespace
(config/settings.py, "Celery"); tasks and the periodic-job registry live in ``core.jobs`` and
each app's ``tasks.py``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("maintenance_scheduler")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
