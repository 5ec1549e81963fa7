"""API v4 domain: maintenance windows (an RRULE in an IANA zone), the events they expand to,
and the monitors those events put under maintenance.

Every event keeps the occurrence it came from (its original start, like iCalendar's
RECURRENCE-ID) and `(maintenance, occurrence)` is unique, so regeneration by any number of
processes never duplicates an event, an event whose times were edited is not regenerated at
its old time, and a deleted event's occurrence is remembered in `DeletedOccurrence`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils.translation import gettext_lazy

from core.limits import LONG_TEXT_MAX_LENGTH

if TYPE_CHECKING:
    from scheduling.recurrence import Recurrence

MAX_DURATION_SECONDS = 366 * 24 * 3600


def ready_lead() -> timedelta:
    """How long before its start an event is READY (setting MAINTENANCE_READY_LEAD_MINUTES)."""
    return timedelta(minutes=settings.MAINTENANCE_READY_LEAD_MINUTES)


class Impact(models.TextChoices):
    UP = "UP"
    DOWN = "DOWN"
    DEGRADED = "DEGRADED"
    MAINTENANCE = "MAINTENANCE"


# Worst first: when several ongoing events cover one monitor, the worst impact wins.
IMPACT_SEVERITY = {Impact.DOWN: 3, Impact.MAINTENANCE: 2, Impact.DEGRADED: 1, Impact.UP: 0}


class Monitor(models.Model):
    """Something a status page watches; maintenance events put it under maintenance."""

    tag = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=255)
    description = models.TextField(max_length=LONG_TEXT_MAX_LENGTH, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tag"]

    def __str__(self) -> str:
        return self.tag


class Maintenance(models.Model):
    """A recurring maintenance window: `rrule` expanded from `start_date_time` in `timezone`,
    each occurrence lasting `duration_seconds`."""

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE"
        INACTIVE = "INACTIVE"

    title = models.CharField(max_length=255)
    description = models.TextField(max_length=LONG_TEXT_MAX_LENGTH, null=True, blank=True)
    start_date_time = models.DateTimeField(
        help_text=gettext_lazy("First occurrence (DTSTART), UTC.")
    )
    rrule = models.TextField(
        help_text=gettext_lazy("Normalized RFC 5545 RRULE value, without 'RRULE:'.")
    )
    duration_seconds = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_DURATION_SECONDS)]
    )
    timezone = models.CharField(
        max_length=64, default="UTC", help_text=gettext_lazy("IANA zone the rule is expanded in.")
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    exdates = models.JSONField(
        default=list,
        blank=True,
        help_text=gettext_lazy(
            "Occurrence starts (UTC Unix seconds, ascending) the rule skips, like EXDATE."
        ),
    )
    monitors = models.ManyToManyField(
        Monitor, through="MaintenanceMonitor", related_name="maintenances", blank=True
    )
    events_complete_until = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text=gettext_lazy(
            "The first occurrence that has no event yet because it lies past the horizon "
            "(far in the future when the rule has no more): until the horizon reaches it, the "
            "scheduler has nothing to generate for this window (unless it has no upcoming event "
            "at all; for a window capped at 1000 events: the end of its first event plus the "
            "horizon). Empty: not known, check it."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status"], name="sched_maint_status_idx"),
            # The horizon pass's poll (`selectors.windows_due`): active windows whose events
            # end at or before the horizon, or are not known; nothing due is an index probe.
            models.Index(
                fields=["events_complete_until"],
                name="sched_maint_due_idx",
                condition=Q(status="ACTIVE"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} (#{self.pk})"

    @property
    def duration(self) -> timedelta:
        return timedelta(seconds=self.duration_seconds)

    def exdate_instants(self) -> set[datetime]:
        """The skipped occurrence starts as aware UTC datetimes."""
        return {datetime.fromtimestamp(seconds, tz=UTC) for seconds in self.exdates}

    def recurrence(self) -> Recurrence:
        """The expanded schedule. The stored fields were validated on write, so they are
        parsed, not checked against the start again (`stored_recurrence`)."""
        from scheduling.recurrence import stored_recurrence

        return stored_recurrence(self.rrule, start=self.start_date_time, timezone=self.timezone)


class MaintenanceMonitor(models.Model):
    """A monitor a maintenance covers, and how its events show on that monitor."""

    maintenance = models.ForeignKey(
        Maintenance, on_delete=models.CASCADE, related_name="monitor_links"
    )
    # PROTECT: deleting a monitor that a maintenance still names is refused (409 in the API)
    # rather than silently changing what the maintenance covers.
    monitor = models.ForeignKey(Monitor, on_delete=models.PROTECT, related_name="maintenance_links")
    impact = models.CharField(max_length=11, choices=Impact.choices, default=Impact.MAINTENANCE)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["maintenance", "monitor"], name="sched_maint_monitor_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.monitor_id}: {self.impact}"


class EventStatus(models.TextChoices):
    SCHEDULED = "SCHEDULED"
    READY = "READY"
    ONGOING = "ONGOING"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


TERMINAL_STATUSES = (EventStatus.COMPLETED, EventStatus.CANCELLED)
# The order time moves a live event through; used to tell "ahead" from "behind".
STATUS_RANK = {
    EventStatus.SCHEDULED: 0,
    EventStatus.READY: 1,
    EventStatus.ONGOING: 2,
    EventStatus.COMPLETED: 3,
    EventStatus.CANCELLED: 3,
}


class MaintenanceEventQuerySet(models.QuerySet):
    def with_live_status(self, now: datetime) -> MaintenanceEventQuerySet:
        """Annotate `live_status`: the status that is true at `now` (same rules as
        `MaintenanceEvent.status_at`), so filters and responses share one truth."""
        return self.annotate(
            live_status=Case(
                When(status__in=TERMINAL_STATUSES, then=F("status")),
                When(end_date_time__lte=now, then=Value(EventStatus.COMPLETED)),
                When(start_date_time__lte=now, then=Value(EventStatus.ONGOING)),
                When(start_date_time__lte=now + ready_lead(), then=Value(EventStatus.READY)),
                default=Value(EventStatus.SCHEDULED),
                output_field=models.CharField(max_length=9),
            )
        )

    def not_started(self, now: datetime) -> MaintenanceEventQuerySet:
        """Live events whose window has not begun: SCHEDULED or READY at `now`."""
        return self.exclude(status__in=TERMINAL_STATUSES).filter(start_date_time__gt=now)

    def under_way(self, now: datetime) -> MaintenanceEventQuerySet:
        """Live events that are ONGOING at `now`."""
        return self.exclude(status__in=TERMINAL_STATUSES).filter(
            start_date_time__lte=now, end_date_time__gt=now
        )


class MaintenanceEvent(models.Model):
    """One occurrence of a maintenance.

    `status` is stored by the scheduler within a minute of each transition; readers use
    `status_at(now)` / `with_live_status(now)`, which are true to the second.
    """

    maintenance = models.ForeignKey(Maintenance, on_delete=models.CASCADE, related_name="events")
    occurrence = models.DateTimeField(
        help_text=gettext_lazy(
            "The original start this event came from (RECURRENCE-ID); never changes."
        )
    )
    start_date_time = models.DateTimeField()
    end_date_time = models.DateTimeField()
    status = models.CharField(
        max_length=9, choices=EventStatus.choices, default=EventStatus.SCHEDULED
    )
    is_modified = models.BooleanField(
        default=False,
        help_text=gettext_lazy("Its times were edited by hand; it no longer follows the rule."),
    )
    is_extra = models.BooleanField(
        default=False,
        help_text=gettext_lazy(
            "Added by hand beside the rule (like RDATE); a schedule change keeps it."
        ),
    )
    rearmed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=gettext_lazy(
            "When its times last moved by hand; reminders whose time was already past "
            "then are not sent (null: since it was created)."
        ),
    )
    status_changed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=gettext_lazy(
            "When the stored status last changed; later than the transition's own time "
            "when the scheduler was behind (a late announcement)."
        ),
    )
    sequence = models.PositiveIntegerField(
        default=0,
        help_text=gettext_lazy(
            "Revision of its window for calendar feeds (iCalendar SEQUENCE): grows each "
            "time the event is moved, ended early or cancelled, so subscribers update it in place."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MaintenanceEventQuerySet.as_manager()

    class Meta:
        ordering = ["start_date_time", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["maintenance", "occurrence"], name="sched_event_occurrence_unique"
            ),
            models.CheckConstraint(
                condition=Q(end_date_time__gt=F("start_date_time")),
                name="sched_event_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["start_date_time", "id"], name="sched_event_start_idx"),
            models.Index(fields=["end_date_time"], name="sched_event_end_idx"),
            # The status pass (`services.events_advance_statuses`) finds each live status by
            # the time of its next transition: SCHEDULED/READY by start, ONGOING by end.
            # Status first, so filters on the status alone use it too.
            models.Index(fields=["status", "start_date_time"], name="sched_event_status_start_idx"),
            models.Index(
                fields=["end_date_time"],
                name="sched_event_ongoing_end_idx",
                condition=Q(status="ONGOING"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.maintenance_id}@{self.start_date_time:%Y-%m-%d %H:%M}Z"

    def status_at(self, now: datetime) -> str:
        """The status that is true at `now`; mirrors `MaintenanceEventQuerySet.with_live_status`."""
        if self.status in TERMINAL_STATUSES:
            return self.status
        if self.end_date_time <= now:
            return EventStatus.COMPLETED
        if self.start_date_time <= now:
            return EventStatus.ONGOING
        if self.start_date_time <= now + ready_lead():
            return EventStatus.READY
        return EventStatus.SCHEDULED


class DeletedOccurrence(models.Model):
    """An occurrence whose event was deleted by hand: generation must not bring it back.

    Forgotten when the schedule changes (the old occurrences no longer mean anything).
    """

    maintenance = models.ForeignKey(
        Maintenance, on_delete=models.CASCADE, related_name="deleted_occurrences"
    )
    occurrence = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["maintenance", "occurrence"], name="sched_deleted_occurrence_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.maintenance_id}@{self.occurrence:%Y-%m-%d %H:%M}Z"
