"""The beat schedule: derived from the periodic-job registry, installed into django-celery-beat's
tables."""

from datetime import timedelta

import pytest
from django.conf import settings
from django_celery_beat.models import PeriodicTask

from config.celery import app as celery_app
from core.jobs import RegistryScheduler, beat_schedule, periodic_jobs

# What a worker does at start: import every app's tasks module (autodiscovery).
celery_app.loader.import_default_modules()

# The ceilings: how often each job must run at least.
REQUIRED_EVERY = {
    "scheduling.tasks.extend_event_horizon": timedelta(minutes=10),
    # The repair of events removed behind the services' back (the 10-minute pass trusts
    # how far each window's events go).
    "scheduling.tasks.sweep_event_horizon": timedelta(hours=1),
    "scheduling.tasks.advance_event_statuses": timedelta(seconds=30),
    "scheduling.tasks.send_reminders": timedelta(seconds=30),
    "maintenance.tasks.execute_due_plans": timedelta(seconds=30),
    "maintenance.tasks.send_task_reminders": timedelta(seconds=30),
    "maintenance.tasks.notify_overdue_tasks": timedelta(minutes=1),
    "maintenance.tasks.send_due_reports": timedelta(minutes=1),
    "notifications.tasks.retry_due_deliveries": timedelta(minutes=1),
    "core.tasks.prune_expired_records": timedelta(hours=1),
    # The global list's count reads the rows it folds (scheduling.services).
    "scheduling.tasks.compact_event_counts": timedelta(minutes=10),
}


def test_it_declares_every_periodic_job_often_enough_with_an_expiry_below_its_interval():
    declared = {entry["task"]: entry for entry in beat_schedule().values()}
    assert set(declared) == set(REQUIRED_EVERY)
    for task_name, entry in declared.items():
        assert entry["schedule"] <= REQUIRED_EVERY[task_name], task_name
        expires = entry["options"]["expire_seconds"]
        assert 0 < expires < entry["schedule"].total_seconds(), task_name
        assert task_name in celery_app.tasks, task_name


def test_it_acknowledges_late_and_caps_retries_on_every_scheduler_task():
    names = [*REQUIRED_EVERY, "maintenance.tasks.execute_plans", "maintenance.tasks.execute_plan"]
    for name in names:
        task = celery_app.tasks[name]
        assert task.acks_late is True, name
        assert task.reject_on_worker_lost is True, name
        assert task.retry_on_worker_lost is True, name
        assert task.max_retries == settings.SCHEDULER_TASK_MAX_RETRIES, name
    assert celery_app.conf.worker_prefetch_multiplier == 1


# Transactional: the scheduler closes stale connections, which a test transaction cannot survive.
@pytest.mark.django_db(transaction=True)
def test_it_installs_the_schedule_where_operators_see_it():
    assert settings.CELERY_BEAT_SCHEDULER == "core.jobs:RegistryScheduler"
    scheduler = RegistryScheduler(app=celery_app, lazy=True)
    scheduler.setup_schedule()
    scheduler.setup_schedule()  # a second beat (or a restart) updates, never duplicates

    for name, entry in beat_schedule().items():
        stored = PeriodicTask.objects.get(name=name)
        assert stored.task == entry["task"]
        assert stored.enabled
        assert stored.interval.every == entry["schedule"].total_seconds()
        assert stored.interval.period == "seconds"
        assert stored.expire_seconds == entry["options"]["expire_seconds"]
    assert PeriodicTask.objects.filter(name__in=beat_schedule()).count() == len(beat_schedule())


def test_it_derives_the_schedule_and_the_manual_tick_from_one_declaration_per_job():
    jobs = periodic_jobs()
    assert [job.task_name for job in jobs] == [entry["task"] for entry in beat_schedule().values()]
    # A manual tick extends the horizon (and sweeps it) before it advances statuses, so an
    # event due now exists.
    assert [job.name for job in jobs][:3] == [
        "extend_event_horizon",
        "sweep_event_horizon",
        "advance_event_statuses",
    ]
    assert len({job.name for job in jobs}) == len(jobs)


def test_it_reads_the_intervals_from_settings_when_the_schedule_is_built(settings):
    settings.SCHEDULER_TICK_SECONDS = 7
    entry = beat_schedule()["execute-due-plans"]
    assert entry["schedule"] == timedelta(seconds=7)
    assert entry["options"]["expire_seconds"] == 6
