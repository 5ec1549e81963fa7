"""The operators' screens for the v1 domain.

Every write goes through `maintenance.services` (the API's code path), by way of
`core.admin.ServiceModelAdmin`. The plan form has structured fields for both triggers and
builds a `PlanSpec` from them; `plan_create` / `plan_update` check it, so the rules and
messages are the API's, and each lands on the field it names. The plan page shows the
schedule state read-only, a live preview of the rule (static/admin_ops/preview.js and
/admin/schedule/preview), recent tasks and executions, and execute / pause / resume buttons;
the task work queue (/admin/maintenance/task/queue/) completes and cancels through the
services. History (executions, readings) is read-only. Lists join or prefetch what their
columns show, so a page costs the same number of queries whatever its size.
"""

import copy
import json
import re
from datetime import datetime, timedelta
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.contrib.admin.widgets import (
    AdminSplitDateTime,
    AutocompleteSelect,
    AutocompleteSelectMultiple,
)
from django.db.models import Prefetch, Sum
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext as _

from core.admin import (
    ObjectAction,
    ReadOnlyModelAdmin,
    ServiceModelAdmin,
    actor_name,
    run_each,
    shown_actor,
    zoned_and_utc,
)
from core.admin_fields import TagListField, TimezoneField
from core.admin_rules import (
    RULE_BUILDER_LAYOUT,
    RULE_PREVIEW_FIELDS,
    RuleBuilderFields,
    RuleParts,
    parse,
)
from core.admin_zoned import ZonedDateTimeField, ZonedTimesMixin
from core.charts import Line, line_chart
from core.errors import DomainError, InvalidInput
from maintenance import admin_queue, services
from maintenance.admin_checklist import ChecklistAnswers, ChecklistField, answered_items
from maintenance.admin_exports import ExecutionExport, TaskExport
from maintenance.admin_workorders import PlanWorkFields
from maintenance.models import (
    Asset,
    CounterReading,
    Execution,
    HolidayCalendar,
    Plan,
    PlanAsset,
    Priority,
    Task,
    TaskAsset,
    Technician,
)
from maintenance.specs import (
    CalendarTrigger,
    CounterTrigger,
    PlanSpec,
    TaskTemplate,
    TimeInterval,
    WhicheverFirstTrigger,
    asset_spec_of,
    calendar_of,
    counter_of,
    plan_spec_of,
    technician_spec_of,
)
from notifications.admin_fields import ChannelsField


def _number(value: Decimal | None) -> str:
    return "—" if value is None else f"{value.normalize():f}"


class _SearchByPlanId:
    """Search also matches the plan id exactly. `plan` is a soft foreign key, which has no
    `icontains`, and a deleted plan's rows must still be found by its id."""

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            results |= queryset.filter(plan_id=term)
        return results, may_have_duplicates


class _ServiceValidatedForm(forms.ModelForm):
    """A model form that leaves uniqueness to the service, so a duplicate is refused with
    the service's (the API's) message rather than Django's."""

    def validate_unique(self):
        pass


class AssetForm(_ServiceValidatedForm):
    monitor_tags = TagListField(
        max_items=100,
        help_text=gettext_lazy(
            "Tags of the monitors a work order on this asset puts under maintenance, "
            "separated by commas."
        ),
    )

    class Meta:
        model = Asset
        fields = (
            "code",
            "name",
            "location",
            "latitude",
            "longitude",
            "installed_at",
            "monitor_tags",
        )


@admin.register(Asset)
class AssetAdmin(ServiceModelAdmin):
    form = AssetForm
    list_display = ("code", "name", "location", "installed_at", "updated_at")
    search_fields = ("code", "name", "location", "id")
    readonly_fields = ("id", "created_at", "updated_at")

    # The form has put its values on the instance; the spec is read from it.
    def create_through_service(self, request, form):
        return services.asset_create(spec=asset_spec_of(form.instance))

    def update_through_service(self, request, obj, form):
        return services.asset_update(asset_id=obj.pk, spec=asset_spec_of(obj))

    def delete_through_service(self, request, obj) -> None:
        services.asset_delete(asset_id=obj.pk)


class TechnicianForm(_ServiceValidatedForm):
    skills = TagListField(
        max_items=100, help_text=gettext_lazy("Separated by commas, e.g. pumps, electrical.")
    )

    class Meta:
        model = Technician
        fields = ("name", "email", "skills", "daily_capacity_minutes", "active")


@admin.register(Technician)
class TechnicianAdmin(ServiceModelAdmin):
    form = TechnicianForm
    list_display = ("name", "email", "active", "daily_capacity_minutes", "skills")
    list_filter = ("active",)
    search_fields = ("name", "email", "id")
    readonly_fields = ("id", "created_at", "updated_at")

    def create_through_service(self, request, form):
        return services.technician_create(spec=technician_spec_of(form.instance))

    def update_through_service(self, request, obj, form):
        return services.technician_update(technician_id=obj.pk, spec=technician_spec_of(obj))

    def delete_through_service(self, request, obj) -> None:
        services.technician_delete(technician_id=obj.pk)


# --- plans -------------------------------------------------------------------------------------


def _default(value, default):
    return default if value is None else value


# The services' error keys (the v1 body's names: "calendar.rrule", "counter.interval") → the
# form's fields. A "calendar." key not listed is the form field of the same name.
_FORM_FIELDS = {
    "asset_ids": "assets",
    "assignee_id": "assignee",
    "task.title": "task_title",
    "task.description": "task_description",
    "task.checklist": "task_checklist",
    "task.estimated_duration_minutes": "task_estimated_duration_minutes",
    "calendar": "trigger",
    "counter": "trigger",
    "counter.unit": "counter_unit",
    "counter.interval": "counter_interval",
    "counter.anchor": "counter_anchor",
    "counter.start_value": "counter_start_value",
    "counter.tolerance_units": "counter_tolerance_units",
    "counter.min_interval": "min_interval_every",
    "counter.max_interval": "max_interval_every",
    "holiday_calendar_id": "holiday_calendar",
}


def _form_field_of(key: str) -> str:
    base = re.sub(r"\[\d+\]", "", key)
    return _FORM_FIELDS.get(base, base.removeprefix("calendar."))


def _in_form_terms(error: DomainError) -> DomainError:
    """The service's error with its details renamed to the plan form's fields."""
    if not error.details:
        return error
    details: dict[str, list[str]] = {}
    for key, problems in error.details.items():
        details.setdefault(_form_field_of(key), []).extend(problems)
    renamed = copy.copy(error)
    renamed.details = details
    return renamed


REQUIRED = gettext_lazy("This field is required.")


class PlanForm(ZonedTimesMixin, RuleBuilderFields, PlanWorkFields, forms.ModelForm):
    """Structured fields for a plan, turned into a `PlanSpec` (`to_spec()`).

    The form checks what a form can (types, ranges, what each trigger needs); the admin
    hands the spec to `services.plan_create` / `plan_update`, which apply the API's rules and
    answer in its words; `PlanAdmin` puts each message on the field it names.
    """

    name = forms.CharField(max_length=255)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.MEDIUM)
    department = forms.CharField(required=False, max_length=255)
    assets = forms.ModelMultipleChoiceField(
        queryset=Asset.objects.all(),
        required=False,
        widget=AutocompleteSelectMultiple(Plan._meta.get_field("assets"), admin.site),
    )
    assignee = forms.ModelChoiceField(
        queryset=Technician.objects.all(),
        required=False,
        widget=AutocompleteSelect(Plan._meta.get_field("assignee"), admin.site),
    )
    task_title = forms.CharField(
        required=False, max_length=255, help_text=gettext_lazy("Defaults to the plan's name.")
    )
    task_description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    task_checklist = ChecklistField(
        required=False,
        help_text=gettext_lazy(
            "A number item's answer outside its limits, or a failed pass/fail item, opens a "
            "corrective task. A required item must be answered before the task is completed."
        ),
    )
    task_estimated_duration_minutes = forms.IntegerField(
        required=False, min_value=1, max_value=100_000, label=gettext_lazy("Estimated minutes")
    )
    task_code_prefix = forms.CharField(initial="MAN", required=False)
    trigger = forms.ChoiceField(
        choices=Plan.Trigger.choices, widget=forms.RadioSelect, initial=Plan.Trigger.CALENDAR
    )
    # The rule: the shared builder (core.admin_rules; `rrule`, `every`, `unit` and the
    # rule_* fields). Start and end: wall times in the plan's timezone (core.admin_zoned).
    start_at = ZonedDateTimeField(required=False, label=gettext_lazy("Start at (local time)"))
    end_at = ZonedDateTimeField(required=False, label=gettext_lazy("End at (local time)"))
    zoned_fields = ("start_at", "end_at")
    timezone = TimezoneField(
        initial="UTC", help_text=gettext_lazy("IANA zone the rule is expanded in.")
    )
    anchor = forms.ChoiceField(choices=Plan.Anchor.choices, initial=Plan.Anchor.FIXED)
    # Up to 366 days either way, as in the API.
    lead_time_hours = forms.FloatField(initial=0, required=False, min_value=0, max_value=8784)
    tolerance_hours = forms.FloatField(initial=24, required=False, min_value=0, max_value=8784)
    counter_unit = forms.CharField(required=False, max_length=32, label=gettext_lazy("Unit"))
    counter_interval = forms.DecimalField(
        required=False, max_digits=20, decimal_places=4, label=gettext_lazy("Interval")
    )
    counter_anchor = forms.ChoiceField(
        choices=Plan.Anchor.choices, initial=Plan.Anchor.FIXED, label=gettext_lazy("Anchor")
    )
    counter_start_value = forms.DecimalField(
        required=False,
        initial=0,
        min_value=0,
        max_digits=20,
        decimal_places=4,
        label=gettext_lazy("Start value"),
    )
    counter_tolerance_units = forms.DecimalField(
        required=False,
        min_value=0,
        max_digits=20,
        decimal_places=4,
        label=gettext_lazy("Tolerance units"),
    )
    min_interval_every = forms.IntegerField(
        required=False, min_value=1, max_value=1000, label=gettext_lazy("Never sooner than every")
    )
    min_interval_unit = forms.ChoiceField(choices=Plan.Unit.choices, required=False, label="")
    max_interval_every = forms.IntegerField(
        required=False, min_value=1, max_value=1000, label=gettext_lazy("At least every")
    )
    max_interval_unit = forms.ChoiceField(choices=Plan.Unit.choices, required=False, label="")
    holiday_calendar = forms.ModelChoiceField(
        queryset=HolidayCalendar.objects.all(),
        required=False,
        help_text=gettext_lazy("Scheduled tasks due on its dates are due on the next working day."),
    )
    notification_channel_ids = ChannelsField(
        label=gettext_lazy("Notification channels"),
        help_text=gettext_lazy("The channels told about this plan's tasks."),
    )
    preventive_cost = forms.DecimalField(
        required=False, min_value=0, max_digits=14, decimal_places=2
    )
    grace_hours = forms.FloatField(
        required=False,
        min_value=0,
        max_value=8784,
        help_text=gettext_lazy(
            "Compliance counts a task done this long after its deadline as on time."
        ),
    )
    grace_fraction = forms.FloatField(
        required=False,
        min_value=0,
        max_value=1,
        help_text=gettext_lazy(
            "Or a fraction of the calendar interval (0.1 = a tenth of it); not both."
        ),
    )
    failure_cost = forms.DecimalField(required=False, min_value=0, max_digits=14, decimal_places=2)

    class Meta:
        model = Plan
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        plan = self.instance
        if not plan._state.adding and not self.is_bound:
            self.initial.update(self._initial_from(plan))
        self.offer_stored_channels()

    @staticmethod
    def _initial_from(plan: Plan) -> dict:
        """The fields of a stored plan: its spec (`plan_spec_of`, the services' own reading),
        shown as form values. The hidden trigger's block keeps the form's initial values."""

        def num(value):
            return "" if value is None else _number(Decimal(str(value)))

        spec = plan_spec_of(plan)
        task, trigger = spec.task, spec.trigger
        initial = {
            "name": spec.name,
            "description": spec.description,
            "priority": spec.priority,
            "department": spec.department,
            "assets": list(spec.asset_ids),
            "assignee": spec.assignee_id,
            "task_title": task.title,
            "task_description": task.description,
            "task_checklist": list(task.checklist),
            "task_estimated_duration_minutes": num(task.estimated_duration_minutes),
            "task_code_prefix": task.code_prefix,
            "trigger": spec.trigger_kind,
            "notification_channel_ids": list(spec.notification_channel_ids),
            "preventive_cost": num(spec.preventive_cost),
            "failure_cost": num(spec.failure_cost),
            "grace_hours": num(spec.grace_hours),
            "grace_fraction": num(spec.grace_fraction),
            "holiday_calendar": spec.holiday_calendar_id,
            **PlanWorkFields.work_initial(spec),
        }
        calendar, counter = calendar_of(trigger), counter_of(trigger)
        if calendar is not None:
            trigger = calendar
            initial.update(
                rrule=trigger.rrule or "",
                every=num(trigger.every),
                unit=trigger.unit or "",
                start_at=trigger.start_at,
                end_at=trigger.end_at,
                timezone=trigger.timezone,
                anchor=trigger.anchor,
                lead_time_hours=num(trigger.lead_time_hours),
                tolerance_hours=num(trigger.tolerance_hours),
            )
        if counter is not None:
            trigger = counter
            for name in ("min_interval", "max_interval"):
                bound = getattr(counter, name)
                initial[f"{name}_every"] = bound.every if bound else ""
                initial[f"{name}_unit"] = bound.unit if bound else Plan.Unit.DAY
            initial.update(
                counter_unit=trigger.unit,
                counter_interval=num(trigger.interval),
                counter_anchor=trigger.anchor,
                counter_start_value=num(trigger.start_value),
                counter_tolerance_units=num(trigger.tolerance_units),
            )
        return initial

    def _post_clean(self):
        pass  # the service validates and writes the plan; the bare instance is never saved

    def stored_rule(self):
        # A plan kept as every + unit (the v1 shorthand) shows as that plain interval.
        raw, parts = super().stored_rule()
        every, unit = self.initial.get("every"), self.initial.get("unit")
        if not raw and every and unit:
            parts = RuleParts(every=int(every), unit=unit)
        return raw, parts

    def rule_wanted(self, cleaned) -> bool:
        return cleaned.get("trigger") != Plan.Trigger.COUNTER

    def calendar_rule(self) -> dict:
        """`rrule` or `every` + `unit` for the calendar trigger. A plain interval from the
        builder stays the v1 shorthand (the stored trigger reads back as every + unit, as
        an API client wrote it), unless the plan already keeps that rule as an rrule."""
        cd, parts = self.cleaned_data, self.rule_parts()
        stored = self.initial.get("rrule") or ""
        if parts is not None and parts.is_plain_interval and parse(stored) != parts:
            return {"rrule": None, "every": parts.every, "unit": parts.unit}
        return {"rrule": cd.get("rrule") or None, "every": None, "unit": None}

    def clean(self):
        cleaned = super().clean()
        # What each trigger needs before there is a spec to check.
        required = {
            Plan.Trigger.CALENDAR: ("start_at",),
            Plan.Trigger.COUNTER: ("counter_unit", "counter_interval"),
        }.get(cleaned.get("trigger"), ("start_at", "counter_unit", "counter_interval"))
        for name in required:
            if cleaned.get(name) in (None, "") and name not in self.errors:
                self.add_error(name, REQUIRED)
        return cleaned

    def to_spec(self) -> PlanSpec:
        """The plan these (valid) fields describe."""
        cd = self.cleaned_data
        trigger = calendar = counter = None
        if cd["trigger"] != Plan.Trigger.COUNTER:
            trigger = calendar = CalendarTrigger(
                **self.calendar_rule(),
                start_at=cd["start_at"],
                end_at=cd.get("end_at"),
                timezone=cd.get("timezone") or "UTC",
                anchor=cd["anchor"],
                lead_time_hours=_default(cd.get("lead_time_hours"), 0),
                tolerance_hours=_default(cd.get("tolerance_hours"), 24),
            )
        if cd["trigger"] != Plan.Trigger.CALENDAR:
            trigger = counter = CounterTrigger(
                unit=cd["counter_unit"],
                interval=cd["counter_interval"],
                anchor=cd["counter_anchor"],
                start_value=_default(cd.get("counter_start_value"), Decimal(0)),
                tolerance_units=cd.get("counter_tolerance_units"),
                **{
                    name: TimeInterval(every=cd[f"{name}_every"], unit=cd[f"{name}_unit"] or "day")
                    if cd.get(f"{name}_every")
                    else None
                    for name in ("min_interval", "max_interval")
                },
            )
        if calendar and counter:
            trigger = WhicheverFirstTrigger(calendar=calendar, counter=counter)
        return PlanSpec(
            name=cd["name"],
            description=cd.get("description", ""),
            priority=cd["priority"],
            department=cd.get("department", ""),
            asset_ids=tuple(asset.pk for asset in cd.get("assets") or ()),
            assignee_id=cd["assignee"].pk if cd.get("assignee") else None,
            notification_channel_ids=tuple(cd.get("notification_channel_ids") or ()),
            preventive_cost=cd.get("preventive_cost"),
            failure_cost=cd.get("failure_cost"),
            grace_hours=cd.get("grace_hours"),
            grace_fraction=cd.get("grace_fraction"),
            trigger=trigger,
            task=TaskTemplate(
                title=cd.get("task_title") or None,
                description=cd.get("task_description", ""),
                checklist=tuple(cd.get("task_checklist") or ()),
                estimated_duration_minutes=cd.get("task_estimated_duration_minutes"),
                code_prefix=cd.get("task_code_prefix") or "MAN",
            ),
            holiday_calendar_id=cd["holiday_calendar"].pk if cd.get("holiday_calendar") else None,
            **self.work_spec_fields(),
        )


def _is_active(plan: Plan) -> bool:
    return plan.status == Plan.Status.ACTIVE


CHART_READINGS = 100  # the readings the plan page's chart draws (the latest ones)
CHART_GRID_LINES = 8


class SkipForm(forms.Form):
    """Why the next occurrence of a plan is skipped (kept in its execution history)."""

    reason = forms.CharField(
        max_length=500,
        label=gettext_lazy("Reason"),
        help_text=gettext_lazy("Kept in the plan's history with the skipped occurrence."),
    )


class ReadingForm(forms.Form):
    """A meter reading typed on a counter plan's page."""

    value = forms.DecimalField(max_digits=20, decimal_places=4, label=gettext_lazy("Reading"))
    recorded_at = forms.SplitDateTimeField(
        required=False,
        widget=AdminSplitDateTime,
        label=gettext_lazy("Read at (UTC)"),
        help_text=gettext_lazy("Empty: now."),
    )
    reset = forms.BooleanField(
        required=False,
        label=gettext_lazy("Meter replaced"),
        help_text=gettext_lazy("The value starts again lower; the thresholds start from it."),
    )


def _counter_lines(plan: Plan, readings: list[CounterReading]) -> list[Line]:
    """The next threshold, and on a fixed grid the grid's earlier thresholds the readings
    passed (a task was due at each)."""
    lines = []
    threshold = plan.next_counter_threshold
    if threshold is not None:
        lines.append(
            Line(
                threshold,
                _("next task at %(value)s %(unit)s")
                % {"value": _number(threshold), "unit": plan.counter_unit},
                "ops-chart-next",
            )
        )
    if readings and threshold is not None and not plan.is_floating and plan.counter_interval:
        low = min(reading.value for reading in readings)
        passed = threshold - plan.counter_interval
        while passed > low and len(lines) <= CHART_GRID_LINES:
            lines.append(Line(passed, _number(passed)))
            passed -= plan.counter_interval
    return lines


@admin.register(Plan)
class PlanAdmin(ServiceModelAdmin):
    form = PlanForm
    change_form_template = "admin/ops_change_form.html"
    list_display = (
        "name",
        "status",
        "trigger_summary",
        "next_due",
        "asset_list",
        "assignee",
        "last_executed_at",
    )
    list_filter = ("status", "trigger", "anchor", "priority", "department")
    list_select_related = ("assignee",)
    search_fields = ("name", "description", "department", "id", "task_code_prefix")
    actions = ("execute_now", "pause", "resume")
    state_fields = (
        "id",
        "status",
        "next_due_utc",
        "counter_state",
        "last_executed_utc",
        "created_at",
        "updated_at",
    )
    readonly_fields = (*state_fields, "recent_tasks", "recent_executions")
    main_fieldsets = (
        (
            None,
            {"fields": ("name", "description", "priority", "department", "assets", "assignee")},
        ),
        (
            gettext_lazy("Task template"),
            {
                "fields": (
                    "task_title",
                    "task_description",
                    "task_checklist",
                    "task_estimated_duration_minutes",
                    "task_code_prefix",
                )
            },
        ),
        (gettext_lazy("Trigger"), {"fields": ("trigger",)}),
        (
            gettext_lazy("Calendar trigger"),
            {
                "fields": (
                    "timezone",
                    "start_at",
                    "end_at",
                    *RULE_BUILDER_LAYOUT,
                    "anchor",
                    ("lead_time_hours", "tolerance_hours"),
                ),
                "classes": ("ops-trigger", "ops-calendar"),
                "description": gettext_lazy(
                    "For trigger = calendar. Times are wall times in the plan's timezone, "
                    "with UTC beside them; the rule is expanded in that zone."
                ),
            },
        ),
        (
            gettext_lazy("Counter trigger"),
            {
                "fields": (
                    "counter_unit",
                    "counter_interval",
                    "counter_anchor",
                    "counter_start_value",
                    "counter_tolerance_units",
                    ("min_interval_every", "min_interval_unit"),
                    ("max_interval_every", "max_interval_unit"),
                ),
                "classes": ("ops-trigger", "ops-counter"),
                "description": gettext_lazy("For trigger = counter."),
            },
        ),
        (
            gettext_lazy("Notifications and costs"),
            {
                "fields": (
                    "notification_channel_ids",
                    ("preventive_cost", "failure_cost"),
                    "holiday_calendar",
                )
            },
        ),
        (gettext_lazy("Compliance"), {"fields": (("grace_hours", "grace_fraction"),)}),
        (
            gettext_lazy("Reminders, escalation and work-order windows"),
            {"fields": PlanWorkFields.WORK_FIELDS},
        ),
    )
    preview_fields = {
        **RULE_PREVIEW_FIELDS,
        "start_date": "start_at_0",
        "start_time": "start_at_1",
        "timezone": "timezone",
    }

    class Media:
        css = {"all": ["admin_ops/ops.css"]}
        js = ["admin_ops/preview.js", "admin_ops/rule_builder.js"]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.main_fieldsets
        return (
            (gettext("State (read-only)"), {"fields": self.state_fields}),
            *self.main_fieldsets,
            (gettext("Recent work"), {"fields": ("recent_tasks", "recent_executions")}),
        )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("plan_assets", queryset=PlanAsset.objects.select_related("asset"))
            )
        )

    object_actions = (
        ObjectAction("execute", gettext_lazy("Execute now"), _is_active),
        ObjectAction("pause", gettext_lazy("Pause"), _is_active),
        ObjectAction("resume", gettext_lazy("Resume"), lambda plan: not _is_active(plan)),
        # Posted by the readings form under a counter plan's page, not an object-tools button.
        ObjectAction("reading", gettext_lazy("Record a reading"), lambda plan: False),
        # Posted by the skip form under the page of a plan with a calendar.
        ObjectAction("skip", gettext_lazy("Skip the next occurrence"), lambda plan: False),
    )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["preview_fields"] = json.dumps(self.preview_fields)
        if obj is not None and not obj.is_calendar:
            context["ops_counter"] = self._counter_context(request, obj)
        skippable = obj is not None and obj.has_calendar and _is_active(obj) and obj.next_due_at
        if skippable and self.has_change_permission(request, obj):
            context["ops_skip"] = {
                "url": self.object_action_url(obj, "skip"),
                "form": SkipForm(),
                "due_at": obj.next_due_at,
            }
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _counter_context(self, request, plan: Plan) -> dict:
        readings = list(
            CounterReading.objects.filter(plan_id=plan.pk).order_by("-recorded_at", "-id")[
                :CHART_READINGS
            ]
        )[::-1]
        return {
            "form": getattr(request, "ops_reading_form", None) or ReadingForm(),
            "url": self.object_action_url(plan, "reading"),
            "can_record": self.has_change_permission(request, plan),
            "unit": plan.counter_unit,
            "readings": readings[::-1][:RECENT],
            "chart": line_chart(
                [(reading.recorded_at, reading.value) for reading in readings],
                lines=_counter_lines(plan, readings),
                label=_("Readings of %(plan)s, with the thresholds") % {"plan": plan.name},
                element_id="counter-chart",
            ),
        }

    def create_through_service(self, request, form):
        try:
            return services.plan_create(spec=form.to_spec(), now=timezone.now())
        except DomainError as exc:
            raise _in_form_terms(exc) from exc

    def update_through_service(self, request, obj, form):
        try:
            return services.plan_update(plan_id=obj.pk, spec=form.to_spec(), now=timezone.now())
        except DomainError as exc:
            raise _in_form_terms(exc) from exc

    def delete_through_service(self, request, obj) -> None:
        services.plan_delete(plan_id=obj.pk)

    def action_execute(self, request, plan: Plan):
        task = services.plan_execute(plan_id=plan.pk, by=actor_name(request), now=timezone.now())
        url = reverse("admin:maintenance_task_change", args=[quote(task.pk)])
        return format_html(_('Task <a href="{}" id="new-task">{}</a> created.'), url, task.code)

    def action_pause(self, request, plan: Plan):
        services.plan_pause(plan_id=plan.pk, now=timezone.now())
        return _("Plan paused.")

    def action_resume(self, request, plan: Plan):
        services.plan_resume(plan_id=plan.pk, now=timezone.now())
        return _("Plan resumed.")

    def action_skip(self, request, plan: Plan):
        """Skip the next occurrence through `plan_skip` (the API's route and rules)."""
        form = SkipForm(request.POST)
        if not form.is_valid():
            raise InvalidInput(
                _("Reason: %(problem)s") % {"problem": form.errors["reason"][0]}, field="reason"
            )
        execution = services.plan_skip(
            plan_id=plan.pk,
            reason=form.cleaned_data["reason"],
            by=actor_name(request),
            now=timezone.now(),
        )
        return _("The occurrence due %(due)s was skipped.") % {"due": _when(execution.due_at)}

    def action_reading(self, request, plan: Plan):
        """A meter reading typed on the plan's page, recorded by `counter_record` (the API's
        rules: a lower value needs "meter replaced", a reading at the threshold makes a task).
        """
        form = ReadingForm(request.POST)
        if not form.is_valid():
            field, problems = next(iter(form.errors.items()))
            raise InvalidInput(f"{form.fields[field].label}: {problems[0]}", field=field)
        data = form.cleaned_data
        result = services.counter_record(
            plan_id=plan.pk,
            value=data["value"],
            source=actor_name(request),
            recorded_at=data.get("recorded_at"),
            reset=data.get("reset", False),
            now=timezone.now(),
        )
        message = _("Reading %(value)s %(unit)s recorded.") % {
            "value": _number(result.reading.value),
            "unit": plan.counter_unit,
        }
        if result.task is not None:
            url = reverse("admin:maintenance_task_change", args=[quote(result.task.pk)])
            return format_html(
                '{} <a href="{}" id="new-task">{}</a>',
                message,
                url,
                _("Task %(code)s created.") % {"code": result.task.code},
            )
        return message

    @admin.display(description=gettext_lazy("Next due"))
    def next_due_utc(self, plan: Plan) -> str:
        if not plan.is_calendar:
            return gettext("— (counter plan)")
        if plan.next_due_at is None:
            return gettext("— (a floating plan waits for its open task, or the plan has ended)")
        # In the plan's zone (the one its rule runs in), UTC beside.
        due, run = (zoned_and_utc(at, plan.timezone) for at in (plan.next_due_at, plan.next_run_at))
        return gettext("%(next_due_at)s; task generated at %(next_run_at)s") % {
            "next_due_at": due,
            "next_run_at": run,
        }

    @admin.display(description=gettext_lazy("Counter"))
    def counter_state(self, plan: Plan) -> str:
        if plan.is_calendar:
            return gettext("— (calendar plan)")
        last = gettext("no reading yet")
        if plan.counter_value is not None:
            last = gettext("last reading %(counter_value)s %(counter_unit)s") % {
                "counter_value": _number(plan.counter_value),
                "counter_unit": plan.counter_unit,
            }
            last += gettext(" at %(counter_recorded_at)s") % {
                "counter_recorded_at": _when(plan.counter_recorded_at)
            }
        threshold = _number(plan.next_counter_threshold)
        return gettext("%(last)s; next task at %(threshold)s %(counter_unit)s") % {
            "last": last,
            "threshold": threshold,
            "counter_unit": plan.counter_unit,
        }

    @admin.display(description=gettext_lazy("Last executed"))
    def last_executed_utc(self, plan: Plan) -> str:
        return zoned_and_utc(plan.last_executed_at, plan.timezone)

    @admin.display(description=gettext_lazy("Recent tasks"))
    def recent_tasks(self, plan: Plan) -> str:
        tasks = (
            Task.objects.filter(plan_id=plan.pk)
            .select_related("assignee")
            .order_by("-created_at", "-code")[:RECENT]
        )
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:maintenance_task_change", args=[quote(t.pk)]),
                    t.code,
                    t.get_status_display(),
                    _when(t.due_at),
                    _when(t.deadline_at),
                    t.assignee or "—",
                )
                for t in tasks
            ),
        )
        if not rows:
            return gettext("No tasks yet.")
        # The labour of all the plan's tasks (not only the recent ones), one aggregate.
        spent = Task.objects.filter(plan_id=plan.pk).aggregate(total=Sum("time_spent_minutes"))
        return format_html(
            '<table class="ops-recent" id="recent-tasks"><tr><th>{}</th><th>{}</th>'
            "<th>{}</th><th>{}</th><th>{}</th></tr>{}</table>"
            '<p id="plan-time-spent">{}</p>',
            gettext("Code"),
            gettext("Status"),
            gettext("Due"),
            gettext("Deadline"),
            gettext("Assignee"),
            rows,
            _("Time spent on this plan's tasks: %(minutes)d min")
            % {"minutes": spent["total"] or 0},
        )

    @admin.display(description=gettext_lazy("Recent executions"))
    def recent_executions(self, plan: Plan) -> str:
        executions = (
            Execution.objects.filter(plan_id=plan.pk)
            .select_related("task")
            .order_by("-executed_at", "-due_at")[:RECENT]
        )
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    e.trigger,
                    _when(e.due_at),
                    _when(e.executed_at),
                    shown_actor(e.executed_by),
                    _task_code_of(e),
                )
                for e in executions
            ),
        )
        if not rows:
            return gettext("No executions yet.")
        return format_html(
            '<table class="ops-recent" id="recent-executions"><tr><th>{}</th><th>{}</th>'
            "<th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
            gettext("Trigger"),
            gettext("Due"),
            gettext("Executed"),
            gettext("By"),
            gettext("Task"),
            rows,
        )

    @admin.display(description=gettext_lazy("Trigger"))
    def trigger_summary(self, plan: Plan) -> str:
        if plan.is_calendar:
            return gettext("calendar (%(anchor)s): %(rrule)s in %(timezone)s") % {
                "anchor": plan.anchor,
                "rrule": plan.rrule,
                "timezone": plan.timezone,
            }
        return gettext("counter (%(anchor)s): every %(counter_interval)s %(counter_unit)s") % {
            "anchor": plan.anchor,
            "counter_interval": _number(plan.counter_interval),
            "counter_unit": plan.counter_unit,
        }

    @admin.display(description=gettext_lazy("Next due"), ordering="next_due_at")
    def next_due(self, plan: Plan) -> str:
        if plan.is_calendar:
            return plan.next_due_at.strftime("%Y-%m-%d %H:%M UTC") if plan.next_due_at else "—"
        return gettext("at %(next_counter_threshold)s %(counter_unit)s") % {
            "next_counter_threshold": _number(plan.next_counter_threshold),
            "counter_unit": plan.counter_unit,
        }

    @admin.display(description=gettext_lazy("Assets"))
    def asset_list(self, plan: Plan) -> str:
        return ", ".join(link.asset.code for link in plan.plan_assets.all()) or "—"

    @admin.action(description=gettext_lazy("Execute now (generate a task)"))
    def execute_now(self, request, queryset):
        by = actor_name(request)
        run_each(
            self,
            request,
            list(queryset),
            gettext("Executed"),
            lambda plan: services.plan_execute(plan_id=plan.pk, by=by, now=timezone.now()),
        )

    @admin.action(description=gettext_lazy("Pause"))
    def pause(self, request, queryset):
        run_each(
            self,
            request,
            list(queryset),
            gettext("Paused"),
            lambda plan: services.plan_pause(plan_id=plan.pk, now=timezone.now()),
        )

    @admin.action(description=gettext_lazy("Resume"))
    def resume(self, request, queryset):
        run_each(
            self,
            request,
            list(queryset),
            gettext("Resumed"),
            lambda plan: services.plan_resume(plan_id=plan.pk, now=timezone.now()),
        )


def _task_code_of(execution: Execution) -> str:
    task = getattr(execution, "task", None)  # a missed occurrence has none
    return task.code if task else ("missed" if execution.missed else "—")


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


RECENT = 10


class TaskAssetInline(admin.TabularInline):
    model = TaskAsset
    extra = 0
    readonly_fields = ("asset",)

    # A task's assets are copied from its plan when it is created; the inline only shows them.
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Task)
class TaskAdmin(TaskExport, _SearchByPlanId, ServiceModelAdmin):
    """Tasks come from plans (no add) and are cancelled, not deleted; a change goes through
    `task_update`."""

    list_display = (
        "code",
        "title",
        "plan_name",
        "status",
        "priority",
        "assignee",
        "due_at",
        "deadline_at",
        "completed_at",
    )
    list_filter = ("status", "priority", "execution__trigger")
    list_select_related = ("plan", "assignee")
    search_fields = ("code", "title", "id")
    date_hierarchy = "due_at"
    actions = ("complete", "cancel")
    inlines = (TaskAssetInline,)
    fields = (
        "id",
        "code",
        "plan_id",
        "execution",
        "title",
        "description",
        "checklist",
        "priority",
        "assignee",
        "estimated_duration_minutes",
        "status",
        "due_at",
        "deadline_at",
        "created_at",
        "started_at",
        "completed_at",
        "completed_by",
        "cancelled_at",
        "delay_reason",
        "delay_note",
        "notes",
        "time_spent_minutes",
    )
    # Asked of a late task (after its deadline and its plan's grace), sent with "Complete".
    delay_fields = ("delay_reason", "delay_note")
    # What this page offers to change; of these, the form shows only what the task's state
    # lets change (`Task.changeable_fields`, the rule `task_update` enforces).
    editable_fields = ("assignee", "checklist", "notes", "time_spent_minutes")
    change_form_template = "admin/maintenance/task/change_form.html"
    # The buttons under the form: each saves the page's edits and moves the task, in one
    # `task_update` (the API's PATCH), so ticks and notes typed before "Complete" are kept.
    status_buttons = (
        ("start", Task.Status.IN_PROGRESS, gettext_lazy("Start"), (Task.Status.OPEN,)),
        ("complete", Task.Status.DONE, gettext_lazy("Complete"), Task.OPEN_STATUSES),
        ("cancel", Task.Status.CANCELLED, gettext_lazy("Cancel task"), Task.OPEN_STATUSES),
    )
    status_messages = {
        Task.Status.IN_PROGRESS: gettext_lazy("Task started."),
        Task.Status.DONE: gettext_lazy("Task completed."),
        Task.Status.CANCELLED: gettext_lazy("Task cancelled."),
    }

    class Media:
        css = {"all": ["admin_ops/ops.css"]}

    @staticmethod
    def _late(task: Task | None) -> bool:
        if task is None or not task.is_open or task.deadline_at is None:
            return False
        grace = task.plan.grace() if task.plan else timedelta(0)
        return timezone.now() > task.deadline_at + grace

    def _editable(self, obj) -> set[str]:
        changeable = obj.changeable_fields() if obj is not None else frozenset()
        editable = {
            name
            for name in self.editable_fields
            if Task._meta.get_field(name).attname in changeable
        }
        return editable | set(self.delay_fields) if self._late(obj) else editable

    def get_fields(self, request, obj=None):
        # A checklist that can no longer change is shown as ticked items, not as JSON; the
        # delay is asked of a late task and shown once given.
        editable = self._editable(obj)
        shown_delay = "delay_reason" in editable or bool(obj and obj.delay_reason)
        return [
            "checklist_items" if name == "checklist" and name not in editable else name
            for name in self.fields
            if shown_delay or name not in self.delay_fields
        ]

    def get_readonly_fields(self, request, obj=None):
        editable = self._editable(obj)
        return [name for name in self.get_fields(request, obj) if name not in editable]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "checklist":
            kwargs["widget"] = ChecklistAnswers
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description=gettext_lazy("checklist"))
    def checklist_items(self, task: Task) -> str:
        return answered_items(task.checklist)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and self.has_change_permission(request, obj):
            context["task_status_buttons"] = [
                {"name": name, "label": label}
                for name, _status, label, from_statuses in self.status_buttons
                if obj.status in from_statuses
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _requested_status(self, request) -> str | None:
        wanted = request.POST.get("_task_status")
        return next((status for name, status, *_ in self.status_buttons if name == wanted), None)

    def response_change(self, request, obj):
        status = self._requested_status(request)
        if status is not None and obj.status == status:
            # Back on the task: the technician goes on working on it (or sees it done).
            self.message_user(request, self.status_messages[status], messages.SUCCESS)
            return HttpResponseRedirect(self.change_url(obj))
        return super().response_change(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "assignee":
            kwargs["queryset"] = Technician.objects.filter(active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def update_through_service(self, request, obj, form):
        # The form has put its values on `obj`; send the ones the operator changed.
        changes = {
            Task._meta.get_field(name).attname: getattr(obj, Task._meta.get_field(name).attname)
            for name in form.changed_data
        }
        status = self._requested_status(request)
        if status is not None:
            changes["status"] = status
        if status != Task.Status.DONE:
            # The services take a delay reason with a completion only.
            for name in self.delay_fields:
                changes.pop(name, None)
        if not changes:
            return obj
        return services.task_update(
            task_id=obj.pk, changes=changes, by=actor_name(request), now=timezone.now()
        )

    def get_urls(self):
        # The work queue lives in its own module (maintenance/admin_queue.py).
        return [*admin_queue.urls(self), *super().get_urls()]

    @admin.display(description=gettext_lazy("Plan"), ordering="plan__name")
    def plan_name(self, task: Task) -> str:
        # The plan may have been deleted: its id stays on the task.
        return (
            task.plan.name
            if task.plan
            else (gettext("%(plan_id)s (deleted)") % {"plan_id": task.plan_id})
        )

    @admin.action(description=gettext_lazy("Complete"))
    def complete(self, request, queryset):
        by = actor_name(request)
        run_each(
            self,
            request,
            list(queryset),
            gettext("Completed"),
            lambda task: services.task_complete(
                task_id=task.pk, completed_at=None, notes=None, by=by, now=timezone.now()
            ),
        )

    @admin.action(description=gettext_lazy("Cancel"))
    def cancel(self, request, queryset):
        run_each(
            self,
            request,
            list(queryset),
            gettext("Cancelled"),
            lambda task: services.task_cancel(task_id=task.pk, notes=None, now=timezone.now()),
        )


@admin.register(Execution)
class ExecutionAdmin(ExecutionExport, _SearchByPlanId, ReadOnlyModelAdmin):
    list_display = (
        "id",
        "plan_name",
        "trigger",
        "due_at",
        "task_code",
        "missed",
        "executed_at",
        "executed_by",
    )
    list_filter = ("trigger", "missed")
    list_select_related = ("plan", "task")
    search_fields = ("id", "task__code")
    date_hierarchy = "due_at"

    @admin.display(description=gettext_lazy("Plan"), ordering="plan__name")
    def plan_name(self, execution: Execution) -> str:
        return (
            execution.plan.name
            if execution.plan
            else (gettext("%(plan_id)s (deleted)") % {"plan_id": execution.plan_id})
        )

    @admin.display(description=gettext_lazy("Task"))
    def task_code(self, execution: Execution) -> str:
        # A missed occurrence has no task (the reverse accessor then raises AttributeError).
        task = getattr(execution, "task", None)
        return task.code if task else "—"


@admin.register(CounterReading)
class CounterReadingAdmin(_SearchByPlanId, ReadOnlyModelAdmin):
    list_display = ("id", "plan_name", "value", "source", "recorded_at", "reset")
    list_filter = ("reset",)
    list_select_related = ("plan",)
    search_fields = ("id", "source")
    date_hierarchy = "recorded_at"

    @admin.display(description=gettext_lazy("Plan"), ordering="plan__name")
    def plan_name(self, reading: CounterReading) -> str:
        return (
            reading.plan.name
            if reading.plan
            else (gettext("%(plan_id)s (deleted)") % {"plan_id": reading.plan_id})
        )


# Scheduled reports have their own admin module (registered on import).
from maintenance import admin_reports  # noqa: E402, F401
