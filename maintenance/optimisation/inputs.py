"""Selectors that gather the engine's inputs from the database, exactly as the spec defines them.

- Ages at failure: for each failure of one of the plan's assets, the time since that asset's
  last renewal before it: its previous failure, the last completed task of this plan on it,
  or its `installed_at`. A failure with none of these before it has no known age and is
  left out (counted in `n_failures_unknown_age`).
- Suspensions (right-censored ages): the age at each completed task of this plan on the
  asset, measured the same way; the preventive task renewed the asset before it failed.
  The asset's running age now is not used: the spec names completions only.
- Counter usage: the plan's readings as one cumulative series (a reset continues from the
  old meter's last value); an instant's usage is interpolated between readings and
  extrapolated with the fitted rate outside them (never below 0).
- Workload: open tasks with an assignee, and each active calendar plan's occurrences over
  the horizon through the recurrence engine (from `next_due_at`; a floating plan's as if
  each task were completed on its due date). Counter plans have no dates and are left out.
- Route: active fixed calendar plans (other than this one) due within the tolerance window.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from maintenance.models import (
    Asset,
    CounterReading,
    Plan,
    PlanAsset,
    Task,
    TaskAsset,
    Technician,
)
from maintenance.optimisation import engine
from maintenance.optimisation.models import Failure

DAY = 86400.0
WORKLOAD_HORIZON_DAYS = 30
DEFAULT_TASK_MINUTES = 60  # a task without an estimate counts as one hour
MAX_OCCURRENCES_PER_PLAN = 1000


def days_between(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / DAY


# --- renewals -------------------------------------------------------------------------------------


@dataclass
class Renewals:
    """Ages at failure and at preventive completion, with what they were measured from."""

    failures: list[float] = field(default_factory=list)
    suspensions: list[float] = field(default_factory=list)
    unknown_age: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    asset_ids: list[str] = field(default_factory=list)
    failure_ids: list[str] = field(default_factory=list)

    def describe(self) -> dict:
        return {
            "asset_ids": self.asset_ids,
            "n_failures_unknown_age": self.unknown_age,
            "history_from": self.first_at.isoformat() if self.first_at else None,
            "history_to": self.last_at.isoformat() if self.last_at else None,
            "ages_at_failure": [round(a, 4) for a in self.failures],
            "ages_at_suspension": [round(a, 4) for a in self.suspensions],
        }


def renewal_history(plan: Plan) -> dict[str, list[tuple[datetime, str, str]]]:
    """Per asset of the plan: its installation, failures and this plan's completed tasks on
    it, as (instant, kind, id) in time order (kind: installed | failure | completion)."""
    asset_ids = list(
        PlanAsset.objects.filter(plan=plan).order_by("id").values_list("asset_id", flat=True)
    )
    events: dict[str, list[tuple[datetime, int, str, str]]] = {a: [] for a in asset_ids}
    for asset_id, installed_at in Asset.objects.filter(pk__in=asset_ids).values_list(
        "id", "installed_at"
    ):
        if installed_at is not None:
            events[asset_id].append((installed_at, 0, "installed", asset_id))
    for asset_id, occurred_at, failure_id in Failure.objects.filter(
        asset_id__in=asset_ids
    ).values_list("asset_id", "occurred_at", "id"):
        events[asset_id].append((occurred_at, 1, "failure", failure_id))
    completions = TaskAsset.objects.filter(
        asset_id__in=asset_ids,
        task__plan_id=plan.pk,
        task__status=Task.Status.DONE,
        task__completed_at__isnull=False,
    ).values_list("asset_id", "task__completed_at", "task_id")
    for asset_id, completed_at, task_id in completions:
        events[asset_id].append((completed_at, 2, "completion", task_id))
    return {
        asset_id: [(at, kind, ident) for at, _, kind, ident in sorted(rows)]
        for asset_id, rows in events.items()
    }


def renewal_ages(plan: Plan, *, usage=None) -> Renewals:
    """Ages at failure and suspensions for the plan's assets, in days or, with `usage` (a
    callable instant → cumulative counter units), in counter units."""
    result = Renewals()
    history = renewal_history(plan)
    result.asset_ids = list(history)

    def measure(a: datetime, b: datetime) -> float:
        return usage(b) - usage(a) if usage is not None else days_between(a, b)

    for rows in history.values():
        previous = None
        for at, kind, ident in rows:
            if kind != "installed":
                result.first_at = min(result.first_at or at, at)
                result.last_at = max(result.last_at or at, at)
                if previous is None:
                    if kind == "failure":
                        result.unknown_age += 1
                else:
                    age = max(measure(previous, at), 0.0)
                    if kind == "failure":
                        result.failures.append(age)
                        result.failure_ids.append(ident)
                    else:
                        result.suspensions.append(age)
            previous = at
    return result


# --- counters -------------------------------------------------------------------------------------


@dataclass
class CounterHistory:
    origin: datetime
    days: np.ndarray  # since origin
    usage: np.ndarray  # cumulative
    fit: engine.UsageRate

    def at(self, instant: datetime) -> float:
        """Cumulative usage at an instant (interpolated; extrapolated with the rate outside)."""
        x = days_between(self.origin, instant)
        if x < self.days[0]:
            return max(0.0, float(self.usage[0] + self.fit.rate * (x - self.days[0])))
        if x > self.days[-1]:
            return float(self.usage[-1] + self.fit.rate * (x - self.days[-1]))
        return float(np.interp(x, self.days, self.usage))


def counter_history(plan: Plan) -> CounterHistory | None:
    """The plan's readings as cumulative usage and its least-squares rate (None: < 2 readings
    at different times)."""
    rows = list(
        CounterReading.objects.filter(plan_id=plan.pk)
        .order_by("recorded_at", "created_at", "id")
        .values_list("recorded_at", "value", "reset")
    )
    if len(rows) < 2:
        return None
    origin = rows[0][0]
    days = np.array([days_between(origin, at) for at, _, _ in rows])
    usage = engine.cumulative_usage([float(v) for _, v, _ in rows], [r for _, _, r in rows])
    try:
        fit = engine.usage_rate(days, usage)
    except ValueError:
        return None
    return CounterHistory(origin=origin, days=days, usage=usage, fit=fit)


# --- workload -------------------------------------------------------------------------------------


@dataclass
class Roster:
    workers: list[engine.Worker]
    units: list[engine.WorkUnit]
    labels: dict[str, dict]  # unit id → {task_id, code} or {plan_id, name, occurrences}
    day0: datetime
    n_without_estimate: int


def _plan_occurrences(plan: Plan, *, now: datetime, end: datetime) -> list[datetime]:
    if plan.next_due_at is None:
        return []
    first = plan.next_due_at
    recurrence = plan.recurrence(start=first) if plan.is_floating else plan.recurrence()
    later = recurrence.occurrences_between(
        first + timedelta(microseconds=1), end, limit=MAX_OCCURRENCES_PER_PLAN
    )
    return [t for t in [first, *later] if t < end and plan.clip_to_end(t) is not None]


def workload_roster(*, now: datetime, horizon_days: int = WORKLOAD_HORIZON_DAYS) -> Roster:
    """Every technician, and the assigned work over the horizon: open tasks, then the
    occurrences of active calendar plans (in id order)."""
    day0 = now.replace(hour=0, minute=0, second=0, microsecond=0)
    end = day0 + timedelta(days=horizon_days)
    workers = [
        engine.Worker(
            id=t.pk,
            capacity_minutes=t.daily_capacity_minutes,
            skills=frozenset(t.skills or []),
            active=t.active,
        )
        for t in Technician.objects.order_by("id")
    ]
    roster = Roster(workers=workers, units=[], labels={}, day0=day0, n_without_estimate=0)
    _add_task_units(roster, end=end)
    _add_plan_units(roster, now=now, end=end)
    return roster


def _day_of(roster: Roster, instant: datetime) -> int:
    return max(0, int(days_between(roster.day0, instant) // 1))


def _add_task_units(roster: Roster, *, end: datetime) -> None:
    """Open assigned tasks due before the end: one unit each, on its due day."""
    tasks = (
        Task.objects.filter(status__in=Task.OPEN_STATUSES, assignee__isnull=False, due_at__lt=end)
        .order_by("id")
        .values_list("id", "code", "assignee_id", "estimated_duration_minutes", "due_at")
    )
    for task_id, code, assignee_id, minutes, due_at in tasks:
        if minutes is None:
            roster.n_without_estimate += 1
        unit_id = f"task:{task_id}"
        roster.units.append(
            engine.WorkUnit(
                id=unit_id,
                assignee_id=assignee_id,
                minutes_by_day=((_day_of(roster, due_at), float(minutes or DEFAULT_TASK_MINUTES)),),
            )
        )
        roster.labels[unit_id] = {"task_id": task_id, "code": code}


def _add_plan_units(roster: Roster, *, now: datetime, end: datetime) -> None:
    """Active assigned calendar plans: one unit each, its occurrences' minutes per day."""
    plans = Plan.objects.filter(
        status=Plan.Status.ACTIVE,
        trigger=Plan.Trigger.CALENDAR,
        assignee__isnull=False,
        next_due_at__lt=end,
    ).order_by("id")
    for plan in plans:
        occurrences = _plan_occurrences(plan, now=now, end=end)
        if not occurrences:
            continue
        minutes = plan.task_estimated_duration_minutes
        if minutes is None:
            roster.n_without_estimate += len(occurrences)
        per_day: dict[int, float] = defaultdict(float)
        for t in occurrences:
            per_day[_day_of(roster, t)] += float(minutes or DEFAULT_TASK_MINUTES)
        unit_id = f"plan:{plan.pk}"
        roster.units.append(
            engine.WorkUnit(
                id=unit_id,
                assignee_id=plan.assignee_id,
                minutes_by_day=tuple(sorted(per_day.items())),
            )
        )
        roster.labels[unit_id] = {
            "plan_id": plan.pk,
            "name": plan.name,
            "occurrences": len(occurrences),
        }


# --- routes ---------------------------------------------------------------------------------------


def sites_of(plans: list[Plan]) -> dict[str, tuple[engine.Site, ...]]:
    links = (
        PlanAsset.objects.filter(plan__in=plans).select_related("asset").order_by("plan_id", "id")
    )
    sites: dict[str, list[engine.Site]] = defaultdict(list)
    for link in links:
        a = link.asset
        sites[link.plan_id].append(
            engine.Site(
                asset_id=a.pk, location=a.location, latitude=a.latitude, longitude=a.longitude
            )
        )
    return {plan.pk: tuple(sites.get(plan.pk, ())) for plan in plans}


def route_candidates(plan: Plan) -> list[Plan]:
    """Other active calendar plans with a fixed grid due within ± the plan's tolerance.

    Floating plans are left out: their next date follows their last completion, so a
    common date cannot be given to them through their schedule."""
    window = plan.tolerance
    return list(
        Plan.objects.filter(
            status=Plan.Status.ACTIVE,
            trigger=Plan.Trigger.CALENDAR,
            anchor=Plan.Anchor.FIXED,
            next_due_at__gte=plan.next_due_at - window,
            next_due_at__lte=plan.next_due_at + window,
        )
        .exclude(pk=plan.pk)
        .order_by("next_due_at", "id")
    )
