"""Read queries of API v4 that are more than a filter: lookups by path id, list querysets with
everything their rendering needs fetched in a constant number of queries. When monitors are
under maintenance (now, at an instant, over a range) is `scheduling.history`."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Prefetch, QuerySet

from core.errors import NotFound
from scheduling.models import (
    Maintenance,
    MaintenanceEvent,
    MaintenanceMonitor,
    Monitor,
)
from scheduling.specs import Schedule

# Larger ids than a signed 64-bit column holds name nothing (and SQLite refuses them).
MAX_ID = 2**63 - 1


def parse_id(raw: str) -> int | None:
    """The integer a path segment names, or None when it names no row (non-numeric, too big)."""
    if not raw.isascii() or not raw.isdigit():
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


def _monitor_links(path: str = "monitor_links") -> Prefetch:
    """Prefetch a maintenance's monitor links with their monitors, in the client's order."""
    return Prefetch(
        path, queryset=MaintenanceMonitor.objects.select_related("monitor").order_by("id")
    )


def maintenance_list() -> QuerySet[Maintenance]:
    """Maintenances with their monitors, newest first (two queries whatever the count)."""
    return Maintenance.objects.prefetch_related(_monitor_links()).order_by("-id")


def maintenance_get(*, maintenance_id: str, with_monitors: bool = True) -> Maintenance:
    """The maintenance a path segment names (its monitors prefetched unless the caller only
    needs the row); 404 with the spec's message."""
    pk = parse_id(maintenance_id)
    queryset = maintenance_list() if with_monitors else Maintenance.objects.all()
    maintenance = queryset.filter(pk=pk).first() if pk is not None else None
    if maintenance is None:
        raise NotFound(f"Maintenance with id '{maintenance_id}' not found")
    return maintenance


def event_list(*, now: datetime) -> QuerySet[MaintenanceEvent]:
    """Events with their time-true `live_status`, start ascending then id."""
    return MaintenanceEvent.objects.with_live_status(now).order_by("start_date_time", "id")


def event_list_detailed(*, now: datetime) -> QuerySet[MaintenanceEvent]:
    """`event_list` with each event's maintenance and its monitors (three queries a page)."""
    return (
        event_list(now=now)
        .select_related("maintenance")
        .prefetch_related(_monitor_links("maintenance__monitor_links"))
    )


def events_replaced_by(
    *, maintenance: Maintenance, schedule: Schedule, now: datetime
) -> QuerySet[MaintenanceEvent]:
    """The events that saving `schedule` on `maintenance` (as it is stored) replaces, soonest
    first: none when it is the schedule it has; otherwise every event that has not started
    (SCHEDULED or READY at `now`, hand-edited ones included). Ongoing, completed and
    cancelled events stay, and so do extra events (they do not come from the rule).
    `maintenance_update` replaces these; the admin's preview lists them.
    """
    if not schedule_changes(maintenance=maintenance, schedule=schedule):
        return maintenance.events.none()
    return (
        maintenance.events.not_started(now).filter(is_extra=False).order_by("start_date_time", "id")
    )


def schedule_changes(*, maintenance: Maintenance, schedule: Schedule) -> bool:
    """Whether `schedule` differs from the maintenance's (any of rule, start, duration, zone)."""
    return Schedule.of(maintenance) != schedule


def window_events_between(
    *, since: datetime, until: datetime, monitor_tag: str = "", limit: int
) -> list[MaintenanceEvent]:
    """The first `limit` events of ACTIVE maintenances that overlap [since, until), start
    ascending, with their maintenance and its monitors (three queries) and the status true
    at `since`; only the maintenances that name `monitor_tag`, when given."""
    events = (
        event_list_detailed(now=since)
        .filter(start_date_time__lt=until, end_date_time__gt=since)
        .filter(maintenance__status=Maintenance.Status.ACTIVE)
    )
    if monitor_tag:
        events = events.filter(maintenance__monitor_links__monitor__tag=monitor_tag)
    return list(events[:limit])


def event_get(*, maintenance: Maintenance, event_id: str) -> MaintenanceEvent:
    """An event of this maintenance by path segment; 404 with the spec's message."""
    pk = parse_id(event_id)
    event = maintenance.events.filter(pk=pk).first() if pk is not None else None
    if event is None:
        raise NotFound(f"Event with id '{event_id}' not found for this maintenance")
    return event


def monitor_get(*, tag: str) -> Monitor:
    monitor = Monitor.objects.filter(tag=tag).first()
    if monitor is None:
        raise NotFound(f"Monitor with tag '{tag}' not found")
    return monitor
