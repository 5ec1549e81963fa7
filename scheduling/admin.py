"""Admin for maintenance windows, events and monitors.

Writes go through the same services as the API: saving a maintenance validates and normalises
its rule and (re)generates its events, deleting an event remembers its occurrence. Events
are not edited field by field here (their window and status follow the API's rules); the
list actions cancel or delete them through the services.
"""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.utils import timezone

from config.errors import DomainError
from scheduling import services
from scheduling.models import (
    DeletedOccurrence,
    EventStatus,
    Maintenance,
    MaintenanceEvent,
    MaintenanceMonitor,
    Monitor,
)


@admin.register(Monitor)
class MonitorAdmin(admin.ModelAdmin):
    list_display = ["tag", "name", "created_at", "updated_at"]
    search_fields = ["tag", "name", "description"]
    ordering = ["tag"]


class MaintenanceMonitorInline(admin.TabularInline):
    model = MaintenanceMonitor
    extra = 1
    autocomplete_fields = ["monitor"]


class MaintenanceForm(forms.ModelForm):
    class Meta:
        model = Maintenance
        fields = [
            "title",
            "description",
            "status",
            "start_date_time",
            "rrule",
            "duration_seconds",
            "timezone",
        ]

    def clean_start_date_time(self):
        # Floored to the minute, as the API does.
        start = self.cleaned_data["start_date_time"]
        return start - timedelta(seconds=start.second, microseconds=start.microsecond)

    def clean(self):
        cleaned = super().clean()
        if all(cleaned.get(name) for name in ("rrule", "start_date_time", "timezone")):
            try:
                recurrence = services.checked_recurrence(
                    rrule=cleaned["rrule"],
                    start=cleaned["start_date_time"],
                    timezone=cleaned["timezone"],
                )
            except DomainError as exc:
                for name, problems in exc.details.items():
                    self.add_error(name if name in self.fields else None, problems)
            else:
                cleaned["rrule"] = recurrence.rule
        return cleaned


@admin.register(Maintenance)
class MaintenanceAdmin(admin.ModelAdmin):
    form = MaintenanceForm
    inlines = [MaintenanceMonitorInline]
    list_display = [
        "id",
        "title",
        "status",
        "rrule",
        "timezone",
        "start_date_time",
        "duration_seconds",
        "updated_at",
    ]
    list_display_links = ["id", "title"]
    list_filter = ["status", "timezone"]
    search_fields = ["title", "description", "monitor_links__monitor__tag"]
    readonly_fields = ["created_at", "updated_at"]
    date_hierarchy = "start_date_time"

    def save_model(self, request, obj, form, change):
        now = timezone.now()
        if not change:
            obj.save()
            if obj.status == Maintenance.Status.ACTIVE:
                services.events_generate(maintenance=obj, now=now)
            return
        # The form has already written its values onto `obj`; the service compares them with
        # the stored row to tell a schedule change or a (de)activation.
        stored = Maintenance.objects.get(pk=obj.pk)
        changes = {name: getattr(obj, name) for name in form.changed_data}
        services.maintenance_update(maintenance=stored, changes=changes, now=now)


@admin.register(MaintenanceEvent)
class MaintenanceEventAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "maintenance",
        "start_date_time",
        "end_date_time",
        "status",
        "live_status",
        "is_modified",
        "occurrence",
    ]
    list_filter = ["status", "is_modified", "maintenance__status"]
    list_select_related = ["maintenance"]
    search_fields = ["maintenance__title"]
    date_hierarchy = "start_date_time"
    ordering = ["start_date_time", "id"]
    actions = ["cancel_events", "delete_events"]

    def has_add_permission(self, request) -> bool:
        return False  # events come from their maintenance's schedule

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # times and status change through the API's rules (or the actions)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # it would forget to remember the occurrences
        return actions

    @admin.display(description="status now")
    def live_status(self, event: MaintenanceEvent) -> str:
        return event.status_at(timezone.now())

    def delete_model(self, request, obj):
        services.event_delete(event=obj)

    @admin.action(description="Cancel selected events", permissions=["delete"])
    def cancel_events(self, request, queryset):
        cancelled, refused = 0, []
        for event in queryset:
            try:
                services.event_transition(event=event, status=EventStatus.CANCELLED)
                cancelled += 1
            except DomainError as exc:
                refused.append(f"#{event.pk}: {exc.message}")
        self.message_user(request, f"{cancelled} events cancelled.")
        if refused:
            self.message_user(request, "; ".join(refused), level=messages.WARNING)

    @admin.action(
        description="Delete selected events (not generated again)", permissions=["delete"]
    )
    def delete_events(self, request, queryset):
        with transaction.atomic():
            events = list(queryset)
            for event in events:
                services.event_delete(event=event)
        self.message_user(request, f"{len(events)} events deleted.")


@admin.register(DeletedOccurrence)
class DeletedOccurrenceAdmin(admin.ModelAdmin):
    list_display = ["maintenance", "occurrence", "created_at"]
    list_select_related = ["maintenance"]
    search_fields = ["maintenance__title"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
