"""The operators' screens for the v1 domain.

Every change with consequences goes through `maintenance.services` (the API's code path).
The plan form has structured fields for both triggers; its `clean()` builds the API's body,
validates it with the API serializer and calls `plan_create` / `plan_update`, so the rules
and messages are the API's. The plan page shows the schedule state read-only, a live preview
of the rule (static/admin_ops/preview.js and /admin/schedule/preview), recent tasks and
executions, and execute / pause / resume buttons; the task work queue (/admin/maintenance/
task/queue/) completes and cancels through the services. History (executions, readings) is
read-only. Lists join or prefetch what their columns show, so a page costs the same number of
queries whatever its size.
"""

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import (
    AdminSplitDateTime,
    AutocompleteSelect,
    AutocompleteSelectMultiple,
)
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Case, F, Prefetch, Q, Value, When
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from core.api.exceptions import flatten_details
from core.api.permissions import actor_of
from core.errors import DomainError
from maintenance import services
from maintenance.api.serializers import PlanInput
from maintenance.models import (
    Asset,
    CounterReading,
    Execution,
    Plan,
    PlanAsset,
    Priority,
    Task,
    TaskAsset,
    Technician,
)


def _number(value: Decimal | None) -> str:
    return "—" if value is None else f"{value.normalize():f}"


def _run_each(modeladmin, request, objects, verb: str, call) -> None:
    """Call a service per selected row; report successes and each refusal."""
    done = 0
    for obj in objects:
        try:
            call(obj)
        except DomainError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.message}", messages.WARNING)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, f"{verb} {done} of {len(objects)}.", messages.SUCCESS)


class _SearchByPlanId:
    """Search also matches the plan id exactly. `plan` is a soft foreign key, which has no
    `icontains`, and a deleted plan's rows must still be found by its id."""

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            results |= queryset.filter(plan_id=term)
        return results, may_have_duplicates


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "location", "installed_at", "updated_at")
    search_fields = ("code", "name", "location", "id")
    readonly_fields = ("id", "created_at", "updated_at")


@admin.register(Technician)
class TechnicianAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "active", "daily_capacity_minutes", "skills")
    list_filter = ("active",)
    search_fields = ("name", "email", "id")
    readonly_fields = ("id", "created_at", "updated_at")


# --- plans -------------------------------------------------------------------------------------


def _text_number(raw: str):
    """A numeric form value as the JSON number the API expects; text that is not a number is
    passed on as text so the API serializer refuses it with its own message."""
    raw = (raw or "").strip()
    if raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        return raw


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _lines(raw: str) -> list[str]:
    return [line.strip() for line in (raw or "").splitlines() if line.strip()]


# API error keys (flattened: "calendar.rrule", "task.checklist[0]") → the form's fields.
_ERROR_FIELDS = {
    "asset_ids": "assets",
    "assignee_id": "assignee",
    "task.title": "task_title",
    "task.description": "task_description",
    "task.checklist": "task_checklist",
    "task.estimated_duration_minutes": "task_estimated_duration_minutes",
    "calendar": "trigger",
    "counter": "trigger",
    "calendar.anchor": "anchor",
    "counter.unit": "counter_unit",
    "counter.interval": "counter_interval",
    "counter.anchor": "counter_anchor",
    "counter.start_value": "counter_start_value",
    "counter.tolerance_units": "counter_tolerance_units",
}


class PlanForm(forms.ModelForm):
    """Structured fields for a plan; validated and saved by the API's own code.

    `clean()` builds the v1 Plan body from the fields, validates it with the API serializer
    (`PlanInput`) and creates or updates the plan with `services.plan_create/plan_update`, so
    the rules and the messages are the API's; each API error lands on the field it names.
    """

    name = forms.CharField(max_length=255)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.MEDIUM)
    department = forms.CharField(required=False)
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
        required=False, max_length=255, help_text="Defaults to the plan's name."
    )
    task_description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    task_checklist = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, help_text="One item per line."
    )
    task_estimated_duration_minutes = forms.CharField(required=False, label="Estimated minutes")
    task_code_prefix = forms.CharField(initial="MAN", required=False)
    trigger = forms.ChoiceField(
        choices=Plan.Trigger.choices, widget=forms.RadioSelect, initial=Plan.Trigger.CALENDAR
    )
    rrule = forms.CharField(
        required=False,
        max_length=1000,
        label="RRULE",
        widget=forms.TextInput(attrs={"size": 60}),
        help_text="e.g. FREQ=WEEKLY;BYDAY=MO. Or leave empty and use every + unit.",
    )
    every = forms.CharField(required=False)
    unit = forms.ChoiceField(choices=[("", "---"), *Plan.Unit.choices], required=False)
    start_at = forms.SplitDateTimeField(
        required=False, widget=AdminSplitDateTime, label="Start at (UTC)"
    )
    end_at = forms.SplitDateTimeField(
        required=False, widget=AdminSplitDateTime, label="End at (UTC)"
    )
    timezone = forms.CharField(initial="UTC", help_text="IANA zone the rule is expanded in.")
    anchor = forms.ChoiceField(choices=Plan.Anchor.choices, initial=Plan.Anchor.FIXED)
    lead_time_hours = forms.CharField(initial="0", required=False)
    tolerance_hours = forms.CharField(initial="24", required=False)
    counter_unit = forms.CharField(required=False, label="Unit")
    counter_interval = forms.CharField(required=False, label="Interval")
    counter_anchor = forms.ChoiceField(
        choices=Plan.Anchor.choices, initial=Plan.Anchor.FIXED, label="Anchor"
    )
    counter_start_value = forms.CharField(required=False, initial="0", label="Start value")
    counter_tolerance_units = forms.CharField(required=False, label="Tolerance units")
    notification_channel_ids = forms.CharField(
        required=False, help_text="Channel ids, separated by commas."
    )
    preventive_cost = forms.CharField(required=False)
    failure_cost = forms.CharField(required=False)

    class Meta:
        model = Plan
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        plan = self.instance
        self.saved_plan: Plan | None = None
        if not plan._state.adding and not self.is_bound:
            self.initial.update(self._initial_from(plan))

    @staticmethod
    def _initial_from(plan: Plan) -> dict:
        def num(value):
            return "" if value is None else _number(Decimal(str(value)))

        return {
            "name": plan.name,
            "description": plan.description,
            "priority": plan.priority,
            "department": plan.department,
            "assets": [link.asset_id for link in plan.plan_assets.all()],
            "assignee": plan.assignee_id,
            "task_title": plan.task_title,
            "task_description": plan.task_description,
            "task_checklist": "\n".join(plan.task_checklist),
            "task_estimated_duration_minutes": num(plan.task_estimated_duration_minutes),
            "task_code_prefix": plan.task_code_prefix,
            "trigger": plan.trigger,
            "rrule": "" if plan.every else plan.rrule,
            "every": num(plan.every),
            "unit": plan.unit,
            "start_at": plan.start_at,
            "end_at": plan.end_at,
            "timezone": plan.timezone,
            "anchor": plan.anchor,
            "lead_time_hours": num(plan.lead_time_hours),
            "tolerance_hours": num(plan.tolerance_hours),
            "counter_unit": plan.counter_unit,
            "counter_interval": num(plan.counter_interval),
            "counter_anchor": plan.anchor,
            "counter_start_value": num(plan.counter_start_value),
            "counter_tolerance_units": num(plan.counter_tolerance_units),
            "notification_channel_ids": ", ".join(plan.notification_channel_ids),
            "preventive_cost": num(plan.preventive_cost),
            "failure_cost": num(plan.failure_cost),
        }

    def _post_clean(self):
        pass  # the service validates and saves the plan; the bare instance is never saved

    def api_body(self) -> dict:
        """The v1 Plan body (JSON types) these fields describe."""
        cd = self.cleaned_data
        task = {
            "description": cd.get("task_description", ""),
            "checklist": _lines(cd.get("task_checklist", "")),
            "estimated_duration_minutes": _text_number(cd.get("task_estimated_duration_minutes")),
        }
        if cd.get("task_title"):
            task["title"] = cd["task_title"]
        body = {
            "name": cd.get("name", ""),
            "description": cd.get("description", ""),
            "priority": cd.get("priority"),
            "asset_ids": [asset.pk for asset in cd.get("assets") or []],
            "assignee_id": cd["assignee"].pk if cd.get("assignee") else None,
            "department": cd.get("department", ""),
            "task": task,
            "task_code_prefix": cd.get("task_code_prefix") or "MAN",
            "trigger": cd.get("trigger"),
            "calendar": None,
            "counter": None,
            "notification_channel_ids": [
                part.strip()
                for part in (cd.get("notification_channel_ids") or "").split(",")
                if part.strip()
            ],
            "preventive_cost": _text_number(cd.get("preventive_cost")),
            "failure_cost": _text_number(cd.get("failure_cost")),
        }
        if body["trigger"] == Plan.Trigger.CALENDAR:
            calendar = {
                "timezone": cd.get("timezone") or "UTC",
                "anchor": cd.get("anchor"),
                "end_at": _iso(cd.get("end_at")),
            }
            if cd.get("rrule"):
                calendar["rrule"] = cd["rrule"]
            if cd.get("every"):
                calendar["every"] = _text_number(cd["every"])
            if cd.get("unit"):
                calendar["unit"] = cd["unit"]
            if cd.get("start_at"):
                calendar["start_at"] = _iso(cd["start_at"])
            for name in ("lead_time_hours", "tolerance_hours"):
                if _text_number(cd.get(name)) is not None:
                    calendar[name] = _text_number(cd[name])
            body["calendar"] = calendar
        elif body["trigger"] == Plan.Trigger.COUNTER:
            counter = {"unit": cd.get("counter_unit", ""), "anchor": cd.get("counter_anchor")}
            for key in ("interval", "start_value", "tolerance_units"):
                value = _text_number(cd.get(f"counter_{key}"))
                if value is not None:
                    counter[key] = value
            body["counter"] = counter
        return body

    def _add_api_errors(self, details: dict) -> None:
        for key, problems in details.items():
            base = re.sub(r"\[\d+\]", "", key)
            name = _ERROR_FIELDS.get(base, base.removeprefix("calendar."))
            if name in self.fields:
                self.add_error(name, problems)
            elif key == "non_field_errors":
                self.add_error(None, problems)
            else:
                self.add_error(None, [f"{key}: {problem}" for problem in problems])

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        body = PlanInput(data=self.api_body())
        if not body.is_valid():
            self._add_api_errors(flatten_details(body.errors))
            return cleaned
        now = timezone.now()
        try:
            with transaction.atomic():
                if not self.instance._state.adding:
                    plan = services.plan_update(
                        plan_id=self.instance.pk, data=body.validated_data, now=now
                    )
                else:
                    plan = services.plan_create(data=body.validated_data, now=now)
        except DomainError as exc:
            self._add_api_errors(exc.details or {"non_field_errors": [exc.message]})
        else:
            self.saved_plan = plan
        return cleaned


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
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
            "Task template",
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
        ("Trigger", {"fields": ("trigger",)}),
        (
            "Calendar trigger",
            {
                "fields": (
                    "rrule",
                    ("every", "unit"),
                    "start_at",
                    "end_at",
                    "timezone",
                    "anchor",
                    ("lead_time_hours", "tolerance_hours"),
                ),
                "classes": ("ops-trigger", "ops-calendar"),
                "description": "For trigger = calendar. Times are UTC; the rule is expanded "
                "in the timezone below.",
            },
        ),
        (
            "Counter trigger",
            {
                "fields": (
                    "counter_unit",
                    "counter_interval",
                    "counter_anchor",
                    "counter_start_value",
                    "counter_tolerance_units",
                ),
                "classes": ("ops-trigger", "ops-counter"),
                "description": "For trigger = counter.",
            },
        ),
        (
            "Notifications and costs",
            {"fields": ("notification_channel_ids", ("preventive_cost", "failure_cost"))},
        ),
    )
    preview_fields = {
        "rrule": "rrule",
        "every": "every",
        "unit": "unit",
        "start_date": "start_at_0",
        "start_time": "start_at_1",
        "timezone": "timezone",
    }

    class Media:
        css = {"all": ["admin_ops/ops.css"]}
        js = ["admin_ops/preview.js"]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.main_fieldsets
        return (
            ("State (read-only)", {"fields": self.state_fields}),
            *self.main_fieldsets,
            ("Recent work", {"fields": ("recent_tasks", "recent_executions")}),
        )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("plan_assets", queryset=PlanAsset.objects.select_related("asset"))
            )
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["preview_fields"] = json.dumps(self.preview_fields)
        if obj is not None:
            context["ops_object_actions"] = [
                {
                    "name": name,
                    "label": label,
                    "url": reverse(f"admin:maintenance_plan_{name}", args=[obj.pk]),
                }
                for name, label in (
                    ("execute", "Execute now"),
                    ("pause", "Pause"),
                    ("resume", "Resume"),
                )
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_form(self, request, form, change):
        # The form's clean() already created or updated the plan through the service.
        return form.saved_plan

    def save_model(self, request, obj, form, change):
        pass

    def save_related(self, request, form, formsets, change):
        pass

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            *[
                path(
                    f"<path:object_id>/{name}/",
                    wrap(partial(self.object_action_view, action=name)),
                    name=f"maintenance_plan_{name}",
                )
                for name in ("execute", "pause", "resume")
            ],
            *super().get_urls(),
        ]

    def object_action_view(self, request, object_id, action):
        """POST: execute / pause / resume one plan through the service, back to its page."""
        plan = self.get_object(request, object_id)
        if plan is None:
            raise Http404
        if request.method != "POST" or not self.has_change_permission(request, plan):
            raise PermissionDenied
        now = timezone.now()
        try:
            if action == "execute":
                task = services.plan_execute(plan_id=plan.pk, by=actor_of(request), now=now)
                url = reverse("admin:maintenance_task_change", args=[task.pk])
                self.message_user(
                    request,
                    format_html('Task <a href="{}" id="new-task">{}</a> created.', url, task.code),
                    messages.SUCCESS,
                )
            elif action == "pause":
                services.plan_pause(plan_id=plan.pk, now=now)
                self.message_user(request, "Plan paused.", messages.SUCCESS)
            elif action == "resume":
                services.plan_resume(plan_id=plan.pk, now=now)
                self.message_user(request, "Plan resumed.", messages.SUCCESS)
            else:
                raise Http404
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        return redirect("admin:maintenance_plan_change", plan.pk)

    @admin.display(description="Next due (UTC)")
    def next_due_utc(self, plan: Plan) -> str:
        if not plan.is_calendar:
            return "— (counter plan)"
        if plan.next_due_at is None:
            return "— (a floating plan waits for its open task, or the plan has ended)"
        return f"{_when(plan.next_due_at)}; task generated at {_when(plan.next_run_at)}"

    @admin.display(description="Counter")
    def counter_state(self, plan: Plan) -> str:
        if plan.is_calendar:
            return "— (calendar plan)"
        last = "no reading yet"
        if plan.counter_value is not None:
            last = f"last reading {_number(plan.counter_value)} {plan.counter_unit}"
            last += f" at {_when(plan.counter_recorded_at)}"
        threshold = _number(plan.next_counter_threshold)
        return f"{last}; next task at {threshold} {plan.counter_unit}"

    @admin.display(description="Last executed (UTC)")
    def last_executed_utc(self, plan: Plan) -> str:
        return _when(plan.last_executed_at)

    @admin.display(description="Recent tasks")
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
                    reverse("admin:maintenance_task_change", args=[t.pk]),
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
            return "No tasks yet."
        return format_html(
            '<table class="ops-recent" id="recent-tasks"><tr><th>Code</th><th>Status</th>'
            "<th>Due</th><th>Deadline</th><th>Assignee</th></tr>{}</table>",
            rows,
        )

    @admin.display(description="Recent executions")
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
                    e.executed_by,
                    _task_code_of(e),
                )
                for e in executions
            ),
        )
        if not rows:
            return "No executions yet."
        return format_html(
            '<table class="ops-recent" id="recent-executions"><tr><th>Trigger</th><th>Due</th>'
            "<th>Executed</th><th>By</th><th>Task</th></tr>{}</table>",
            rows,
        )

    @admin.display(description="Trigger")
    def trigger_summary(self, plan: Plan) -> str:
        if plan.is_calendar:
            return f"calendar ({plan.anchor}): {plan.rrule} in {plan.timezone}"
        return (
            f"counter ({plan.anchor}): every {_number(plan.counter_interval)} {plan.counter_unit}"
        )

    @admin.display(description="Next due", ordering="next_due_at")
    def next_due(self, plan: Plan) -> str:
        if plan.is_calendar:
            return plan.next_due_at.strftime("%Y-%m-%d %H:%M UTC") if plan.next_due_at else "—"
        return f"at {_number(plan.next_counter_threshold)} {plan.counter_unit}"

    @admin.display(description="Assets")
    def asset_list(self, plan: Plan) -> str:
        return ", ".join(link.asset.code for link in plan.plan_assets.all()) or "—"

    @admin.action(description="Execute now (generate a task)")
    def execute_now(self, request, queryset):
        by = actor_of(request)
        _run_each(
            self,
            request,
            list(queryset),
            "Executed",
            lambda plan: services.plan_execute(plan_id=plan.pk, by=by, now=timezone.now()),
        )

    @admin.action(description="Pause")
    def pause(self, request, queryset):
        _run_each(
            self,
            request,
            list(queryset),
            "Paused",
            lambda plan: services.plan_pause(plan_id=plan.pk, now=timezone.now()),
        )

    @admin.action(description="Resume")
    def resume(self, request, queryset):
        _run_each(
            self,
            request,
            list(queryset),
            "Resumed",
            lambda plan: services.plan_resume(plan_id=plan.pk, now=timezone.now()),
        )


QUEUE_PAGE_SIZE = 50


def work_queue(*, now: datetime):
    """Open and in-progress tasks, by deadline: the overdue ones (deadline passed) come first
    by construction, then the rest; tasks with no deadline yet (counter) last, by due date.
    A plain column order, so PostgreSQL keeps only the page's rows while sorting."""
    return (
        Task.objects.filter(status__in=Task.OPEN_STATUSES)
        .annotate(
            overdue=Case(
                When(Q(deadline_at__isnull=False, deadline_at__lt=now), then=Value(True)),
                default=Value(False),
            ),
        )
        .select_related("plan", "assignee")
        .prefetch_related(
            Prefetch("task_assets", queryset=TaskAsset.objects.select_related("asset"))
        )
        .order_by(F("deadline_at").asc(nulls_last=True), "due_at", "code")
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
    can_delete = False
    readonly_fields = ("asset",)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Task)
class TaskAdmin(_SearchByPlanId, admin.ModelAdmin):
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
        "notes",
    )
    editable_fields = ("assignee", "notes")

    def get_readonly_fields(self, request, obj=None):
        # A closed task only takes notes (the service's rule, mirrored so the form says so).
        editable = self.editable_fields if obj is None or obj.is_open else ("notes",)
        return [name for name in self.fields if name not in editable]

    def has_add_permission(self, request):
        return False  # tasks come from plans

    def has_delete_permission(self, request, obj=None):
        return False  # work orders are cancelled, not deleted

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "assignee":
            kwargs["queryset"] = Technician.objects.filter(active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        changes = {}
        if "assignee" in form.changed_data:
            changes["assignee_id"] = obj.assignee_id
        if "notes" in form.changed_data:
            changes["notes"] = obj.notes
        if changes:
            try:
                services.task_update(
                    task_id=obj.pk, changes=changes, by=actor_of(request), now=timezone.now()
                )
            except DomainError as exc:  # e.g. the task was closed meanwhile
                self.message_user(request, exc.message, messages.ERROR)

    def get_urls(self):
        return [
            path(
                "queue/",
                self.admin_site.admin_view(self.work_queue_view),
                name="maintenance_task_queue",
            ),
            *super().get_urls(),
        ]

    def work_queue_view(self, request):
        """Open and in-progress tasks, overdue first (oldest deadline first), then by due
        date; complete or cancel the ticked ones through the services. A page of
        QUEUE_PAGE_SIZE costs a fixed number of queries."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        now = timezone.now()
        if request.method == "POST":
            if not self.has_change_permission(request):
                raise PermissionDenied
            action = request.POST.get("action")
            selected = request.POST.getlist("task")
            tasks = list(Task.objects.filter(pk__in=selected))
            by = actor_of(request)
            if action == "complete":
                _run_each(
                    self,
                    request,
                    tasks,
                    "Completed",
                    lambda task: services.task_complete(
                        task_id=task.pk, completed_at=None, notes=None, by=by, now=timezone.now()
                    ),
                )
            elif action == "cancel":
                _run_each(
                    self,
                    request,
                    tasks,
                    "Cancelled",
                    lambda task: services.task_cancel(
                        task_id=task.pk, notes=None, now=timezone.now()
                    ),
                )
            return redirect(request.get_full_path())
        queue = work_queue(now=now)
        page = Paginator(queue, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Work queue: open tasks, overdue first",
            "opts": self.model._meta,
            "page": page,
            "now": now,
        }
        return TemplateResponse(request, "admin/maintenance/task/queue.html", context)

    @admin.display(description="Plan", ordering="plan__name")
    def plan_name(self, task: Task) -> str:
        # The plan may have been deleted: its id stays on the task.
        return task.plan.name if task.plan else f"{task.plan_id} (deleted)"

    @admin.action(description="Complete")
    def complete(self, request, queryset):
        by = actor_of(request)
        _run_each(
            self,
            request,
            list(queryset),
            "Completed",
            lambda task: services.task_complete(
                task_id=task.pk, completed_at=None, notes=None, by=by, now=timezone.now()
            ),
        )

    @admin.action(description="Cancel")
    def cancel(self, request, queryset):
        _run_each(
            self,
            request,
            list(queryset),
            "Cancelled",
            lambda task: services.task_cancel(task_id=task.pk, notes=None, now=timezone.now()),
        )


@admin.register(Execution)
class ExecutionAdmin(_SearchByPlanId, _ReadOnlyAdmin):
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

    @admin.display(description="Plan", ordering="plan__name")
    def plan_name(self, execution: Execution) -> str:
        return execution.plan.name if execution.plan else f"{execution.plan_id} (deleted)"

    @admin.display(description="Task")
    def task_code(self, execution: Execution) -> str:
        # A missed occurrence has no task (the reverse accessor then raises AttributeError).
        task = getattr(execution, "task", None)
        return task.code if task else "—"


@admin.register(CounterReading)
class CounterReadingAdmin(_SearchByPlanId, _ReadOnlyAdmin):
    list_display = ("id", "plan_name", "value", "source", "recorded_at", "reset")
    list_filter = ("reset",)
    list_select_related = ("plan",)
    search_fields = ("id", "source")
    date_hierarchy = "recorded_at"

    @admin.display(description="Plan", ordering="plan__name")
    def plan_name(self, reading: CounterReading) -> str:
        return reading.plan.name if reading.plan else f"{reading.plan_id} (deleted)"
