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

import functools
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Max, ProtectedError
from django.utils import timezone
from django.utils.translation import gettext, pgettext

from core import audit, sql
from core.errors import Conflict, InvalidInput, NotFound, summary_message
from core.i18n import localized
from maintenance import calendars, checklists, reminders, triggers, workorders
from maintenance.events import TASK_CREATED, TASK_OVERDUE, task_payload
from maintenance.models import (
    Asset,
    CounterReading,
    Execution,
    HolidayCalendar,
    Plan,
    PlanAsset,
    PlanPause,
    Priority,
    Task,
    TaskAsset,
    TaskCodeSequence,
    Technician,
)
from maintenance.specs import (
    POSITIVE_MESSAGE,
    AssetSpec,
    CalendarTrigger,
    PlanSpec,
    ReadingSpec,
    TechnicianSpec,
    calendar_of,
    calendar_rule_problems,
    coordinates_problem,
    counter_of,
    grace_problems,
    task_code_prefix_problem,
    trigger_problems,
)
from notifications import services as notifications
from notifications.selectors import unknown_channel_ids
from scheduling.models import Impact
from scheduling.recurrence import Recurrence, RecurrenceError, build_recurrence, every_to_rrule

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
    return {f"calendar.{field}": [localized(exc)]}


def _check_values(spec: PlanSpec, errors: dict[str, list[str]]) -> None:
    """The rules on the spec's own values. The API's serializer refuses these first (with the
    same functions and words); the admin form and other callers rely on this check."""
    problem = task_code_prefix_problem(spec.task.code_prefix)
    if problem:
        errors["task_code_prefix"] = [problem]
    calendar, counter = calendar_of(spec.trigger), counter_of(spec.trigger)
    if calendar is not None:
        for name, messages in calendar_rule_problems(
            calendar.rrule, calendar.every, calendar.unit
        ).items():
            errors[f"calendar.{name}"] = messages
    if counter is not None and counter.interval <= 0:
        errors["counter.interval"] = [POSITIVE_MESSAGE]
    specs = [checklists.item_spec_of(item) for item in spec.task.checklist]
    errors.update(checklists.checklist_problems(specs, prefix="task.checklist"))
    for name in ("grace_hours", "grace_fraction"):
        if (getattr(spec, name) or 0) < 0:
            errors[name] = [gettext("Must not be negative.")]
    errors.update(
        grace_problems(spec.grace_hours, spec.grace_fraction, trigger_kind=spec.trigger_kind)
    )
    errors.update(trigger_problems(spec.trigger))
    _check_reminders_and_windows(spec, errors)


def _check_reminders_and_windows(spec: PlanSpec, errors: dict[str, list[str]]) -> None:
    """The plan's reminder, escalation and work-order settings (`maintenance.reminders`,
    `maintenance.workorders`)."""
    problem = reminders.lead_times_problem(spec.due_soon_lead_times)
    if problem:
        errors["due_soon_lead_times"] = [problem]
    problem = reminders.escalation_fractions_problem(spec.escalation_fractions)
    if problem:
        errors["escalation_fractions"] = [problem]
    if spec.window_impact not in Impact.values:
        errors["window_impact"] = [
            (gettext("Must be one of: %(values)s") % {"values": ", ".join(Impact.values)})
        ]
    if spec.plan_window and not spec.task.estimated_duration_minutes:
        errors["task.estimated_duration_minutes"] = [
            gettext(
                "A plan with plan_window needs the task's estimated duration (the window's length)."
            )
        ]


def _check_references(spec: PlanSpec, errors: dict[str, list[str]]) -> None:
    asset_ids = list(spec.asset_ids)
    if asset_ids:
        known = set(Asset.objects.filter(pk__in=asset_ids).values_list("pk", flat=True))
        missing = [asset_id for asset_id in asset_ids if asset_id not in known]
        if missing:
            errors["asset_ids"] = [
                (gettext("Asset '%(asset_id)s' not found") % {"asset_id": asset_id})
                for asset_id in missing
            ]
    if spec.assignee_id is not None:
        message = _assignee_problem(spec.assignee_id)
        if message:
            errors["assignee_id"] = [message]
    calendar_id = spec.holiday_calendar_id
    if calendar_id is not None and not HolidayCalendar.objects.filter(pk=calendar_id).exists():
        errors["holiday_calendar_id"] = [
            (gettext("Holiday calendar '%(calendar_id)s' not found") % {"calendar_id": calendar_id})
        ]
    unknown_channels = unknown_channel_ids(list(spec.notification_channel_ids))
    if unknown_channels:
        errors["notification_channel_ids"] = [
            (gettext("Channel '%(channel_id)s' not found") % {"channel_id": channel_id})
            for channel_id in unknown_channels
        ]
    unknown_channels = unknown_channel_ids(list(spec.escalation_channel_ids))
    if unknown_channels:
        errors["escalation_channel_ids"] = [
            (gettext("Channel '%(channel_id)s' not found") % {"channel_id": channel_id})
            for channel_id in unknown_channels
        ]


def _assignee_problem(technician_id: str) -> str | None:
    active = Technician.objects.filter(pk=technician_id).values_list("active", flat=True).first()
    if active is None:
        return gettext("Technician '%(technician_id)s' not found") % {
            "technician_id": technician_id
        }
    if not active:
        return gettext("Technician '%(technician_id)s' is inactive") % {
            "technician_id": technician_id
        }
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
        errors["calendar.end_at"] = [gettext("end_at must not be before start_at")]
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
    plan.task_checklist = [checklists.item_spec_of(item).stored() for item in task.checklist]
    plan.task_estimated_duration_minutes = task.estimated_duration_minutes
    plan.task_code_prefix = task.code_prefix
    plan.trigger = spec.trigger_kind
    plan.notification_channel_ids = list(spec.notification_channel_ids)
    plan.preventive_cost = spec.preventive_cost
    plan.failure_cost = spec.failure_cost
    plan.grace_hours = spec.grace_hours
    plan.grace_fraction = spec.grace_fraction
    plan.anchor = spec.trigger.anchor
    plan.due_soon_lead_times = list(spec.due_soon_lead_times)
    plan.escalation_fractions = list(spec.escalation_fractions)
    plan.escalation_channel_ids = list(spec.escalation_channel_ids)
    plan.open_window = spec.open_window
    plan.window_impact = spec.window_impact
    plan.plan_window = spec.plan_window

    plan.holiday_calendar_id = spec.holiday_calendar_id
    calendar, counter = calendar_of(spec.trigger), counter_of(spec.trigger)
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
    low = counter.min_interval if counter else None
    high = counter.max_interval if counter else None
    plan.min_interval_every = low.every if low else None
    plan.min_interval_unit = low.unit if low else ""
    plan.max_interval_every = high.every if high else None
    plan.max_interval_unit = high.unit if high else ""


def _validated_rrule(spec: PlanSpec) -> str | None:
    errors: dict[str, list[str]] = {}
    _check_values(spec, errors)
    _check_references(spec, errors)
    rrule = None
    calendar = calendar_of(spec.trigger)
    if calendar is not None and not errors.keys() & {"calendar.rrule", "calendar.unit"}:
        rrule = _calendar_rrule(calendar, errors)
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
    if plan.has_calendar:
        plan.next_due_at = _initial_next_due(plan, now=now)
    else:
        plan.next_due_at = triggers.initial_time_clock(plan, now=now)
    plan.counter_value = plan.counter_recorded_at = None
    if plan.has_counter:
        plan.counter_base = plan.counter_start_value
        plan.next_counter_threshold = plan.counter_base + plan.counter_interval
    else:
        plan.counter_base = plan.next_counter_threshold = None


_CALENDAR_SCHEDULE_FIELDS = ("rrule", "start_at", "end_at", "timezone", "anchor")
_COUNTER_SCHEDULE_FIELDS = ("counter_interval", "counter_start_value", "anchor")
_TIME_BOUND_FIELDS = (
    "min_interval_every",
    "min_interval_unit",
    "max_interval_every",
    "max_interval_unit",
)


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
        before_counter = {
            f: getattr(plan, f) for f in (*_COUNTER_SCHEDULE_FIELDS, *_TIME_BOUND_FIELDS)
        }
        _apply_plan_spec(plan, spec, rrule)
        if plan.trigger != before["trigger"]:
            _reset_schedule(plan, now=now)
        else:
            if plan.has_calendar and any(
                getattr(plan, f) != before[f] for f in _CALENDAR_SCHEDULE_FIELDS
            ):
                plan.next_due_at = _rescheduled_next_due(plan, now=now)
            if plan.has_counter and any(
                getattr(plan, f) != before_counter[f] for f in _COUNTER_SCHEDULE_FIELDS
            ):
                plan.counter_base = plan.counter_start_value
                if plan.counter_value is None:
                    plan.next_counter_threshold = plan.counter_base + plan.counter_interval
                else:
                    plan.next_counter_threshold = plan.threshold_after(plan.counter_value)
            if not plan.has_calendar and any(
                getattr(plan, f) != before_counter[f] for f in _TIME_BOUND_FIELDS
            ):
                # New bounds count from the last execution (or from now, before any).
                plan.next_due_at = None
                triggers.restart_clocks(
                    plan, executed_at=plan.last_executed_at or now, reading=None
                )
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
        raise NotFound(gettext("Plan with id '%(plan_id)s' not found") % {"plan_id": plan_id})
    return plan


def plan_pause(*, plan_id: str, now: datetime) -> Plan:
    """Stop generating; `next_due_at` is kept and the pause span starts (409 when paused)."""
    with transaction.atomic():
        plan = _lock_plan(plan_id)
        if plan.status == Plan.Status.PAUSED:
            raise Conflict(gettext("Plan '%(plan_id)s' is already paused") % {"plan_id": plan_id})
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
            raise Conflict(gettext("Plan '%(plan_id)s' is not paused") % {"plan_id": plan_id})
        before = audit.snapshot(plan)
        plan.status = Plan.Status.ACTIVE
        if plan.next_due_at is not None and plan.next_due_at <= now:
            # A time clock that restarts at executions (floating, whichever-first, a counter's
            # bound) is due now; a fixed grid goes on at its next occurrence.
            if plan.is_floating or not plan.is_calendar:
                plan.next_due_at = now
            else:
                plan.next_due_at = plan.next_occurrence_after(now)
        plan.save(update_fields=["status", "next_due_at", "updated_at"])
        audit.record_updated(plan, before=before)
        PlanPause.objects.filter(plan=plan, ended_at__isnull=True).update(ended_at=now)
    return plan


def plan_move_next_due(*, plan_id: str, due_at: datetime, now: datetime) -> Plan:
    """Move an active calendar plan's next due date by hand (the admin schedule's "move").

    Its task is generated at the new date minus the lead time; the occurrences after it
    follow the plan's rule as before (a fixed grid, or one interval after completion). The
    date must be in the future and not after the plan's end.
    """
    with transaction.atomic():
        plan = _lock_plan(plan_id)
        if not plan.is_calendar:
            raise InvalidInput(
                gettext("A counter plan has no next due date; it falls due on its readings"),
                field="next_due_at",
            )
        if plan.status != Plan.Status.ACTIVE:
            raise Conflict(
                gettext("Plan '%(plan_id)s' is paused; resume it to move its next due date")
                % {"plan_id": plan_id}
            )
        if due_at <= now:
            raise InvalidInput(gettext("next_due_at must be in the future"), field="next_due_at")
        if plan.end_at is not None and due_at > plan.end_at:
            raise InvalidInput(
                gettext("next_due_at must not be after the plan's end_at"), field="next_due_at"
            )
        before = audit.snapshot(plan)
        plan.next_due_at = due_at
        plan.save(update_fields=["next_due_at", "updated_at"])
        audit.record_updated(plan, before=before)
    return plan


# --- generating tasks ---------------------------------------------------------------------

# Due plans claimed (locked) per transaction by the scheduler: one statement claims them, a
# handful more create all their executions and tasks (the work of a transaction stays bounded).
EXECUTE_BATCH = 500


def _reserve_task_codes(prefix: str, count: int) -> int:
    """Take `count` numbers of `prefix`; returns the last one. Inside the creating transaction.

    The UPDATE takes the sequence row's lock until commit, so concurrent generators of one
    prefix queue here and each reads back its own range; numbers are never handed out twice
    and, the row never going down, never reused after a task is deleted.
    """
    table = connection.ops.quote_name(TaskCodeSequence._meta.db_table)
    sql = f"UPDATE {table} SET last_value = last_value + %s WHERE prefix = %s RETURNING last_value"
    with connection.cursor() as cursor:
        cursor.execute(sql, [count, prefix])
        row = cursor.fetchone()
        if row is None:
            # First task of this prefix. Two creators race here: get_or_create's savepoint
            # turns the loser's IntegrityError into a plain read of the winner's row.
            TaskCodeSequence.objects.get_or_create(prefix=prefix)
            cursor.execute(sql, [count, prefix])
            row = cursor.fetchone()
    return row[0]


def _next_task_codes(prefixes: list[str]) -> list[str]:
    """One `PREFIX-NNN` for each of `prefixes`, in that order, numbered upwards."""
    wanted = Counter(prefixes)
    following: dict[str, int] = {}
    for prefix in sorted(wanted):  # one order for every writer: never a lock cycle
        following[prefix] = _reserve_task_codes(prefix, wanted[prefix]) - wanted[prefix] + 1
    codes = []
    for prefix in prefixes:
        codes.append(f"{prefix}-{following[prefix]:03d}")
        following[prefix] += 1
    return codes


@dataclass
class _TaskOrder:
    """An execution and its task to create from a plan's template. The deadlines are fields
    because a later reading of the same batch may still move them before the task is stored."""

    plan: Plan
    trigger: str
    due_at: datetime
    counter_value: Decimal | None
    counter_threshold: Decimal | None
    deadline_at: datetime | None
    deadline_counter_value: Decimal | None
    # The occurrence (`due_at`, the execution's key) moved to a working day by the plan's
    # holiday calendar: what the task is due at.
    task_due_at: datetime


# Executions the scheduler makes at a time (not at a reading or a person's request): a holiday
# calendar shifts them, and they are late `tolerance_hours` after they are due.
_TIMED_TRIGGERS = (Execution.Trigger.CALENDAR, Execution.Trigger.MAX_INTERVAL)


def _task_order(
    plan: Plan,
    *,
    trigger: str,
    due_at: datetime,
    counter_threshold: Decimal | None = None,
    holidays: dict[str, calendars.HolidayRules] | None = None,
) -> _TaskOrder:
    """What generating from `plan` in its current state would create (nothing stored yet).

    `holidays`: the rules of the plans' calendars (`calendars.rules_for`), read once per
    batch; None reads this plan's.
    """
    task_due_at = due_at
    if trigger in _TIMED_TRIGGERS and plan.holiday_calendar_id:
        if holidays is None:
            holidays = calendars.rules_for([plan.holiday_calendar_id])
        rules = holidays.get(plan.holiday_calendar_id)
        if rules is not None:
            task_due_at = calendars.next_working_instant(due_at, rules, timezone=plan.timezone)
    deadline_at = None
    deadline_counter_value = None
    counter_task = (
        plan.trigger == Plan.Trigger.COUNTER and trigger != Execution.Trigger.MAX_INTERVAL
    )
    if plan.is_whichever_first:
        counter_task = trigger == Execution.Trigger.COUNTER
    if not counter_task:
        deadline_at = plan.deadline_for(task_due_at)
    elif plan.counter_tolerance_units is not None:
        reference = counter_threshold if counter_threshold is not None else plan.counter_value
        deadline_counter_value = (reference or Decimal(0)) + plan.counter_tolerance_units
    return _TaskOrder(
        plan=plan,
        trigger=trigger,
        due_at=due_at,
        counter_value=plan.counter_value if plan.has_counter else None,
        counter_threshold=counter_threshold,
        deadline_at=deadline_at,
        deadline_counter_value=deadline_counter_value,
        task_due_at=task_due_at,
    )


# Rows a statement `_bulk_insert` writes on PostgreSQL (a task has 30 columns: far under the
# 65,535 parameters of a statement).
_INSERT_ROWS = 1000


def _bulk_insert(objs: list) -> list:
    """`Model.objects.bulk_create(objs)` for executions and tasks (no `save()` override, no
    signal): on PostgreSQL with `core.sql.insert` (the ORM's values and pks, without compiling
    the query: the compilation of the two INSERTs was a tenth of a 1,000-reading batch)."""
    if connection.vendor != "postgresql":
        return type(objs[0]).objects.bulk_create(objs)
    for start in range(0, len(objs), _INSERT_ROWS):
        sql.insert(objs[start : start + _INSERT_ROWS])
    return objs


def _create_tasks(orders: list[_TaskOrder], *, now: datetime, by: str) -> list[Task]:
    """Every task is created here (calendar, catch-up, counter, manual), in bulk, in order.

    The executions, the codes, the tasks, their assets and `task.created` take a fixed number
    of statements whatever the count. The caller holds the plans' locks and saves the plans.
    """
    if not orders:
        return []
    executions = _bulk_insert(
        [
            Execution(
                plan=order.plan,
                trigger=order.trigger,
                due_at=order.due_at,
                counter_value=order.counter_value,
                counter_threshold=order.counter_threshold,
                executed_at=now,
                executed_by=by,
            )
            for order in orders
        ]
    )
    codes = _next_task_codes([order.plan.task_code_prefix for order in orders])
    tasks = _bulk_insert(
        [
            Task(
                code=code,
                plan=order.plan,
                created_at=now,
                execution=execution,
                title=order.plan.task_title,
                description=order.plan.task_description,
                checklist=checklists.task_items_from_template(order.plan.task_checklist),
                priority=order.plan.priority,
                assignee_id=order.plan.assignee_id,
                estimated_duration_minutes=order.plan.task_estimated_duration_minutes,
                due_at=order.task_due_at,
                deadline_at=order.deadline_at,
                deadline_counter_value=order.deadline_counter_value,
            )
            for order, execution, code in zip(orders, executions, codes, strict=True)
        ]
    )
    assets: dict[str, list[str]] = {}
    for plan_id, asset_id in (
        PlanAsset.objects.filter(plan_id__in={order.plan.pk for order in orders})
        .order_by("id")
        .values_list("plan_id", "asset_id")
    ):
        assets.setdefault(plan_id, []).append(asset_id)
    TaskAsset.objects.bulk_create(
        [
            TaskAsset(task=task, asset_id=asset_id)
            for task in tasks
            for asset_id in assets.get(task.plan_id, [])
        ]
    )
    audit.record_bulk_created(
        Task, tasks, extra_of=lambda task: {"asset_ids": assets.get(task.plan_id, [])}
    )
    _plan_windows(orders, tasks, now=now)
    for order, task in zip(orders, tasks, strict=True):
        order.plan.last_executed_at = now
        # The one place every new task is announced: in this transaction, so the delivery
        # commits with the task or not at all. A catch-up task whose deadline already passed
        # is recorded, not sent; the overdue sweep announces it instead.
        if order.plan.notification_channel_ids:
            notifications.notify(
                event=TASK_CREATED,
                object_key=f"task:{task.pk}",
                payload=task_payload(task, order.plan, asset_ids=assets.get(task.plan_id, [])),
                channel_ids=order.plan.notification_channel_ids,
                relevant_until=task.deadline_at,
                now=now,
            )
    return tasks


def _plan_windows(orders: list[_TaskOrder], tasks: list[Task], *, now: datetime) -> None:
    # Only plans with `plan_window` pay for this: one window (and one UPDATE) per such task.
    for order, task in zip(orders, tasks, strict=True):
        if order.plan.plan_window:
            workorders.planned_window_create(task, order.plan, now=now)
            if task.planned_maintenance_id:
                Task.objects.filter(pk=task.pk).update(
                    planned_maintenance_id=task.planned_maintenance_id
                )


def _due_occurrences(
    plan: Plan, *, now: datetime, recurrence: Recurrence
) -> tuple[list[datetime], bool]:
    """Occurrences from `next_due_at` whose run time (due - lead) has come, oldest first.

    Returns them and whether that is all of them (False when the bound cut the list short).
    """
    if plan.is_floating:
        return [plan.next_due_at], True
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


def _save_plans(plans: list[Plan], fields: list[str]) -> None:
    """One UPDATE for the plans a batch changed (a plain one for a single plan).

    On PostgreSQL an ``UPDATE … FROM (VALUES …)``: Django's bulk_update writes a CASE with one
    branch per row for every column, which costs rows² comparisons (the profile of a batch of
    500 plans spent half its time there).
    """
    if len(plans) == 1:
        plans[0].save(update_fields=fields)
    elif plans and connection.vendor == "postgresql":
        _update_from_values(plans, fields)
    elif plans:
        Plan.objects.bulk_update(plans, fields)


def _update_from_values(plans: list[Plan], fields: list[str]) -> None:
    quote = connection.ops.quote_name
    concrete = [Plan._meta.get_field(name) for name in fields]
    casts = [f"%s::{field.db_type(connection)}" for field in concrete]
    row = "(%s, " + ", ".join(casts) + ")"
    params: list[Any] = []
    for plan in plans:
        params.append(plan.pk)
        params.extend(
            field.get_db_prep_save(getattr(plan, field.attname), connection) for field in concrete
        )
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in concrete)
    names = ", ".join(quote(f.column) for f in concrete)
    table = quote(Plan._meta.db_table)
    sql = (
        f"UPDATE {table} SET {assignments} FROM (VALUES {', '.join([row] * len(plans))}) "
        f"AS v(id, {names}) WHERE {table}.id = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _claim_due_plans(*, now: datetime, plan_ids: list[str] | None = None) -> list[Plan]:
    """Lock up to EXECUTE_BATCH plans due at `now` (of `plan_ids` when given): calendar and
    whichever-first plans, and counter plans whose time bound has come.

    One ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL: rows another worker is generating
    are skipped, and due-ness is checked in the same statement, under the lock, so a plan is
    generated once however many workers claim at the same moment.
    """
    skip_locked = connection.features.has_select_for_update_skip_locked
    due = Plan.objects.select_for_update(skip_locked=skip_locked).filter(
        status=Plan.Status.ACTIVE, next_run_at__lte=now
    )
    if plan_ids is not None:
        due = due.filter(pk__in=plan_ids)
    return list(due.order_by("next_run_at", "id")[:EXECUTE_BATCH])


def _execute_claimed(plans: list[Plan], *, now: datetime) -> list[Task]:
    """The tasks the claimed `plans` owe at `now`, created in bulk (see `plan_execute_if_due`)."""
    if not plans:
        return []
    audited = audit.track(*plans)
    holidays = calendars.rules_for(plan.holiday_calendar_id for plan in plans)
    # Whichever-first plans and counter plans' time bounds: one execution at `next_due_at`,
    # then both clocks restart (`maintenance.triggers`).
    timed = [plan for plan in plans if not plan.is_calendar]
    plans = [plan for plan in plans if plan.is_calendar]
    orders: list[_TaskOrder] = []
    for plan in timed:
        trigger = triggers.time_fire_trigger(plan)
        threshold = plan.next_counter_threshold if trigger == Execution.Trigger.COUNTER else None
        due_at = plan.next_due_at
        orders.append(
            _task_order(
                plan, trigger=trigger, due_at=due_at, counter_threshold=threshold, holidays=holidays
            )
        )
        if plan.trigger == Plan.Trigger.COUNTER and trigger == Execution.Trigger.COUNTER:
            plan.next_counter_threshold = plan.threshold_after(plan.counter_value)
        # Restarted from the occurrence, so a late tick does not push the schedule back; from
        # now when even that is already past (the scheduler was down for a whole interval).
        triggers.restart_clocks(plan, executed_at=due_at, reading=None)
        if plan.next_due_at is not None and plan.next_due_at <= now:
            triggers.restart_clocks(plan, executed_at=now, reading=None)
    # Plans cloned from one template share their rule: it is parsed and checked once.
    recurrences: dict[tuple, Recurrence] = {}
    for plan in plans:
        key = (plan.rrule, plan.start_at, plan.timezone)
        if key not in recurrences:
            recurrences[key] = plan.recurrence()
    # So are the occurrences of plans with the same rule and the same next occurrence (a
    # template's clones due together): walked once, not once per plan.
    walks: dict[tuple, tuple[list[datetime], bool]] = {}
    due_by_plan = {}
    for plan in plans:
        rule = (plan.rrule, plan.start_at, plan.timezone)
        walk = (*rule, plan.is_floating, plan.next_due_at, plan.lead_time, plan.end_at)
        if walk not in walks:
            walks[walk] = _due_occurrences(plan, now=now, recurrence=recurrences[rule])
        occurrences, complete = walks[walk]
        due_by_plan[plan.pk] = (list(occurrences), complete)
    following: dict[tuple, datetime | None] = {}
    # Occurrences that somehow already have an execution are never generated twice.
    done = set()
    if plans:
        done = set(
            Execution.objects.filter(
                plan_id__in=list(due_by_plan),
                trigger=Execution.Trigger.CALENDAR,
                due_at__gte=min(plan.next_due_at for plan in plans),
            ).values_list("plan_id", "due_at")
        )
    missed_executions: list[Execution] = []
    for plan in plans:
        occurrences, complete = due_by_plan[plan.pk]
        past = [t for t in occurrences if t <= now]
        # Still ahead but within the lead time: generated as usual, one task each (more than
        # one only when the lead time is longer than the interval). Not missed, not late.
        upcoming = [t for t in occurrences if t > now and (plan.pk, t) not in done]
        # Of those already due, the latest gets the catch-up task and the earlier ones are
        # missed. When the batch bound cut the list short, the latest due is still beyond it,
        # so all of these are missed and the next call goes on from there.
        catch_up = past[-1] if complete and past and (plan.pk, past[-1]) not in done else None
        missed = [t for t in past if (plan.pk, t) not in done and t != catch_up]
        missed_executions.extend(
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
            logger.info("Plan %s: %d missed occurrence(s) recorded", plan.pk, len(missed))
        orders.extend(
            _task_order(plan, trigger=Execution.Trigger.CALENDAR, due_at=t, holidays=holidays)
            for t in ([catch_up] if catch_up else []) + upcoming
        )
        if plan.is_floating:
            plan.next_due_at = None
        else:
            after = (plan.rrule, plan.start_at, plan.timezone, occurrences[-1])
            if after not in following:
                following[after] = recurrences[after[:3]].next_after(occurrences[-1])
            plan.next_due_at = plan.clip_to_end(following[after])
        plan.next_run_at = plan.compute_next_run_at()
    Execution.objects.bulk_create(missed_executions, batch_size=CATCH_UP_BATCH)
    tasks = _create_tasks(orders, now=now, by=SYSTEM_ACTOR)
    _save_plans(plans, ["next_due_at", "next_run_at", "last_executed_at"])
    _save_plans(timed, ["next_due_at", "next_run_at", "next_counter_threshold", "last_executed_at"])
    audited.record()
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
    with transaction.atomic():
        tasks = _execute_claimed(_claim_due_plans(now=now, plan_ids=[plan_id]), now=now)
    return tasks[-1] if tasks else None


def plans_execute(*, plan_ids: list[str], now: datetime) -> int:
    """`plan_execute_if_due` for each of `plan_ids` (a worker's share), in bulk; returns how
    many tasks were created. Plans no longer due, or locked by another worker, are skipped."""
    created = 0
    for start in range(0, len(plan_ids), EXECUTE_BATCH):
        with transaction.atomic():
            claimed = _claim_due_plans(now=now, plan_ids=plan_ids[start : start + EXECUTE_BATCH])
            created += len(_execute_claimed(claimed, now=now))
    return created


def plans_execute_due(*, now: datetime) -> int:
    """Generate the tasks of every calendar plan due at `now`; returns how many were created.

    Claims due plans EXECUTE_BATCH at a time, each batch in its own transaction, until none
    is left. Safe to run from several workers at once: a claim skips the plans another
    worker holds and re-checks due-ness under the lock, so overlapping calls share the work
    instead of repeating it.
    """
    created = 0
    while True:
        with transaction.atomic():
            claimed = _claim_due_plans(now=now)
            created += len(_execute_claimed(claimed, now=now))
        if len(claimed) < EXECUTE_BATCH:
            return created


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
            raise Conflict(
                gettext("Plan '%(plan_id)s' is paused; resume it to execute it")
                % {"plan_id": plan_id}
            )
        before = audit.snapshot(plan)
        order = _task_order(plan, trigger=Execution.Trigger.MANUAL, due_at=now)
        task = _create_tasks([order], now=now, by=by)[0]
        if plan.is_whichever_first:
            triggers.restart_clocks(plan, executed_at=now, reading=None)
        elif plan.is_calendar:
            if plan.is_floating:
                plan.next_due_at = plan.one_interval_after(now)
            else:
                following = plan.next_occurrence_after(now)
                if plan.next_due_at is None or (following and following > plan.next_due_at):
                    plan.next_due_at = following
        else:
            if plan.is_floating:
                plan.next_counter_threshold = (
                    triggers.reading_reference(plan) + plan.counter_interval
                )
            if triggers.keeps_time_clock(plan):
                triggers.restart_clocks(plan, executed_at=now, reading=None)
        plan.save(update_fields=["next_due_at", "next_counter_threshold", "last_executed_at"])
        audit.record_updated(plan, before=before)
        return task


SKIP_REASON_MAX_LENGTH = 500


def plan_skip(*, plan_id: str, reason: str, by: str, now: datetime) -> Execution:
    """Skip the plan's next calendar occurrence: recorded in its history as a skipped
    execution (no task) with `reason`, and `next_due_at` moves on (a fixed grid to its next
    occurrence, a floating or whichever-first plan one interval after the skipped one; a
    whichever-first plan's counter is not touched: nothing was executed).

    409 when the plan is paused (resume it first), has no calendar trigger (a counter
    occurrence has no date to skip), or has no next occurrence (a floating plan waiting for
    its task's completion, or a plan past its end).
    """
    reason = reason.strip()
    if not reason:
        raise InvalidInput(gettext("This field may not be blank."), field="reason")
    if len(reason) > SKIP_REASON_MAX_LENGTH:
        raise InvalidInput(
            (
                gettext("Ensure this field has no more than %(SKIP_REASON_MAX_LENGTH)s characters.")
                % {"SKIP_REASON_MAX_LENGTH": SKIP_REASON_MAX_LENGTH}
            ),
            field="reason",
        )
    with transaction.atomic():
        plan = _lock_plan(plan_id)
        if plan.status == Plan.Status.PAUSED:
            raise Conflict(
                gettext("Plan '%(plan_id)s' is paused; resume it to skip an occurrence")
                % {"plan_id": plan_id}
            )
        if not plan.has_calendar:
            raise Conflict(
                gettext(
                    "Plan '%(plan_id)s' has a counter trigger; only a calendar occurrence "
                    "can be skipped"
                )
                % {"plan_id": plan_id}
            )
        if plan.next_due_at is None:
            raise Conflict(
                gettext("Plan '%(plan_id)s' has no next occurrence to skip") % {"plan_id": plan_id}
            )
        before = audit.snapshot(plan)
        occurrence = plan.next_due_at
        execution = Execution(
            plan=plan,
            trigger=Execution.Trigger.CALENDAR,
            due_at=occurrence,
            executed_at=now,
            executed_by=by,
            skipped=True,
            skip_reason=reason,
        )
        try:
            with transaction.atomic():
                execution.save()
        except IntegrityError:  # the occurrence already has an execution (never generated twice)
            raise Conflict(
                gettext("Plan '%(plan_id)s' already has an execution at %(isoformat)s")
                % {"plan_id": plan_id, "isoformat": occurrence.isoformat()}
            ) from None
        if plan.is_calendar and not plan.is_floating:
            plan.next_due_at = plan.next_occurrence_after(occurrence)
        else:
            plan.next_due_at = plan.one_interval_after(occurrence)
        plan.save(update_fields=["next_due_at", "updated_at"])
        audit.record_created(execution)
        audit.record_updated(plan, before=before)
    return execution


# --- counters -------------------------------------------------------------------------------

READINGS_BATCH_MAX = 1000


@dataclass(frozen=True)
class CounterResult:
    reading: CounterReading
    task: Task | None
    plan: Plan
    # The plan's threshold right after this reading (a later one of its batch moves `plan`).
    next_counter_threshold: Decimal | None

    @property
    def executed(self) -> bool:
        return self.task is not None


_FieldOf = Callable[[int, str], str | None]


@dataclass
class _Meter:
    """A locked counter plan while readings apply to it in memory, and its open tasks that
    have a usage deadline (stored ones and those this batch creates)."""

    plan: Plan
    usage_tasks: list[Task | _TaskOrder]
    moved: dict[str, Task]  # stored tasks whose deadline a reading moved


def _lock_meters(plan_ids: list[str], *, field_of: _FieldOf) -> dict[str, _Meter]:
    """Lock the plans (in id order, so two batches never wait on each other in a cycle) and
    load their open tasks with a usage deadline; 404/409 for an unknown or a calendar plan."""
    plans = {
        plan.pk: plan
        for plan in Plan.objects.select_for_update().filter(pk__in=plan_ids).order_by("pk")
    }
    unknown: dict[str, list[str]] = {}
    calendar: dict[str, list[str]] = {}
    for index, plan_id in enumerate(plan_ids):
        plan = plans.get(plan_id)
        field = field_of(index, "plan_id")
        if plan is None:
            message = gettext("Plan with id '%(plan_id)s' not found") % {"plan_id": plan_id}
            if field is None:
                raise NotFound(message)
            unknown[field] = [message]
        elif plan.is_calendar:
            message = gettext(
                "Plan '%(plan_id)s' has a calendar trigger; it takes no counter readings"
            ) % {"plan_id": plan_id}
            if field is None:
                raise Conflict(message)
            calendar[field] = [message]
    if unknown:
        raise _invalid(unknown)
    if calendar:
        raise Conflict(summary_message(calendar), details=calendar)
    meters = {plan_id: _Meter(plan, [], {}) for plan_id, plan in plans.items()}
    # Read after the locks (a new snapshot): a task a reading before us created is seen.
    # A plan that never executed has no tasks at all.
    executed = [plan_id for plan_id, plan in plans.items() if plan.last_executed_at is not None]
    if executed:
        for task in Task.objects.filter(
            plan_id__in=executed,
            status__in=Task.OPEN_STATUSES,
            deadline_counter_value__isnull=False,
        ).only("id", "plan_id", "deadline_counter_value", "deadline_at"):
            meters[task.plan_id].usage_tasks.append(task)
    return meters


def _apply_reading(
    meter: _Meter, reading: ReadingSpec, *, now: datetime, field_of: Callable[[str], str | None]
) -> tuple[CounterReading, _TaskOrder | None]:
    """The one rule of a reading, on a locked plan in memory: checks, the reading to store,
    the task to create when it reaches the threshold, the moved usage deadlines."""
    plan = meter.plan
    last_value, last_at = plan.counter_value, plan.counter_recorded_at
    recorded_at = reading.recorded_at
    if recorded_at is None:
        # "Now" was read before waiting for the lock; a concurrent reading may have been
        # stamped a moment later. Arrival order is the truth for untimed readings.
        recorded_at = max(now, last_at) if last_at else now
    if last_at is not None and recorded_at < last_at:
        message = gettext(
            "recorded_at %(isoformat)s is before the last reading (%(isoformat2)s); "
            "readings must arrive in order"
        ) % {"isoformat": recorded_at.isoformat(), "isoformat2": last_at.isoformat()}
        field = field_of("recorded_at")
        raise Conflict(message, details={field: [message]} if field else None)
    value = reading.value
    if last_value is not None and value < last_value and not reading.reset:
        message = gettext(
            "Reading %(value)s is lower than the last reading %(last_value)s; send "
            "reset: true if the meter was replaced"
        ) % {"value": value, "last_value": last_value}
        field = field_of("value")
        raise Conflict(message, details={field: [message]} if field else None)
    stored = CounterReading(
        plan=plan, value=value, source=reading.source, recorded_at=recorded_at, reset=reading.reset
    )
    plan.counter_value = value
    plan.counter_recorded_at = recorded_at
    order = None
    if reading.reset:
        plan.counter_base = value
        plan.next_counter_threshold = value + plan.counter_interval
        if plan.trigger == Plan.Trigger.COUNTER and plan.min_interval_every:
            # A threshold the min bound held back is gone with the old meter.
            plan.next_due_at = None
            if plan.last_executed_at is not None:
                triggers.restart_clocks(plan, executed_at=plan.last_executed_at, reading=None)
        if last_value is not None:
            # Open tasks' usage deadlines move with the meter.
            for task in meter.usage_tasks:
                task.deadline_counter_value += value - last_value
                _moved(meter, task)
    elif plan.status == Plan.Status.ACTIVE and value >= plan.next_counter_threshold:
        held = triggers.held_until(plan, at=recorded_at)
        if held is not None:
            # Sooner than min_interval after the last execution: the scheduler executes it
            # when the bound passes (`trigger: "counter"`), unless a reset comes first.
            triggers.hold(plan, until=held)
        else:
            order = _task_order(
                plan,
                trigger=Execution.Trigger.COUNTER,
                due_at=recorded_at,
                counter_threshold=plan.next_counter_threshold,
            )
            plan.next_counter_threshold = plan.threshold_after(value)
            plan.last_executed_at = now
            if triggers.keeps_time_clock(plan):
                triggers.restart_clocks(plan, executed_at=recorded_at, reading=value)
            if order.deadline_counter_value is not None:
                meter.usage_tasks.append(order)
    # A counter task is late once usage passes its threshold + tolerance while it is open.
    for task in meter.usage_tasks:
        if task.deadline_at is None and task.deadline_counter_value <= value:
            task.deadline_at = recorded_at
            _moved(meter, task)
    return stored, order


def _moved(meter: _Meter, task: Task | _TaskOrder) -> None:
    if isinstance(task, Task):
        meter.moved[task.pk] = task


# What a reading changes on its plan.
_READING_PLAN_FIELDS = [
    "counter_value",
    "counter_recorded_at",
    "counter_base",
    "next_counter_threshold",
    "last_executed_at",
    "next_due_at",
    "next_run_at",
]


def _record_readings(
    readings: list[ReadingSpec], *, now: datetime, field_of: _FieldOf
) -> list[CounterResult]:
    """Store `readings` in order under their plans' locks, in one transaction: all or none.

    `field_of(index, name)` names a reading's field in an error (None: the single route,
    whose errors name no field but the one it always named).
    """
    for index, reading in enumerate(readings):
        if reading.recorded_at is not None and reading.recorded_at > now + CLOCK_SKEW:
            raise InvalidInput(
                gettext("recorded_at is in the future"),
                field=field_of(index, "recorded_at") or "recorded_at",
            )
    with transaction.atomic():
        meters = _lock_meters([reading.plan_id for reading in readings], field_of=field_of)
        # The plans and their stored usage tasks as they were: what the readings change on
        # them (thresholds, executions, moved deadlines) is audited in one INSERT at the end.
        audited = audit.track(
            *(
                row
                for meter in meters.values()
                for row in (meter.plan, *meter.usage_tasks)
                if isinstance(row, Plan | Task)
            )
        )
        stored: list[CounterReading] = []
        thresholds: list[Decimal | None] = []
        orders: list[tuple[int, _TaskOrder]] = []
        for index, reading in enumerate(readings):
            # The i-th reading of a batch arrived i µs after the first: untimed readings of
            # one plan keep their request order in the history (newest first).
            row, order = _apply_reading(
                meters[reading.plan_id],
                reading,
                now=now + timedelta(microseconds=index),
                field_of=lambda name, index=index: field_of(index, name),
            )
            stored.append(row)
            thresholds.append(meters[reading.plan_id].plan.next_counter_threshold)
            if order is not None:
                orders.append((index, order))
        _insert_readings(stored)
        tasks = _create_tasks([order for _, order in orders], now=now, by=SYSTEM_ACTOR)
        task_of = {index: task for (index, _), task in zip(orders, tasks, strict=True)}
        moved = [task for meter in meters.values() for task in meter.moved.values()]
        if moved:
            Task.objects.bulk_update(moved, ["deadline_counter_value", "deadline_at"])
        _save_plans([meter.plan for meter in meters.values()], _READING_PLAN_FIELDS)
        audited.record()
    return [
        CounterResult(
            reading=row,
            task=task_of.get(index),
            plan=meters[row.plan_id].plan,
            next_counter_threshold=thresholds[index],
        )
        for index, row in enumerate(stored)
    ]


def _insert_readings(rows: list[CounterReading]) -> None:
    """`CounterReading.objects.bulk_create(rows)`, on PostgreSQL as one
    `INSERT … SELECT FROM unnest(…)` (the rows travel as one array a column; `bulk_create`
    compiled a VALUES row of seven placeholders per reading, a third of a 1,000-reading batch).

    Same values as the ORM's: the ids are the rows' defaults, `created_at` is stamped per row
    in order (`auto_now_add`), so readings with the same `recorded_at` keep their order.
    """
    if connection.vendor != "postgresql":
        CounterReading.objects.bulk_create(rows)
        return
    for row in rows:
        row.created_at = timezone.now()
    table = connection.ops.quote_name(CounterReading._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id, plan_id, value, source, recorded_at, reset, created_at) "
            "SELECT * FROM unnest(%s::varchar[], %s::varchar[], %s::numeric[], %s::varchar[], "
            "%s::timestamptz[], %s::boolean[], %s::timestamptz[])",
            [
                [row.pk for row in rows],
                [row.plan_id for row in rows],
                [row.value for row in rows],
                [row.source for row in rows],
                [row.recorded_at for row in rows],
                [row.reset for row in rows],
                [row.created_at for row in rows],
            ],
        )
    for row in rows:
        row._state.adding = False
        row._state.db = connection.alias


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
    reading = ReadingSpec(
        plan_id=plan_id, value=value, source=source, recorded_at=recorded_at, reset=reset
    )
    if connection.vendor == "postgresql":
        result = _record_unlocked(reading, now=now)
        if result is not None:
            return result
    return _record_readings([reading], now=now, field_of=lambda index, name: None)[0]


@functools.cache
def _unlocked_plan_sql() -> str:
    # The plan row, its version and whether it has open tasks with a usage deadline, in plain
    # SQL: the ORM compiled this query in three times the time it takes to run.
    quote = connection.ops.quote_name
    plan, task = quote(Plan._meta.db_table), quote(Task._meta.db_table)
    columns = ", ".join(f"{plan}.{quote(field.column)}" for field in Plan._meta.concrete_fields)
    return (
        f"SELECT {columns}, {plan}.xmin::text AS row_version, EXISTS (SELECT 1 FROM {task} "
        f"WHERE {task}.plan_id = {plan}.id AND {task}.status IN (%s, %s) "
        f"AND {task}.deadline_counter_value IS NOT NULL) AS has_usage_tasks "
        f"FROM {plan} WHERE {plan}.id = %s"
    )


def _record_unlocked(reading: ReadingSpec, *, now: datetime) -> CounterResult | None:
    """The single route's common case on PostgreSQL, a reading that executes nothing, in two
    statements instead of the locked path's five (BEGIN, lock, INSERT, UPDATE, COMMIT).

    The plan is read without a lock, with its row version (`xmin`) and whether it has open
    tasks with a usage deadline; `_apply_reading` applies the reading in memory, exactly as
    under the lock; then one statement updates the plan *only if its row is still the version
    read* and inserts the reading from that UPDATE's result, so both are stored or neither.
    Every writer that could change what the reading does (another reading, an execution, an
    edit, a pause, a reset's moved deadlines, a new usage task: all under the plan's lock)
    updates the plan row, which gives it a new version: a reading that raced one stores
    nothing here. None then, and for anything beyond a stored reading and a moved threshold
    (an execution, usage tasks to move or mark late, an audited change of the plan, a
    refusal, an unknown or calendar plan): the caller takes the locked path, which decides
    it afresh and words every error as before.
    """
    if reading.recorded_at is not None and reading.recorded_at > now + CLOCK_SKEW:
        return None
    plan = next(
        iter(Plan.objects.raw(_unlocked_plan_sql(), [*Task.OPEN_STATUSES, reading.plan_id])), None
    )
    if plan is None or plan.is_calendar or plan.has_usage_tasks:
        return None
    before = audit.snapshot(plan)
    try:
        row, order = _apply_reading(
            _Meter(plan, [], {}), reading, now=now, field_of=lambda name: None
        )
    except Conflict:
        return None
    if order is not None or audit.snapshot(plan) != before:
        return None
    plan.next_run_at = plan.compute_next_run_at()  # as Plan.save does
    row.created_at = timezone.now()
    quote = connection.ops.quote_name
    fields = [Plan._meta.get_field(name) for name in _READING_PLAN_FIELDS]
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH p AS (UPDATE {quote(Plan._meta.db_table)} SET {assignments} "
            "WHERE id = %s AND xmin = %s::xid RETURNING id) "
            f"INSERT INTO {quote(CounterReading._meta.db_table)} "
            "(id, plan_id, value, source, recorded_at, reset, created_at) "
            "SELECT %s, p.id, %s, %s, %s, %s, %s FROM p",
            [
                *(
                    field.get_db_prep_save(getattr(plan, field.attname), connection)
                    for field in fields
                ),
                plan.pk,
                plan.row_version,
                row.pk,
                row.value,
                row.source,
                row.recorded_at,
                row.reset,
                row.created_at,
            ],
        )
        if cursor.rowcount != 1:
            return None
    row._state.adding = False
    row._state.db = connection.alias
    return CounterResult(
        reading=row, task=None, plan=plan, next_counter_threshold=plan.next_counter_threshold
    )


def counter_record_many(*, readings: list[ReadingSpec], now: datetime) -> list[CounterResult]:
    """`counter_record` for a gateway's batch, with exactly its rules, in request order.

    The readings of one plan apply in the order given; the whole batch is one transaction,
    so one refused reading (400/409 whose details name `readings[i].field`) stores none.
    Plans are locked in id order, so batches and single readings on the same meters queue
    instead of deadlocking; readings, tasks and plan updates are written in bulk.
    """
    if not 1 <= len(readings) <= READINGS_BATCH_MAX:
        raise InvalidInput(
            (
                gettext("Send 1 to %(READINGS_BATCH_MAX)s readings")
                % {"READINGS_BATCH_MAX": READINGS_BATCH_MAX}
            ),
            field="readings",
        )
    return _record_readings(
        readings, now=now, field_of=lambda index, name: f"readings[{index}].{name}"
    )


# --- tasks ----------------------------------------------------------------------------------


def _lock_task_and_plan(task_id: str) -> tuple[Task, Plan | None]:
    # Plan first, then task: the order every other writer uses.
    row = Task.objects.filter(pk=task_id).values("plan_id").first()
    if row is None:
        raise NotFound(gettext("Task with id '%(task_id)s' not found") % {"task_id": task_id})
    plan = Plan.objects.select_for_update().filter(pk=row["plan_id"]).first()
    task = Task.objects.select_for_update().get(pk=task_id)
    return task, plan


def _last_completion(plan: Plan) -> datetime | None:
    return Task.objects.filter(plan=plan, status=Task.Status.DONE).aggregate(
        last=Max("completed_at")
    )["last"]


def _ensure_open(task: Task, action: str) -> None:
    if task.status == Task.Status.DONE:
        raise Conflict(
            gettext("Task '%(pk)s' is already done; it cannot be %(action)s")
            % {"pk": task.pk, "action": action}
        )
    if task.status == Task.Status.CANCELLED:
        raise Conflict(
            gettext("Task '%(pk)s' is cancelled; it cannot be %(action)s")
            % {"pk": task.pk, "action": action}
        )


def _delay_problems(
    task: Task, plan: Plan | None, *, completed_at: datetime, delay_reason: str, delay_note: str
) -> dict[str, list[str]]:
    """A delay reason is for a late completion (after the deadline and the plan's grace)
    only; "other" needs the note that says what it was."""
    if not delay_reason and not delay_note:
        return {}
    grace = plan.grace() if plan is not None else timedelta(0)
    if task.deadline_at is None or completed_at <= task.deadline_at + grace:
        field = "delay_reason" if delay_reason else "delay_note"
        return {
            field: [gettext("Only a late completion takes a delay reason: this one is on time.")]
        }
    if delay_reason not in Task.DelayReason.values:
        return {
            "delay_reason": [
                (
                    gettext("Must be one of: %(values)s.")
                    % {"values": ", ".join(Task.DelayReason.values)}
                )
            ]
        }
    if delay_reason == Task.DelayReason.OTHER and not delay_note.strip():
        return {"delay_note": [gettext('Say what delayed the task when the reason is "other".')]}
    if len(delay_note) > Task.DELAY_NOTE_MAX_LENGTH:
        return {
            "delay_note": [
                (
                    gettext("Must be at most %(DELAY_NOTE_MAX_LENGTH)s characters.")
                    % {"DELAY_NOTE_MAX_LENGTH": Task.DELAY_NOTE_MAX_LENGTH}
                )
            ]
        }
    return {}


def _time_spent_problem(value: Any) -> str | None:
    """What is wrong with a recorded time spent (None: fine; null clears it)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        return gettext("Must be a whole number of minutes.")
    if not 0 <= value <= Task.TIME_SPENT_MAX_MINUTES:
        return gettext("Must be between 0 and %(maximum)s minutes.") % {
            "maximum": Task.TIME_SPENT_MAX_MINUTES
        }
    return None


def _set_time_spent(task: Task, value: int | None) -> None:
    problem = _time_spent_problem(value)
    if problem:
        raise InvalidInput(f"time_spent_minutes: {problem}", field="time_spent_minutes")
    task.time_spent_minutes = value


def _complete(
    task: Task,
    plan: Plan | None,
    *,
    completed_at,
    notes,
    by,
    now,
    delay_reason: str | None = "",
    delay_note: str | None = "",
) -> None:
    _ensure_open(task, pgettext("a task cannot be …", "completed"))
    completed_at = completed_at or now
    delay_reason, delay_note = delay_reason or "", delay_note or ""
    if completed_at > now + CLOCK_SKEW:
        raise InvalidInput(gettext("completed_at is in the future"), field="completed_at")
    problems = checklists.unanswered_required(task.checklist) | _delay_problems(
        task, plan, completed_at=completed_at, delay_reason=delay_reason, delay_note=delay_note
    )
    if problems:
        raise _invalid(problems)
    task.delay_reason = delay_reason
    task.delay_note = delay_note
    # Read before saving this completion: only the latest completion re-anchors.
    previous = _last_completion(plan) if plan is not None else None
    task.status = Task.Status.DONE
    task.completed_at = completed_at
    task.completed_by = by
    workorders.task_stopped(task, now=now)
    if notes is not None:
        task.notes = notes
    task.save()
    floating = plan is not None and plan.is_calendar and plan.is_floating
    if floating and (previous is None or completed_at >= previous):
        plan.next_due_at = plan.one_interval_after(completed_at)
        plan.save(update_fields=["next_due_at"])


def _cancel(task: Task, plan: Plan | None, *, notes, now) -> None:
    _ensure_open(task, pgettext("a task cannot be …", "cancelled"))
    task.status = Task.Status.CANCELLED
    task.cancelled_at = now
    workorders.task_stopped(task, now=now)
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
    delay_reason: str | None = "",
    delay_note: str | None = "",
    time_spent_minutes: int | None = None,
) -> Task:
    """Mark a task done (409 if done or cancelled); a floating plan re-anchors on it.

    400 while a required checklist item is unanswered (naming it). A late completion may say
    why (`delay_reason`, one of `Task.DelayReason`, and `delay_note`). `time_spent_minutes`
    records the labour with the completion (None: leave what was recorded)."""
    with transaction.atomic():
        task, plan = _lock_task_and_plan(task_id)
        changes_before = audit.track(task, plan)
        if time_spent_minutes is not None:
            _set_time_spent(task, time_spent_minutes)
        _complete(
            task,
            plan,
            completed_at=completed_at,
            notes=notes,
            by=by,
            now=now,
            delay_reason=delay_reason,
            delay_note=delay_note,
        )
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
    """PATCH a task: `status`, `assignee_id`, `checklist`, `notes`, `time_spent_minutes`.

    Moving to `done` or `cancelled` goes through completion or cancellation. What may change
    depends on the state (`Task.changeable_fields`): a closed task only takes `notes` (409
    otherwise).
    """
    with transaction.atomic():
        task, plan = _lock_task_and_plan(task_id)
        changes_before = audit.track(task, plan)
        changes = dict(changes)
        status = changes.pop("status", None)
        delay = {key: changes.pop(key) for key in ("delay_reason", "delay_note") if key in changes}
        if delay and status != Task.Status.DONE:
            raise InvalidInput(
                gettext("A delay reason is given when completing a task (status: done)."),
                field=next(iter(delay)),
            )
        changeable = task.changeable_fields()
        moves = status not in (None, task.status)
        if changes.keys() - changeable or (moves and "status" not in changeable):
            raise Conflict(
                gettext("Task '%(pk)s' is %(status)s; only its notes and time spent can change")
                % {"pk": task.pk, "status": task.status}
            )
        if "assignee_id" in changes and changes["assignee_id"] is not None:
            problem = _assignee_problem(changes["assignee_id"])
            if problem:
                raise InvalidInput(problem, field="assignee_id")
        for field in ("assignee_id", "notes"):
            if field in changes:
                setattr(task, field, changes[field])
        if "time_spent_minutes" in changes:
            _set_time_spent(task, changes["time_spent_minutes"])
        if "checklist" in changes:
            task.checklist, problems = checklists.apply_answers(
                task.checklist, changes["checklist"], by=by, now=now
            )
            if problems:
                raise _invalid(problems)
            _create_corrective_tasks(task, plan, by=by, now=now)
        if status == Task.Status.DONE:
            _complete(
                task,
                plan,
                completed_at=None,
                notes=None,
                by=by,
                now=now,
                delay_reason=delay.get("delay_reason", ""),
                delay_note=delay.get("delay_note", ""),
            )
        elif status == Task.Status.CANCELLED:
            _cancel(task, plan, notes=None, now=now)
        else:
            if status == Task.Status.IN_PROGRESS and task.started_at is None:
                task.started_at = now
            if status == Task.Status.IN_PROGRESS:
                workorders.task_started(task, plan, now=now)
            elif status == Task.Status.OPEN:
                workorders.task_stopped(task, now=now)
            if status is not None:
                task.status = status
            task.save()
        changes_before.record()
    return task


# --- corrective tasks -------------------------------------------------------------------------

CORRECTIVE_TASK_CODE_PREFIX = "COR"
# A finding is to be acted on soon: its corrective task is due at once, late after this.
CORRECTIVE_TOLERANCE = timedelta(hours=24)


def _create_corrective_tasks(task: Task, plan: Plan | None, *, by: str, now: datetime) -> None:
    """One corrective task for each item of `task` (locked, its checklist just answered)
    whose finding calls for one and that has none yet; the item then names it.

    Exactly once: the task's row lock serialises answers to it, the item remembers its
    corrective task, and `(corrective_for, corrective_item)` is unique, so a repeated or
    concurrent PATCH never makes a second one. The corrective task has no plan (it is not an
    occurrence: it counts in no compliance and moves no schedule) but the source task's
    assets and assignee, and announces `task.created` on the plan's channels.
    """
    wanted = [
        index
        for index, item in enumerate(task.checklist)
        if checklists.calls_for_corrective(item) and not item.get("corrective_task_id")
    ]
    if not wanted:
        return
    if Task.objects.filter(corrective_for=task, corrective_item__in=wanted).exists():
        return  # made by a writer the lock did not serialise with (cannot happen on PG)
    asset_ids = list(
        TaskAsset.objects.filter(task=task).order_by("id").values_list("asset_id", flat=True)
    )
    codes = _next_task_codes([CORRECTIVE_TASK_CODE_PREFIX] * len(wanted))
    priority = Priority.URGENT if task.priority == Priority.URGENT else Priority.HIGH
    checklist = list(task.checklist)
    created = []
    for index, code in zip(wanted, codes, strict=True):
        item = checklists.task_item_of(checklist[index])
        execution = Execution.objects.create(
            plan=None,
            trigger=Execution.Trigger.CORRECTIVE,
            due_at=now,
            executed_at=now,
            executed_by=by,
        )
        found = checklists.finding(item)
        corrective = Task.objects.create(
            code=code,
            plan=None,
            execution=execution,
            created_at=now,
            title=f"Corrective: {item['item']}"[:255],
            description=f"{task.code} ({task.title}): {found}, answered by "
            f"{item['answered_by']} at {item['answered_at']}.",
            priority=priority,
            assignee_id=task.assignee_id,
            due_at=now,
            deadline_at=now + CORRECTIVE_TOLERANCE,
            corrective_for=task,
            corrective_item=index,
        )
        TaskAsset.objects.bulk_create(
            [TaskAsset(task=corrective, asset_id=asset_id) for asset_id in asset_ids]
        )
        audit.record_created(corrective, asset_ids=asset_ids)
        checklist[index] = {**checklist[index], "corrective_task_id": corrective.pk}
        created.append(corrective)
    task.checklist = checklist
    if plan is not None and plan.notification_channel_ids:
        for corrective in created:
            notifications.notify(
                event=TASK_CREATED,
                object_key=f"task:{corrective.pk}",
                payload=task_payload(corrective, plan, asset_ids=asset_ids),
                channel_ids=plan.notification_channel_ids,
                relevant_until=corrective.deadline_at,
                now=now,
            )


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
                        payload=task_payload(task, plan, asset_ids=assets.get(task.pk, [])),
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
        raise NotFound(gettext("Plan with id '%(plan_id)s' not found") % {"plan_id": plan_id})
    if not plan.notification_channel_ids:
        raise Conflict(
            gettext("Plan '%(plan_id)s' has no notification channels") % {"plan_id": plan_id}
        )
    return notifications.send_test(channel_ids=plan.notification_channel_ids, now=now)


# --- assets and technicians ------------------------------------------------------------------


def _duplicate_code(code: str) -> str:
    return gettext("An asset with code '%(code)s' already exists.") % {"code": code}


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
    problem = workorders.monitor_tags_problem(spec.monitor_tags)
    if problem:
        errors["monitor_tags"] = [problem]
    if errors:
        raise _invalid(errors)


def _save_asset(asset: Asset, spec: AssetSpec) -> Asset:
    before = None if asset._state.adding else audit.snapshot(asset)
    for name, value in asdict(spec).items():
        setattr(asset, name, value)
    asset.monitor_tags = list(spec.monitor_tags)
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
            raise NotFound(
                gettext("Asset with id '%(asset_id)s' not found") % {"asset_id": asset_id}
            )
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
            raise NotFound(
                gettext("Technician with id '%(technician_id)s' not found")
                % {"technician_id": technician_id}
            )
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
            gettext("Asset '%(asset_id)s' is used by plans or tasks; remove it from them first")
            % {"asset_id": asset_id}
        ) from None


def technician_delete(*, technician_id: str) -> None:
    """Delete a technician; 409 while assigned to a plan or a task (deactivate instead)."""
    try:
        audit.delete(Technician.objects.filter(pk=technician_id))
    except ProtectedError:
        raise Conflict(
            gettext(
                "Technician '%(technician_id)s' is assigned to plans or tasks; set "
                "active to false instead"
            )
            % {"technician_id": technician_id}
        ) from None
