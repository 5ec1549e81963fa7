"""Typed input of the v1 services: what a plan, an asset or a technician should be.

The API serializers, the admin forms, the optimiser and management commands all build these
and hand them to `maintenance.services`; no service reads an API body. A spec says what the
caller wants, already of the right Python types; the services check what only they can (the
rules below, references to other rows, the recurrence engine) and answer with the field
names of the v1 body (`calendar.rrule`, `counter.interval`, `task.title`), so every entry
point reports a problem in the same words.

`plan_spec_of(plan)` reads a stored plan back as the spec that would write it again, so a
partial change is ``dataclasses.replace(plan_spec_of(plan), ...)``.

Imports neither Django's ORM nor DRF nor an api module: only the recurrence engine's pure
helpers.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils.translation import gettext, gettext_lazy

from maintenance.checklists import ChecklistItemSpec, template_specs
from scheduling.recurrence import RecurrenceError, every_to_rrule

if TYPE_CHECKING:
    from maintenance.models import Asset, Plan, Technician

CALENDAR = "calendar"
COUNTER = "counter"
WHICHEVER_FIRST = "whichever_first"
FIXED = "fixed"
DEFAULT_PRIORITY = "medium"
DEFAULT_TASK_CODE_PREFIX = "MAN"
DEFAULT_ESCALATION_FRACTIONS = (0.75, 0.9)
DEFAULT_WINDOW_IMPACT = "MAINTENANCE"

# --- the rules on a spec's own values (shared by the API serializers and the services) --------

TASK_CODE_PREFIX_PATTERN = r"^[A-Z][A-Z0-9]{0,9}\Z"
TASK_CODE_PREFIX_MESSAGE = gettext_lazy(
    "Must be 1 to 10 uppercase letters or digits, starting with a letter (e.g. MAN)."
)
POSITIVE_MESSAGE = gettext_lazy("Must be greater than 0.")
COORDINATES_MESSAGE = gettext_lazy("latitude and longitude must be given together.")


def task_code_prefix_problem(prefix: str) -> str | None:
    return None if re.match(TASK_CODE_PREFIX_PATTERN, prefix) else TASK_CODE_PREFIX_MESSAGE


def same_rule(rrule: str, every: int | None, unit: str | None) -> bool:
    """Whether an RRULE is exactly what `every` + `unit` expands to (a plan's own output)."""
    if every is None or unit is None:
        return False
    try:
        shorthand = every_to_rrule(every, unit)
    except RecurrenceError:
        return False
    return rrule.strip().upper().removeprefix("RRULE:") == shorthand


def calendar_rule_problems(
    rrule: str | None, every: int | None, unit: str | None
) -> dict[str, list[str]]:
    """How the rule is given: an RRULE, or `every` + `unit` (both only when they agree).

    Keys are the calendar block's field names (`rrule`, `unit`).
    """
    if rrule is not None and (every is not None or unit is not None):
        if not same_rule(rrule, every, unit):
            return {"rrule": [gettext("Give either rrule or every + unit, not both.")]}
        rrule = None
    if rrule is None and every is None:
        return {"rrule": [gettext("Give rrule, or every + unit.")]}
    if every is not None and unit is None:
        return {"unit": [gettext("unit is required with every.")]}
    return {}


GRACE_BOTH_MESSAGE = gettext_lazy("Give grace_hours or grace_fraction, not both.")
GRACE_FRACTION_MESSAGE = gettext_lazy(
    "A fraction of the interval needs a calendar schedule: use grace_hours."
)


def grace_problems(
    grace_hours: float | None, grace_fraction: float | None, *, trigger_kind: str
) -> dict[str, list[str]]:
    """At most one grace, and a fraction only where there is a calendar interval."""
    if grace_hours is not None and grace_fraction is not None:
        return {"grace_fraction": [GRACE_BOTH_MESSAGE]}
    if grace_fraction is not None and trigger_kind != CALENDAR:
        return {"grace_fraction": [GRACE_FRACTION_MESSAGE]}
    return {}


def coordinates_problem(latitude: float | None, longitude: float | None) -> str | None:
    if (latitude is None) != (longitude is None):
        return COORDINATES_MESSAGE
    return None


# --- plans -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CalendarTrigger:
    """A calendar schedule: an RRULE, or the shorthand `every` + `unit` (which wins when given).

    Expanded in `timezone` from `start_at` until `end_at`; a task is generated `lead_time_hours`
    before each occurrence and is late `tolerance_hours` after it. A floating anchor counts
    the next occurrence from the last completion instead of the fixed grid.
    """

    start_at: datetime
    rrule: str | None = None
    every: int | None = None
    unit: str | None = None
    end_at: datetime | None = None
    timezone: str = "UTC"
    anchor: str = FIXED
    lead_time_hours: float = 0
    tolerance_hours: float = 24

    kind = CALENDAR


@dataclass(frozen=True, kw_only=True)
class TimeInterval:
    """A span of time given as `every` + `unit` (day, week, month, year), counted in the
    plan's timezone from an instant (a month after 31 January is the last day of February)."""

    every: int
    unit: str


@dataclass(frozen=True, kw_only=True)
class CounterTrigger:
    """A usage schedule: a task each `interval` of `unit` from `start_value`; late once usage
    passes the crossed threshold + `tolerance_units` (never, when None).

    Time bounds (counter plans only): `min_interval` holds back an execution that a reading
    would make sooner than that after the last one (it then runs when the bound passes);
    `max_interval` executes the plan (`trigger: "max_interval"`) when that long passed since
    the last execution (or the plan's creation) without the threshold being reached.
    """

    unit: str
    interval: Decimal
    anchor: str = FIXED
    start_value: Decimal = Decimal(0)
    tolerance_units: Decimal | None = None
    min_interval: TimeInterval | None = None
    max_interval: TimeInterval | None = None

    kind = COUNTER


@dataclass(frozen=True, kw_only=True)
class WhicheverFirstTrigger:
    """A calendar and a counter schedule together: the plan executes on whichever comes
    first, and every execution restarts both clocks (the next calendar due is one interval
    of the rule after the execution, the next threshold the reading then + the interval)."""

    calendar: CalendarTrigger
    counter: CounterTrigger

    kind = WHICHEVER_FIRST
    anchor = FIXED


Trigger = CalendarTrigger | CounterTrigger | WhicheverFirstTrigger


def calendar_of(trigger: Trigger) -> CalendarTrigger | None:
    if isinstance(trigger, WhicheverFirstTrigger):
        return trigger.calendar
    return trigger if isinstance(trigger, CalendarTrigger) else None


def counter_of(trigger: Trigger) -> CounterTrigger | None:
    if isinstance(trigger, WhicheverFirstTrigger):
        return trigger.counter
    return trigger if isinstance(trigger, CounterTrigger) else None


WHICHEVER_FIRST_ANCHOR_MESSAGE = gettext_lazy(
    "A whichever_first plan restarts both clocks at each execution; leave anchor fixed."
)
BOUNDS_ON_COUNTER_ONLY_MESSAGE = gettext_lazy(
    "Only a counter plan takes time bounds; a whichever_first plan's calendar block is its "
    "time bound."
)
MIN_NOT_BELOW_MAX_MESSAGE = gettext_lazy("min_interval must be shorter than max_interval.")


def trigger_problems(trigger: Trigger) -> dict[str, list[str]]:
    """The rules on how the trigger blocks combine, keyed by the v1 body's field names."""
    errors: dict[str, list[str]] = {}
    if isinstance(trigger, WhicheverFirstTrigger):
        if trigger.calendar.anchor != FIXED:
            errors["calendar.anchor"] = [WHICHEVER_FIRST_ANCHOR_MESSAGE]
        if trigger.counter.anchor != FIXED:
            errors["counter.anchor"] = [WHICHEVER_FIRST_ANCHOR_MESSAGE]
        for name in ("min_interval", "max_interval"):
            if getattr(trigger.counter, name) is not None:
                errors[f"counter.{name}"] = [BOUNDS_ON_COUNTER_ONLY_MESSAGE]
    counter = counter_of(trigger)
    low = counter.min_interval if counter is not None else None
    high = counter.max_interval if counter is not None else None
    if low and high and approximate_days(low) >= approximate_days(high):
        errors["counter.min_interval"] = [MIN_NOT_BELOW_MAX_MESSAGE]
    return errors


_UNIT_DAYS = {"day": 1, "week": 7, "month": 30.436875, "year": 365.2425}


def approximate_days(interval: TimeInterval) -> float:
    """The mean length of `interval` in days (to compare two bounds; never to schedule)."""
    return interval.every * _UNIT_DAYS[interval.unit]


@dataclass(frozen=True, kw_only=True)
class TaskTemplate:
    """What each generated task carries; `title` None means the plan's name. A checklist
    item given as a bare string is an optional check (`ChecklistItemSpec(item=...)`)."""

    title: str | None = None
    description: str = ""
    checklist: tuple[ChecklistItemSpec | str, ...] = ()
    estimated_duration_minutes: int | None = None
    code_prefix: str = DEFAULT_TASK_CODE_PREFIX


@dataclass(frozen=True, kw_only=True)
class PlanSpec:
    """A whole plan as `plan_create` / `plan_update` take it (an update replaces every field)."""

    name: str
    trigger: Trigger
    description: str = ""
    priority: str = DEFAULT_PRIORITY
    department: str = ""
    asset_ids: tuple[str, ...] = ()
    assignee_id: str | None = None
    notification_channel_ids: tuple[str, ...] = ()
    preventive_cost: Decimal | None = None
    failure_cost: Decimal | None = None
    task: TaskTemplate = field(default_factory=TaskTemplate)
    # Compliance's grace after a task's deadline: hours, or a fraction of the calendar
    # interval; at most one of them.
    grace_hours: float | None = None
    grace_fraction: float | None = None
    # Occurrences due on one of its dates shift to the next working day.
    holiday_calendar_id: str | None = None
    # Reminders and escalation (`maintenance.reminders`).
    due_soon_lead_times: tuple[str, ...] = ()
    escalation_fractions: tuple[float, ...] = DEFAULT_ESCALATION_FRACTIONS
    escalation_channel_ids: tuple[str, ...] = ()
    # Work orders that open maintenance windows (`maintenance.workorders`).
    open_window: bool = False
    window_impact: str = DEFAULT_WINDOW_IMPACT
    plan_window: bool = False

    @property
    def trigger_kind(self) -> str:
        return self.trigger.kind


def plan_spec_of(plan: "Plan") -> PlanSpec:
    """The spec that would write `plan` as it is stored (its schedule state aside).

    Uses `plan.plan_assets` (prefetch it, in id order, to read many plans in few queries).
    A calendar plan given as `every` + `unit` reads back as that shorthand, with no rrule.
    """
    calendar = None
    counter = None
    if plan.trigger in (CALENDAR, WHICHEVER_FIRST):
        calendar = CalendarTrigger(
            rrule=None if plan.every else plan.rrule,
            every=plan.every or None,
            unit=(plan.unit or None) if plan.every else None,
            start_at=plan.start_at,
            end_at=plan.end_at,
            timezone=plan.timezone,
            anchor=plan.anchor,
            lead_time_hours=plan.lead_time_hours,
            tolerance_hours=plan.tolerance_hours,
        )
    if plan.trigger in (COUNTER, WHICHEVER_FIRST):
        counter = CounterTrigger(
            unit=plan.counter_unit,
            interval=plan.counter_interval,
            anchor=plan.anchor,
            start_value=plan.counter_start_value,
            tolerance_units=plan.counter_tolerance_units,
            min_interval=_interval_of(plan.min_interval_every, plan.min_interval_unit),
            max_interval=_interval_of(plan.max_interval_every, plan.max_interval_unit),
        )
    trigger: Trigger
    if calendar is not None and counter is not None:
        trigger = WhicheverFirstTrigger(calendar=calendar, counter=counter)
    else:
        trigger = calendar or counter
    links = sorted(plan.plan_assets.all(), key=lambda link: link.pk)
    return PlanSpec(
        name=plan.name,
        description=plan.description,
        priority=plan.priority,
        department=plan.department,
        asset_ids=tuple(link.asset_id for link in links),
        assignee_id=plan.assignee_id,
        notification_channel_ids=tuple(plan.notification_channel_ids),
        preventive_cost=plan.preventive_cost,
        failure_cost=plan.failure_cost,
        grace_hours=plan.grace_hours,
        grace_fraction=plan.grace_fraction,
        trigger=trigger,
        task=TaskTemplate(
            title=plan.task_title,
            description=plan.task_description,
            # Optional checks read back as the strings v1 always took.
            checklist=tuple(
                spec.item if spec.is_plain else spec for spec in template_specs(plan.task_checklist)
            ),
            estimated_duration_minutes=plan.task_estimated_duration_minutes,
            code_prefix=plan.task_code_prefix,
        ),
        holiday_calendar_id=plan.holiday_calendar_id,
        due_soon_lead_times=tuple(plan.due_soon_lead_times),
        escalation_fractions=tuple(plan.escalation_fractions),
        escalation_channel_ids=tuple(plan.escalation_channel_ids),
        open_window=plan.open_window,
        window_impact=plan.window_impact,
        plan_window=plan.plan_window,
    )


def _interval_of(every: int | None, unit: str) -> TimeInterval | None:
    return TimeInterval(every=every, unit=unit) if every else None


# --- assets and technicians ----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReadingSpec:
    """A meter reading for a counter plan: `recorded_at` None means "as it arrives"; `reset`
    says the meter was replaced (a lower value is then accepted and rebases the grid)."""

    plan_id: str
    value: Decimal
    source: str
    recorded_at: datetime | None = None
    reset: bool = False


@dataclass(frozen=True, kw_only=True)
class AssetSpec:
    """A whole asset; `latitude` and `longitude` come together or not at all."""

    code: str
    name: str
    location: str = ""
    latitude: float | None = None
    longitude: float | None = None
    installed_at: datetime | None = None
    # Tags of the v4 monitors a work order on this asset puts under maintenance.
    monitor_tags: tuple[str, ...] = ()


def asset_spec_of(asset: "Asset") -> AssetSpec:
    return AssetSpec(
        code=asset.code,
        name=asset.name,
        location=asset.location,
        latitude=asset.latitude,
        longitude=asset.longitude,
        installed_at=asset.installed_at,
        monitor_tags=tuple(asset.monitor_tags),
    )


@dataclass(frozen=True, kw_only=True)
class TechnicianSpec:
    """A whole technician; an inactive one can no longer be assigned."""

    name: str
    email: str = ""
    skills: tuple[str, ...] = ()
    daily_capacity_minutes: int = 480
    active: bool = True


def technician_spec_of(technician: "Technician") -> TechnicianSpec:
    return TechnicianSpec(
        name=technician.name,
        email=technician.email,
        skills=tuple(technician.skills),
        daily_capacity_minutes=technician.daily_capacity_minutes,
        active=technician.active,
    )
