"""The Celery app, the base class of our tasks, and the runner that records periodic jobs.

Settings come from Django settings under the CELERY_ namespace (config/settings.py, "Celery").
Every task is safe to run more than once: exactly-once comes from the database (unique
occurrence keys, row locks, compare-and-set updates), so the broker may deliver twice.
"""

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from celery import Celery, Task
from celery.exceptions import Reject
from django.db.utils import InterfaceError, OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

logger = logging.getLogger(__name__)

app = Celery("maintenance_scheduler")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class DatabaseTask(Task):
    """Base of our tasks: acknowledged late, retried on database hiccups, redeliveries capped.

    A worker that dies mid-task leaves its message unacknowledged, so the broker delivers it
    again: after the pool process died, Celery republishes it as a retry
    (``retry_on_worker_lost``); after the whole worker died (Redis: once the visibility timeout
    passed) the message comes back flagged ``redelivered``, and `__call__` turns that into a
    retry too. Either way ``max_retries`` bounds how often one message can come back, so a
    message that kills its worker every time ends up dropped and recorded as failed instead of
    looping forever. Dropping loses nothing: the next tick finds due work in the database again.
    """

    acks_late = True
    reject_on_worker_lost = True
    retry_on_worker_lost = True
    autoretry_for = (OperationalError, InterfaceError)
    retry_backoff = 2
    retry_backoff_max = 60
    retry_jitter = True
    # The delay of a retry after a lost worker; well below the Redis visibility timeout, so a
    # retry waiting in a worker's memory is never redelivered beside itself.
    default_retry_delay = 2

    def __call__(self, *args, **kwargs):
        request = self.request
        if not request.called_directly and (request.delivery_info or {}).get("redelivered"):
            if self.max_retries is not None and request.retries >= self.max_retries:
                logger.error(
                    "Dropping %s[%s]: delivered %d times without finishing",
                    self.name,
                    request.id,
                    request.retries + 1,
                )
                raise Reject("too many redeliveries", requeue=False)
            raise self.retry(countdown=0)
        return super().__call__(*args, **kwargs)


@dataclass
class JobResult:
    """What one run of a periodic job did: one line for people, numbers for code."""

    summary: str
    counts: dict[str, int] = field(default_factory=dict)


def run_periodic_job(name: str, job: Callable[[datetime], JobResult]) -> JobResult:
    """Run ``job(now)`` and record its outcome as the job's last run (admin, /healthz)."""
    from django.utils import timezone

    from config.models import SchedulerJob

    started_at = timezone.now()
    clock = time.monotonic()
    try:
        result = job(started_at)
    except Exception as exc:
        _record(SchedulerJob, name, started_at, clock, error=f"{exc.__class__.__name__}: {exc}")
        raise
    _record(SchedulerJob, name, started_at, clock, summary=result.summary)
    logger.info("%s: %s", name, result.summary)
    return result


def _record(model, name: str, started_at: datetime, clock: float, **outcome) -> None:
    try:
        model.objects.record_run(
            name,
            started_at=started_at,
            duration_ms=round((time.monotonic() - clock) * 1000),
            **outcome,
        )
    except Exception:  # bookkeeping never hides the job's own result or error
        logger.exception("Could not record the run of %s", name)
