"""Read queries of API v4 that are more than a filter: lookups by path id, list querysets with
everything their rendering needs fetched in a constant number of queries. When monitors are
under maintenance (now, at an instant, over a range) is `scheduling.history`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext

from core.errors import NotFound
from scheduling.models import (
    TERMINAL_STATUSES,
    EventStatus,
    Maintenance,
    MaintenanceEvent,
    MaintenanceMonitor,
    Monitor,
    ready_lead,
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
        raise NotFound(gettext("Maintenance with id '%(id)s' not found") % {"id": maintenance_id})
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


# What a row of the global event list shows (`scheduling.api.serializers.event_rows`).
EVENT_ROW_FIELDS = (
    "id",
    "maintenance_id",
    "start_date_time",
    "end_date_time",
    "live_status",
    "maintenance__title",
    "maintenance__description",
    "maintenance__status",
    "maintenance__rrule",
    "maintenance__duration_seconds",
    "maintenance__timezone",
)


def event_row_values(events: QuerySet[MaintenanceEvent]) -> QuerySet:
    """`events` (from `event_list`, filtered) as plain rows of `EVENT_ROW_FIELDS`, the
    maintenance joined in: one query a page, no model instances."""
    return events.values(*EVENT_ROW_FIELDS)


# Unix seconds of an instant column, in SQL (`not_ended_event_rows`).
_EPOCH_SQL = {
    "sqlite": "CAST(strftime('%%s', {}) AS INTEGER)",
    # FLOOR: EXTRACT gives fractional seconds, and Unix seconds on the wire are truncated.
    "postgresql": "FLOOR(EXTRACT(EPOCH FROM {}))::bigint",
}


# How many events have not ended at %s. On PostgreSQL the events of the later
# hour buckets are summed from the counts the triggers of migration scheduling 0007 maintain,
# and only the current bucket's are counted (an index range): one statement, one snapshot, so
# exact. A COUNT(*) of every future event took 40 ms at 360,000 events and 180 ms at 1,000,000.
_NOT_ENDED_COUNT_SQL = {
    "sqlite": "SELECT COUNT(*) FROM {events} WHERE end_date_time > %s",
    "postgresql": (
        "SELECT ((SELECT COUNT(*) FROM {events} WHERE end_date_time > b.at "
        "AND end_date_time < b.bucket) "
        "+ (SELECT COALESCE(SUM(n), 0) FROM scheduling_event_end_count WHERE bucket > b.bucket)"
        ")::bigint "  # SUM of bigint is numeric
        "FROM (SELECT at, scheduling_event_end_bucket(at) AS bucket "
        "FROM (SELECT %s::timestamptz AS at) AS t) AS b"
    ),
}


def not_ended_event_rows(*, now: datetime, offset: int, limit: int) -> tuple[int, list[tuple]]:
    """The global list without filters: how many events have not ended at `now`, and the
    page `[offset, offset + limit)` of them, start ascending then id, as tuples of
    `EVENT_ROW_FIELDS` in the wire's order (`scheduling.api.serializers.EVENT_ROW_KEYS`:
    maintenance id first), start and end as Unix seconds.

    The same query as `event_row_values(event_list(now=now).filter(end_date_time__gt=now))`
    and its count (`tests/scheduling/test_plain_sql_paths.py` holds them equal), written as plain
    SQL: a status page polls this, and the ORM spent four times the queries' own time
    compiling the `live_status` CASE and the join. `live_status` is the same CASE
    (`MaintenanceEventQuerySet.with_live_status`)."""
    event_table = MaintenanceEvent._meta.db_table
    maintenance_table = Maintenance._meta.db_table
    epoch = _EPOCH_SQL[connection.vendor]
    adapt = connection.ops.adapt_datetimefield_value  # as the ORM binds an instant
    at, ready_from = adapt(now), adapt(now + ready_lead())
    terminal = ", ".join(f"'{status}'" for status in TERMINAL_STATUSES)  # our own constants
    with connection.cursor() as cursor:
        cursor.execute(_NOT_ENDED_COUNT_SQL[connection.vendor].format(events=event_table), [at])
        (total,) = cursor.fetchone()
        if offset >= total:
            return total, []
        cursor.execute(
            f"SELECT e.maintenance_id, e.id, {epoch.format('e.start_date_time')}, "
            f"{epoch.format('e.end_date_time')}, "
            f"CASE WHEN e.status IN ({terminal}) THEN e.status "
            f"WHEN e.end_date_time <= %s THEN '{EventStatus.COMPLETED}' "
            f"WHEN e.start_date_time <= %s THEN '{EventStatus.ONGOING}' "
            f"WHEN e.start_date_time <= %s THEN '{EventStatus.READY}' "
            f"ELSE '{EventStatus.SCHEDULED}' END, "
            "m.title, m.description, m.status, m.rrule, m.duration_seconds, m.timezone "
            f"FROM {event_table} e JOIN {maintenance_table} m ON m.id = e.maintenance_id "
            "WHERE e.end_date_time > %s ORDER BY e.start_date_time, e.id LIMIT %s OFFSET %s",
            [at, at, ready_from, at, limit, offset],
        )
        return total, cursor.fetchall()


def monitor_links_of(maintenance_ids: Iterable[int]) -> dict[int, list[tuple[str, str]]]:
    """Each maintenance's `(monitor tag, impact)` pairs in the client's order, in one query."""
    links: dict[int, list[tuple[str, str]]] = {pk: [] for pk in maintenance_ids}
    if not links:
        return links
    # Plain SQL: on every list request, and the ORM spent ten times the query's own time
    # compiling it. The ids are integers from our own rows.
    link_table = MaintenanceMonitor._meta.db_table
    monitor_table = Monitor._meta.db_table
    ids = ", ".join(str(int(pk)) for pk in links)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT l.maintenance_id, m.tag, l.impact FROM {link_table} l "
            f"JOIN {monitor_table} m ON m.id = l.monitor_id "
            f"WHERE l.maintenance_id IN ({ids}) ORDER BY l.id"
        )
        rows = cursor.fetchall()
    for maintenance_id, tag, impact in rows:
        links[maintenance_id].append((tag, impact))
    return links


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


def windows_due(*, now: datetime, horizon: timedelta) -> QuerySet[Maintenance]:
    """The ACTIVE maintenances the horizon (`now + horizon`) has reached: their next occurrence
    without an event is within it, or not known yet. One query on the indexed column alone
    (`sched_maint_due_idx`), so a tick with nothing due costs an index probe however many
    windows there are. Events removed behind the services' back are not seen here: the
    hourly sweep (`windows_without_upcoming_event`) marks their windows "not known"."""
    return Maintenance.objects.filter(status=Maintenance.Status.ACTIVE).filter(
        Q(events_complete_until__isnull=True) | Q(events_complete_until__lte=now + horizon)
    )


def windows_without_upcoming_event(*, now: datetime) -> QuerySet[Maintenance]:
    """ACTIVE maintenances whose horizon is thought complete but that have no event after
    `now` at all: their events were removed behind the services' back (or the rule has none
    left, which the next pass confirms). An anti-join probing the event index once per
    window, so the sweep runs it, not the tick."""
    upcoming = MaintenanceEvent.objects.filter(maintenance=OuterRef("pk"), occurrence__gt=now)
    return Maintenance.objects.filter(
        status=Maintenance.Status.ACTIVE, events_complete_until__isnull=False
    ).filter(~Exists(upcoming))


def windows_due_id_ranges(*, now: datetime, horizon: timedelta, size: int) -> list[tuple[int, int]]:
    """`windows_due` cut into inclusive id ranges of at most `size` windows each, so that
    several workers can extend the horizon side by side (one id query, no row sent twice)."""
    ids = list(windows_due(now=now, horizon=horizon).order_by("pk").values_list("pk", flat=True))
    return [(ids[i], ids[min(i + size, len(ids)) - 1]) for i in range(0, len(ids), size)]


def event_get(*, maintenance: Maintenance, event_id: str) -> MaintenanceEvent:
    """An event of this maintenance by path segment; 404 with the spec's message."""
    pk = parse_id(event_id)
    event = maintenance.events.filter(pk=pk).first() if pk is not None else None
    if event is None:
        raise NotFound(
            gettext("Event with id '%(id)s' not found for this maintenance") % {"id": event_id}
        )
    return event


def monitor_get(*, tag: str) -> Monitor:
    monitor = Monitor.objects.filter(tag=tag).first()
    if monitor is None:
        raise NotFound(gettext("Monitor with tag '%(tag)s' not found") % {"tag": tag})
    return monitor
