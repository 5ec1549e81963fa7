"""Whichever-first plans and a counter plan's time bounds: the schedule math on a plan row.

Pure functions on a `Plan` in memory (the services lock and save it). Three kinds of plan
keep a time clock in `next_due_at`, which the scheduler polls through `next_run_at`:

- calendar plans (v1), untouched here;
- whichever-first plans: the calendar block's next occurrence. An execution of any kind
  (calendar, counter, manual) restarts both clocks: the next due is one interval of the rule
  after the execution (the rule re-anchored there, as a floating plan does) and the next
  threshold is the reading at the execution + the interval;
- counter plans with a `max_interval` (the time the last execution, or the plan's creation,
  plus the bound) or with an execution a `min_interval` held back (the instant the bound
  passes). Their threshold follows the v1 counter rules (fixed grid or floating).
"""

from datetime import datetime, timedelta
from decimal import Decimal

from maintenance.models import Execution, Plan
from scheduling.recurrence import build_recurrence, every_to_rrule


def after_interval(instant: datetime, *, every: int, unit: str, timezone: str) -> datetime:
    """`instant` + `every` `unit`s in `timezone`'s wall time (the recurrence engine's DST
    policy: a wall time in a spring gap moves forward by the gap)."""
    recurrence = build_recurrence(every_to_rrule(every, unit), start=instant, timezone=timezone)
    return recurrence.next_after(instant)


def _max_bound_after(plan: Plan, instant: datetime) -> datetime | None:
    if not plan.max_interval_every:
        return None
    return after_interval(
        instant,
        every=plan.max_interval_every,
        unit=plan.max_interval_unit,
        timezone=plan.timezone,
    )


def _min_bound_after(plan: Plan, instant: datetime) -> datetime | None:
    if not plan.min_interval_every:
        return None
    return after_interval(
        instant,
        every=plan.min_interval_every,
        unit=plan.min_interval_unit,
        timezone=plan.timezone,
    )


def keeps_time_clock(plan: Plan) -> bool:
    """Whether the scheduler must look at this plan's `next_due_at` (beyond v1 calendars)."""
    return plan.is_whichever_first or (
        plan.trigger == Plan.Trigger.COUNTER and bool(plan.max_interval_every)
    )


def initial_time_clock(plan: Plan, *, now: datetime) -> datetime | None:
    """A new counter plan's first time bound: `max_interval` after its creation."""
    return _max_bound_after(plan, now)


def reading_reference(plan: Plan) -> Decimal:
    """The meter's value now, for restarting a threshold (the start value before a reading)."""
    if plan.counter_value is not None:
        return plan.counter_value
    return plan.counter_base if plan.counter_base is not None else Decimal(0)


def restart_clocks(plan: Plan, *, executed_at: datetime, reading: Decimal | None) -> None:
    """After an execution of a whichever-first or time-bounded counter plan at `executed_at`
    (with the meter at `reading`, None: the last known value): both clocks start again.

    A counter plan's threshold is not touched here: its v1 rules move it (fixed grid or
    floating); only its time bound restarts.
    """
    if plan.is_whichever_first:
        plan.next_due_at = plan.one_interval_after(executed_at)
        value = reading if reading is not None else reading_reference(plan)
        plan.next_counter_threshold = value + plan.counter_interval
    elif plan.trigger == Plan.Trigger.COUNTER:
        plan.next_due_at = _max_bound_after(plan, executed_at)
    plan.next_run_at = plan.compute_next_run_at()


def held_until(plan: Plan, *, at: datetime) -> datetime | None:
    """When a counter execution at `at` is held back by `min_interval`, the instant the bound
    passes (None: not held). Measured from the last execution."""
    if plan.trigger != Plan.Trigger.COUNTER or plan.last_executed_at is None:
        return None
    earliest = _min_bound_after(plan, plan.last_executed_at)
    if earliest is None or at >= earliest:
        return None
    return earliest


def hold(plan: Plan, *, until: datetime) -> None:
    """Keep a reached threshold for the scheduler to execute at `until` (the min bound)."""
    if plan.next_due_at is None or until < plan.next_due_at:
        plan.next_due_at = until
    plan.next_run_at = plan.compute_next_run_at()


def time_fire_trigger(plan: Plan) -> str:
    """What an execution the scheduler makes at `next_due_at` records as its trigger."""
    if plan.has_calendar:
        return Execution.Trigger.CALENDAR
    reached = (
        plan.counter_value is not None
        and plan.next_counter_threshold is not None
        and plan.counter_value >= plan.next_counter_threshold
    )
    # A reached threshold the min bound held back executes now as the counter's execution.
    return Execution.Trigger.COUNTER if reached else Execution.Trigger.MAX_INTERVAL


# Readings looked at to estimate when a counter reaches its threshold (preview).
USAGE_WINDOW = 50


def expected_counter_at(plan: Plan, readings: list[tuple[datetime, Decimal]]) -> datetime | None:
    """When usage at its recent mean rate reaches `next_counter_threshold` (None without two
    readings at different times, or a meter that does not grow). `readings` oldest first,
    since the last reset. The optimiser's least-squares fit is for proposals; the preview
    only needs the recent slope."""
    if plan.next_counter_threshold is None or len(readings) < 2:
        return None
    (first_at, first_value), (last_at, last_value) = readings[0], readings[-1]
    seconds = (last_at - first_at).total_seconds()
    if seconds <= 0 or last_value <= first_value:
        return None
    remaining = max(Decimal(0), plan.next_counter_threshold - last_value)
    rate = (last_value - first_value) / Decimal(seconds)
    return last_at + timedelta(seconds=float(remaining / rate))


def next_trigger(
    plan: Plan, *, expected_counter: datetime | None
) -> tuple[str | None, datetime | None]:
    """Which trigger is expected to fire next and when (None: unknown, e.g. no usage yet)."""
    if plan.is_calendar:
        return (Execution.Trigger.CALENDAR, plan.next_due_at) if plan.next_due_at else (None, None)
    time_kind = None
    if plan.next_due_at is not None:
        time_kind = time_fire_trigger(plan)
    if plan.next_due_at is None:
        return (Execution.Trigger.COUNTER, expected_counter) if expected_counter else (None, None)
    if expected_counter is not None and expected_counter < plan.next_due_at:
        return Execution.Trigger.COUNTER, expected_counter
    return time_kind, plan.next_due_at
