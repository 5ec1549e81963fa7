"""Optimisation figures: the time of `optimize` on a plan with a long history.

- A counter plan on one asset with 10 years of daily counter readings (3,653) and 200
  failures of the asset over those years, plus preventive completions; costs set, so the
  engine fits a censored Weibull in counter units and minimises the cost rate.
- The same asset under a daily calendar plan (frequency item in days), with a roster of 20
  technicians and 200 assigned plans for the workload and route items.
- Timed: `plan_optimize` in-process (median of several runs) and
  `POST /api/v1/maintenance/plans/{id}/optimize` through Django's full request stack.
"""

import statistics
import time
from datetime import timedelta
from decimal import Decimal

import numpy as np
from django.test import Client
from django.utils import timezone
from scipy import stats

from core.models import ApiKey
from maintenance.models import (
    Asset,
    CounterReading,
    Execution,
    Plan,
    PlanAsset,
    Task,
    TaskAsset,
    Technician,
)
from maintenance.optimisation.models import Failure
from maintenance.optimisation.services import plan_optimize

YEARS = 10
FAILURES = 200
COMPLETIONS = 100
TECHNICIANS = 20
ROSTER_PLANS = 200
RUNS = 5
HOURS_PER_DAY = 16.0


def _seed(now):
    start = now - timedelta(days=365 * YEARS + 3)
    asset = Asset.objects.create(
        code="BENCH-1", name="Compressor", location="Plant 1", installed_at=start
    )
    techs = Technician.objects.bulk_create(
        Technician(name=f"Tech {i:02d}", skills=["mech"], daily_capacity_minutes=480)
        for i in range(TECHNICIANS)
    )
    counter = Plan.objects.create(
        name="Compressor service (hours)",
        task_title="Service",
        trigger=Plan.Trigger.COUNTER,
        counter_unit="hours",
        counter_interval=Decimal(2000),
        counter_start_value=Decimal(0),
        counter_base=Decimal(0),
        preventive_cost=Decimal(400),
        failure_cost=Decimal(6000),
        assignee=techs[0],
    )
    calendar = Plan.objects.create(
        name="Compressor inspection",
        task_title="Inspect",
        trigger=Plan.Trigger.CALENDAR,
        rrule="FREQ=DAILY;INTERVAL=30",
        every=30,
        unit=Plan.Unit.DAY,
        start_at=start,
        next_due_at=now + timedelta(days=1),
        preventive_cost=Decimal(400),
        failure_cost=Decimal(6000),
        assignee=techs[0],
        task_estimated_duration_minutes=120,
    )
    PlanAsset.objects.bulk_create(
        [PlanAsset(plan=counter, asset=asset), PlanAsset(plan=calendar, asset=asset)]
    )

    # Daily readings: 16 h a day with some noise, over 10 years.
    rng = np.random.default_rng(2026)
    days = 365 * YEARS + 3
    usage = np.cumsum(rng.uniform(0.8, 1.2, size=days) * HOURS_PER_DAY)
    CounterReading.objects.bulk_create(
        (
            CounterReading(
                plan=counter,
                value=Decimal(f"{usage[d]:.2f}"),
                source="plc",
                recorded_at=start + timedelta(days=d + 1),
            )
            for d in range(days)
        ),
        batch_size=2000,
    )
    counter.counter_value = Decimal(f"{usage[-1]:.2f}")
    counter.counter_recorded_at = start + timedelta(days=days)
    counter.next_counter_threshold = counter.threshold_after(counter.counter_value)
    counter.save()

    # 200 failures and 100 preventive completions in one renewal sequence over the 10 years:
    # lives wear out (Weibull, beta 2.5); a preventive task renews at a random earlier age.
    kinds = rng.permutation([True] * FAILURES + [False] * COMPLETIONS)
    lives = stats.weibull_min.rvs(2.5, scale=1.0, size=len(kinds), random_state=rng)
    ages = np.where(kinds, lives, rng.uniform(0.3, 1.0, size=len(kinds)))
    times = np.cumsum(ages) * (days - 2) / ages.sum()
    failures, completions = [], []
    for day, is_failure in zip(times, kinds, strict=True):
        at = start + timedelta(days=float(day))
        if is_failure:
            failures.append(Failure(asset=asset, occurred_at=at, description="trip"))
        else:
            completions.append(at)
    Failure.objects.bulk_create(failures)
    for index, at in enumerate(completions):
        for plan in (counter, calendar):
            execution = Execution.objects.create(
                plan=plan,
                trigger=Execution.Trigger.MANUAL,
                due_at=at,
                executed_at=at,
                executed_by="bench",
            )
            task = Task.objects.create(
                code=f"B{plan.trigger[:2].upper()}-{index:04d}",
                plan=plan,
                execution=execution,
                title=plan.task_title,
                priority="medium",
                due_at=at,
                status=Task.Status.DONE,
                completed_at=at,
                created_at=at,
            )
            TaskAsset.objects.create(task=task, asset=asset)

    # A roster: 200 daily-ish plans spread over the technicians, some at the same location.
    roster = []
    for i in range(ROSTER_PLANS):
        plan = Plan(
            name=f"Round {i}",
            task_title="Round",
            trigger=Plan.Trigger.CALENDAR,
            rrule=f"FREQ=DAILY;INTERVAL={1 + i % 7}",
            every=1 + i % 7,
            unit=Plan.Unit.DAY,
            start_at=now - timedelta(days=1, hours=i % 24),
            next_due_at=now + timedelta(hours=1 + i % 48),
            assignee=techs[i % 3 if i % 2 else i % TECHNICIANS],
            task_estimated_duration_minutes=30 + 15 * (i % 8),
        )
        plan.next_run_at = plan.compute_next_run_at()
        roster.append(plan)
    Plan.objects.bulk_create(roster)
    sites = Asset.objects.bulk_create(
        Asset(code=f"SITE-{i}", name=f"Site {i}", location="Plant 1" if i % 4 == 0 else f"L{i}")
        for i in range(ROSTER_PLANS)
    )
    PlanAsset.objects.bulk_create(
        PlanAsset(plan=plan, asset=site) for plan, site in zip(roster, sites, strict=True)
    )
    return counter, calendar


def _median_seconds(call) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def run() -> list[tuple[str, str]]:
    now = timezone.now()
    counter, calendar = _seed(now)
    rows = [
        (
            "history",
            f"{CounterReading.objects.count():,} readings, {Failure.objects.count()} failures, "
            f"{Task.objects.count()} completed tasks, {ROSTER_PLANS} roster plans",
        )
    ]
    for label, plan in [("counter plan", counter), ("calendar plan", calendar)]:
        draft = plan_optimize(plan_id=plan.pk, by="bench", now=now)
        kinds = ", ".join(item["kind"] for item in draft.items) or "no items"
        rows.append((f"optimize {label}: items", kinds))
        for item in draft.items:
            if item["kind"] in ("frequency", "counter_threshold"):
                d = item["data"]
                rows.append(
                    (
                        f"  {item['kind']}: beta / eta / n_failures / n_suspensions",
                        f"{d.get('beta')} / {d.get('eta')} / {d['n_failures']} / "
                        f"{d['n_suspensions']}",
                    )
                )
        seconds = _median_seconds(lambda p=plan: plan_optimize(plan_id=p.pk, by="bench", now=now))
        rows.append(
            (f"plan_optimize on the {label} (median of {RUNS})", f"{seconds * 1000:.0f} ms")
        )

    _, raw_key = ApiKey.objects.create_key(name="bench", read_only=False)
    client = Client(HTTP_HOST="127.0.0.1")
    headers = {"Authorization": f"Bearer {raw_key}"}

    def post():
        response = client.post(f"/api/v1/maintenance/plans/{counter.pk}/optimize", headers=headers)
        assert response.status_code == 201, response.content[:300]

    seconds = _median_seconds(post)
    rows.append(
        (
            f"POST /plans/{{id}}/optimize, counter plan (median of {RUNS})",
            f"{seconds * 1000:.0f} ms",
        )
    )
    # Reference: the Weibull fit alone on the same number of ages.
    ages = stats.weibull_min.rvs(2.0, scale=100, size=FAILURES, random_state=1)
    from maintenance.optimisation.engine import weibull_fit

    seconds = _median_seconds(lambda: weibull_fit(ages[:150], ages[150:]))
    rows.append(
        (
            "  of which a censored Weibull fit (150 failures, 50 suspensions)",
            f"{seconds * 1000:.0f} ms",
        )
    )
    return rows
