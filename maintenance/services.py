"""Every write of the v1 domain: plans, their executions and tasks, counter readings.

Each function takes keyword-only arguments and a ``now`` so tests can freeze the clock.
Concurrency rules, in one place:

- A plan's row is locked (``SELECT … FOR UPDATE``) by every write that moves its schedule
  or generates from it; locks are always taken plan first, then its tasks, then the task-code
  sequence, so two writers never wait on each other in a cycle.
- The scheduler's lock uses ``skip_locked`` on PostgreSQL: a plan another worker is
  generating is skipped, and re-checked as due under the lock, so it is generated once.
  SQLite has no row locks; its IMMEDIATE transactions serialise writers instead.
- ``Execution(plan, due_at)`` is unique for calendar executions: even a bug in the above
  could not give one occurrence two tasks.
"""

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max, ProtectedError

from core import audit
from core.errors import Conflict, InvalidInput, NotFound, summary_message
from maintenance.events import TASK_CREATED, TASK_OVERDUE
from maintenance.models import (
    Asset,
    CounterReading,
    Execution,
    Plan,
    PlanAsset,
    PlanPause,
    Task,
    TaskAsset,
    TaskCodeSequence,
    Technician,
)
from maintenance.selectors import due_plan_ids
from maintenance.specs import (
    POSITIVE_MESSAGE,
    AssetSpec,
    CalendarTrigger,
    CounterTrigger,
    PlanSpec,
    TechnicianSpec,
    calendar_rule_problems,
    coordinates_problem,
    task_code_prefix_problem,
)
from notifications import services as notifications
from notifications.selectors import unknown_channel_ids
from scheduling.recurrence import RecurrenceError, build_recurrence, every_to_rrule

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "system"
# Readings and completions may carry a clock slightly ahead of ours.
CLOCK_SKEW = timedelta(minutes=5)
# Missed occurrences enumerated per catch-up call; a longer outage continues on the next tick
# (bounded work per transaction, and each occurrence is still recorded exactly once).
CATCH_UP_BATCH = 1000
CATCH_UP_MAX_BATCHES = 10
# Engine field names (shared with v4) → the v1 calendar block's names.
_RECURRENCE_FIELDS = {"start_date_time": "start_at"}


# --- plans: create, update, delete ---------------------------------------------------------


def _invalid(details: dict[str, list[str]]) -> InvalidInput:
    return InvalidInput(summary_message(details), details=details)


def _recurrence_error_details(exc: RecurrenceError) -> dict[str, list[str]]:
    field = _RECURRENCE_FIELDS.get(exc.field, exc.field)
    return {f"calendar.{field}": [exc.message]}


def _check_values(spec: PlanSpec, errors: dict[str, list[str]]) -> None:
    """The rules on the spec's own values. The API's serializer refuses these first (with the
    same functions and words); the admin form and other callers rely on this check."""
    problem = task_code_prefix_problem(spec.task.code_prefix)
    if problem:
        errors["task_code_prefix"] = [problem]
    trigger = spec.trigger
    if isinstance(trigger, CalendarTrigger):
        for name, messages in calendar_rule_problems(
            trigger.rrule, trigger.every, trigger.unit
        ).items():
            errors[f"calendar.{name}"] = messages
    elif trigger.interval <= 0:
        errors["counter.interval"] = [POSITIVE_MESSAGE]


def _check_references(spec: PlanSpec, errors: dict[str, list[str]]) -> None:
    asset_ids = list(spec.asset_ids)
    if asset_ids:
        known = set(Asset.objects.filter(pk__in=asset_ids).values_list("pk", flat=True))
        missing = [asset_id for asset_id in asset_ids if asset_id not in known]
        if missing:
            errors["asset_ids"] = [f"Asset '{asset_id}' not found" for asset_id in missing]
    if spec.assignee_id is not None:
        message = _assignee_problem(spec.assignee_id)
        if message:
            errors["assignee_id"] = [message]
    unknown_channels = unknown_channel_ids(list(spec.notification_channel_ids))
    if unknown_channels:
        errors["notification_channel_ids"] = [
            f"Channel '{channel_id}' not found" for channel_id in unknown_channels
        ]


def _assignee_problem(technician_id: str) -> str | None:
    active = Technician.objects.filter(pk=technician_id).values_list("active", flat=True).first()
    if active is None:
        return f"Technician '{technician_id}' not found"
    if not active:
        return f"Technician '{technician_id}' is inactive"
    return None


def _calendar_rrule(calendar: CalendarTrigger, errors: dict[str, list[str]]) -> str | None:
    """The trigger's RRULE (from `every` + `unit` when given), validated by the shared engine."""
    try:
        if calendar.every is not None:
            rrule = every_to_rrule(calendar.every, calendar.unit)
        else:
            rrule = calendar.rrule
        recurrence = build_recurrence(
            rrule, start=calendar.start_at, timezone=calendar.timezone or "UTC"
        )
    except RecurrenceError as exc:
        errors.update(_recurrence_error_details(exc))
        return None
    if calendar.end_at is not None and calendar.end_at < calendar.start_at:
        errors["calendar.end_at"] = ["end_at must not be before start_at"]
    return recurrence.rule  # the engine's normalised form ("RRULE:" stripped, upper-cased)


def _apply_plan_spec(plan: Plan, spec: PlanSpec, rrule: str | None) -> None:
    """Copy a validated spec onto the row; schedule state is set by the caller."""
    task = spec.task
    plan.name = spec.name
    plan.description = spec.description
    plan.priority = spec.priority
    plan.assignee_id = spec.assignee_id
    plan.department = spec.department
    plan.task_title = task.title or spec.name
    plan.task_description = task.description
    plan.task_checklist = list(task.checklist)
    plan.task_estimated_duration_minutes = task.estimated_duration_minutes
    plan.task_code_prefix = task.code_prefix
    plan.trigger = spec.trigger_kind
    plan.notification_channel_ids = list(spec.notification_channel_ids)
    plan.preventive_cost = spec.preventive_cost
    plan.failure_cost = spec.failure_cost
    plan.anchor = spec.trigger.anchor

    calendar = spec.trigger if isinstance(spec.trigger, CalendarTrigger) else None
    counter = spec.trigger if isinstance(spec.trigger, CounterTrigger) else None
    plan.rrule = rrule or ""
    plan.every = calendar.every if calendar else None
    plan.unit = (calendar.unit or "") if calendar and plan.every else ""
    plan.start_at = calendar.start_at if calendar else None
    plan.end_at = calendar.end_at if calendar else None
    plan.timezone = (calendar.timezone or "UTC") if calendar else "UTC"
    plan.lead_time_hours = calendar.lead_time_hours if calendar else 0
    plan.tolerance_hours = calendar.tolerance_hours if calendar else 24

    plan.counter_unit = counter.unit if counter else ""
    plan.counter_interval = counter.interval if counter else None
    plan.counter_start_value = counter.start_value if counter else None
    plan.counter_tolerance_units = counter.tolerance_units if counter else None


def _validated_rrule(spec: PlanSpec) -> str | None:
    errors: dict[str, list[str]] = {}
    _check_values(spec, errors)
    _check_references(spec, errors)
    rrule = None
    if isinstance(spec.trigger, CalendarTrigger) and not errors.keys() & {
        "calendar.rrule",
        "calendar.unit",
    }:
        rrule = _calendar_rrule(spec.trigger, errors)
    if errors:
        raise _invalid(errors)
    return rrule


def _initial_next_due(plan: Plan, *, now: datetime) -> datetime | None:
    """Fixed: the first grid occurrence from now on. Floating: start_at, or now if it passed."""
    if plan.is_floating:
        return plan.clip_to_end(max(plan.start_at, now))
    return plan.first_occurrence_from(now)


def _set_assets(plan: Plan, asset_ids: Iterable[str]) -> None:
    PlanAsset.objects.filter(plan=plan).delete()
    PlanAsset.objects.bulk_create([PlanAsset(plan=plan, asset_id=a) for a in asset_ids])


def _asset_ids(plan: Plan) -> list[str]:
    return list(
        PlanAsset.objects.filter(plan=plan).order_by("id").values_list("asset_id", flat=True)
    )


def plan_create(*, spec: PlanSpec, now: datetime) -> Plan:
    """Create a plan (400 naming the v1 body's field when the spec breaks a rule)."""
    rrule = _validated_rrule(spec)
    plan = Plan()
    _apply_plan_spec(plan, spec, rrule)
    _reset_schedule(plan, now=now)
    with transaction.atomic():
        plan.save()
        _set_assets(plan, spec.asset_ids)
        audit.record_created(plan, asset_ids=list(spec.asset_ids))
    return plan


def _reset_schedule(plan: Plan, *, now: datetime) -> None:
    if plan.is_calendar:
        plan.next_due_at = _initial_next_due(plan, now=now)
        plan.counter_base = plan.counter_value = plan.counter_recorded_at = None
        plan.next_counter_threshold = None
    else:
        plan.next_due_at = None
        plan.counter_base = plan.counter_start_value
        plan.counter_value = plan.counter_recorded_at = None
        plan.next_counter_threshold = plan.counter_base + plan.counter_interval


_CALENDAR_SCHEDULE_FIELDS = ("rrule", "start_at", "end_at", "timezone", "anchor")
_COUNTER_SCHEDULE_FIELDS = ("counter_interval", "counter_start_value", "anchor")


def plan_update(*, plan_id: str, spec: PlanSpec, now: datetime) -> Plan:
    """Replace the plan with `spec` (every field; for a partial change, start from
    `plan_spec_of(plan)`). A changed schedule is recomputed from now; otherwise kept.

    Calendar: a new rule, start, end, timezone or anchor recomputes `next_due_at` as on
    creation (a floating plan that has completions re-anchors on the last one). Counter: a
    new interval, start value or anchor rebases the threshold on the last reading.
    """
    rrule = _validated_rrule(spec)
    with transaction.atomic():
        plan = _lock_plan(plan_id)
        audited = audit.snapshot(plan, asset_ids=_asset_ids(plan))
        before = {f: getattr(plan, f) for f in (*_CALENDAR_SCHEDULE_FIELDS, "trigger")}
        before_counter = {f: getattr(plan, f) for f in _COUNTER_SCHEDULE_FIELDS}
        _apply_plan_spec(plan, spec, rrule)
        if plan.trigger != before["trigger"]:
            _reset_schedule(plan, now=now)
        elif plan.is_calendar:
            if any(getattr(plan, f) != before[f] for f in _CALENDAR_SCHEDULE_FIELDS):
                plan.next_due_at = _rescheduled_next_due(plan, now=now)
        elif any(getattr(plan, f) != before_counter[f] for f in _COUNTER_SCHEDULE_FIELDS):
            plan.counter_base = plan.counter_start_value
            if plan.counter_value is None:
                plan.next_counter_threshold = plan.counter_base + plan.counter_interval
            else:
                plan.next_counter_threshold = plan.threshold_after(plan.counter_value)
        plan.save()
        _set_assets(plan, spec.asset_ids)
        audit.record_updated(plan, before=audited, asset_ids=list(spec.asset_ids))
    return plan


def _rescheduled_next_due(plan: Plan, *, now: datetime) -> datetime | None:
    if plan.is_floating:
        if Task.objects.filter(plan=plan, status__in=Task.OPEN_STATUSES).exists():
            return None  # still waiting for a task's completion, as before the change
        last_completion = _last_completion(plan)
        if last_completion is not None:
            return plan.one_interval_after(last_completion)
    return _initial_next_due(plan, now=now)


def plan_delete(*, plan_id: str) -> None:
    """Delete a plan; its executions, tasks, readings and pauses stay with its id."""
    with transaction.atomic():
        plan = _lock_plan(plan_id)
        audit.record_deleted(plan, before=audit.snapshot(plan, asset_ids=_asset_ids(plan)))
        plan.delete()


# --- plans: state -------------------------------------------------------------------------


def _lock_plan(plan_id: str) -> Plan:
    plan = Plan.objects.select_for_update().filter(pk=plan_id).first()
    if plan is None:
        raise NotFound(f"Plan with id '{plan_id}' not found")
    return plan


def plan_pause(*, plan_id: str, now: datetime) -> Plan:
    """Stop generating; `next_due_at` is kept and the pause span starts (409 when paused)."""
    with transaction.atomic():
        plan = _lock_plan(plan_id)
        if plan.status == Plan.Status.PAUSED:
            raise Conflict(f"Plan '{plan_id}' is already paused")
        before = audit.snapshot(plan)
        plan.status = Plan.Status.PAUSED
        plan.save(update_fields=["status", "updated_at"])
        audit.record_updated(plan, before=before)
        PlanPause.objects.create(plan=plan, started_at=now)
    return plan


def plan_resume(*, plan_id: str, now: datetime) -> Plan:
    """Generate again. A `next_due_at` that passed while paused is not caught up: a fixed
    plan moves to its next occurrence after now, a floating one is due now (409 when active).
    """
    with transaction.atomic():
        plan = _lock_plan(plan_id)
        if plan.status == Plan.Status.ACTIVE:
            raise Conflict(f"Plan '{plan_id}' is not paused")
        before = audit.snapshot(plan)
        plan.status = Plan.Status.ACTIVE
        if plan.is_calendar and plan.next_due_at is not None and plan.next_due_at <= now:
            if plan.is_floating:
                plan.next_due_at = now
            else:
                plan.next_due_at = plan.next_occurrence_after(now)
        plan.save(update_fields=["status", "next_due_at", "updated_at"])
        audit.record_updated(plan, before=before)
        PlanPause.objects.filter(plan=plan, ended_at__isnull=True).update(ended_at=now)
    return plan


# --- generating tasks ---------------------------------------------------------------------


def _next_task_code(prefix: str) -> str:
    """The next `PREFIX-NNN` for this prefix. Must run inside the transaction creating the task.

    The UPDATE takes the sequence row's lock until commit, so concurrent generators of one
    prefix queue here and each reads back its own value; numbers are never handed out twice
    and, the row never going down, never reused after a task is deleted.
    """
    sequences = TaskCodeSequence.objects.filter(prefix=prefix)
    if not sequences.update(last_value=F("last_value") + 1):
        # First task of this prefix. Two creators race here: get_or_create's savepoint
        # turns the loser's IntegrityError into a plain read of the winner's row.
        TaskCodeSequence.objects.get_or_create(prefix=prefix)
        sequences.update(last_value=F("last_value") + 1)
    value = sequences.values_list("last_value", flat=True).get()
    return f"{prefix}-{value:03d}"


def _generate(
    plan: Plan,
    *,
    trigger: str,
    due_at: datetime,
    now: datetime,
    by: str,
    counter_threshold: Decimal | None = None,
) -> Task:
    """One execution and its task, from the plan's template. Caller holds the plan lock."""
    execution = Execution.objects.create(
        plan=plan,
        trigger=trigger,
        due_at=due_at,
        counter_value=plan.counter_value if not plan.is_calendar else None,
        counter_threshold=counter_threshold,
        executed_at=now,
        executed_by=by,
    )
    deadline_at = None
    deadline_counter_value = None
    if plan.is_calendar:
        deadline_at = plan.deadline_for(due_at)
    elif plan.counter_tolerance_units is not None:
        reference = counter_threshold if counter_threshold is not None else plan.counter_value
        deadline_counter_value = (reference or Decimal(0)) + plan.counter_tolerance_units
    task = Task.objects.create(
        code=_next_task_code(plan.task_code_prefix),
        plan=plan,
        created_at=now,
        execution=execution,
        title=plan.task_title,
        description=plan.task_description,
        checklist=[{"item": item, "done": False} for item in plan.task_checklist],
        priority=plan.priority,
        assignee_id=plan.assignee_id,
        estimated_duration_minutes=plan.task_estimated_duration_minutes,
        due_at=due_at,
        deadline_at=deadline_at,
        deadline_counter_value=deadline_counter_value,
    )
    asset_ids = (
        PlanAsset.objects.filter(plan=plan).order_by("id").values_list("asset_id", flat=True)
    )
    asset_ids = list(asset_ids)
    TaskAsset.objects.bulk_create([TaskAsset(task=task, asset_id=a) for a in asset_ids])
    audit.record_created(task, asset_ids=asset_ids)
    plan.last_executed_at = now
    # The one place every new task is announced (catch-up, counter, manual): in this
    # transaction, so the delivery commits with the task or not at all. A catch-up task whose
    # deadline already passed is recorded, not sent; the overdue sweep announces it instead.
    if plan.notification_channel_ids:
        notifications.notify(
            event=TASK_CREATED,
            object_key=f"task:{task.pk}",
            payload=_task_payload(task, plan, asset_ids=asset_ids),
            channel_ids=plan.notification_channel_ids,
            relevant_until=task.deadline_at,
            now=now,
        )
    return task


def _task_payload(task: Task, plan: Plan | None, *, asset_ids: list[str]) -> dict[str, Any]:
    """A task.created / task.overdue payload (schema in `maintenance.events`)."""
    payload: dict[str, Any] = {
        "timezone": plan.timezone if plan is not None else "UTC",
        "task": {
            "id": task.pk,
            "code": task.code,
            "title": task.title,
            "description": task.description or None,
            "priority": task.priority,
            "status": task.status,
            "due_at": task.due_at,
            "deadline_at": task.deadline_at,
            "asset_ids": list(asset_ids),
            "assignee_id": task.assignee_id,
        },
        "plan": {"id": task.plan_id, "name": plan.name if plan is not None else ""},
    }
    if task.assignee_id is not None:
        assignee = task.assignee
        payload["assignee"] = {
            "id": assignee.pk,
            "name": assignee.name,
            "email": assignee.email or None,
        }
    return payload


def _due_occurrences(plan: Plan, *, now: datetime) -> tuple[list[datetime], bool]:
    """Occurrences from `next_due_at` whose run time (due - lead) has come, oldest first.

    Returns them and whether that is all of them (False when the bound cut the list short).
    """
    if plan.is_floating:
        return [plan.next_due_at], True
    recurrence = plan.recurrence()
    before = now + plan.lead_time + timedelta(microseconds=1)
    if plan.end_at is not None:
        before = min(before, plan.end_at + timedelta(microseconds=1))
    found: list[datetime] = []
    cursor = plan.next_due_at
    for _ in range(CATCH_UP_MAX_BATCHES):
        batch = recurrence.occurrences_between(cursor, before, limit=CATCH_UP_BATCH)
        found.extend(batch)
        if len(batch) < CATCH_UP_BATCH:
            return sorted({plan.next_due_at, *found}), True
        cursor = batch[-1] + timedelta(microseconds=1)
    return sorted({plan.next_due_at, *found}), False


def _execute_due(plan_id: str, *, now: datetime) -> list[Task]:
    """The tasks `plan_execute_if_due` creates, oldest first (see there)."""
    skip_locked = connection.features.has_select_for_update_skip_locked
    with transaction.atomic():
        plan = (
            Plan.objects.select_for_update(skip_locked=skip_locked)
            .filter(
                pk=plan_id,
                status=Plan.Status.ACTIVE,
                trigger=Plan.Trigger.CALENDAR,
                next_run_at__lte=now,
            )
            .first()
        )
        if plan is None:
            return []
        before = audit.snapshot(plan)
        occurrences, complete = _due_occurrences(plan, now=now)
        # Occurrences that somehow already have an execution are never generated twice.
        done = set(
            Execution.objects.filter(
                plan=plan, trigger=Execution.Trigger.CALENDAR, due_at__in=occurrences
            ).values_list("due_at", flat=True)
        )
        past = [t for t in occurrences if t <= now]
        # Still ahead but within the lead time: generated as usual, one task each (more than
        # one only when the lead time is longer than the interval). Not missed, not late.
        upcoming = [t for t in occurrences if t > now and t not in done]
        # Of those already due, the latest gets the catch-up task and the earlier ones are
        # missed. When the batch bound cut the list short, the latest due is still beyond it,
        # so all of these are missed and the next call goes on from there.
        catch_up = past[-1] if complete and past and past[-1] not in done else None
        missed = [t for t in past if t not in done and t != catch_up]
        Execution.objects.bulk_create(
            Execution(
                plan=plan,
                trigger=Execution.Trigger.CALENDAR,
                due_at=due_at,
                executed_at=now,
                executed_by=SYSTEM_ACTOR,
                missed=True,
            )
            for due_at in missed
        )
        if missed:
            logger.info(
                "Plan %s: %d missed occurrence(s) recorded",
                plan.pk,
                len(missed),
                extra={"plan_id": plan.pk},
            )
        tasks = [
            _generate(plan, trigger=Execution.Trigger.CALENDAR, due_at=t, now=now, by=SYSTEM_ACTOR)
            for t in ([catch_up] if catch_up else []) + upcoming
        ]
        plan.next_due_at = None if plan.is_floating else plan.next_occurrence_after(occurrences[-1])
        plan.save(update_fields=["next_due_at", "last_executed_at"])
        audit.record_updated(plan, before=before)
        return tasks


def plan_execute_if_due(*, plan_id: str, now: datetime) -> Task | None:
    """Generate what a calendar plan owes at `now`; None if it is not (or no longer) due.

    Locks the plan (skipping it on PostgreSQL when another worker holds it) and re-checks
    that it is active and its run time (`next_due_at - lead_time`) has come. Each occurrence
    from `next_due_at` whose run time has passed is then handled once: after downtime, the
    latest one already due gets a catch-up task and the earlier ones are recorded as missed
    executions without a task; occurrences not yet due (inside the lead time) get their
    task. A fixed plan then moves to its next occurrence; a floating plan waits for the
    completion of its task. Returns the latest task created.
    """
    tasks = _execute_due(plan_id, now=now)
    return tasks[-1] if tasks else None


def plans_execute_due(*, now: datetime) -> int:
    """Generate the tasks of every calendar plan due at `now`; returns how many were created.

    Safe to run from several workers at once: each plan is generated under its own lock
    and re-checked (`plan_execute_if_due`), so overlapping calls share the work instead of
    repeating it.
    """
    return sum(len(_execute_due(plan_id, now=now)) for plan_id in due_plan_ids(now=now))


def plan_execute(*, plan_id: str, by: str, now: datetime) -> Task:
    """Manual execution: a task due now, `trigger: "manual"`, recorded as executed by `by`.

    Calendar: a fixed plan moves to its next occurrence after now (never back onto an
    occurrence already generated), a floating plan to one interval after now. Counter: a
    floating plan's threshold becomes the last reading + interval; a fixed grid is unchanged.
    A paused plan generates nothing (409).
    """
    with transaction.atomic():
        plan = _lock_plan(plan_id)
        if plan.status == Plan.Status.PAUSED:
            raise Conflict(f"Plan '{plan_id}' is paused; resume it to execute it")
        before = audit.snapshot(plan)
        task = _generate(plan, trigger=Execution.Trigger.MANUAL, due_at=now, now=now, by=by)
        if plan.is_calendar:
            if plan.is_floating:
                plan.next_due_at = plan.one_interval_after(now)
            else:
                following = plan.next_occurrence_after(now)
                if plan.next_due_at is None or (following and following > plan.next_due_at):
                    plan.next_due_at = following
        elif plan.is_floating:
            reference = plan.counter_value if plan.counter_value is not None else plan.counter_base
            plan.next_counter_threshold = reference + plan.counter_interval
        plan.save(update_fields=["next_due_at", "next_counter_threshold", "last_executed_at"])
        audit.record_updated(plan, before=before)
        return task


# --- counters -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CounterResult:
    reading: CounterReading
    task: Task | None
    plan: Plan

    @property
    def executed(self) -> bool:
        return self.task is not None


def counter_record(
    *,
    plan_id: str,
    value: Decimal,
    source: str,
    recorded_at: datetime | None,
    reset: bool,
    now: datetime,
) -> CounterResult:
    """Store a meter reading and execute the plan once if it reaches the threshold.

    The plan row is locked for the whole recording, so concurrent readings are all stored,
    in order, and only the first that reaches a threshold executes (the threshold has moved
    past the others by the time they get the lock). A lower value than the last is a 409
    unless `reset` (meter replaced): the grid is then rebased on the new value. A paused
    plan stores the reading and executes nothing. A jump over several intervals executes
    once; the next threshold is the next grid point above the value (fixed) or value +
    interval (floating).
    """
    if recorded_at is not None and recorded_at > now + CLOCK_SKEW:
        raise InvalidInput("recorded_at is in the future", field="recorded_at")
    with transaction.atomic():
        plan = _lock_plan(plan_id)
        if plan.is_calendar:
            raise Conflict(f"Plan '{plan_id}' has a calendar trigger; it takes no counter readings")
        before = audit.snapshot(plan)
        last_value, last_at = plan.counter_value, plan.counter_recorded_at
        if recorded_at is None:
            # "Now" was read before waiting for the lock; a concurrent reading may have been
            # stamped a moment later. Arrival order is the truth for untimed readings.
            recorded_at = max(now, last_at) if last_at else now
        if last_at is not None and recorded_at < last_at:
            raise Conflict(
                f"recorded_at {recorded_at.isoformat()} is before the last reading "
                f"({last_at.isoformat()}); readings must arrive in order"
            )
        if last_value is not None and value < last_value and not reset:
            raise Conflict(
                f"Reading {value} is lower than the last reading {last_value}; "
                "send reset: true if the meter was replaced"
            )
        reading = CounterReading.objects.create(
            plan=plan, value=value, source=source, recorded_at=recorded_at, reset=reset
        )
        plan.counter_value = value
        plan.counter_recorded_at = recorded_at
        task = None
        if reset:
            plan.counter_base = value
            plan.next_counter_threshold = value + plan.counter_interval
            if last_value is not None:
                # Open tasks' usage deadlines move with the meter.
                audit.update(
                    Task.objects.filter(
                        plan=plan,
                        status__in=Task.OPEN_STATUSES,
                        deadline_counter_value__isnull=False,
                    ),
                    deadline_counter_value=F("deadline_counter_value") + (value - last_value),
                )
        elif plan.status == Plan.Status.ACTIVE and value >= plan.next_counter_threshold:
            threshold = plan.next_counter_threshold
            task = _generate(
                plan,
                trigger=Execution.Trigger.COUNTER,
                due_at=recorded_at,
                now=now,
                by=SYSTEM_ACTOR,
                counter_threshold=threshold,
            )
            plan.next_counter_threshold = plan.threshold_after(value)
        # A counter task is late once usage passes its threshold + tolerance while it is open.
        audit.update(
            Task.objects.filter(
                plan=plan,
                status__in=Task.OPEN_STATUSES,
                deadline_at__isnull=True,
                deadline_counter_value__lte=value,
            ),
            deadline_at=recorded_at,
        )
        if task is not None:
            task.refresh_from_db(fields=["deadline_at"])
        plan.save(
            update_fields=[
                "counter_value",
                "counter_recorded_at",
                "counter_base",
                "next_counter_threshold",
                "last_executed_at",
            ]
        )
        audit.record_updated(plan, before=before)
    return CounterResult(reading=reading, task=task, plan=plan)


# --- tasks ----------------------------------------------------------------------------------


def _lock_task_and_plan(task_id: str) -> tuple[Task, Plan | None]:
    # Plan first, then task: the order every other writer uses.
    row = Task.objects.filter(pk=task_id).values("plan_id").first()
    if row is None:
        raise NotFound(f"Task with id '{task_id}' not found")
    plan = Plan.objects.select_for_update().filter(pk=row["plan_id"]).first()
    task = Task.objects.select_for_update().get(pk=task_id)
    return task, plan


def _last_completion(plan: Plan) -> datetime | None:
    return Task.objects.filter(plan=plan, status=Task.Status.DONE).aggregate(
        last=Max("completed_at")
    )["last"]


def _ensure_open(task: Task, action: str) -> None:
    if task.status == Task.Status.DONE:
        raise Conflict(f"Task '{task.pk}' is already done; it cannot be {action}")
    if task.status == Task.Status.CANCELLED:
        raise Conflict(f"Task '{task.pk}' is cancelled; it cannot be {action}")


def _complete(task: Task, plan: Plan | None, *, completed_at, notes, by, now) -> None:
    _ensure_open(task, "completed")
    completed_at = completed_at or now
    if completed_at > now + CLOCK_SKEW:
        raise InvalidInput("completed_at is in the future", field="completed_at")
    # Read before saving this completion: only the latest completion re-anchors.
    previous = _last_completion(plan) if plan is not None else None
    task.status = Task.Status.DONE
    task.completed_at = completed_at
    task.completed_by = by
    if notes is not None:
        task.notes = notes
    task.save()
    floating = plan is not None and plan.is_calendar and plan.is_floating
    if floating and (previous is None or completed_at >= previous):
        plan.next_due_at = plan.one_interval_after(completed_at)
        plan.save(update_fields=["next_due_at"])


def _cancel(task: Task, plan: Plan | None, *, notes, now) -> None:
    _ensure_open(task, "cancelled")
    task.status = Task.Status.CANCELLED
    task.cancelled_at = now
    if notes is not None:
        task.notes = notes
    task.save()
    # A floating plan waits for its task's completion; with nothing left open to complete,
    # it restarts one interval after the cancellation instead of waiting forever.
    if (
        plan is not None
        and plan.is_calendar
        and plan.is_floating
        and plan.next_due_at is None
        and not Task.objects.filter(plan=plan, status__in=Task.OPEN_STATUSES).exists()
    ):
        plan.next_due_at = plan.one_interval_after(now)
        plan.save(update_fields=["next_due_at"])


def task_complete(
    *,
    task_id: str,
    completed_at: datetime | None,
    notes: str | None,
    by: str,
    now: datetime,
) -> Task:
    """Mark a task done (409 if done or cancelled); a floating plan re-anchors on it."""
    with transaction.atomic():
        task, plan = _lock_task_and_plan(task_id)
        changes_before = audit.track(task, plan)
        _complete(task, plan, completed_at=completed_at, notes=notes, by=by, now=now)
        changes_before.record()
    return task


def task_cancel(*, task_id: str, notes: str | None, now: datetime) -> Task:
    """Cancel an open task (409 if done or cancelled)."""
    with transaction.atomic():
        task, plan = _lock_task_and_plan(task_id)
        changes_before = audit.track(task, plan)
        _cancel(task, plan, notes=notes, now=now)
        changes_before.record()
    return task


def task_update(*, task_id: str, changes: dict[str, Any], by: str, now: datetime) -> Task:
    """PATCH a task: `status`, `assignee_id`, `checklist`, `notes`.

    Moving to `done` or `cancelled` goes through completion or cancellation. What may change
    depends on the state (`Task.changeable_fields`): a closed task only takes `notes` (409
    otherwise).
    """
    with transaction.atomic():
        task, plan = _lock_task_and_plan(task_id)
        changes_before = audit.track(task, plan)
        changes = dict(changes)
        status = changes.pop("status", None)
        changeable = task.changeable_fields()
        moves = status not in (None, task.status)
        if changes.keys() - changeable or (moves and "status" not in changeable):
            raise Conflict(f"Task '{task.pk}' is {task.status}; only its notes can change")
        if "assignee_id" in changes and changes["assignee_id"] is not None:
            problem = _assignee_problem(changes["assignee_id"])
            if problem:
                raise InvalidInput(problem, field="assignee_id")
        for field in ("assignee_id", "checklist", "notes"):
            if field in changes:
                setattr(task, field, changes[field])
        if status == Task.Status.DONE:
            _complete(task, plan, completed_at=None, notes=None, by=by, now=now)
        elif status == Task.Status.CANCELLED:
            _cancel(task, plan, notes=None, now=now)
        else:
            if status == Task.Status.IN_PROGRESS and task.started_at is None:
                task.started_at = now
            if status is not None:
                task.status = status
            task.save()
        changes_before.record()
    return task


# --- notifications ----------------------------------------------------------------------------

OVERDUE_BATCH = 500


def tasks_notify_overdue(*, now: datetime) -> int:
    """Announce `task.overdue` once for each open task whose deadline passed; returns how many.

    For beat (every minute). A task is marked (``overdue_notified_at``) with a compare-and-set
    UPDATE in the transaction that records its delivery, so two sweeps at once, or one that
    runs again, announce it once; the delivery's unique (event, object, channel) key is the
    last guard. Rows another transaction holds (a completion in flight) are skipped and seen
    by the next sweep if still open. A task overdue since long ago (the scheduler was down, or
    a catch-up task created past its deadline) is still announced: unlike a window that already
    ended, being overdue is still true and still actionable. A task of a plan without channels
    is marked all the same, so a channel added later does not hear about old tasks.
    """
    skip_locked = connection.features.has_select_for_update_skip_locked
    announced = 0
    while True:
        with transaction.atomic():
            ids = list(
                Task.objects.filter(
                    status__in=Task.OPEN_STATUSES,
                    deadline_at__lt=now,
                    overdue_notified_at__isnull=True,
                )
                .select_for_update(skip_locked=skip_locked)
                .order_by("deadline_at", "id")
                .values_list("pk", flat=True)[:OVERDUE_BATCH]
            )
            if not ids:
                return announced
            # Compare-and-set: only rows still open and unannounced are ours.
            Task.objects.filter(
                pk__in=ids, status__in=Task.OPEN_STATUSES, overdue_notified_at__isnull=True
            ).update(overdue_notified_at=now)
            tasks = list(
                Task.objects.filter(pk__in=ids, overdue_notified_at=now)
                .select_related("plan", "assignee")
                .order_by("deadline_at", "id")
            )
            assets: dict[str, list[str]] = {}
            for task_id, asset_id in (
                TaskAsset.objects.filter(task_id__in=[t.pk for t in tasks])
                .order_by("id")
                .values_list("task_id", "asset_id")
            ):
                assets.setdefault(task_id, []).append(asset_id)
            for task in tasks:
                plan = task.plan
                if plan is not None and plan.notification_channel_ids:
                    notifications.notify(
                        event=TASK_OVERDUE,
                        object_key=f"task:{task.pk}",
                        payload=_task_payload(task, plan, asset_ids=assets.get(task.pk, [])),
                        channel_ids=plan.notification_channel_ids,
                        now=now,
                    )
            announced += len(tasks)
        if len(ids) < OVERDUE_BATCH:
            return announced


def plan_test_notification(*, plan_id: str, now: datetime) -> list[notifications.DeliveryResult]:
    """Send a `test` through the plan's channels now; 409 when it names none."""
    plan = Plan.objects.filter(pk=plan_id).first()
    if plan is None:
        raise NotFound(f"Plan with id '{plan_id}' not found")
    if not plan.notification_channel_ids:
        raise Conflict(f"Plan '{plan_id}' has no notification channels")
    return notifications.send_test(channel_ids=plan.notification_channel_ids, now=now)


# --- assets and technicians ------------------------------------------------------------------


def _duplicate_code(code: str) -> str:
    return f"An asset with code '{code}' already exists."


def asset_code_problem(code: str, *, asset_id: str | None = None) -> str | None:
    """The message when another asset already has `code` (the API checks it before saving)."""
    others = Asset.objects.filter(code=code)
    if asset_id is not None:
        others = others.exclude(pk=asset_id)
    return _duplicate_code(code) if others.exists() else None


def _check_asset(spec: AssetSpec, *, asset_id: str | None) -> None:
    errors: dict[str, list[str]] = {}
    problem = asset_code_problem(spec.code, asset_id=asset_id)
    if problem:
        errors["code"] = [problem]
    problem = coordinates_problem(spec.latitude, spec.longitude)
    if problem:
        errors["latitude"] = [problem]
    if errors:
        raise _invalid(errors)


def _save_asset(asset: Asset, spec: AssetSpec) -> Asset:
    before = None if asset._state.adding else audit.snapshot(asset)
    for name, value in asdict(spec).items():
        setattr(asset, name, value)
    try:
        with transaction.atomic():
            asset.save()
            audit.record_saved(asset, before=before)
    except IntegrityError:  # a concurrent write took the code after the check
        raise _invalid({"code": [_duplicate_code(spec.code)]}) from None
    return asset


def asset_create(*, spec: AssetSpec) -> Asset:
    """Create an asset (400 on a code already taken, or only one of latitude/longitude)."""
    _check_asset(spec, asset_id=None)
    return _save_asset(Asset(), spec)


def asset_update(*, asset_id: str, spec: AssetSpec) -> Asset:
    """Replace an asset's fields with `spec` (same rules as creation; 404 when unknown)."""
    with transaction.atomic():
        asset = Asset.objects.select_for_update().filter(pk=asset_id).first()
        if asset is None:
            raise NotFound(f"Asset with id '{asset_id}' not found")
        _check_asset(spec, asset_id=asset_id)
        return _save_asset(asset, spec)


def technician_create(*, spec: TechnicianSpec) -> Technician:
    """Create a technician."""
    technician = Technician()
    _apply_technician_spec(technician, spec)
    with transaction.atomic():
        technician.save()
        audit.record_created(technician)
    return technician


def technician_update(*, technician_id: str, spec: TechnicianSpec) -> Technician:
    """Replace a technician's fields with `spec` (404 when unknown). Deactivating one keeps
    its plans and tasks assigned; it can no longer be given new ones."""
    with transaction.atomic():
        technician = Technician.objects.select_for_update().filter(pk=technician_id).first()
        if technician is None:
            raise NotFound(f"Technician with id '{technician_id}' not found")
        before = audit.snapshot(technician)
        _apply_technician_spec(technician, spec)
        technician.save()
        audit.record_updated(technician, before=before)
    return technician


def _apply_technician_spec(technician: Technician, spec: TechnicianSpec) -> None:
    technician.name = spec.name
    technician.email = spec.email
    technician.skills = list(spec.skills)
    technician.daily_capacity_minutes = spec.daily_capacity_minutes
    technician.active = spec.active


def asset_delete(*, asset_id: str) -> None:
    """Delete an asset; 409 while a plan or a task refers to it."""
    try:
        audit.delete(Asset.objects.filter(pk=asset_id))
    except ProtectedError:
        raise Conflict(
            f"Asset '{asset_id}' is used by plans or tasks; remove it from them first"
        ) from None


def technician_delete(*, technician_id: str) -> None:
    """Delete a technician; 409 while assigned to a plan or a task (deactivate instead)."""
    try:
        audit.delete(Technician.objects.filter(pk=technician_id))
    except ProtectedError:
        raise Conflict(
            f"Technician '{technician_id}' is assigned to plans or tasks; "
            "set active to false instead"
        ) from None
