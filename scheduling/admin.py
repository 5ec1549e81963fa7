"""Admin for maintenance windows, events and monitors, on `core.admin.ServiceModelAdmin`.

Every write goes through the same services as the API: saving a maintenance validates and
normalises its rule and (re)generates its events, its monitor rows replace its list the
API's way, deleting an event remembers its occurrence, a monitor still in use is refused with
the API's message. A window's page lists its upcoming events inline, where each can be moved
(start/end), cancelled, ended now or deleted through `scheduling.services` (so an edited or
deleted occurrence is never generated again), and a live preview shows the rule's next
occurrences and, when the schedule is being changed, the not-started events a save would
replace. In the event list the actions cancel or delete through the services.
"""

import copy
import json
from contextlib import contextmanager
from datetime import datetime, timedelta

from django import forms
from django.contrib import admin, messages
from django.db.models import Prefetch
from django.forms.models import BaseInlineFormSet
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext as _

from core.admin import ServiceModelAdmin, ServiceRefused, run_each, zoned_and_utc
from core.admin_fields import TimezoneField
from core.admin_rules import (
    RULE_BUILDER_LAYOUT,
    RULE_PREVIEW_FIELDS,
    DurationFields,
    RuleBuilderFields,
)
from core.admin_zoned import ZonedDateTimeField, ZonedTimesMixin
from core.errors import DomainError
from scheduling import selectors, services
from scheduling.models import (
    DeletedOccurrence,
    EventStatus,
    Maintenance,
    MaintenanceEvent,
    MaintenanceMonitor,
    Monitor,
)
from scheduling.specs import MaintenanceChanges, MaintenanceSpec, MonitorLink, Schedule


class MonitorForm(forms.ModelForm):
    class Meta:
        model = Monitor
        fields = ["tag", "name", "description"]

    def validate_unique(self):
        # A taken tag is the service's to refuse (a 409 in the API): its message, on the tag
        # field, and no check-then-insert race.
        pass


@admin.register(Monitor)
class MonitorAdmin(ServiceModelAdmin):
    form = MonitorForm
    list_display = ["tag", "name", "created_at", "updated_at"]
    search_fields = ["tag", "name", "description"]
    ordering = ["tag"]

    def create_through_service(self, request, form) -> Monitor:
        data = form.cleaned_data
        return services.monitor_create(
            tag=data["tag"], name=data["name"], description=data["description"]
        )

    def update_through_service(self, request, obj, form) -> Monitor:
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        # The stored row, not the form's instance, which already carries the new values.
        stored = Monitor.objects.get(pk=obj.pk)
        return services.monitor_update(monitor=stored, changes=changes)

    def delete_through_service(self, request, obj) -> None:
        services.monitor_delete(monitor=obj)


class MaintenanceMonitorInline(admin.TabularInline):
    model = MaintenanceMonitor
    extra = 1
    autocomplete_fields = ["monitor"]


# What a window's spec takes from the form (the builder and the duration fields give
# `rrule` and `duration_seconds`; the start is UTC after the form's clean).
SPEC_FIELDS = (
    "title",
    "description",
    "status",
    "start_date_time",
    "rrule",
    "duration_seconds",
    "timezone",
)


class MaintenanceForm(ZonedTimesMixin, RuleBuilderFields, DurationFields, forms.ModelForm):
    """A window: its rule from the shared builder (or raw, in advanced mode), its duration
    in minutes, hours or days, its start as wall time in its own timezone."""

    start_date_time = ZonedDateTimeField(label=gettext_lazy("Start (local time)"))
    zoned_fields = ("start_date_time",)
    timezone = TimezoneField(
        initial="UTC", help_text=Maintenance._meta.get_field("timezone").help_text
    )
    duration_model_field = Maintenance._meta.get_field("duration_seconds")

    class Meta:
        model = Maintenance
        fields = ["title", "description", "status", "start_date_time", "timezone"]

    # The rule, start and zone are checked (and the rule normalised) by the service, whose
    # refusal comes back on these fields with the API's messages.

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Not model fields of this form (the builder and the duration give them), but the
        # stored values they start from.
        if self.instance.pk is not None:
            self.initial.setdefault("rrule", self.instance.rrule)
            self.initial.setdefault("duration_seconds", self.instance.duration_seconds)

    def clean_start_date_time(self):
        # Floored to the minute, as the API does.
        start = self.cleaned_data["start_date_time"]
        return start - timedelta(seconds=start.second, microseconds=start.microsecond)

    def spec_values(self) -> dict:
        return {name: self.cleaned_data[name] for name in SPEC_FIELDS}


UPCOMING_EVENTS = 20


class UpcomingEventFormSet(BaseInlineFormSet):
    """The window's first UPCOMING_EVENTS events that have not ended (one bounded id query,
    so a rule with hundreds of events in the horizon still renders a short page)."""

    def get_queryset(self):
        if not hasattr(self, "_upcoming"):
            mine = super().get_queryset()  # this maintenance's events
            ids = list(
                mine.filter(end_date_time__gt=timezone.now())
                .order_by("start_date_time", "id")
                .values_list("pk", flat=True)[:UPCOMING_EVENTS]
            )
            self._upcoming = (
                mine.model.objects.filter(pk__in=ids)
                .select_related("maintenance")  # each row's label shows the window's zone
                .order_by("start_date_time", "id")
            )
        return self._upcoming

    def full_clean(self):
        # A POST without this formset's management form (a script, or a page rendered before
        # the window had events) edits no event, rather than failing the whole save.
        if self.is_bound and f"{self.prefix}-TOTAL_FORMS" not in self.data:
            self._errors, self._non_form_errors = [], self.error_class()
            return
        super().full_clean()


class UpcomingEventForm(ZonedTimesMixin, forms.ModelForm):
    """One upcoming event: move it (start/end), or pick an operation; delete with the box.
    Its times are wall times in its window's timezone."""

    start_date_time = ZonedDateTimeField(label=gettext_lazy("Start (local time)"))
    end_date_time = ZonedDateTimeField(label=gettext_lazy("End (local time)"))
    zoned_fields = ("start_date_time", "end_date_time")
    zone_field = None

    def object_zone(self) -> str | None:
        event = self.instance
        return event.maintenance.timezone if event.maintenance_id else None

    operation = forms.ChoiceField(
        choices=[
            ("", "—"),
            ("cancel", gettext_lazy("Cancel it")),
            ("end_now", gettext_lazy("End it now (ongoing only)")),
        ],
        required=False,
    )

    class Meta:
        model = MaintenanceEvent
        fields = ["start_date_time", "end_date_time"]

    def _post_clean(self):
        pass  # changes go through the services (and their rules), never form.save()

    @property
    def row_label(self) -> str:
        """The event as a person names it: when it starts, in its window's zone and UTC."""
        event = self.instance
        if event.pk is None:
            return ""
        return _("Event #%(id)s, %(when)s") % {
            "id": event.pk,
            "when": zoned_and_utc(event.start_date_time, event.maintenance.timezone),
        }


class UpcomingEventInline(admin.TabularInline):
    """The window's next events, each editable the API's way (scheduling.services)."""

    model = MaintenanceEvent
    form = UpcomingEventForm
    formset = UpcomingEventFormSet
    fk_name = "maintenance"
    template = "admin/scheduling/maintenance/upcoming_events.html"
    extra = 0
    can_delete = True
    verbose_name = gettext_lazy("upcoming event")
    verbose_name_plural = format_lazy(
        gettext_lazy("Upcoming events (the next {count}; times in the window's timezone)"),
        count=UPCOMING_EVENTS,
    )
    fields = [
        "start_date_time",
        "end_date_time",
        "status_now",
        "is_modified",
        "occurrence",
        "operation",
    ]
    readonly_fields = ["status_now", "is_modified", "occurrence"]
    ordering = ["start_date_time", "id"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=gettext_lazy("status now"))
    def status_now(self, event: MaintenanceEvent) -> str:
        return event.status_at(timezone.now()) if event.pk else "—"


@admin.register(Maintenance)
class MaintenanceAdmin(ServiceModelAdmin):
    form = MaintenanceForm
    change_form_template = "admin/ops_change_form.html"
    inlines = [MaintenanceMonitorInline, UpcomingEventInline]
    list_display = [
        "id",
        "title",
        "status",
        "rrule",
        "timezone",
        "start_shown",
        "duration_shown",
        "monitor_list",
        "updated_at",
    ]
    list_display_links = ["id", "title"]
    list_filter = ["status", "timezone"]
    search_fields = ["title", "description", "monitor_links__monitor__tag"]
    readonly_fields = ["created_at", "updated_at"]
    date_hierarchy = "start_date_time"
    preview_fields = {
        **RULE_PREVIEW_FIELDS,
        "start_date": "start_date_time_0",
        "start_time": "start_date_time_1",
        "timezone": "timezone",
        "duration": "duration",
        "duration_unit": "duration_unit",
    }
    fieldsets = (
        (None, {"fields": ("title", "description", "status")}),
        (
            gettext_lazy("Schedule"),
            {
                "fields": (
                    "timezone",
                    "start_date_time",
                    ("duration", "duration_unit"),
                    *RULE_BUILDER_LAYOUT,
                ),
                "description": gettext_lazy(
                    "Times are wall times in the window's timezone, with UTC beside them."
                ),
            },
        ),
        (None, {"fields": ("created_at", "updated_at")}),
    )

    class Media:
        css = {"all": ["admin_ops/ops.css"]}
        js = ["admin_ops/preview.js", "admin_ops/rule_builder.js"]

    @admin.display(description=gettext_lazy("start"), ordering="start_date_time")
    def start_shown(self, maintenance: Maintenance) -> str:
        return zoned_and_utc(maintenance.start_date_time, maintenance.timezone)

    @admin.display(description=gettext_lazy("duration"), ordering="duration_seconds")
    def duration_shown(self, maintenance: Maintenance) -> str:
        return duration_text(maintenance.duration_seconds)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch(
                    "monitor_links", queryset=MaintenanceMonitor.objects.select_related("monitor")
                )
            )
        )

    @admin.display(description=gettext_lazy("monitors"))
    def monitor_list(self, maintenance: Maintenance) -> str:
        return (
            ", ".join(
                f"{link.monitor.tag} ({link.impact})" for link in maintenance.monitor_links.all()
            )
            or "—"
        )

    def get_inline_instances(self, request, obj=None):
        # A window being added has no events yet.
        return [
            inline
            for inline in super().get_inline_instances(request, obj)
            if obj is not None or not isinstance(inline, UpcomingEventInline)
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["preview_fields"] = json.dumps(self.preview_fields)
        context["preview_maintenance_id"] = obj.pk if obj is not None else ""
        return super().render_change_form(request, context, add, change, form_url, obj)

    # -- writes, through scheduling.services --------------------------------------------------

    def create_through_service(self, request, form) -> Maintenance:
        # The monitors come with the inlines (save_inlines_through_service), in this request's
        # transaction: nothing is announced before commit, so the links are in place by then.
        request._ops_schedule_changed = False
        with _in_form_terms():
            return services.maintenance_create(spec=MaintenanceSpec(**form.spec_values()))

    def update_through_service(self, request, obj, form) -> Maintenance:
        # The form has written its values onto `obj`; the service applies the changed ones to
        # the stored row and tells a schedule change or a (de)activation itself.
        stored = Maintenance.objects.get(pk=obj.pk)
        # The values that differ from the stored row (the builder's and duration's fields
        # are not the spec's, and a zone change moves the start's instant).
        changes = MaintenanceChanges(
            **{
                name: value
                for name, value in form.spec_values().items()
                if value != getattr(stored, name)
            }
        )
        with _in_form_terms():
            updated = services.maintenance_update(maintenance=stored, changes=changes)
        request._ops_schedule_changed = selectors.schedule_changes(
            maintenance=stored, schedule=Schedule.of(updated)
        )
        return updated

    def delete_through_service(self, request, obj) -> None:
        services.maintenance_delete(maintenance=obj)

    def save_inlines_through_service(self, request, obj, formsets) -> None:
        for formset in formsets:
            if formset.model is MaintenanceMonitor:
                self._save_monitor_links(obj, formset)
            elif formset.model is MaintenanceEvent:
                self._save_event_forms(request, formset)

    def _save_monitor_links(self, maintenance: Maintenance, formset) -> None:
        if not formset.has_changed():
            return
        # The rows as the page shows them now replace the list (the API's `monitors` rule).
        links = [
            MonitorLink(
                monitor=link_form.cleaned_data["monitor"], impact=link_form.cleaned_data["impact"]
            )
            for link_form in formset.forms
            if link_form.cleaned_data and link_form not in formset.deleted_forms
        ]
        services.maintenance_update(
            maintenance=maintenance, changes=MaintenanceChanges(monitors=links)
        )
        formset.changed_objects = [(maintenance, ["monitors"])]

    def _save_event_forms(self, request, formset) -> None:
        if getattr(request, "_ops_schedule_changed", False):
            # The schedule changed: the events the forms showed were replaced (or kept as they
            # were, if under way); edits made to them in the same save do not apply.
            if any(f.has_changed() for f in formset.forms):
                self.message_user(
                    request,
                    gettext(
                        "The schedule changed, so the event edits in the same save were not "
                        "applied; edit the new events now."
                    ),
                    messages.WARNING,
                )
            return
        now = timezone.now()
        refused: dict[tuple[str, str], DomainError] = {}
        for event_form in formset.initial_forms:
            event = event_form.instance
            if event.pk is None or not MaintenanceEvent.objects.filter(pk=event.pk).exists():
                continue
            data = event_form.cleaned_data
            try:
                if formset.can_delete and formset._should_delete_form(event_form):
                    services.event_delete(event=event, now=now)
                    formset.deleted_objects.append(event)
                elif data.get("operation") == "cancel":
                    services.event_transition(event=event, status=EventStatus.CANCELLED, now=now)
                    formset.changed_objects.append((event, ["status"]))
                elif data.get("operation") == "end_now":
                    services.event_transition(event=event, status=EventStatus.COMPLETED, now=now)
                    formset.changed_objects.append((event, ["status"]))
                elif {"start_date_time", "end_date_time"} & set(event_form.changed_data):
                    services.event_update_times(
                        event=event,
                        start_date_time=_floor_minute(data["start_date_time"]),
                        end_date_time=_floor_minute(data["end_date_time"]),
                        now=now,
                    )
                    formset.changed_objects.append((event, ["start_date_time", "end_date_time"]))
            except DomainError as exc:
                refused[(formset.prefix, str(event.pk))] = exc
        if refused:
            # The whole save is refused (rolled back): the page comes back as typed, with the
            # service's message on each refused row, and nothing else of it is kept.
            raise ServiceRefused(inline_errors=refused)


@contextmanager
def _in_form_terms():
    """A service's refusal about `duration_seconds` lands on the form's `duration`."""
    try:
        yield
    except DomainError as exc:
        if exc.details and "duration_seconds" in exc.details:
            renamed = copy.copy(exc)
            renamed.details = {
                ("duration" if key == "duration_seconds" else key): value
                for key, value in exc.details.items()
            }
            raise renamed from exc
        raise


def duration_text(seconds: int) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size} {_(unit)}"
    return f"{seconds} s"


def _floor_minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


@admin.register(MaintenanceEvent)
class MaintenanceEventAdmin(ServiceModelAdmin):
    """Events come from their maintenance's schedule (no add); times and status change the
    API's way, on the window's page or with the actions here (no change form)."""

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

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # delete_events says what a delete means here
        return actions

    @admin.display(description=gettext_lazy("status now"))
    def live_status(self, event: MaintenanceEvent) -> str:
        return event.status_at(timezone.now())

    def delete_through_service(self, request, obj) -> None:
        services.event_delete(event=obj)

    @admin.action(description=gettext_lazy("Cancel selected events"), permissions=["delete"])
    def cancel_events(self, request, queryset):
        run_each(
            self,
            request,
            queryset,
            gettext("Cancelled"),
            lambda event: services.event_transition(event=event, status=EventStatus.CANCELLED),
        )

    @admin.action(
        description=gettext_lazy("Delete selected events (not generated again)"),
        permissions=["delete"],
    )
    def delete_events(self, request, queryset):
        self.delete_queryset(request, queryset)


@admin.register(DeletedOccurrence)
class DeletedOccurrenceAdmin(ServiceModelAdmin):
    """The occurrences whose events were deleted; deleting one here lets its event come back."""

    list_display = ["maintenance", "occurrence", "created_at"]
    list_select_related = ["maintenance"]
    search_fields = ["maintenance__title"]

    def delete_through_service(self, request, obj) -> None:
        services.deleted_occurrence_forget(deleted_occurrence=obj)
