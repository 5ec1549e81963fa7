"""API v1 data: assets, technicians, preventive-maintenance plans and what they generate.

History outlives plans: executions, tasks, counter readings and pause spans point at their
plan through a *soft* foreign key (no database constraint, ``DO_NOTHING`` on delete), so
deleting a plan leaves them in place with the plan's id still in ``plan_id``.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone as dj_timezone
from django.utils.translation import gettext_lazy

from core.ids import new_id
from core.limits import LONG_TEXT_MAX_LENGTH
from scheduling.models import Impact
from scheduling.recurrence import Recurrence, build_recurrence


# Module-level functions so migrations can reference them as field defaults.
def new_asset_id() -> str:
    return new_id("asset")


def new_technician_id() -> str:
    return new_id("tech")


def new_plan_id() -> str:
    return new_id("plan")


def new_execution_id() -> str:
    return new_id("exec")


def new_task_id() -> str:
    return new_id("task")


def new_reading_id() -> str:
    return new_id("reading")


def new_holiday_calendar_id() -> str:
    return new_id("hcal")


def default_escalation_fractions() -> list[float]:
    """Rela's SLA alerts: at 75 % and 90 % of the way from due to deadline."""
    return [0.75, 0.9]


def _id_field(default) -> models.CharField:
    return models.CharField(primary_key=True, max_length=40, editable=False, default=default)


def _soft_plan_fk(related_name: str) -> models.ForeignKey:
    # No constraint and DO_NOTHING: the row keeps `plan_id` after the plan is deleted
    # (the spec wants history "marked with the plan's id"); `plan` is then None when
    # joined with select_related (LEFT OUTER JOIN because null=True).
    return models.ForeignKey(
        "Plan",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name=related_name,
    )


class Priority(models.TextChoices):
    URGENT = "urgent"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Asset(models.Model):
    """A piece of equipment or a place that plans maintain."""

    id = _id_field(new_asset_id)
    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=255)
    location = models.CharField(max_length=255, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    installed_at = models.DateTimeField(null=True, blank=True)
    # Work orders: the tags of the v4 monitors this asset's maintenance affects (see
    # `maintenance.workorders`); checked against scheduling's monitors when written.
    monitor_tags = models.JSONField(
        default=list,
        blank=True,
        help_text=gettext_lazy(
            "Tags of the monitors a work order on this asset puts under maintenance."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("code",)

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class Technician(models.Model):
    """Someone who can be assigned tasks; `daily_capacity_minutes` feeds workload planning."""

    id = _id_field(new_technician_id)
    name = models.CharField(max_length=255)
    email = models.EmailField(blank=True)
    skills = models.JSONField(default=list, blank=True)
    daily_capacity_minutes = models.PositiveIntegerField(default=480)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name", "id")

    def __str__(self) -> str:
        return self.name


class Plan(models.Model):
    """A preventive-maintenance plan: a task template and a calendar or counter trigger.

    Calendar plans store their rule as an RRULE (``every`` + ``unit`` is kept only to echo
    the shorthand back) and the next occurrence in ``next_due_at``; ``next_run_at`` is the
    same instant minus the lead time, indexed, and is what the scheduler polls.
    Counter plans track the last reading and the next threshold.
    """

    class Status(models.TextChoices):
        ACTIVE = "active"
        PAUSED = "paused"

    class Trigger(models.TextChoices):
        CALENDAR = "calendar"
        COUNTER = "counter"
        WHICHEVER_FIRST = "whichever_first"

    class Anchor(models.TextChoices):
        FIXED = "fixed"
        FLOATING = "floating"

    class Unit(models.TextChoices):
        DAY = "day"
        WEEK = "week"
        MONTH = "month"
        YEAR = "year"

    id = _id_field(new_plan_id)
    name = models.CharField(max_length=255)
    description = models.TextField(max_length=LONG_TEXT_MAX_LENGTH, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.MEDIUM)
    assets = models.ManyToManyField(Asset, through="PlanAsset", related_name="plans", blank=True)
    assignee = models.ForeignKey(
        Technician, on_delete=models.PROTECT, null=True, blank=True, related_name="plans"
    )
    department = models.CharField(max_length=255, blank=True)

    # The template every generated task copies.
    task_title = models.CharField(max_length=255)
    task_description = models.TextField(max_length=LONG_TEXT_MAX_LENGTH, blank=True)
    task_checklist = models.JSONField(default=list, blank=True)
    task_estimated_duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    task_code_prefix = models.CharField(max_length=10, default="MAN")

    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    # Shared by both trigger kinds (a whichever_first plan keeps it fixed).
    anchor = models.CharField(max_length=10, choices=Anchor.choices, default=Anchor.FIXED)

    # Calendar trigger.
    rrule = models.CharField(max_length=1000, blank=True)
    every = models.PositiveIntegerField(null=True, blank=True)
    unit = models.CharField(max_length=10, choices=Unit.choices, blank=True)
    start_at = models.DateTimeField(null=True, blank=True)
    end_at = models.DateTimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    lead_time_hours = models.FloatField(default=0)
    tolerance_hours = models.FloatField(default=24)
    next_due_at = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Counter trigger.
    counter_unit = models.CharField(max_length=32, blank=True)
    counter_interval = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    counter_start_value = models.DecimalField(
        max_digits=20, decimal_places=4, null=True, blank=True
    )
    counter_tolerance_units = models.DecimalField(
        max_digits=20, decimal_places=4, null=True, blank=True
    )
    # Origin of the fixed grid: the start value, moved to the new value on a meter reset.
    counter_base = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    counter_value = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    counter_recorded_at = models.DateTimeField(null=True, blank=True)
    next_counter_threshold = models.DecimalField(
        max_digits=20, decimal_places=4, null=True, blank=True
    )
    # A counter plan's time bounds (`every` + `unit`, see `maintenance.triggers`). A plan with
    # a max bound (or an execution a min bound holds back) keeps the instant in `next_due_at`.
    min_interval_every = models.PositiveIntegerField(null=True, blank=True)
    min_interval_unit = models.CharField(max_length=10, choices=Unit.choices, blank=True)
    max_interval_every = models.PositiveIntegerField(null=True, blank=True)
    max_interval_unit = models.CharField(max_length=10, choices=Unit.choices, blank=True)

    # Occurrences due on its dates shift to the next working day (`maintenance.calendars`).
    holiday_calendar = models.ForeignKey(
        "HolidayCalendar",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="plans",
    )

    notification_channel_ids = models.JSONField(default=list, blank=True)
    # Compliance counts a completion on time up to this long after the deadline: a fixed
    # grace, or a fraction of the calendar interval (one of them, or neither).
    grace_hours = models.FloatField(null=True, blank=True)
    grace_fraction = models.FloatField(null=True, blank=True)

    # Reminders and escalation (`maintenance.reminders`).
    due_soon_lead_times = models.JSONField(
        default=list,
        blank=True,
        help_text=gettext_lazy(
            'When to announce task.due_soon before a task is due, e.g. ["72h", "24h"] '
            "(m, h, d). Empty: the lead times of each channel that subscribes to task.due_soon."
        ),
    )
    escalation_fractions = models.JSONField(
        default=default_escalation_fractions,
        blank=True,
        help_text=gettext_lazy(
            "When to announce task.escalated, as fractions of the time between a task's "
            "due time and its deadline (0.75 = three quarters of the way). Empty: never."
        ),
    )
    escalation_channel_ids = models.JSONField(
        default=list,
        blank=True,
        help_text=gettext_lazy(
            "Channels that hear escalations. Empty: the plan's notification channels."
        ),
    )

    # Work orders that open maintenance windows (`maintenance.workorders`).
    open_window = models.BooleanField(
        default=False,
        help_text=gettext_lazy(
            "Starting a task opens an ongoing maintenance window on its assets' "
            "monitors; completing or cancelling it ends the window."
        ),
    )
    window_impact = models.CharField(
        max_length=11,
        choices=Impact.choices,
        default=Impact.MAINTENANCE,
        help_text=gettext_lazy("How the work order's windows show on the monitors."),
    )
    plan_window = models.BooleanField(
        default=False,
        help_text=gettext_lazy(
            "Each generated task also plans a scheduled window at its due time, for its "
            "estimated duration."
        ),
    )
    preventive_cost = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    failure_cost = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    last_executed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "id")
        indexes = [
            # The scheduler's poll: active plans whose run time has come (calendar and
            # whichever-first plans, and counter plans with a time bound; null otherwise).
            models.Index(
                fields=["next_run_at"],
                name="plan_due_idx",
                condition=Q(status="active", next_run_at__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(lead_time_hours__gte=0) & Q(tolerance_hours__gte=0),
                name="plan_hours_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(counter_interval__isnull=True) | Q(counter_interval__gt=0),
                name="plan_counter_interval_positive",
            ),
            models.CheckConstraint(
                condition=(Q(grace_hours__isnull=True) | Q(grace_hours__gte=0))
                & (Q(grace_fraction__isnull=True) | Q(grace_fraction__gte=0))
                & (Q(grace_hours__isnull=True) | Q(grace_fraction__isnull=True)),
                name="plan_grace_one_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.next_run_at = self.compute_next_run_at()
        update_fields = kwargs.get("update_fields")
        if (
            update_fields is not None
            and "next_run_at" not in update_fields
            and {"next_due_at", "lead_time_hours"} & set(update_fields)
        ):
            kwargs["update_fields"] = [*update_fields, "next_run_at"]
        super().save(*args, **kwargs)

    # --- calendar math (pure, on this row's fields) ----------------------------------------

    @property
    def is_calendar(self) -> bool:
        """A calendar plan only (see `has_calendar` for any plan with a calendar block)."""
        return self.trigger == self.Trigger.CALENDAR

    @property
    def is_whichever_first(self) -> bool:
        return self.trigger == self.Trigger.WHICHEVER_FIRST

    @property
    def has_calendar(self) -> bool:
        return self.trigger in (self.Trigger.CALENDAR, self.Trigger.WHICHEVER_FIRST)

    @property
    def has_counter(self) -> bool:
        return self.trigger in (self.Trigger.COUNTER, self.Trigger.WHICHEVER_FIRST)

    @property
    def is_floating(self) -> bool:
        return self.anchor == self.Anchor.FLOATING

    @property
    def lead_time(self) -> timedelta:
        return timedelta(hours=self.lead_time_hours or 0)

    @property
    def tolerance(self) -> timedelta:
        return timedelta(hours=self.tolerance_hours or 0)

    def compute_next_run_at(self) -> datetime | None:
        """When the scheduler generates the next task: the occurrence minus the lead time
        (a counter plan's time bound has no lead time)."""
        if self.next_due_at is None:
            return None
        if not self.has_calendar:
            return self.next_due_at
        return self.next_due_at - self.lead_time

    def recurrence(self, *, start: datetime | None = None) -> Recurrence:
        """The plan's rule expanded from `start` (default `start_at`) in its timezone."""
        return build_recurrence(self.rrule, start=start or self.start_at, timezone=self.timezone)

    def clip_to_end(self, instant: datetime | None) -> datetime | None:
        """`instant`, or None when it falls after the plan's `end_at`."""
        if instant is None or (self.end_at is not None and instant > self.end_at):
            return None
        return instant

    def next_occurrence_after(self, instant: datetime) -> datetime | None:
        """The next occurrence on the fixed grid strictly after `instant` (None past `end_at`)."""
        return self.clip_to_end(self.recurrence().next_after(instant))

    def first_occurrence_from(self, instant: datetime) -> datetime | None:
        """The first occurrence on the fixed grid at or after `instant`."""
        return self.clip_to_end(self.recurrence().next_after(instant - timedelta(microseconds=1)))

    def one_interval_after(self, instant: datetime) -> datetime | None:
        """Floating anchor: the rule re-anchored at `instant`, then its next occurrence."""
        return self.clip_to_end(self.recurrence(start=instant).next_after(instant))

    def deadline_for(self, due_at: datetime) -> datetime:
        return due_at + self.tolerance

    def nominal_interval(self) -> timedelta | None:
        """The calendar rule's interval: the gap between its first two occurrences (None
        without a rule, or with fewer than two occurrences)."""
        if not self.rrule or self.start_at is None:
            return None
        first = self.first_occurrence_from(self.start_at)
        second = self.next_occurrence_after(first) if first is not None else None
        return second - first if second is not None else None

    def grace(self) -> timedelta:
        """How long after a task's deadline compliance still counts its completion on time:
        `grace_hours`, or `grace_fraction` of `nominal_interval` (zero when neither)."""
        if self.grace_hours:
            return timedelta(hours=self.grace_hours)
        if self.grace_fraction:
            interval = self.nominal_interval()
            return interval * self.grace_fraction if interval is not None else timedelta(0)
        return timedelta(0)

    # --- counter math ------------------------------------------------------------------------

    def threshold_after(self, value: Decimal) -> Decimal:
        """The threshold after a reading of `value`: the next grid point above it (fixed) or
        value + interval (floating)."""
        interval = self.counter_interval
        if self.is_floating:
            return value + interval
        base = self.counter_base if self.counter_base is not None else Decimal(0)
        if value < base:
            return base + interval
        steps = (value - base) // interval + 1
        return base + steps * interval


class PlanAsset(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="plan_assets")
    # An asset some plan maintains cannot be deleted (409): take it off the plan first.
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="plan_links")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "asset"], name="plan_asset_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id} · {self.asset_id}"


class PlanPause(models.Model):
    """A span during which a plan was paused; tasks due inside it are left out of compliance."""

    plan = _soft_plan_fk("pauses")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("started_at",)
        constraints = [
            # At most one open span per plan.
            models.UniqueConstraint(
                fields=["plan"], condition=Q(ended_at__isnull=True), name="plan_pause_one_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id} paused {self.started_at:%Y-%m-%d %H:%M}..{self.ended_at or 'now'}"


class Execution(models.Model):
    """One run of a plan: an occurrence that produced a task, or a missed one that did not.

    ``(plan, due_at)`` is unique among calendar executions: that constraint, not a lock in
    a cache, is what makes each scheduled occurrence produce exactly one task.
    """

    class Trigger(models.TextChoices):
        CALENDAR = "calendar"
        COUNTER = "counter"
        MAX_INTERVAL = "max_interval"
        MANUAL = "manual"
        # A corrective task a checklist finding called for (no plan: see Task.corrective_for).
        CORRECTIVE = "corrective"

    id = _id_field(new_execution_id)
    plan = _soft_plan_fk("executions")
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    due_at = models.DateTimeField()
    counter_value = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    counter_threshold = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    executed_at = models.DateTimeField()
    executed_by = models.CharField(max_length=200)
    missed = models.BooleanField(
        default=False,
        help_text=gettext_lazy("An occurrence the scheduler missed: recorded, no task."),
    )
    skipped = models.BooleanField(
        default=False,
        help_text=gettext_lazy("An occurrence skipped on purpose (`skip_reason`): no task."),
    )
    skip_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ("-executed_at", "-due_at", "-id")
        indexes = [models.Index(fields=["plan", "-executed_at"], name="execution_plan_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "due_at"],
                condition=Q(trigger="calendar"),
                name="execution_calendar_occurrence_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.id


class TaskCodeSequence(models.Model):
    """The last number handed out for a task-code prefix; incremented under a row lock."""

    prefix = models.CharField(max_length=10, primary_key=True)
    last_value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.prefix}-{self.last_value:03d}"


class Task(models.Model):
    """A work order a plan generated (`code` like ``MAN-042``)."""

    class Status(models.TextChoices):
        OPEN = "open"
        IN_PROGRESS = "in_progress"
        DONE = "done"
        CANCELLED = "cancelled"

    class DelayReason(models.TextChoices):
        PARTS = "parts", gettext_lazy("Waiting for parts")
        ACCESS = "access", gettext_lazy("No access to the asset")
        STAFF = "staff", gettext_lazy("No technician available")
        PRODUCTION = "production", gettext_lazy("Asset could not be stopped")
        WEATHER = "weather", gettext_lazy("Weather")
        OTHER = "other", gettext_lazy("Other (see the note)")

    OPEN_STATUSES = (Status.OPEN, Status.IN_PROGRESS)
    CLOSED_STATUSES = (Status.DONE, Status.CANCELLED)
    DELAY_NOTE_MAX_LENGTH = 500
    # About ten weeks of round-the-clock work: more is a typo (hours typed as minutes twice).
    TIME_SPENT_MAX_MINUTES = 100_000

    id = _id_field(new_task_id)
    code = models.CharField(max_length=32, unique=True)
    plan = _soft_plan_fk("tasks")
    execution = models.OneToOneField(Execution, on_delete=models.PROTECT, related_name="task")
    title = models.CharField(max_length=255)
    description = models.TextField(max_length=LONG_TEXT_MAX_LENGTH, blank=True)
    checklist = models.JSONField(default=list, blank=True)
    priority = models.CharField(max_length=10, choices=Priority.choices)
    assets = models.ManyToManyField(Asset, through="TaskAsset", related_name="tasks", blank=True)
    assignee = models.ForeignKey(
        Technician, on_delete=models.PROTECT, null=True, blank=True, related_name="tasks"
    )
    estimated_duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    due_at = models.DateTimeField()
    # Calendar and manual tasks: due_at + tolerance. Counter tasks: set when a reading passes
    # the crossed threshold + tolerance_units while the task is still open (see
    # `deadline_counter_value`); until then they cannot be late.
    deadline_at = models.DateTimeField(null=True, blank=True)
    deadline_counter_value = models.DecimalField(
        max_digits=20, decimal_places=4, null=True, blank=True, editable=False
    )
    # Not auto_now_add: generation stamps it with the scheduler's `now`, like executed_at.
    created_at = models.DateTimeField(default=dj_timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.CharField(max_length=200, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(max_length=LONG_TEXT_MAX_LENGTH, blank=True)
    # The labour the technicians record (whole minutes, as CMMS users type it); empty until
    # someone records it. The reports sum it per plan.
    time_spent_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(TIME_SPENT_MAX_MINUTES)],
        verbose_name=gettext_lazy("time spent (minutes)"),
        help_text=gettext_lazy("Whole minutes spent on the task, all technicians together."),
    )
    # When `task.overdue` was announced (set once, by `tasks_notify_overdue`).
    overdue_notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Why a late task was late (given when completing it; compliance reports them).
    delay_reason = models.CharField(max_length=20, choices=DelayReason.choices, blank=True)
    delay_note = models.CharField(max_length=DELAY_NOTE_MAX_LENGTH, blank=True)
    # A corrective task points at the task and checklist item (index) whose finding (a fail,
    # a number outside its limits) called for it; unique, so each finding gets one.
    corrective_for = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="corrective_tasks",
    )
    corrective_item = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    # Work-order windows (`maintenance.workorders`): the v4 maintenances this task opened
    # while in progress and planned at its due time. Plain ids, not foreign keys: the v4
    # window outlives the task's interest in it, and scheduling knows nothing of tasks.
    window_maintenance_id = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    planned_maintenance_id = models.PositiveBigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ("due_at", "code")
        indexes = [
            models.Index(fields=["plan", "due_at"], name="task_plan_due_idx"),
            models.Index(fields=["status", "due_at"], name="task_status_due_idx"),
            models.Index(fields=["due_at"], name="task_due_idx"),
            # The overdue sweep: open tasks not yet announced, by deadline.
            models.Index(
                fields=["deadline_at"],
                name="task_overdue_unsent_idx",
                condition=models.Q(
                    overdue_notified_at__isnull=True, status__in=["open", "in_progress"]
                ),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["corrective_for", "corrective_item"],
                condition=Q(corrective_for__isnull=False),
                name="task_corrective_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    def changeable_fields(self) -> frozenset[str]:
        """The fields (attnames) a change may set in the current state: an open task takes
        its status, assignee, checklist, notes and time spent; a closed one only its notes and
        time spent (labour is often written up after the job). The rule
        `services.task_update` enforces and the admin shows."""
        if self.is_open:
            return frozenset({"status", "assignee_id", "checklist", "notes", "time_spent_minutes"})
        return frozenset({"notes", "time_spent_minutes"})


class TaskAsset(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="task_assets")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="task_links")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task", "asset"], name="task_asset_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.task_id} · {self.asset_id}"


class CounterReading(models.Model):
    """A meter reading sent for a counter plan; every reading is kept, even on a paused plan."""

    id = _id_field(new_reading_id)
    plan = _soft_plan_fk("readings")
    value = models.DecimalField(max_digits=20, decimal_places=4)
    source = models.CharField(max_length=200)
    recorded_at = models.DateTimeField()
    reset = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-recorded_at", "-created_at", "-id")
        indexes = [models.Index(fields=["plan", "-recorded_at"], name="reading_plan_idx")]

    def __str__(self) -> str:
        return self.id


# --- optimisation's old id defaults ---------------------------------------------------------------
# Failure and SuggestionSet moved to maintenance.optimisation; migration 0002, which created
# their tables, still names these defaults.


def new_failure_id() -> str:
    return new_id("fail")


def new_suggestion_id() -> str:
    return new_id("sugg")


# --- scheduled reports (maintenance.reports) ----------------------------------------------------


def new_report_schedule_id() -> str:
    return new_id("rsch")


def new_report_id() -> str:
    return new_id("rpt")


class ReportSchedule(models.Model):
    """A report sent each day, week (Monday to Monday) or month, in its own timezone.

    ``next_period_start`` / ``next_period_end`` are the next period to report, as UTC
    instants of local midnights; the beat job claims a schedule once ``next_period_end``
    has passed (indexed), produces that period's report and moves both on by one period.
    """

    class Frequency(models.TextChoices):
        DAILY = "daily"
        WEEKLY = "weekly"
        MONTHLY = "monthly"

    id = _id_field(new_report_schedule_id)
    name = models.CharField(max_length=255)
    frequency = models.CharField(max_length=10, choices=Frequency.choices)
    timezone = models.CharField(max_length=64, default="UTC")
    metrics = models.JSONField(
        default=list, help_text=gettext_lazy("What the report holds (see reports).")
    )
    formats = models.JSONField(default=list, help_text=gettext_lazy("Files made: csv, xlsx, pdf."))
    channel_ids = models.JSONField(
        default=list, help_text=gettext_lazy("Notification channels it goes to.")
    )
    enabled = models.BooleanField(default=True)
    next_period_start = models.DateTimeField(editable=False)
    next_period_end = models.DateTimeField(editable=False)
    last_report_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name", "id")
        indexes = [
            # The beat job's poll: enabled schedules whose next period has ended.
            models.Index(
                fields=["next_period_end"],
                name="report_schedule_due_idx",
                condition=Q(enabled=True),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Report(models.Model):
    """One period's report of a schedule: its figures (``data``) and its files.

    A scheduled report is unique per (schedule, period start): that constraint, with the
    deliveries' own (event, object, channel) key, is what sends each period once per
    channel. A report sent on request (``trigger`` manual) is not counted as the period's.
    """

    class Trigger(models.TextChoices):
        SCHEDULED = "scheduled"
        MANUAL = "manual"

    id = _id_field(new_report_id)
    schedule = models.ForeignKey(ReportSchedule, on_delete=models.CASCADE, related_name="reports")
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    frequency = models.CharField(max_length=10, choices=ReportSchedule.Frequency.choices)
    timezone = models.CharField(max_length=64)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    label = models.CharField(max_length=20)
    metrics = models.JSONField(default=list)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)

    class Meta:
        ordering = ("-period_start", "-created_at", "id")
        indexes = [models.Index(fields=["schedule", "-period_start"], name="report_schedule_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "period_start"],
                condition=Q(trigger="scheduled"),
                name="report_scheduled_period_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.schedule_id} {self.label}"


class ReportFile(models.Model):
    """A rendered file of a report (CSV per metric, one XLSX, one PDF), kept in the database
    so every worker and web process serves the same bytes (reports are small)."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=200)
    format = models.CharField(max_length=10)
    content_type = models.CharField(max_length=100)
    content = models.BinaryField()
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ("report", "id")
        constraints = [
            models.UniqueConstraint(fields=["report", "name"], name="report_file_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class HolidayCalendar(models.Model):
    """Days that are not working days; a plan that names one shifts an occurrence that falls
    on them (or on a weekend, when `weekends`) to the next working day, at the same wall time.

    Dates are read in `timezone` when set, else in the plan's timezone.
    """

    id = _id_field(new_holiday_calendar_id)
    name = models.CharField(max_length=255, unique=True)
    timezone = models.CharField(max_length=64, blank=True)
    weekends = models.BooleanField(
        default=False, help_text=gettext_lazy("Saturdays and Sundays are not working days either.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name", "id")

    def __str__(self) -> str:
        return self.name


class HolidayDate(models.Model):
    calendar = models.ForeignKey(HolidayCalendar, on_delete=models.CASCADE, related_name="dates")
    date = models.DateField()
    name = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ("date",)
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="holiday_date_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()
