"""Exactly once under real concurrency (PostgreSQL: row locks, skip_locked, one connection per
thread). SQLite serialises writers, so there is nothing to race there: these tests skip."""

import threading
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import pytest
from django.db import connection

from maintenance import services
from maintenance.checklists import ChecklistItemSpec
from maintenance.models import CounterReading, Execution, Plan, Task
from maintenance.specs import ReadingSpec
from tests.maintenance.conftest import CALENDAR_SPEC, COUNTER_SPEC, T0

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (row locks and concurrent writers)")


def run_in_threads(count: int, work: Callable[[int], object]) -> list:
    """Start `count` threads together; each runs `work(i)` and closes its own connection."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def target(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def test_it_generates_each_of_200_due_plans_once_with_8_concurrent_schedulers():
    spec = replace(CALENDAR_SPEC, trigger=replace(CALENDAR_SPEC.trigger, start_at=T0))
    for _ in range(200):
        services.plan_create(spec=spec, now=T0)
    due = T0  # every plan's first occurrence is its start, T0
    assert Plan.objects.filter(next_due_at=T0).count() == 200

    created = run_in_threads(8, lambda _: services.plans_execute_due(now=due))

    assert sum(created) == 200
    assert Task.objects.count() == 200
    codes = set(Task.objects.values_list("code", flat=True))
    assert len(codes) == 200
    assert codes == {f"MAN-{n:03d}" for n in range(1, 201)}
    assert Execution.objects.count() == 200
    assert not Plan.objects.filter(next_due_at__lte=due).exists()


def test_it_executes_once_for_20_concurrent_readings_crossing_one_threshold():
    plan = services.plan_create(spec=COUNTER_SPEC, now=T0)  # threshold 500

    results = run_in_threads(
        20,
        lambda i: services.counter_record(
            plan_id=plan.pk,
            value=Decimal(600),
            source=f"sensor-{i}",
            recorded_at=None,
            reset=False,
            now=T0,
        ),
    )

    assert sum(result.executed for result in results) == 1
    assert CounterReading.objects.filter(plan_id=plan.pk).count() == 20
    assert Execution.objects.filter(plan_id=plan.pk).count() == 1
    assert Task.objects.filter(plan_id=plan.pk).count() == 1
    assert Plan.objects.get(pk=plan.pk).next_counter_threshold == 1000


def test_parallel_batches_and_single_readings_lose_none_and_execute_once():
    pump = services.plan_create(spec=COUNTER_SPEC, now=T0)  # thresholds every 500
    press = services.plan_create(spec=replace(COUNTER_SPEC, name="Press"), now=T0)

    def send(i: int, value: int):
        if i % 2:  # single readings, alternating meters
            plan = pump if i % 4 == 1 else press
            return [
                services.counter_record(
                    plan_id=plan.pk,
                    value=Decimal(value),
                    source=f"single-{i}",
                    recorded_at=None,
                    reset=False,
                    now=T0,
                )
            ]
        # Batches name both meters, in opposite orders: the locks still never deadlock.
        plans = [pump, press] if i % 4 == 0 else [press, pump]
        readings = [
            ReadingSpec(plan_id=plan.pk, value=Decimal(value), source=f"batch-{i}")
            for plan in plans
            for _ in range(3)
        ]
        return services.counter_record_many(readings=readings, now=T0)

    for value in (600, 1100):  # each crosses one threshold of each meter
        results = run_in_threads(8, lambda i, value=value: send(i, value))
        executed = [r.plan.pk for batch in results for r in batch if r.executed]
        assert sorted(executed) == sorted([pump.pk, press.pk])

    # 4 batches of 6 and 4 single readings per round, two rounds: every one stored.
    assert CounterReading.objects.count() == 2 * (4 * 6 + 4)
    for plan in (pump, press):
        assert Execution.objects.filter(plan_id=plan.pk).count() == 2
        assert Plan.objects.get(pk=plan.pk).next_counter_threshold == 1500
    codes = list(Task.objects.values_list("code", flat=True))
    assert sorted(codes) == ["MAN-001", "MAN-002", "MAN-003", "MAN-004"]


def test_a_finding_answered_by_8_writers_at_once_creates_one_corrective_task():
    seal = ChecklistItemSpec(item="Seal intact", kind="pass_fail", required=True)
    spec = replace(CALENDAR_SPEC, task=replace(CALENDAR_SPEC.task, checklist=("Clean", seal)))
    plan = services.plan_create(spec=spec, now=T0)
    task = services.plan_execute(plan_id=plan.pk, by="user:planner", now=T0)
    failed = [{"item": "Clean"}, {"item": "Seal intact", "value": "fail"}]

    run_in_threads(
        8,
        lambda i: services.task_update(
            task_id=task.pk, changes={"checklist": failed}, by=f"user:tech{i}", now=T0
        ),
    )

    [corrective] = Task.objects.filter(corrective_for_id=task.pk)
    assert corrective.corrective_item == 1
    assert Task.objects.get(pk=task.pk).checklist[1]["corrective_task_id"] == corrective.pk
    assert Task.objects.filter(code__startswith="COR-").count() == 1


def test_concurrent_readings_below_the_threshold_are_all_stored_in_arrival_order():
    # The common single reading is written without a lock when the plan row is unchanged
    # since it was read; a reading that raced another takes the locked path: none is lost.
    plan = services.plan_create(spec=COUNTER_SPEC, now=T0)  # threshold 500

    results = run_in_threads(
        20,
        lambda i: services.counter_record(
            plan_id=plan.pk,
            value=Decimal(100),
            source=f"sensor-{i}",
            recorded_at=None,
            reset=False,
            now=T0,
        ),
    )

    assert not any(result.executed for result in results)
    stored = list(CounterReading.objects.filter(plan_id=plan.pk).order_by("recorded_at"))
    assert len(stored) == 20
    assert {reading.source for reading in stored} == {f"sensor-{i}" for i in range(20)}
    plan.refresh_from_db()
    assert plan.counter_value == 100
    assert plan.counter_recorded_at == stored[-1].recorded_at
    assert plan.next_counter_threshold == 500
    assert not Execution.objects.filter(plan_id=plan.pk).exists()
