"""Read queries of the v1 domain that are more than a filter: the scheduler's poll, the
querysets the API and admin list from (shaped so a page costs a fixed number of queries),
and compliance.
"""

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet

from maintenance import calendars, triggers
from maintenance.models import (
    CounterReading,
    Execution,
    Plan,
    PlanAsset,
    PlanPause,
    Task,
    TaskAsset,
    TaskCodeSequence,
)
from scheduling.recurrence import RecurrenceError


def due_plan_ids(*, now: datetime, limit: int | None = None) -> list[str]:
    """Active calendar plans whose run time (`next_due_at - lead_time`) is at or before `now`.

    Served by the partial index on `next_run_at`; oldest run time first.
    """
    ids = (
        Plan.objects.filter(status=Plan.Status.ACTIVE, next_run_at__lte=now)
        .order_by("next_run_at", "id")
        .values_list("id", flat=True)
    )
    return list(ids[:limit] if limit is not None else ids)


def plan_queryset() -> QuerySet[Plan]:
    """Plans with their asset ids prefetched (in the order they were given)."""
    return Plan.objects.prefetch_related(
        Prefetch("plan_assets", queryset=PlanAsset.objects.order_by("id"))
    )


def task_queryset() -> QuerySet[Task]:
    """Tasks with their trigger (from the execution) and asset ids, without a query per row."""
    return Task.objects.annotate(trigger=F("execution__trigger")).prefetch_related(
        Prefetch("task_assets", queryset=TaskAsset.objects.order_by("id"))
    )


def execution_queryset() -> QuerySet[Execution]:
    """Executions with the id of their task (None for a missed occurrence)."""
    return Execution.objects.annotate(task_pk=F("task__id"))


# --- compliance ------------------------------------------------------------------------------


def _round_half_up(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


@dataclass
class _Tally:
    on_time: int = 0
    overdue: int = 0
    pending: int = 0
    missed: int = 0
    cancelled: int = 0
    delays: list[timedelta] = field(default_factory=list)

    def as_dict(self) -> dict:
        counted = self.on_time + self.overdue
        rate = None
        if counted:
            rate = _round_half_up(Decimal(100 * self.on_time) / Decimal(counted))
        delay = 0.0
        if self.delays:
            seconds = sum(d.total_seconds() for d in self.delays) / len(self.delays)
            delay = _round_half_up(Decimal(seconds) / Decimal(3600))
        return {
            "due_count": counted + self.pending,
            "on_time_count": self.on_time,
            "overdue_count": self.overdue,
            "pending_count": self.pending,
            "missed_count": self.missed,
            "cancelled_count": self.cancelled,
            "compliance_rate": rate,
            "average_delay_hours": delay,
        }


def _outside_pauses(queryset: QuerySet) -> QuerySet:
    # A row due inside one of its plan's pause spans [started_at, ended_at) is not counted.
    paused = PlanPause.objects.filter(
        plan_id=OuterRef("plan_id"), started_at__lte=OuterRef("due_at")
    ).filter(Q(ended_at__isnull=True) | Q(ended_at__gt=OuterRef("due_at")))
    return queryset.exclude(Exists(paused))


def compliance_report(
    *,
    start_date: date,
    end_date: date,
    plan_id: str | None = None,
    asset_id: str | None = None,
    now: datetime,
) -> dict:
    """Compliance over what fell due in `[start_date, end_date]` (UTC days, inclusive).

    Per task: done by its deadline is on time; done after it, still open after it, or a
    missed occurrence (no task) is overdue; open before its deadline is pending (not in the
    rate); cancelled tasks are counted apart and nowhere else. `compliance_rate` is
    100 * on_time / (on_time + overdue) rounded half up to 0.1, None with nothing to count;
    `average_delay_hours` is the mean of `completed_at - due_at` over late completions.
    Anything due while its plan was paused is left out.
    """
    start = datetime.combine(start_date, time.min, tzinfo=UTC)
    end = datetime.combine(end_date + timedelta(days=1), time.min, tzinfo=UTC)

    tasks = _outside_pauses(Task.objects.filter(due_at__gte=start, due_at__lt=end))
    missed = _outside_pauses(
        Execution.objects.filter(missed=True, due_at__gte=start, due_at__lt=end)
    )
    if plan_id:
        tasks = tasks.filter(plan_id=plan_id)
        missed = missed.filter(plan_id=plan_id)
    if asset_id:
        tasks = tasks.filter(task_assets__asset_id=asset_id)
        # A missed occurrence has no task to carry assets: its plan's current assets decide.
        missed = missed.filter(plan__plan_assets__asset_id=asset_id)

    total = _Tally()
    by_plan: dict[str | None, _Tally] = {}
    rows = tasks.values_list("plan_id", "status", "due_at", "deadline_at", "completed_at")
    for row_plan_id, status, due_at, deadline_at, completed_at in rows:
        tallies = (total, by_plan.setdefault(row_plan_id, _Tally()))
        for tally in tallies:
            if status == Task.Status.CANCELLED:
                tally.cancelled += 1
            elif status == Task.Status.DONE:
                if deadline_at is None or completed_at <= deadline_at:
                    tally.on_time += 1
                else:
                    tally.overdue += 1
                    tally.delays.append(completed_at - due_at)
            elif deadline_at is not None and deadline_at < now:
                tally.overdue += 1
            else:
                tally.pending += 1
    for row_plan_id in missed.values_list("plan_id", flat=True):
        for tally in (total, by_plan.setdefault(row_plan_id, _Tally())):
            tally.overdue += 1
            tally.missed += 1

    return {
        "start_date": start_date,
        "end_date": end_date,
        **total.as_dict(),
        "by_plan": [
            {"plan_id": key, **by_plan[key].as_dict()}
            for key in sorted(by_plan, key=lambda k: k or "")
        ],
    }


# --- preview ---------------------------------------------------------------------------------


def preview_task_code(prefix: str) -> str:
    """The code the next task of this prefix would get now (reads only; not reserved)."""
    last = TaskCodeSequence.objects.filter(prefix=prefix).values_list("last_value", flat=True)
    return f"{prefix}-{(last.first() or 0) + 1:03d}"


def plan_preview(*, plan: Plan) -> dict:
    """The task the plan's trigger will generate next, as it would look; reads only.

    Calendar: due at `next_due_at` (None while a floating plan waits for a completion or
    after `end_at`). Counter: due when the reading reaches `next_counter_threshold`, so no
    date. The code is the one the prefix would hand out now; it is not reserved.
    """
    due_at = plan.next_due_at if plan.is_calendar else None
    forecast = plan_trigger_forecast(plan=plan)
    if not plan.is_calendar and plan.next_due_at is not None:
        due_at = plan.next_due_at  # a whichever-first plan's calendar, a counter's time bound
    if due_at is not None and plan.holiday_calendar_id:
        rules = calendars.rules_for([plan.holiday_calendar_id]).get(plan.holiday_calendar_id)
        if rules is not None:
            due_at = calendars.next_working_instant(due_at, rules, timezone=plan.timezone)
    return {
        "task": {
            "code": preview_task_code(plan.task_code_prefix),
            "title": plan.task_title,
            "description": plan.task_description,
            "checklist": [{"item": item, "done": False} for item in plan.task_checklist],
            "priority": plan.priority,
            "asset_ids": [link.asset_id for link in plan.plan_assets.all()],
            "assignee_id": plan.assignee_id,
            "due_at": due_at,
            "deadline_at": plan.deadline_for(due_at) if due_at else None,
            "estimated_duration_minutes": plan.task_estimated_duration_minutes,
        },
        "next_due_at": plan.next_due_at,
        "next_counter_threshold": plan.next_counter_threshold,
        "trigger": plan.trigger,
        **forecast,
    }


def plan_trigger_forecast(*, plan: Plan) -> dict:
    """Which trigger is expected to fire next (`next_trigger`, `next_trigger_at`) and when the
    counter is expected to reach its threshold at the recent usage rate
    (`counter_expected_at`); both None when unknown (no usage yet)."""
    expected = None
    if plan.has_counter:
        readings = list(
            CounterReading.objects.filter(plan=plan)
            .order_by("-recorded_at", "-created_at", "-id")
            .values_list("recorded_at", "value", "reset")[: triggers.USAGE_WINDOW]
        )
        since_reset = []
        for recorded_at, value, reset in readings:  # newest first, up to the last reset
            since_reset.append((recorded_at, value))
            if reset:
                break
        expected = triggers.expected_counter_at(plan, since_reset[::-1])
    kind, instant = triggers.next_trigger(plan, expected_counter=expected)
    return {"next_trigger": kind, "next_trigger_at": instant, "counter_expected_at": expected}


# --- the staff schedule page -----------------------------------------------------------------


@dataclass(frozen=True)
class PlanDue:
    """One date a calendar plan falls due on."""

    plan: Plan
    due_at: datetime


def plan_due_dates_between(
    *,
    since: datetime,
    until: datetime,
    asset_code: str = "",
    technician_id: str = "",
    max_plans: int,
    max_per_plan: int,
) -> list[PlanDue]:
    """The due dates in [since, until) of ACTIVE calendar plans, plan by plan.

    The first `max_plans` plans due before `until` (soonest first, with their assets and
    assignee fetched: a fixed number of queries), only those on the asset `asset_code` or
    assigned to `technician_id` when given. Each plan's `next_due_at` (shown only when in
    range: an overdue one is before `since`) and, on a fixed grid, the following occurrences
    (at most `max_per_plan`), each clipped to the plan's end.
    """
    plans = (
        Plan.objects.filter(
            status=Plan.Status.ACTIVE,
            trigger=Plan.Trigger.CALENDAR,
            next_due_at__isnull=False,
            next_due_at__lt=until,
        )
        .select_related("assignee")
        .prefetch_related(
            Prefetch("plan_assets", queryset=PlanAsset.objects.select_related("asset"))
        )
        .order_by("next_due_at", "id")
    )
    if asset_code:
        plans = plans.filter(plan_assets__asset__code=asset_code)
    if technician_id:
        plans = plans.filter(assignee_id=technician_id)
    dues = []
    for plan in plans[:max_plans]:
        candidates = [plan.next_due_at]
        if not plan.is_floating:
            # The fixed grid's following occurrences, bounded by the range and a count; a
            # stored rule that no longer builds still shows its next due date.
            with contextlib.suppress(RecurrenceError):
                candidates += plan.recurrence().occurrences_between(
                    plan.next_due_at + timedelta(microseconds=1), until, limit=max_per_plan
                )
        for candidate in candidates:
            due_at = plan.clip_to_end(candidate)
            if due_at is not None and since <= due_at < until:
                dues.append(PlanDue(plan=plan, due_at=due_at))
    return dues
