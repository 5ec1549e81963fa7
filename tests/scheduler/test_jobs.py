"""The periodic jobs' own behaviour: fan-out, bookkeeping, redelivery cap."""

import pytest
from celery.exceptions import Reject, Retry

from config.celery import app as celery_app
from core.jobs import DatabaseTask, JobResult, run_periodic_job
from core.models import SchedulerJob
from maintenance import tasks as maintenance_tasks


@pytest.fixture
def sent(monkeypatch) -> list[tuple[tuple, dict]]:
    calls: list[tuple[tuple, dict]] = []

    def fake_apply_async(args=None, kwargs=None, **options):
        calls.append((args, options))

    monkeypatch.setattr(maintenance_tasks.execute_plans, "apply_async", fake_apply_async)
    return calls


@pytest.mark.django_db
def test_it_fans_out_the_due_plans_in_chunks(monkeypatch, sent, settings):
    asked = {}
    settings.SCHEDULER_PLAN_CHUNK = 2

    def due_plan_ids(*, now, limit=None):
        asked["limit"] = limit
        return ["plan_a", "plan_b", "plan_c"]

    monkeypatch.setattr(maintenance_tasks.selectors, "due_plan_ids", due_plan_ids)

    counts = maintenance_tasks.execute_due_plans()

    assert counts == {"dispatched": 3, "messages": 2}
    assert [args for args, _ in sent] == [(["plan_a", "plan_b"],), (["plan_c"],)]
    # Every tick sends still-due plans again: older messages expire instead of piling up.
    assert {options["expires"] for _, options in sent} == {2 * settings.SCHEDULER_TICK_SECONDS}
    assert asked["limit"] == settings.SCHEDULER_PLAN_BATCH
    job = SchedulerJob.objects.get(name="execute_due_plans")
    assert (job.last_ok, job.last_summary, job.run_count) == (
        True,
        "3 plans dispatched in 2 messages",
        1,
    )


@pytest.mark.django_db
def test_it_records_the_last_run_of_each_job_and_counts_failures():
    run_periodic_job("demo", lambda now: JobResult("2 things done", {"done": 2}))

    def broken(now):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        run_periodic_job("demo", broken)

    job = SchedulerJob.objects.get(name="demo")
    assert job.run_count == 2
    assert job.failure_count == 1
    assert job.last_ok is False
    assert job.last_error == "RuntimeError: boom"
    assert job.last_success_at is not None
    assert job.last_finished_at >= job.last_started_at


class _Probe(DatabaseTask):
    name = "tests.scheduler.probe"
    max_retries = 2
    ran = 0

    def run(self):
        type(self).ran += 1
        return "ran"


@pytest.fixture
def probe(monkeypatch):
    task = celery_app.register_task(_Probe())
    _Probe.ran = 0

    def fake_retry(*args, **kwargs):
        return Retry("redelivered")

    monkeypatch.setattr(task, "retry", fake_retry)
    yield task
    celery_app.tasks.pop(task.name, None)


def _call_as_delivered(task, *, redelivered: bool, retries: int):
    task.push_request(
        id="t-1", retries=retries, delivery_info={"redelivered": redelivered}, called_directly=False
    )
    try:
        return task()
    finally:
        task.pop_request()


def test_it_runs_a_first_delivery_as_is(probe):
    assert _call_as_delivered(probe, redelivered=False, retries=0) == "ran"
    assert _Probe.ran == 1


def test_it_counts_a_redelivery_after_a_crash_as_a_retry(probe):
    with pytest.raises(Retry):
        _call_as_delivered(probe, redelivered=True, retries=1)
    assert _Probe.ran == 0


def test_it_drops_a_message_that_keeps_coming_back(probe):
    with pytest.raises(Reject) as rejected:
        _call_as_delivered(probe, redelivered=True, retries=2)
    assert rejected.value.requeue is False
    assert _Probe.ran == 0
