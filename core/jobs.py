"""Periodic jobs: the base class of our Celery tasks, the runner that records each run, and
the registry every periodic job is declared in once.

An app declares a job where its work lives (``<app>/tasks.py``) with `periodic_job`; the
beat schedule (`beat_schedule`, installed by `RegistryScheduler`), ``run_scheduler_tick`` and
the tests all read the registry, so adding a job is one decorator and nothing else.

Every task is safe to run more than once: exactly-once comes from the database (unique
occurrence keys, row locks, compare-and-set updates), so the broker may deliver twice.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from celery import Task, shared_task
from celery.exceptions import Reject
from django.conf import settings
from django.db.utils import InterfaceError, OperationalError
from django_celery_beat.schedulers import DatabaseScheduler

from core import audit

logger = logging.getLogger(__name__)


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
    # Who its writes are recorded as in the audit trail: ``system:<this>`` (default: the
    # task's own name, ``execute_plan`` → ``system:execute-plan``).
    audit_actor: str | None = None

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
        with audit.acting_as(audit.system_actor(self.audit_actor or self.name.rsplit(".")[-1])):
            return super().__call__(*args, **kwargs)


def database_task(name: str, *, audit_actor: str | None = None):
    """Declare a Celery task on `DatabaseTask` with the scheduler's retry cap; its writes are
    recorded as ``system:<audit_actor>`` (default: the task's name)."""
    return shared_task(
        base=DatabaseTask,
        name=name,
        max_retries=settings.SCHEDULER_TASK_MAX_RETRIES,
        audit_actor=audit_actor,
    )


@dataclass
class JobResult:
    """What one run of a periodic job did: one line for people, numbers for code."""

    summary: str
    counts: dict[str, int] = field(default_factory=dict)


Job = Callable[[datetime], JobResult]


def run_periodic_job(name: str, job: Job) -> JobResult:
    """Run ``job(now)`` and record its outcome as the job's last run (admin, /healthz)."""
    from django.utils import timezone

    from core.models import SchedulerJob

    started_at = timezone.now()
    clock = time.monotonic()
    try:
        with audit.acting_as(audit.system_actor(name)):
            result = job(started_at)
    except Exception as exc:
        _record(SchedulerJob, name, started_at, clock, error=f"{exc.__class__.__name__}: {exc}")
        raise
    _record(SchedulerJob, name, started_at, clock, summary=result.summary)
    logger.info("%s: %s", name, result.summary, extra={"job": name, "counts": result.counts})
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


# --- The registry ------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodicJob:
    """One periodic job: what beat sends, how often, and what a manual tick runs."""

    name: str  # the name its runs are recorded under (admin, /healthz)
    task_name: str  # the Celery task beat sends
    every: Callable[[], int]  # seconds between two runs, read from settings when asked
    run: Job  # what the worker runs
    inline: Job  # what `run_scheduler_tick` runs in its own process (no broker)
    tick_order: int  # position in `run_scheduler_tick` (lower first)

    @property
    def beat_name(self) -> str:
        return self.name.replace("_", "-")

    def run_inline(self) -> JobResult:
        return run_periodic_job(self.name, self.inline)


_REGISTRY: dict[str, PeriodicJob] = {}


def periodic_job(*, every: Callable[[], int], tick_order: int, inline: Job | None = None):
    """Declare ``job(now) -> JobResult`` a periodic job and its Celery task.

    The task is named ``<module>.<function name>`` and returns the job's counts. ``every`` is
    a callable so a setting changed in a test or by ``override_settings`` is read when the
    schedule is built, not at import. ``inline`` replaces the job in ``run_scheduler_tick``
    when the worker's version needs a broker (fan-out).
    """

    def declare(job: Job):
        name = job.__name__
        task_name = f"{job.__module__}.{name}"
        if name in _REGISTRY and _REGISTRY[name].task_name != task_name:
            raise ValueError(f"periodic job {name!r} is declared twice")

        @database_task(task_name)
        def task() -> dict[str, int]:
            return run_periodic_job(name, job).counts

        _REGISTRY[name] = PeriodicJob(
            name=name,
            task_name=task_name,
            every=every,
            run=job,
            inline=inline or job,
            tick_order=tick_order,
        )
        return task

    return declare


def periodic_jobs() -> list[PeriodicJob]:
    """Every declared job, in the order a manual tick runs them."""
    return sorted(_REGISTRY.values(), key=lambda job: (job.tick_order, job.name))


def _expire_seconds(interval: int) -> int:
    # A tick that waited in the queue past most of its interval is dropped, not piled up behind
    # the next one. django-celery-beat stores `expire_seconds` (it drops Celery's `expires`).
    return max(1, interval * 9 // 10)


def beat_schedule() -> dict[str, dict]:
    """The beat schedule, one entry per declared job."""
    schedule = {}
    for job in periodic_jobs():
        every = job.every()
        schedule[job.beat_name] = {
            "task": job.task_name,
            "schedule": timedelta(seconds=every),
            "options": {"expire_seconds": _expire_seconds(every)},
        }
    return schedule


class RegistryScheduler(DatabaseScheduler):
    """django-celery-beat's DatabaseScheduler, fed from the registry.

    It copies the entries into its tables when beat starts, so operators see every job with
    its last send in the admin ("Periodic tasks"), then runs them from there.
    """

    def setup_schedule(self):
        self.app.conf.beat_schedule = beat_schedule()
        super().setup_schedule()
