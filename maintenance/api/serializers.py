"""v1 request and response shapes.

Input is strict: JSON types are not coerced (a string where a number is expected is a 400
naming the field), unknown keys are refused, and every message names its field. Output
times are ISO 8601 UTC with ``Z`` (``REST_FRAMEWORK["DATETIME_FORMAT"]``).
"""

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

from django.core.validators import RegexValidator
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.fields import (
    LONG_TEXT_MAX_LENGTH,
    BoundedDateField,
    NamedChoiceField,
    StrictBooleanField,
    StrictCharField,
    StrictDateTimeField,
    StrictDecimalField,
    StrictEmailField,
    StrictFloatField,
    StrictIntegerField,
)
from core.api.serializers import FastListSerializer, StrictModelSerializer, StrictSerializer
from maintenance import calendars, checklists, compliance, reminders, services, workorders
from maintenance.models import (
    Asset,
    CounterReading,
    Execution,
    HolidayCalendar,
    Plan,
    Priority,
    Task,
    Technician,
)
from maintenance.specs import (
    DEFAULT_ESCALATION_FRACTIONS,
    POSITIVE_MESSAGE,
    TASK_CODE_PREFIX_MESSAGE,
    TASK_CODE_PREFIX_PATTERN,
    AssetSpec,
    CalendarTrigger,
    CounterTrigger,
    PlanSpec,
    ReadingSpec,
    TaskTemplate,
    TechnicianSpec,
    TimeInterval,
    WhicheverFirstTrigger,
    asset_spec_of,
    calendar_rule_problems,
    coordinates_problem,
    grace_problems,
    technician_spec_of,
)
from scheduling.models import Impact


def _positive(value: Decimal) -> None:
    if value <= 0:
        raise serializers.ValidationError(POSITIVE_MESSAGE)


def _unique_items(value: list) -> None:
    if len(set(value)) != len(value):
        raise serializers.ValidationError(gettext("Must not contain duplicates."))


# --- assets and technicians --------------------------------------------------------------------


class AssetSerializer(StrictModelSerializer):
    code = StrictCharField(max_length=64)
    name = StrictCharField(max_length=255)
    location = StrictCharField(max_length=255, allow_blank=True, default="")
    latitude = StrictFloatField(min_value=-90, max_value=90, allow_null=True, default=None)
    longitude = StrictFloatField(min_value=-180, max_value=180, allow_null=True, default=None)
    installed_at = StrictDateTimeField(allow_null=True, default=None)
    monitor_tags = serializers.ListField(
        child=StrictCharField(max_length=100),
        default=list,
        max_length=100,
        help_text="Tags of the v4 monitors a work order on this asset puts under maintenance "
        "(each an existing monitor's tag).",
    )

    class Meta:
        model = Asset
        fields = (
            "id",
            "code",
            "name",
            "location",
            "latitude",
            "longitude",
            "installed_at",
            "monitor_tags",
            "created_at",
            "updated_at",
        )

    # The service checks these again (a write from elsewhere); checked here first so they are
    # reported together with the other fields' problems, as they always were.
    def validate_code(self, value: str) -> str:
        asset_id = self.instance.pk if self.instance is not None else None
        problem = services.asset_code_problem(value, asset_id=asset_id)
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def validate_monitor_tags(self, value: list[str]) -> list[str]:
        problem = workorders.monitor_tags_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def validate(self, attrs):
        def final(name):
            if name in attrs or self.instance is None:
                return attrs.get(name)
            return getattr(self.instance, name)

        problem = coordinates_problem(final("latitude"), final("longitude"))
        if problem:
            raise serializers.ValidationError({"latitude": [problem]})
        return attrs

    def to_spec(self) -> AssetSpec:
        """The whole asset these validated fields describe (a PATCH keeps what it omits)."""
        fields = dict(self.validated_data)
        if "monitor_tags" in fields:
            fields["monitor_tags"] = tuple(fields["monitor_tags"])
        if self.partial and self.instance is not None:
            return replace(asset_spec_of(self.instance), **fields)
        return AssetSpec(**fields)


class TechnicianSerializer(StrictModelSerializer):
    name = StrictCharField(max_length=255)
    email = StrictEmailField(allow_blank=True, default="")
    skills = serializers.ListField(
        child=StrictCharField(max_length=100), default=list, max_length=100
    )
    daily_capacity_minutes = StrictIntegerField(min_value=0, max_value=1440, default=480)
    active = StrictBooleanField(default=True)

    class Meta:
        model = Technician
        fields = (
            "id",
            "name",
            "email",
            "skills",
            "daily_capacity_minutes",
            "active",
            "created_at",
            "updated_at",
        )

    def validate_skills(self, value):
        _unique_items(value)
        return value

    def to_spec(self) -> TechnicianSpec:
        """The whole technician these validated fields describe (a PATCH keeps what it omits)."""
        fields = dict(self.validated_data)
        if "skills" in fields:
            fields["skills"] = tuple(fields["skills"])
        if self.partial and self.instance is not None:
            return replace(technician_spec_of(self.instance), **fields)
        return TechnicianSpec(**fields)


# --- checklists ------------------------------------------------------------------------------


class ChecklistTemplateItem(StrictSerializer):
    """A checklist item of a task template (see `maintenance.checklists`)."""

    item = StrictCharField(max_length=checklists.ITEM_MAX_LENGTH)
    kind = NamedChoiceField(
        enum_name="ChecklistItemKind",
        choices=[(kind, kind) for kind in checklists.KINDS],
        default=checklists.CHECK,
    )
    required = StrictBooleanField(default=False)
    unit = StrictCharField(
        max_length=checklists.UNIT_MAX_LENGTH,
        allow_blank=True,
        default="",
        help_text="Number items only.",
    )
    min = StrictFloatField(allow_null=True, default=None, help_text="Number items only.")
    max = StrictFloatField(allow_null=True, default=None, help_text="Number items only.")

    def validate(self, attrs):
        problems = checklists.item_problems(checklists.ChecklistItemSpec(**attrs))
        if problems:
            raise serializers.ValidationError(problems)
        return attrs


_TEMPLATE_ITEM_SCHEMA = {
    "oneOf": [
        {"type": "string", "maxLength": checklists.ITEM_MAX_LENGTH},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["item"],
            "properties": {
                "item": {"type": "string", "maxLength": checklists.ITEM_MAX_LENGTH},
                "kind": {"type": "string", "enum": list(checklists.KINDS), "default": "check"},
                "required": {"type": "boolean", "default": False},
                "unit": {"type": "string", "maxLength": checklists.UNIT_MAX_LENGTH},
                "min": {"type": "number", "nullable": True},
                "max": {"type": "number", "nullable": True},
            },
        },
    ],
    "description": "A string (an optional check, the v1 shape) or an item with its kind.",
}


@extend_schema_field(_TEMPLATE_ITEM_SCHEMA)
class ChecklistTemplateItemField(serializers.Field):
    """A template item: a bare string (an optional check) or a `ChecklistTemplateItem`."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            text = StrictCharField(max_length=checklists.ITEM_MAX_LENGTH)
            return checklists.ChecklistItemSpec(item=text.run_validation(data))
        if not isinstance(data, Mapping):
            raise serializers.ValidationError(gettext("Must be a string or an object."))
        item = ChecklistTemplateItem(data=data)
        if not item.is_valid():
            raise serializers.ValidationError(item.errors)
        return checklists.ChecklistItemSpec(**item.validated_data)

    def to_representation(self, value):
        return checklists.item_spec_of(value).stored()


class TemplateChecklistField(serializers.ListField):
    """A template's checklist out: strings when every item is an optional check (the v1
    shape), else every item as an object."""

    child = ChecklistTemplateItemField()

    def to_representation(self, data):
        specs = checklists.template_specs(data)
        if checklists.is_plain(specs):
            return [spec.item for spec in specs]
        return [spec.stored() for spec in specs]


class AnswerValueField(serializers.Field):
    """An answer as JSON gives it (true/false, "pass"/"fail", a number, a string, null); the
    service checks it against the item's kind."""

    def to_internal_value(self, data):
        if isinstance(data, list | dict):
            raise serializers.ValidationError(
                gettext("Must be a boolean, a number, a string or null.")
            )
        return data

    def to_representation(self, value):
        return value


extend_schema_field(
    {
        "oneOf": [{"type": "boolean"}, {"type": "number"}, {"type": "string"}],
        "nullable": True,
        "description": 'check: true; pass_fail: "pass" or "fail"; number: a number; '
        "text: a string; null: unanswered.",
    }
)(AnswerValueField)


class ChecklistItem(StrictSerializer):
    """A task's checklist item. `item` and `done` always; the rest only on a task whose
    checklist is not all optional checks (then on every item)."""

    ignored_fields = (
        "kind",
        "required",
        "unit",
        "min",
        "max",
        "answered_by",
        "answered_at",
        "corrective_task_id",
    )

    item = StrictCharField(max_length=checklists.ITEM_MAX_LENGTH)
    done = StrictBooleanField(required=False)
    value = AnswerValueField(required=False, allow_null=True)


class ChecklistItemOutput(serializers.Serializer):
    item = serializers.CharField()
    done = serializers.BooleanField()
    kind = NamedChoiceField(
        enum_name="ChecklistItemKind",
        choices=[(kind, kind) for kind in checklists.KINDS],
        required=False,
    )
    required = serializers.BooleanField(required=False)
    unit = serializers.CharField(required=False)
    min = serializers.FloatField(required=False, allow_null=True)
    max = serializers.FloatField(required=False, allow_null=True)
    value = AnswerValueField(required=False, allow_null=True)
    answered_by = serializers.CharField(required=False, allow_null=True)
    answered_at = serializers.DateTimeField(required=False, allow_null=True)
    corrective_task_id = serializers.CharField(
        required=False, allow_null=True, help_text="The corrective task this finding made."
    )


@extend_schema_field(ChecklistItemOutput(many=True))
class TaskChecklistField(serializers.Field):
    """A task's checklist out: ``[{item, done}]`` when every item is an optional check (the
    v1 shape), else every item in full."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value):
        items = [checklists.task_item_of(raw) for raw in value]
        if checklists.is_plain(items):
            return [{"item": item["item"], "done": item["done"]} for item in items]
        return items


# --- plans: input ----------------------------------------------------------------------------


class TaskTemplateInput(StrictSerializer):
    title = StrictCharField(max_length=255, required=False)
    description = StrictCharField(allow_blank=True, default="", max_length=LONG_TEXT_MAX_LENGTH)
    checklist = serializers.ListField(
        child=ChecklistTemplateItemField(), default=list, max_length=checklists.MAX_ITEMS
    )
    estimated_duration_minutes = StrictIntegerField(
        min_value=1, max_value=100_000, allow_null=True, default=None
    )


class CalendarInput(StrictSerializer):
    rrule = StrictCharField(max_length=1000, required=False, allow_null=True)
    every = StrictIntegerField(min_value=1, max_value=1000, required=False, allow_null=True)
    unit = serializers.ChoiceField(choices=Plan.Unit.choices, required=False, allow_null=True)
    start_at = StrictDateTimeField()
    end_at = StrictDateTimeField(allow_null=True, default=None)
    timezone = StrictCharField(max_length=64, default="UTC")
    anchor = serializers.ChoiceField(choices=Plan.Anchor.choices, default=Plan.Anchor.FIXED)
    # Up to 366 days either way.
    lead_time_hours = StrictFloatField(min_value=0, max_value=8784, default=0)
    tolerance_hours = StrictFloatField(min_value=0, max_value=8784, default=24)

    def validate(self, attrs):
        rrule, every, unit = attrs.get("rrule"), attrs.get("every"), attrs.get("unit")
        problems = calendar_rule_problems(rrule, every, unit)
        if problems:
            raise serializers.ValidationError(problems)
        if rrule is not None and every is not None:
            # A plan's own output (the shorthand and its RRULE) sent back: keep the shorthand.
            attrs["rrule"] = None
        return attrs


class TimeIntervalInput(StrictSerializer):
    """A span of time: `every` `unit`s (e.g. `{"every": 1, "unit": "year"}`)."""

    every = StrictIntegerField(min_value=1, max_value=1000)
    unit = serializers.ChoiceField(choices=Plan.Unit.choices)


class CounterInput(StrictSerializer):
    unit = StrictCharField(max_length=32)
    interval = StrictDecimalField(validators=[_positive])
    anchor = serializers.ChoiceField(choices=Plan.Anchor.choices, default=Plan.Anchor.FIXED)
    start_value = StrictDecimalField(min_value=Decimal(0), default=Decimal(0))
    tolerance_units = StrictDecimalField(min_value=Decimal(0), allow_null=True, default=None)
    min_interval = TimeIntervalInput(
        required=False,
        allow_null=True,
        default=None,
        help_text="Counter plans: never execute sooner than this after the last execution "
        "(a reading that reaches the threshold earlier executes when the bound passes).",
    )
    max_interval = TimeIntervalInput(
        required=False,
        allow_null=True,
        default=None,
        help_text='Counter plans: execute at least this often (`trigger: "max_interval"`), '
        "counted from the last execution or the plan's creation, even if the meter stalls.",
    )


TASK_CODE_PREFIX = RegexValidator(TASK_CODE_PREFIX_PATTERN, TASK_CODE_PREFIX_MESSAGE)


class PlanInput(StrictSerializer):
    """POST and PUT body of a plan."""

    ignored_fields = (
        "id",
        "status",
        "next_due_at",
        "counter_value",
        "next_counter_threshold",
        "last_executed_at",
        "created_at",
        "updated_at",
    )

    name = StrictCharField(max_length=255)
    description = StrictCharField(allow_blank=True, default="", max_length=LONG_TEXT_MAX_LENGTH)
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.MEDIUM)
    asset_ids = serializers.ListField(
        child=StrictCharField(max_length=40), default=list, max_length=100
    )
    assignee_id = StrictCharField(max_length=40, allow_null=True, default=None)
    department = StrictCharField(max_length=255, allow_blank=True, default="")
    task = TaskTemplateInput(required=False)
    task_code_prefix = StrictCharField(default="MAN", validators=[TASK_CODE_PREFIX])
    trigger = NamedChoiceField(
        enum_name="PlanTrigger",
        choices=Plan.Trigger.choices,
        help_text="`whichever_first`: both blocks; the plan executes on whichever comes first "
        "and each execution restarts both clocks.",
    )
    calendar = CalendarInput(required=False, allow_null=True)
    counter = CounterInput(required=False, allow_null=True)
    notification_channel_ids = serializers.ListField(
        child=StrictCharField(max_length=64), default=list, max_length=50
    )
    preventive_cost = StrictDecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal(0), allow_null=True, default=None
    )
    failure_cost = StrictDecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal(0), allow_null=True, default=None
    )
    grace_hours = StrictFloatField(
        min_value=0,
        max_value=8784,
        allow_null=True,
        default=None,
        help_text="Compliance counts a completion up to this long after the deadline on time.",
    )
    grace_fraction = StrictFloatField(
        min_value=0,
        max_value=1,
        allow_null=True,
        default=None,
        help_text="The same grace as a fraction of the calendar interval (calendar plans; "
        "not with grace_hours).",
    )
    holiday_calendar_id = StrictCharField(
        max_length=40,
        allow_null=True,
        default=None,
        help_text="A holiday calendar: scheduled tasks due on its dates shift to the next "
        "working day.",
    )
    # Reminders and escalation (`maintenance.reminders`).
    due_soon_lead_times = serializers.ListField(
        child=StrictCharField(max_length=10),
        default=list,
        help_text='Lead times of task.due_soon before a task is due, e.g. ["72h", "24h"] '
        "(whole m, h or d; at most 30 days, at most 10). Empty: the reminders of each "
        "notification channel that subscribes to task.due_soon.",
    )
    escalation_fractions = serializers.ListField(
        child=StrictFloatField(),
        default=lambda: list(DEFAULT_ESCALATION_FRACTIONS),
        help_text="When task.escalated is sent, as fractions (0 < f < 1) of the time from a "
        "task's due time to its deadline. Default [0.75, 0.9]; empty: never.",
    )
    escalation_channel_ids = serializers.ListField(
        child=StrictCharField(max_length=64),
        default=list,
        max_length=50,
        help_text="Channels that hear task.escalated; empty: the notification channels.",
    )
    # Work orders that open maintenance windows (`maintenance.workorders`).
    open_window = StrictBooleanField(
        default=False,
        help_text="Starting a task opens an ONGOING v4 maintenance window on the monitors of "
        "its assets; completing or cancelling the task ends it.",
    )
    window_impact = NamedChoiceField(
        enum_name="WindowImpact",
        choices=Impact.choices,
        default=Impact.MAINTENANCE,
        help_text="How the work order's windows show on the monitors.",
    )
    plan_window = StrictBooleanField(
        default=False,
        help_text="Each generated task also plans a SCHEDULED window at its due time for its "
        "estimated duration (task.estimated_duration_minutes is then required).",
    )

    def validate_due_soon_lead_times(self, value):
        problem = reminders.lead_times_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def validate_escalation_fractions(self, value):
        problem = reminders.escalation_fractions_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def validate_escalation_channel_ids(self, value):
        _unique_items(value)
        return value

    def validate_asset_ids(self, value):
        _unique_items(value)
        return value

    def validate_notification_channel_ids(self, value):
        _unique_items(value)
        return value

    def validate(self, attrs):
        trigger = attrs["trigger"]
        if trigger == Plan.Trigger.WHICHEVER_FIRST:
            missing = {
                block: [
                    (gettext("A whichever_first plan needs a %(block)s block.") % {"block": block})
                ]
                for block in ("calendar", "counter")
                if attrs.get(block) is None
            }
            if missing:
                raise serializers.ValidationError(missing)
            return attrs
        other = "counter" if trigger == Plan.Trigger.CALENDAR else "calendar"
        if attrs.get(trigger) is None:
            raise serializers.ValidationError(
                {
                    trigger: [
                        (
                            gettext("A %(trigger)s plan needs a %(trigger)s block.")
                            % {"trigger": trigger}
                        )
                    ]
                }
            )
        if attrs.get(other) is not None:
            raise serializers.ValidationError(
                {other: [(gettext("Must be null for a %(trigger)s plan.") % {"trigger": trigger})]}
            )
        problems = grace_problems(
            attrs.get("grace_hours"), attrs.get("grace_fraction"), trigger_kind=trigger
        )
        if problems:
            raise serializers.ValidationError(problems)
        return attrs

    def to_spec(self) -> PlanSpec:
        """The plan these validated fields describe, as `plan_create` / `plan_update` take it."""
        return plan_spec_from(self.validated_data)


def plan_spec_from(data: Mapping) -> PlanSpec:
    """A `PlanSpec` from `PlanInput`'s validated data (the v1 Plan body's shape)."""
    task = data.get("task") or {}
    calendar_trigger = counter_trigger = None
    if data.get("calendar") is not None:
        calendar = data["calendar"]
        calendar_trigger = CalendarTrigger(
            rrule=calendar.get("rrule"),
            every=calendar.get("every"),
            unit=calendar.get("unit"),
            start_at=calendar["start_at"],
            end_at=calendar.get("end_at"),
            timezone=calendar.get("timezone") or "UTC",
            anchor=calendar.get("anchor", Plan.Anchor.FIXED),
            lead_time_hours=calendar.get("lead_time_hours", 0),
            tolerance_hours=calendar.get("tolerance_hours", 24),
        )
    if data.get("counter") is not None:
        counter = data["counter"]
        counter_trigger = CounterTrigger(
            unit=counter["unit"],
            interval=counter["interval"],
            anchor=counter.get("anchor", Plan.Anchor.FIXED),
            start_value=counter.get("start_value", Decimal(0)),
            tolerance_units=counter.get("tolerance_units"),
            min_interval=_interval_from(counter.get("min_interval")),
            max_interval=_interval_from(counter.get("max_interval")),
        )
    trigger: CalendarTrigger | CounterTrigger | WhicheverFirstTrigger
    if data["trigger"] == Plan.Trigger.WHICHEVER_FIRST:
        trigger = WhicheverFirstTrigger(calendar=calendar_trigger, counter=counter_trigger)
    elif data["trigger"] == Plan.Trigger.CALENDAR:
        trigger = calendar_trigger
    else:
        trigger = counter_trigger
    return PlanSpec(
        name=data["name"],
        description=data.get("description", ""),
        priority=data.get("priority", Priority.MEDIUM),
        department=data.get("department", ""),
        asset_ids=tuple(data.get("asset_ids", ())),
        assignee_id=data.get("assignee_id"),
        notification_channel_ids=tuple(data.get("notification_channel_ids", ())),
        preventive_cost=data.get("preventive_cost"),
        failure_cost=data.get("failure_cost"),
        grace_hours=data.get("grace_hours"),
        grace_fraction=data.get("grace_fraction"),
        trigger=trigger,
        task=TaskTemplate(
            title=task.get("title"),
            description=task.get("description", ""),
            checklist=tuple(task.get("checklist", ())),
            estimated_duration_minutes=task.get("estimated_duration_minutes"),
            code_prefix=data.get("task_code_prefix", "MAN"),
        ),
        holiday_calendar_id=data.get("holiday_calendar_id"),
        due_soon_lead_times=tuple(data.get("due_soon_lead_times", ())),
        escalation_fractions=tuple(data.get("escalation_fractions", DEFAULT_ESCALATION_FRACTIONS)),
        escalation_channel_ids=tuple(data.get("escalation_channel_ids", ())),
        open_window=data.get("open_window", False),
        window_impact=data.get("window_impact", Impact.MAINTENANCE),
        plan_window=data.get("plan_window", False),
    )


def _interval_from(data: Mapping | None) -> TimeInterval | None:
    return None if data is None else TimeInterval(every=data["every"], unit=data["unit"])


# --- plans: output ---------------------------------------------------------------------------


class _BlankAsNullCharField(serializers.CharField):
    def to_representation(self, value):
        return value or None


class CalendarOutput(serializers.Serializer):
    rrule = serializers.CharField()
    every = serializers.IntegerField(allow_null=True)
    unit = _BlankAsNullCharField(allow_null=True)
    start_at = serializers.DateTimeField()
    end_at = serializers.DateTimeField(allow_null=True)
    timezone = serializers.CharField()
    anchor = serializers.ChoiceField(choices=Plan.Anchor.choices)
    lead_time_hours = serializers.FloatField()
    tolerance_hours = serializers.FloatField()


class TimeIntervalOutput(serializers.Serializer):
    every = serializers.IntegerField()
    unit = serializers.ChoiceField(choices=Plan.Unit.choices)


@extend_schema_field(TimeIntervalOutput(allow_null=True))
class _TimeBoundField(serializers.Field):
    """`{every, unit}` from the plan's `<name>_every` / `<name>_unit` columns, or null."""

    def __init__(self, name: str, **kwargs):
        super().__init__(source="*", read_only=True, allow_null=True, **kwargs)
        self.bound = name

    def to_representation(self, plan):
        every = getattr(plan, f"{self.bound}_every")
        if not every:
            return None
        return {"every": every, "unit": getattr(plan, f"{self.bound}_unit")}


class CounterOutput(serializers.Serializer):
    unit = serializers.CharField(source="counter_unit")
    interval = StrictDecimalField(source="counter_interval")
    anchor = serializers.ChoiceField(choices=Plan.Anchor.choices)
    start_value = StrictDecimalField(source="counter_start_value")
    tolerance_units = StrictDecimalField(source="counter_tolerance_units", allow_null=True)
    min_interval = _TimeBoundField("min_interval")
    max_interval = _TimeBoundField("max_interval")


class TaskTemplateOutput(serializers.Serializer):
    title = serializers.CharField(source="task_title")
    description = serializers.CharField(source="task_description")
    checklist = TemplateChecklistField(source="task_checklist")
    estimated_duration_minutes = serializers.IntegerField(
        source="task_estimated_duration_minutes", allow_null=True
    )


class _AssetIdsField(serializers.ListField):
    """Asset ids from a prefetched link relation (`plan_assets` / `task_assets`)."""

    child = serializers.CharField()

    def __init__(self, relation: str, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)
        self.relation = relation

    def to_representation(self, obj):
        return [link.asset_id for link in getattr(obj, self.relation).all()]


class PlanSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    status = NamedChoiceField(enum_name="PlanStatus", choices=Plan.Status.choices)
    priority = serializers.ChoiceField(choices=Priority.choices)
    asset_ids = _AssetIdsField("plan_assets")
    assignee_id = serializers.CharField(allow_null=True)
    department = serializers.CharField()
    task = TaskTemplateOutput(source="*")
    task_code_prefix = serializers.CharField()
    trigger = NamedChoiceField(enum_name="PlanTrigger", choices=Plan.Trigger.choices)
    calendar = CalendarOutput(source="*", allow_null=True)
    counter = CounterOutput(source="*", allow_null=True)
    notification_channel_ids = serializers.ListField(child=serializers.CharField())
    preventive_cost = StrictDecimalField(max_digits=14, decimal_places=2, allow_null=True)
    failure_cost = StrictDecimalField(max_digits=14, decimal_places=2, allow_null=True)
    grace_hours = serializers.FloatField(allow_null=True)
    grace_fraction = serializers.FloatField(allow_null=True)
    holiday_calendar_id = serializers.CharField(allow_null=True)
    due_soon_lead_times = serializers.ListField(child=serializers.CharField())
    escalation_fractions = serializers.ListField(child=serializers.FloatField())
    escalation_channel_ids = serializers.ListField(child=serializers.CharField())
    open_window = serializers.BooleanField()
    window_impact = NamedChoiceField(enum_name="WindowImpact", choices=Impact.choices)
    plan_window = serializers.BooleanField()
    next_due_at = serializers.DateTimeField(allow_null=True)
    counter_value = StrictDecimalField(allow_null=True)
    next_counter_threshold = StrictDecimalField(allow_null=True)
    last_executed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not instance.has_counter:
            data["counter"] = None
        if not instance.has_calendar:
            data["calendar"] = None
        return data


# --- tasks and executions ----------------------------------------------------------------------


class CorrectiveFor(serializers.Serializer):
    task_id = serializers.CharField()
    item_index = serializers.IntegerField()


@extend_schema_field(CorrectiveFor(allow_null=True))
class _CorrectiveForField(serializers.Field):
    """The task and checklist item whose finding called for this corrective task."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, task):
        if task.corrective_for_id is None:
            return None
        return {"task_id": task.corrective_for_id, "item_index": task.corrective_item}


DELAY_REASON = {
    "choices": Task.DelayReason.choices,
    "help_text": "Why a late completion was late: "
    + "; ".join(f"{value} ({label})" for value, label in Task.DelayReason.choices)
    + ". Only for a completion after the deadline and the plan's grace.",
}


TIME_SPENT = {
    "min_value": 0,
    "max_value": Task.TIME_SPENT_MAX_MINUTES,
    "allow_null": True,
    "required": False,
    "help_text": "Labour recorded on the task, in whole minutes "
    f"(0 to {Task.TIME_SPENT_MAX_MINUTES}); also on a done or cancelled task.",
}


class TaskSerializer(serializers.Serializer):
    id = serializers.CharField()
    code = serializers.CharField()
    plan_id = serializers.CharField(allow_null=True)
    execution_id = serializers.CharField()
    trigger = NamedChoiceField(enum_name="ExecutionTrigger", choices=Execution.Trigger.choices)
    title = serializers.CharField()
    description = serializers.CharField()
    checklist = TaskChecklistField()
    priority = serializers.ChoiceField(choices=Priority.choices)
    asset_ids = _AssetIdsField("task_assets")
    assignee_id = serializers.CharField(allow_null=True)
    estimated_duration_minutes = serializers.IntegerField(allow_null=True)
    status = NamedChoiceField(enum_name="TaskStatus", choices=Task.Status.choices)
    due_at = serializers.DateTimeField()
    deadline_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    completed_by = _BlankAsNullCharField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    notes = serializers.CharField()
    time_spent_minutes = serializers.IntegerField(
        allow_null=True, help_text="Labour recorded on the task, in minutes (null: none yet)."
    )
    delay_reason = _BlankAsNullCharField(
        allow_null=True, help_text="Why a late task was late (given when completing it)."
    )
    delay_note = serializers.CharField()
    corrective_for = _CorrectiveForField()
    window_maintenance_id = serializers.IntegerField(
        allow_null=True,
        help_text="The v4 maintenance this work order opened while in progress (open_window).",
    )
    planned_maintenance_id = serializers.IntegerField(
        allow_null=True,
        help_text="The v4 maintenance planned at its due time (plan_window), until it starts.",
    )

    def to_representation(self, instance):
        # Querysets annotate `trigger`; a task fresh from a service reads its execution.
        if not hasattr(instance, "trigger"):
            instance.trigger = instance.execution.trigger
        return super().to_representation(instance)


class TaskPatchInput(StrictSerializer):
    status = NamedChoiceField(enum_name="TaskStatus", choices=Task.Status.choices, required=False)
    assignee_id = StrictCharField(max_length=40, allow_null=True, required=False)
    checklist = ChecklistItem(
        many=True,
        required=False,
        help_text="Answers, one per item in order: `done` for a check, `value` for the other "
        "kinds (omitted: unchanged; null: cleared).",
    )
    notes = StrictCharField(allow_blank=True, required=False, max_length=LONG_TEXT_MAX_LENGTH)
    time_spent_minutes = StrictIntegerField(**TIME_SPENT)
    delay_reason = NamedChoiceField(enum_name="DelayReason", required=False, **DELAY_REASON)
    delay_note = StrictCharField(
        allow_blank=True, required=False, max_length=Task.DELAY_NOTE_MAX_LENGTH
    )


class TaskCompleteInput(StrictSerializer):
    completed_at = StrictDateTimeField(required=False, allow_null=True, default=None)
    notes = StrictCharField(
        allow_blank=True,
        required=False,
        allow_null=True,
        default=None,
        max_length=LONG_TEXT_MAX_LENGTH,
    )
    time_spent_minutes = StrictIntegerField(**{**TIME_SPENT, "default": None})
    delay_reason = NamedChoiceField(
        enum_name="DelayReason", required=False, allow_null=True, default=None, **DELAY_REASON
    )
    delay_note = StrictCharField(
        allow_blank=True,
        required=False,
        allow_null=True,
        default=None,
        max_length=Task.DELAY_NOTE_MAX_LENGTH,
    )


class TaskCancelInput(StrictSerializer):
    notes = StrictCharField(
        allow_blank=True,
        required=False,
        allow_null=True,
        default=None,
        max_length=LONG_TEXT_MAX_LENGTH,
    )


class ExecutionSerializer(serializers.Serializer):
    execution_id = serializers.CharField(source="id")
    plan_id = serializers.CharField(allow_null=True)
    task_id = serializers.CharField(source="task_pk", allow_null=True)
    trigger = NamedChoiceField(enum_name="ExecutionTrigger", choices=Execution.Trigger.choices)
    due_at = serializers.DateTimeField()
    counter_value = StrictDecimalField(allow_null=True)
    counter_threshold = StrictDecimalField(allow_null=True)
    executed_at = serializers.DateTimeField()
    executed_by = serializers.CharField()
    missed = serializers.BooleanField()
    skipped = serializers.BooleanField(help_text="Skipped on purpose (`skip_reason`): no task.")
    skip_reason = _BlankAsNullCharField(allow_null=True)


class ExecuteOutput(serializers.Serializer):
    task_id = serializers.CharField()
    task_code = serializers.CharField()
    execution_id = serializers.CharField()
    next_due_at = serializers.DateTimeField(allow_null=True)
    next_counter_threshold = StrictDecimalField(allow_null=True)


class PreviewTask(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    checklist = TaskChecklistField()
    priority = serializers.ChoiceField(choices=Priority.choices)
    asset_ids = serializers.ListField(child=serializers.CharField())
    assignee_id = serializers.CharField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    deadline_at = serializers.DateTimeField(allow_null=True)
    estimated_duration_minutes = serializers.IntegerField(allow_null=True)


class PreviewOutput(serializers.Serializer):
    task = PreviewTask()
    next_due_at = serializers.DateTimeField(allow_null=True)
    next_counter_threshold = StrictDecimalField(allow_null=True)
    trigger = NamedChoiceField(enum_name="PlanTrigger", choices=Plan.Trigger.choices)
    next_trigger = NamedChoiceField(
        enum_name="ExecutionTrigger",
        choices=Execution.Trigger.choices,
        allow_null=True,
        help_text="The trigger expected to fire next (null: unknown, e.g. a counter without "
        "usage yet).",
    )
    next_trigger_at = serializers.DateTimeField(allow_null=True)
    counter_expected_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When the counter reaches its threshold at the recent usage rate.",
    )


class SkipInput(StrictSerializer):
    reason = StrictCharField(max_length=services.SKIP_REASON_MAX_LENGTH)


class SkipOutput(serializers.Serializer):
    execution = ExecutionSerializer()
    next_due_at = serializers.DateTimeField(allow_null=True)


# --- counters --------------------------------------------------------------------------------


class CounterReadingInput(StrictSerializer):
    value = StrictDecimalField(min_value=Decimal(0))
    source = StrictCharField(max_length=200)
    recorded_at = StrictDateTimeField(required=False, allow_null=True, default=None)
    reset = StrictBooleanField(default=False)


class BatchReadingInput(CounterReadingInput):
    plan_id = StrictCharField(max_length=40)

    class Meta:
        # Up to 1,000 items: validated by these fields without DRF's per-item machinery.
        list_serializer_class = FastListSerializer


class CounterReadingsBatchInput(StrictSerializer):
    readings = BatchReadingInput(
        many=True, min_length=1, max_length=services.READINGS_BATCH_MAX, allow_empty=False
    )

    def to_specs(self) -> list[ReadingSpec]:
        return [ReadingSpec(**reading) for reading in self.validated_data["readings"]]


class BatchReadingResult(serializers.Serializer):
    plan_id = serializers.CharField()
    reading_id = serializers.CharField()
    executed = serializers.BooleanField()
    task_id = serializers.CharField(allow_null=True)
    next_counter_threshold = StrictDecimalField(allow_null=True)


class CounterReadingsBatchOutput(serializers.Serializer):
    results = BatchReadingResult(many=True)

    @classmethod
    def render(cls, rows: list[dict]) -> dict:
        """`cls({"results": rows}).data` for up to 1,000 rows: each value goes through its
        declared field's `to_representation` (None stays None), as DRF's walk does, without
        the walk's per-row, per-field machinery."""
        fields = [
            (name, field.to_representation) for name, field in BatchReadingResult().fields.items()
        ]
        return {
            "results": [
                {
                    name: None if (value := row[name]) is None else represent(value)
                    for name, represent in fields
                }
                for row in rows
            ]
        }


class CounterReadingSerializer(serializers.ModelSerializer):
    plan_id = serializers.CharField(allow_null=True)
    value = StrictDecimalField()

    class Meta:
        model = CounterReading
        fields = ("id", "plan_id", "value", "source", "recorded_at", "reset", "created_at")


class CounterResultOutput(serializers.Serializer):
    reading = CounterReadingSerializer()
    executed = serializers.BooleanField()
    execution = ExecutionSerializer(allow_null=True)
    task = TaskSerializer(allow_null=True)
    next_counter_threshold = StrictDecimalField(allow_null=True)


# --- compliance ------------------------------------------------------------------------------


class ComplianceQuery(serializers.Serializer):
    start_date = BoundedDateField()
    end_date = BoundedDateField()
    plan_id = serializers.CharField(required=False, max_length=40)
    asset_id = serializers.CharField(required=False, max_length=40)
    group_by = serializers.ChoiceField(
        choices=compliance.GROUP_BY,
        required=False,
        help_text="Adds `groups`: the metrics per plan, asset, technician or delay reason.",
    )
    series = serializers.ChoiceField(
        choices=compliance.SERIES,
        required=False,
        help_text="Adds `series`: the metrics per UTC month of the range.",
    )

    def validate(self, attrs):
        if attrs["end_date"] < attrs["start_date"]:
            raise serializers.ValidationError(
                {"end_date": [gettext("end_date must not be before start_date.")]}
            )
        if attrs.get("series"):
            problem = compliance.series_problem(attrs["start_date"], attrs["end_date"])
            if problem:
                raise serializers.ValidationError({"end_date": [problem]})
        return attrs


class ComplianceMetrics(serializers.Serializer):
    due_count = serializers.IntegerField()
    on_time_count = serializers.IntegerField()
    overdue_count = serializers.IntegerField()
    pending_count = serializers.IntegerField()
    missed_count = serializers.IntegerField(help_text="Missed occurrences (included in overdue).")
    cancelled_count = serializers.IntegerField(help_text="Cancelled tasks (counted nowhere else).")
    compliance_rate = serializers.FloatField(allow_null=True)
    average_delay_hours = serializers.FloatField()
    time_spent_minutes = serializers.IntegerField(
        help_text="Labour recorded on the tasks counted (cancelled ones included), in minutes."
    )


class CompliancePlanMetrics(ComplianceMetrics):
    plan_id = serializers.CharField(allow_null=True)


class ComplianceGroupMetrics(ComplianceMetrics):
    id = serializers.CharField(
        allow_null=True, help_text="None: no plan, asset, technician or reason."
    )
    name = serializers.CharField(allow_null=True)


class ComplianceMonthMetrics(ComplianceMetrics):
    month = serializers.CharField(help_text="YYYY-MM (UTC).")


class ComplianceOutput(ComplianceMetrics):
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    by_plan = CompliancePlanMetrics(many=True)
    group_by = serializers.CharField(required=False, help_text="Only with ?group_by.")
    groups = ComplianceGroupMetrics(many=True, required=False, help_text="Only with ?group_by.")
    series = ComplianceMonthMetrics(many=True, required=False, help_text="Only with ?series.")


# --- holiday calendars -----------------------------------------------------------------------


class HolidayItem(StrictSerializer):
    date = serializers.DateField()
    name = StrictCharField(max_length=255, allow_blank=True, default="")


class HolidayCalendarSerializer(StrictSerializer):
    """A holiday calendar with its dates (PUT replaces them all)."""

    ignored_fields = ("id", "created_at", "updated_at")

    id = serializers.CharField(read_only=True)
    name = StrictCharField(max_length=255)
    timezone = StrictCharField(
        max_length=64,
        allow_null=True,
        default=None,
        help_text="IANA zone the dates are read in; null: the plan's timezone.",
    )
    weekends = StrictBooleanField(
        default=False, help_text="Saturdays and Sundays are not working days either."
    )
    dates = HolidayItem(many=True, default=list, max_length=calendars.MAX_DATES)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, instance: HolidayCalendar):
        return {
            "id": instance.pk,
            "name": instance.name,
            "timezone": instance.timezone or None,
            "weekends": instance.weekends,
            # Prefetched in date order by the views (a page costs a fixed number of queries).
            "dates": [
                {"date": holiday.date.isoformat(), "name": holiday.name}
                for holiday in instance.dates.all()
            ],
            "created_at": serializers.DateTimeField().to_representation(instance.created_at),
            "updated_at": serializers.DateTimeField().to_representation(instance.updated_at),
        }

    def to_spec(self) -> calendars.HolidayCalendarSpec:
        data = self.validated_data
        return calendars.HolidayCalendarSpec(
            name=data["name"],
            timezone=data.get("timezone") or "",
            weekends=data.get("weekends", False),
            dates=tuple(
                calendars.HolidaySpec(day=item["date"], name=item.get("name", ""))
                for item in data.get("dates", ())
            ),
        )


class HolidayImportInput(serializers.Serializer):
    file = serializers.FileField(help_text="An iCalendar (.ics) file.")
    horizon_years = serializers.IntegerField(
        min_value=1,
        max_value=calendars.IMPORT_MAX_HORIZON_YEARS,
        default=calendars.IMPORT_HORIZON_YEARS,
        help_text="Years (from this one) a yearly RRULE is expanded over.",
    )


class HolidayImportOutput(serializers.Serializer):
    calendar = HolidayCalendarSerializer()
    imported = serializers.IntegerField(help_text="Dates added (dates already there are kept).")
    ignored = serializers.IntegerField(
        help_text="Events left out: not all-day, or recurring other than yearly."
    )
