"""When monitors were, are or will be under maintenance: selectors for SLA reports and alert
suppression, shared by the v4 API and (later) the maintenance app.

What counts: the events of the maintenances that name the monitor (with the impact that link
gives), over [start, end). An event cancelled before it started never happened and does not
count; one cancelled or completed while under way counts until then (its stored end is the
moment it was stopped). Maintenances count whatever their status today: deactivating one
removes its future events and ends the ongoing one, so what is left is what happened. Links
are today's: a monitor taken off a maintenance loses that maintenance's past too.

Set-based: a constant number of queries for any number of monitors and events; the merging
is done on the fetched rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import F, Q, QuerySet

from scheduling.models import (
    IMPACT_SEVERITY,
    TERMINAL_STATUSES,
    EventStatus,
    Maintenance,
    MaintenanceEvent,
    MaintenanceMonitor,
    Monitor,
)
from scheduling.selectors import event_list, event_list_detailed


@dataclass(frozen=True)
class MaintenanceInterval:
    """A stretch of time a monitor spent under maintenance with one (worst) impact."""

    start: datetime
    end: datetime
    impact: str
    event_ids: tuple[int, ...]


@dataclass
class MonitorMaintenanceStatus:
    """Whether a monitor is under maintenance at an instant, with the worst impact and the
    events that put it there."""

    monitor_tag: str
    under_maintenance: bool = False
    impact: str | None = None
    events: list[MaintenanceEvent] = field(default_factory=list)


def _worst(impacts: Iterable[str]) -> str:
    return max(impacts, key=lambda impact: IMPACT_SEVERITY[impact])


# Events cancelled before they started never happened; every other event counts.
_CANCELLED_BEFORE_START = Q(status=EventStatus.CANCELLED) & (
    Q(status_changed_at__isnull=True) | Q(status_changed_at__lt=F("start_date_time"))
)


def _events_of(monitors: Sequence[Monitor], events: QuerySet) -> QuerySet:
    """`events` narrowed to the counted events of the maintenances naming `monitors`."""
    return events.exclude(_CANCELLED_BEFORE_START).filter(
        maintenance_id__in=_link_rows(monitors).values("maintenance_id")
    )


def _link_rows(monitors: Sequence[Monitor]) -> QuerySet[MaintenanceMonitor]:
    return MaintenanceMonitor.objects.filter(monitor__in=[m.pk for m in monitors])


def _links(monitors: Sequence[Monitor]) -> dict[int, list[tuple[str, str]]]:
    """{maintenance id: [(monitor tag, impact)]} for the maintenances naming `monitors`."""
    links: dict[int, list[tuple[str, str]]] = defaultdict(list)
    rows = _link_rows(monitors).values_list("maintenance_id", "monitor__tag", "impact")
    for maintenance_id, tag, impact in rows:
        links[maintenance_id].append((tag, impact))
    return links


def monitors_under_maintenance_at(
    *, monitors: Sequence[Monitor], at: datetime, now: datetime
) -> list[MonitorMaintenanceStatus]:
    """For each of `monitors` (in order): under maintenance at `at`, the worst impact
    (DOWN > MAINTENANCE > DEGRADED > UP) and the events covering `at`, start ascending, each
    annotated with its status true at `now`. Two queries whatever the count."""
    links = _links(monitors)
    statuses = {m.tag: MonitorMaintenanceStatus(monitor_tag=m.tag) for m in monitors}
    if not links:
        return list(statuses.values())
    covering = _events_of(monitors, event_list(now=now)).filter(
        start_date_time__lte=at, end_date_time__gt=at
    )
    impacts: dict[str, list[str]] = defaultdict(list)
    for event in covering:
        for tag, impact in links[event.maintenance_id]:
            statuses[tag].events.append(event)
            impacts[tag].append(impact)
    for tag, status in statuses.items():
        if status.events:
            status.under_maintenance = True
            status.impact = _worst(impacts[tag])
    return list(statuses.values())


def monitors_maintenance_intervals(
    *, monitors: Sequence[Monitor], since: datetime, until: datetime
) -> dict[str, list[MaintenanceInterval]]:
    """{monitor tag: intervals} for each of `monitors`: when it was or will be under
    maintenance within [since, until), clipped to that range, start ascending.

    Overlapping and touching events are merged, but an interval has one impact: where the
    worst impact changes inside a merged stretch, the stretch is split there, so every
    instant carries the worst impact that applied to it (DEGRADED 00:00-06:00 with DOWN
    05:00-05:30 gives DEGRADED, DOWN, DEGRADED rather than six hours DOWN). `event_ids` are
    the events that cover some of the interval. Two queries whatever the count.
    """
    links = _links(monitors)
    spans: dict[str, list[tuple[datetime, datetime, str, int]]] = defaultdict(list)
    if links:
        rows = (
            _events_of(monitors, MaintenanceEvent.objects.all())
            .filter(start_date_time__lt=until, end_date_time__gt=since)
            .values_list("pk", "maintenance_id", "start_date_time", "end_date_time")
        )
        for pk, maintenance_id, start, end in rows:
            for tag, impact in links[maintenance_id]:
                spans[tag].append((max(start, since), min(end, until), impact, pk))
    return {m.tag: merge_intervals(spans[m.tag]) for m in monitors}


def merge_intervals(
    spans: Iterable[tuple[datetime, datetime, str, int]],
) -> list[MaintenanceInterval]:
    """Merge `(start, end, impact, event id)` spans into maximal intervals of one worst
    impact (see `monitors_maintenance_intervals`). A sweep over the span boundaries."""
    boundaries: dict[datetime, list[tuple[int, tuple[str, int]]]] = defaultdict(list)
    for start, end, impact, event_id in spans:
        if end > start:
            boundaries[start].append((1, (impact, event_id)))
            boundaries[end].append((-1, (impact, event_id)))
    intervals: list[MaintenanceInterval] = []
    active: dict[tuple[str, int], int] = defaultdict(int)
    current: tuple[datetime, str, set[int]] | None = None  # start, impact, event ids
    for instant in sorted(boundaries):
        for step, span in boundaries[instant]:
            active[span] += step
            if not active[span]:
                del active[span]
        impact = _worst(impact for impact, _ in active) if active else None
        if current is not None and impact != current[1]:
            intervals.append(
                MaintenanceInterval(current[0], instant, current[1], tuple(sorted(current[2])))
            )
            current = None
        if impact is not None:
            if current is None:
                current = (instant, impact, set())
            current[2].update(event_id for _, event_id in active)
    return intervals


def upcoming_windows(*, now: datetime, until: datetime, limit: int) -> list[MaintenanceEvent]:
    """The events a public page shows: those of ACTIVE maintenances that are ongoing at `now`
    or start before `until`, not cancelled, soonest first, at most `limit`, with their
    maintenance and its monitors (three queries)."""
    return list(
        event_list_detailed(now=now)
        .filter(maintenance__status=Maintenance.Status.ACTIVE, end_date_time__gt=now)
        .filter(start_date_time__lt=until)
        .exclude(status__in=TERMINAL_STATUSES)[:limit]
    )
