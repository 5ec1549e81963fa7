"""The operators' screens for the v1 domain.

Every change with consequences goes through `maintenance.services` (the API's code path):
the plan actions execute / pause / resume, the task actions complete / cancel, and a task's
assignee or notes edited in its form. Schedules are edited through the API (PUT), which
validates the rule and recomputes the schedule; here they are shown read-only. History
(executions, readings) is read-only. Lists join or prefetch what their columns show, so a
page costs the same number of queries whatever its size.
"""

from decimal import Decimal

from django.contrib import admin, messages
from django.db.models import Prefetch
from django.utils import timezone

from config.api.permissions import actor_of
from config.errors import DomainError
from maintenance import services
from maintenance.models import (
    Asset,
    CounterReading,
    Execution,
    Plan,
    PlanAsset,
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


class PlanAssetInline(admin.TabularInline):
    model = PlanAsset
    extra = 0
    can_delete = False
    readonly_fields = ("asset",)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
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
    inlines = (PlanAssetInline,)
    fieldsets = (
        (None, {"fields": ("id", "name", "description", "status", "priority", "department")}),
        ("Assignment", {"fields": ("assignee",)}),
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
        (
            "Schedule (edit through the API)",
            {
                "fields": (
                    "trigger",
                    "anchor",
                    "rrule",
                    "start_at",
                    "end_at",
                    "timezone",
                    "lead_time_hours",
                    "tolerance_hours",
                    "next_due_at",
                    "counter_unit",
                    "counter_interval",
                    "counter_start_value",
                    "counter_tolerance_units",
                    "counter_value",
                    "next_counter_threshold",
                    "last_executed_at",
                )
            },
        ),
        ("Costs", {"fields": ("preventive_cost", "failure_cost")}),
    )
    readonly_fields = (
        "id",
        "status",
        "task_code_prefix",
        "trigger",
        "anchor",
        "rrule",
        "start_at",
        "end_at",
        "timezone",
        "lead_time_hours",
        "tolerance_hours",
        "next_due_at",
        "counter_unit",
        "counter_interval",
        "counter_start_value",
        "counter_tolerance_units",
        "counter_value",
        "next_counter_threshold",
        "last_executed_at",
    )

    def has_add_permission(self, request):
        return False  # created through the API, which validates the schedule

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("plan_assets", queryset=PlanAsset.objects.select_related("asset"))
            )
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "assignee":
            kwargs["queryset"] = Technician.objects.filter(active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

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


class TaskAssetInline(admin.TabularInline):
    model = TaskAsset
    extra = 0
    can_delete = False
    readonly_fields = ("asset",)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
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
    search_fields = ("code", "title", "plan_id", "id")
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
class ExecutionAdmin(_ReadOnlyAdmin):
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
    search_fields = ("id", "plan_id", "task__code")
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
class CounterReadingAdmin(_ReadOnlyAdmin):
    list_display = ("id", "plan_name", "value", "source", "recorded_at", "reset")
    list_filter = ("reset",)
    list_select_related = ("plan",)
    search_fields = ("id", "plan_id", "source")
    date_hierarchy = "recorded_at"

    @admin.display(description="Plan", ordering="plan__name")
    def plan_name(self, reading: CounterReading) -> str:
        return reading.plan.name if reading.plan else f"{reading.plan_id} (deleted)"
from maintenance import admin_optimisation  # noqa: E402,F401
