"""Read queries of the v1 domain that are more than a filter: the scheduler's poll, the
querysets the API and admin list from (shaped so a page costs a fixed number of queries),
and compliance.
"""

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F, Prefetch, QuerySet

from maintenance import calendars, checklists, triggers
from maintenance.compliance import compliance_report  # noqa: F401 - moved there; callers kept
from maintenance.models import (
    CounterReading,
    Execution,
    Plan,
    PlanAsset,
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
            "checklist": checklists.task_items_from_template(plan.task_checklist),
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
    """The due dates in [since, until) of ACTIVE plans with a calendar (calendar and
    whichever-first plans: a counter may bring the latter's sooner), plan by plan.

    The first `max_plans` plans due before `until` (soonest first, with their assets and
    assignee fetched: a fixed number of queries), only those on the asset `asset_code` or
    assigned to `technician_id` when given. Each plan's `next_due_at` (shown only when in
    range: an overdue one is before `since`) and, on a fixed grid, the following occurrences
    (at most `max_per_plan`), each clipped to the plan's end.
    """
    plans = (
        Plan.objects.filter(
            status=Plan.Status.ACTIVE,
            trigger__in=(Plan.Trigger.CALENDAR, Plan.Trigger.WHICHEVER_FIRST),
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
