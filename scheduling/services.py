"""Every write of API v4: maintenances, their events, monitors; and the scheduler's entry points.

All functions take keyword-only arguments and a `now` (default: the current time) so tests
freeze the clock. A request's writes happen in one transaction. The maintenance row is the
lock that serialises a schedule change against the scheduler: API writes take it with a
blocking `select_for_update()`, `events_extend_horizon` skips rows that are locked (the
request that holds the lock regenerates that maintenance itself). On SQLite the IMMEDIATE
transaction mode serialises writers instead. The unique `(maintenance, occurrence)` key is
the last guard: whoever loses a race inserts nothing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max, Prefetch, ProtectedError, Q
from django.utils import timezone as django_timezone
from django.utils.translation import gettext

from core import audit, sql
from core.errors import Conflict, InvalidInput
from core.i18n import localized
from notifications import services as notifications
from notifications.models import Channel, Delivery, reminder_lead
from scheduling import notices, selectors
from scheduling.events import (
    MAINTENANCE_CANCELLED,
    MAINTENANCE_COMPLETED,
    MAINTENANCE_READY,
    MAINTENANCE_REMINDER,
    MAINTENANCE_STARTED,
)
from scheduling.models import (
    MAX_DURATION_SECONDS,
    STATUS_RANK,
    DeletedOccurrence,
    EventStatus,
    Maintenance,
    MaintenanceEvent,
    MaintenanceMonitor,
    Monitor,
    ready_lead,
)
from scheduling.recurrence import Recurrence, RecurrenceError, build_recurrence
from scheduling.specs import (
    SCHEDULE_FIELDS,
    UNSET,
    MaintenanceChanges,
    MaintenanceSpec,
    MonitorLink,
    Schedule,
)

logger = logging.getLogger(__name__)

MAX_EVENTS_PER_HORIZON = 1000
MAX_EXDATES = 1000
# How far in the past an extra event may start: a client that means "now" sends a start a
# little behind the server's clock (and starts are floored to the minute).
EXTRA_EVENT_PAST_TOLERANCE = timedelta(minutes=5)
# Allowed manual transitions, by target: what the event must be at the time of the request.
MANUAL_TRANSITIONS = {
    EventStatus.COMPLETED: {EventStatus.ONGOING},
    EventStatus.CANCELLED: {EventStatus.SCHEDULED, EventStatus.READY, EventStatus.ONGOING},
}
_EXTEND_CHUNK = 200


def _batched(items: Iterable, size: int) -> Iterable[list]:
    # itertools.batched arrives with Python 3.12; we run on 3.11.
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _now(now: datetime | None) -> datetime:
    return now if now is not None else django_timezone.now()


def _horizon() -> timedelta:
    return timedelta(days=settings.MAINTENANCE_EVENT_HORIZON_DAYS)


def _ended_now(event: MaintenanceEvent, now: datetime) -> datetime:
    # Whole seconds like everything on the wire; never at or before the start, which the
    # end-after-start constraint would refuse (an event ended in the second it began).
    return max(now.replace(microsecond=0), event.start_date_time + timedelta(seconds=1))


# --- recurrence --------------------------------------------------------------------------------


def checked_recurrence(*, rrule: str, start: datetime, timezone: str) -> Recurrence:
    """Build the recurrence or raise `InvalidInput` naming the field the engine blamed."""
    try:
        return build_recurrence(rrule, start=start, timezone=timezone)
    except RecurrenceError as exc:
        text = localized(exc)
        message = text if exc.field in text else f"{exc.field}: {text}"
        raise InvalidInput(message, details={exc.field: [text]}) from None


def _unix(instant: datetime) -> int:
    return int(instant.timestamp())


def is_occurrence(recurrence: Recurrence, instant: datetime) -> bool:
    """Whether the rule has an occurrence starting exactly at `instant`."""
    return recurrence.next_after(instant - timedelta(seconds=1)) == instant


def checked_exdates(*, recurrence: Recurrence, exdates: Sequence[datetime]) -> list[int]:
    """The exdates as stored (UTC Unix seconds, ascending), or `InvalidInput` naming
    `exdates[i]`: each must be an occurrence of the rule, and listed once."""
    if len(exdates) > MAX_EXDATES:
        raise InvalidInput(
            gettext("exdates must have at most %(maximum)s items") % {"maximum": MAX_EXDATES},
            field="exdates",
        )
    seen: set[int] = set()
    for index, instant in enumerate(exdates):
        field, seconds = f"exdates[{index}]", _unix(instant)
        if seconds in seen:
            raise InvalidInput(
                gettext("%(field)s: %(seconds)s is listed twice")
                % {"field": field, "seconds": seconds},
                field=field,
            )
        if not is_occurrence(recurrence, instant):
            raise InvalidInput(
                gettext("%(field)s: %(seconds)s (%(instant)s) is not an occurrence of the rule")
                % {
                    "field": field,
                    "seconds": seconds,
                    "instant": format(instant, "%Y-%m-%dT%H:%M:%SZ"),
                },
                field=field,
            )
        seen.add(seconds)
    return sorted(seen)


@dataclass(frozen=True)
class PreviewOccurrence:
    start_date_time: datetime
    end_date_time: datetime


@dataclass(frozen=True)
class Preview:
    occurrences: list[PreviewOccurrence]
    description: str
    exdates: list[int]  # the skipped starts, as stored


def maintenance_preview(
    *,
    start_date_time: datetime,
    rrule: str,
    duration_seconds: int,
    timezone: str,
    limit: int,
    exdates: Sequence[datetime] = (),
) -> Preview:
    """The first `limit` occurrences of a schedule that `exdates` does not skip, and its
    description; validated like a create, writes nothing."""
    recurrence = checked_recurrence(rrule=rrule, start=start_date_time, timezone=timezone)
    skipped = checked_exdates(recurrence=recurrence, exdates=exdates)
    duration = timedelta(seconds=duration_seconds)
    # Each skipped start hides at most one of the first occurrences.
    starts = recurrence.first(min(limit + len(skipped), MAX_EVENTS_PER_HORIZON))
    occurrences = [
        PreviewOccurrence(start, start + duration)
        for start in starts
        if _unix(start) not in set(skipped)
    ]
    return Preview(occurrences[:limit], localized(recurrence.description()), skipped)


# --- maintenances ------------------------------------------------------------------------------


def _audited_monitors(maintenance: Maintenance) -> dict[str, list[dict[str, str]]]:
    # A window's monitors are part of it on the wire: audited as its `monitors` value.
    links = maintenance.monitor_links.order_by("pk").values_list("monitor__tag", "impact")
    return {"monitors": [{"monitor_tag": tag, "impact": impact} for tag, impact in links]}


def _replace_monitor_links(*, maintenance: Maintenance, monitors: Sequence[MonitorLink]) -> None:
    # The list replaces the previous one wholesale and keeps the client's order (link ids).
    maintenance.monitor_links.all().delete()
    _add_monitor_links(maintenance=maintenance, monitors=monitors)


def _add_monitor_links(*, maintenance: Maintenance, monitors: Sequence[MonitorLink]) -> None:
    MaintenanceMonitor.objects.bulk_create(
        MaintenanceMonitor(maintenance=maintenance, monitor=link.monitor, impact=link.impact)
        for link in monitors
    )


def maintenance_create(*, spec: MaintenanceSpec, now: datetime | None = None) -> Maintenance:
    """Create a maintenance, link its monitors and generate its events if it is ACTIVE."""
    now = _now(now)
    recurrence = checked_recurrence(
        rrule=spec.rrule, start=spec.start_date_time, timezone=spec.timezone
    )
    exdates = checked_exdates(recurrence=recurrence, exdates=spec.exdates)
    with transaction.atomic():
        maintenance = Maintenance(
            title=spec.title,
            description=spec.description,
            start_date_time=spec.start_date_time,
            rrule=recurrence.rule,
            duration_seconds=spec.duration_seconds,
            timezone=spec.timezone,
            status=spec.status,
            exdates=exdates,
        )
        # Plain SQL with the ORM's values (a create is one row; the ORM's INSERT compilation
        # cost more than the statement).
        sql.insert([maintenance])
        if spec.monitors:
            _add_monitor_links(maintenance=maintenance, monitors=spec.monitors)
        # The links just written, in the client's order: what `_audited_monitors` would read.
        audited = [
            {"monitor_tag": link.monitor.tag, "impact": link.impact} for link in spec.monitors
        ]
        audit.record_created(maintenance, monitors=audited)
        if maintenance.status == Maintenance.Status.ACTIVE:
            # Created in this transaction: no other process can hold or see the row yet.
            _generate_locked(maintenance=maintenance, now=now, is_new=True, recurrence=recurrence)
    return maintenance


def maintenance_update(
    *,
    maintenance: Maintenance,
    changes: MaintenanceChanges,
    now: datetime | None = None,
) -> Maintenance:
    """Apply a partial update to the locked row; `changes.monitors`, when given, replaces the
    whole list.

    A change of the schedule (rrule, start, duration or timezone to a different value)
    replaces the events that have not started with the new schedule's
    (`selectors.events_replaced_by`) and forgets the remembered deleted occurrences; ongoing,
    completed and cancelled events stay; so do extra events (`event_add`). ACTIVE → INACTIVE
    removes the events that have not started and ends an ongoing one now; INACTIVE → ACTIVE
    generates from now.

    `changes.exdates`, when given, replaces the list (each must be an occurrence of the
    schedule as changed); a new exdate removes its event if that has not started (one that
    has is a 400: cancel or complete it instead), a dropped one brings its occurrence back if
    it has not ended. A schedule change without `exdates` keeps the exdates that are still
    occurrences of the new schedule and forgets the others.
    """
    now = _now(now)
    given = changes.given()
    with transaction.atomic():
        current = Maintenance.objects.select_for_update().get(pk=maintenance.pk)
        audited = audit.snapshot(current, **_audited_monitors(current))
        told_before = {"title": current.title, **_audited_monitors(current)}
        schedule = replace(
            Schedule.of(current), **{name: given[name] for name in SCHEDULE_FIELDS if name in given}
        )
        recurrence = None
        if any(name in given for name in ("start_date_time", "rrule", "timezone")):
            recurrence = checked_recurrence(
                rrule=schedule.rrule, start=schedule.start_date_time, timezone=schedule.timezone
            )
            given["rrule"] = recurrence.rule
            schedule = replace(schedule, rrule=given["rrule"])
        # Decided against the stored row, before it takes the new values.
        schedule_changed = selectors.schedule_changes(maintenance=current, schedule=schedule)
        replaced = selectors.events_replaced_by(maintenance=current, schedule=schedule, now=now)
        added_exdates: set[datetime] = set()
        dropped_exdates = False
        if changes.exdates is not UNSET or (schedule_changed and current.exdates):
            recurrence = recurrence or checked_recurrence(
                rrule=schedule.rrule, start=schedule.start_date_time, timezone=schedule.timezone
            )
            if changes.exdates is not UNSET:
                exdates = checked_exdates(recurrence=recurrence, exdates=changes.exdates)
            else:
                exdates = [
                    seconds
                    for seconds, instant in sorted((_unix(i), i) for i in current.exdate_instants())
                    if is_occurrence(recurrence, instant)
                ]
            before = current.exdate_instants()
            added_exdates = {datetime.fromtimestamp(x, tz=UTC) for x in exdates} - before
            dropped_exdates = bool(before - {datetime.fromtimestamp(x, tz=UTC) for x in exdates})
            _refuse_started_exdates(
                maintenance=current, added=added_exdates, listed=changes.exdates, now=now
            )
            current.exdates = exdates
        was_active = current.status == Maintenance.Status.ACTIVE
        for name, value in given.items():
            setattr(current, name, value)
        is_active = current.status == Maintenance.Status.ACTIVE
        current.save()
        if added_exdates:
            skipped = current.events.not_started(now).filter(occurrence__in=added_exdates)
            _call_off_announced(skipped, now=now)
            skipped.delete()
        if changes.monitors is not UNSET:
            _replace_monitor_links(maintenance=current, monitors=changes.monitors)
        audit.record_updated(current, before=audited, **_audited_monitors(current))
        replaced_sequence = None
        if schedule_changed:
            # Manually edited events that have not started go with the old schedule too.
            _call_off_announced(replaced, now=now)
            replaced_sequence = replaced.aggregate(top=Max("sequence"))["top"]
            audit.delete(replaced)
            current.deleted_occurrences.all().delete()
        if was_active and not is_active:
            _events_deactivate(maintenance=current, now=now)
        if is_active and (schedule_changed or not was_active or dropped_exdates):
            events_generate(maintenance=current, now=now)
        if replaced_sequence is not None:
            # A regenerated occurrence keeps its calendar UID (maintenance + occurrence), so
            # its SEQUENCE must pass the one of the event it replaces.
            current.events.not_started(now).update(sequence=replaced_sequence + 1)
        told_now = {"title": current.title, **_audited_monitors(current)}
        notices.announce_window_updates(
            maintenance=current,
            changes=[
                {"field": field, "old": told_before[field], "new": told_now[field]}
                for field in ("title", "monitors")
                if told_before[field] != told_now[field]
            ],
            now=now,
        )
    return current


def _refuse_started_exdates(
    *,
    maintenance: Maintenance,
    added: set[datetime],
    listed: Sequence[datetime] | object,
    now: datetime,
) -> None:
    """A new exdate may not skip an occurrence whose event has started or ended."""
    if not added:
        return
    for event in maintenance.events.filter(occurrence__in=added).order_by("occurrence"):
        status = event.status_at(now)
        if status in (EventStatus.ONGOING, EventStatus.COMPLETED):
            position = list(listed).index(event.occurrence) if listed is not UNSET else None
            field = f"exdates[{position}]" if position is not None else "exdates"
            raise InvalidInput(
                gettext(
                    "%(field)s: the event of occurrence %(occurrence)s is %(status)s; "
                    "complete or cancel it instead of skipping it"
                )
                % {"field": field, "occurrence": _unix(event.occurrence), "status": status},
                field=field,
            )


def _events_deactivate(*, maintenance: Maintenance, now: datetime) -> None:
    not_started = maintenance.events.not_started(now)
    _call_off_announced(not_started, now=now)
    audit.delete(not_started)
    ended = []
    for event in maintenance.events.under_way(now):
        changes = audit.track(event)
        event.end_date_time = _ended_now(event, now)
        event.status = EventStatus.COMPLETED
        event.status_changed_at = now
        event.sequence += 1  # its end moved
        event.save(
            update_fields=["end_date_time", "status", "status_changed_at", "sequence", "updated_at"]
        )
        changes.record()
        ended.append(event.pk)
    if ended:
        _announce_events(
            MaintenanceEvent.objects.filter(pk__in=ended), [MAINTENANCE_COMPLETED], now=now
        )


# --- notifications -----------------------------------------------------------------------------

# What each stored status announces, and until when that is worth saying: "starting soon"
# until the start, "started" until the end, "completed" / "cancelled" for an hour after the
# end. After downtime the stale ones are recorded as skipped, never sent.
_EVENT_OF_STATUS = {
    EventStatus.READY: MAINTENANCE_READY,
    EventStatus.ONGOING: MAINTENANCE_STARTED,
    EventStatus.COMPLETED: MAINTENANCE_COMPLETED,
    EventStatus.CANCELLED: MAINTENANCE_CANCELLED,
}
_STATUS_OF_EVENT = {name: status for status, name in _EVENT_OF_STATUS.items()}
AFTER_END_RELEVANCE = timedelta(hours=1)


def _call_off_announced(events, *, now: datetime) -> None:
    """Before removing events that have not started: those already announced as starting
    soon (stored READY) are announced cancelled; the others go quietly."""
    _announce_events(events.filter(status=EventStatus.READY), [MAINTENANCE_CANCELLED], now=now)


def _relevant_until(event: MaintenanceEvent, status: str) -> datetime:
    if status == EventStatus.READY:
        return event.start_date_time
    if status == EventStatus.ONGOING:
        return event.end_date_time
    return event.end_date_time + AFTER_END_RELEVANCE


_window_payload = notices.window_payload


def _announce_events(
    events,
    names: Sequence[str] | dict[int, Sequence[str]],
    *,
    now: datetime,
) -> None:
    """`notify` each event's ``names`` (one list for all, or by event id) in the caller's
    transaction. Events, maintenances and monitor links are read in two queries in all, and
    nothing at all when no channel is active."""
    if not Channel.objects.filter(active=True).exists():
        return
    links = Prefetch(
        "maintenance__monitor_links",
        queryset=MaintenanceMonitor.objects.select_related("monitor").order_by("pk"),
    )
    for event in events.select_related("maintenance").prefetch_related(links).order_by("pk"):
        tags = [link.monitor.tag for link in event.maintenance.monitor_links.all()]
        for name in names if not isinstance(names, dict) else names.get(event.pk, ()):
            step = _STATUS_OF_EVENT[name]
            notifications.notify(
                event=name,
                object_key=f"event:{event.pk}:{step}",
                payload=_window_payload(event, step),
                monitor_tags=tags,
                relevant_until=_relevant_until(event, step),
                now=now,
            )


def events_send_reminders(*, now: datetime) -> int:
    """Announce `maintenance.reminder` for every (event, channel, lead time) whose time has
    come; return how many deliveries this call recorded.

    A lead is due when `start - lead <= now` while the event has not started, and only if
    `start - lead` is not before the event was armed (created, or last moved by hand: a
    moved event's reminders count again from the move, but a lead already past at the move
    is never sent late). The delivery key names the start the reminder was for
    (``event:<id>:reminder:<lead>:<start>``), so a moved event is reminded afresh, and the
    deliveries' unique (event, key, channel) makes each exactly once however many workers
    run this at once. Pairs already recorded are left out before any insert.
    """
    channels = [
        channel
        for channel in Channel.objects.filter(active=True)
        if channel.reminders and channel.wants(MAINTENANCE_REMINDER)
    ]
    leads = {text: reminder_lead(text) for channel in channels for text in channel.reminders}
    if not leads:
        return 0
    links = Prefetch(
        "maintenance__monitor_links",
        queryset=MaintenanceMonitor.objects.select_related("monitor").order_by("pk"),
    )
    events = (
        MaintenanceEvent.objects.not_started(now)
        .filter(
            maintenance__status=Maintenance.Status.ACTIVE,
            start_date_time__lte=now + max(leads.values()),
        )
        .select_related("maintenance")
        .prefetch_related(links)
        .order_by("start_date_time", "pk")
    )
    due: list[tuple[MaintenanceEvent, Channel, str, str]] = []
    for event in events:
        armed = event.rearmed_at or event.created_at
        tags = [link.monitor.tag for link in event.maintenance.monitor_links.all()]
        for channel in channels:
            if not channel.hears_window(tags):
                continue
            for text in channel.reminders:
                if armed <= event.start_date_time - leads[text] <= now:
                    key = f"event:{event.pk}:reminder:{text}:{_unix(event.start_date_time)}"
                    due.append((event, channel, text, key))
    if not due:
        return 0
    recorded = set(
        Delivery.objects.filter(
            event=MAINTENANCE_REMINDER, object_key__in={key for *_, key in due}
        ).values_list("object_key", "channel_id")
    )
    created = 0
    with transaction.atomic():
        for event, channel, text, key in due:
            if (key, channel.pk) in recorded:
                continue
            # After downtime a reminder is worth sending until the channel's next shorter
            # one is due (or the start): "in 72h" is not sent a day before.
            shorter = [leads[t] for t in channel.reminders if leads[t] < leads[text]]
            relevant_until = event.start_date_time - max(shorter, default=timedelta(0))
            payload = {**_window_payload(event, event.status_at(now)), "reminder": {"lead": text}}
            created += len(
                notifications.notify(
                    event=MAINTENANCE_REMINDER,
                    object_key=key,
                    payload=payload,
                    channel_ids=[channel.pk],
                    relevant_until=relevant_until,
                    now=now,
                )
            )
    return created


def maintenance_delete(*, maintenance: Maintenance) -> None:
    """Delete a maintenance with its events, monitor links and remembered occurrences."""
    with transaction.atomic():
        audit.record_bulk_deleted(MaintenanceEvent.objects.filter(maintenance=maintenance))
        audit.record_deleted(
            maintenance, before=audit.snapshot(maintenance, **_audited_monitors(maintenance))
        )
        maintenance.delete()


# --- event generation (the scheduler calls these) ----------------------------------------------

# `events_complete_until` of a window whose rule has no occurrence left: never due again.
NO_MORE_OCCURRENCES = datetime(9999, 12, 31, tzinfo=UTC)
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class _Due:
    """What one window needs at `now`: the starts to give an event (not all new: the caller
    drops the known ones) and the first start after them (`events_complete_until`)."""

    starts: list[datetime]
    complete_until: datetime


def _due_occurrences(*, maintenance: Maintenance, recurrence: Recurrence, now: datetime) -> _Due:
    # Occurrences whose window has not ended (start > now - duration) and that start within
    # the horizon (start <= now + horizon); occurrences_between is half-open [after, before).
    # One walk of the rule gives both those and the first occurrence after the horizon.
    starts, following = recurrence.occurrences_and_next(
        now - maintenance.duration + _TICK, now + _horizon() + _TICK, limit=MAX_EVENTS_PER_HORIZON
    )
    if len(starts) == MAX_EVENTS_PER_HORIZON:
        # Capped: the first 1000 stay the same until the first of them ends, which makes room
        # for one more; the horizon "reaches" the window then.
        return _Due(starts, starts[0] + maintenance.duration + _horizon())
    return _Due(starts, following or NO_MORE_OCCURRENCES)


def _missing_events(
    *, maintenance: Maintenance, due: _Due, known: Iterable[datetime]
) -> list[tuple[int, datetime, datetime]]:
    """`(maintenance_id, start, end)` of each due occurrence without an event, a deletion or
    an exdate."""
    duration = maintenance.duration
    known = set(known) | maintenance.exdate_instants()
    return [(maintenance.pk, start, start + duration) for start in due.starts if start not in known]


# SQLite binds at most 32,766 parameters a statement; 7 a row.
_SQLITE_INSERT_ROWS = 4000


def _insert_events(
    rows: Sequence[tuple[int, datetime, datetime]],
    *,
    windows: Iterable[Maintenance] = (),
) -> int:
    """Insert events `(maintenance_id, occurrence, end)` (starting at their occurrence) in one
    set-based statement; an occurrence that already has an event is skipped (the unique key).

    Every generated event is written here and nowhere else. Stored SCHEDULED even when already
    under way: the scheduler then stores (and reports) the transition once, like every other.
    The audit trail gets one record per window (`audit.record_generated` on `windows`, the
    rows' maintenances; read when not given) naming the inserted ids and their span.
    Returns how many rows were given (including those a concurrent process inserted first).
    """
    if not rows:
        return 0
    table = MaintenanceEvent._meta.db_table
    now = django_timezone.now()
    columns = (
        "maintenance_id, occurrence, start_date_time, end_date_time, status, is_modified, "
        "is_extra, sequence, status_changed_at, created_at, updated_at"
    )
    inserted: list[tuple[int, int]] = []  # (event id, maintenance id) of the rows inserted
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement whatever the count: the rows travel as three arrays.
            maintenance_ids, starts, ends = (list(column) for column in zip(*rows, strict=True))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) "
                "SELECT m, s, s, e, %s, false, false, 0, NULL, %s, %s "
                "FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[]) AS r(m, s, e) "
                "ON CONFLICT DO NOTHING RETURNING id, maintenance_id",
                [EventStatus.SCHEDULED, now, now, maintenance_ids, starts, ends],
            )
            inserted = cursor.fetchall()
        else:
            adapt = _sqlite_instant
            stamp = adapt(now)
            row_sql = "(%s, %s, %s, %s, %s, false, false, 0, NULL, %s, %s)"
            for chunk in _batched(rows, _SQLITE_INSERT_ROWS):
                params: list[Any] = []
                for pk, start, end in chunk:
                    first = adapt(start)
                    params += (pk, first, first, adapt(end), EventStatus.SCHEDULED, stamp, stamp)
                # Several rows a statement, the ids back from RETURNING (SQLite ≥ 3.35).
                cursor.execute(
                    f"INSERT INTO {table} ({columns}) VALUES "
                    + ", ".join([row_sql] * len(chunk))
                    + " ON CONFLICT DO NOTHING RETURNING id, maintenance_id",
                    params,
                )
                inserted += cursor.fetchall()
    _record_generated(rows, inserted, windows)
    return len(rows)


def _sqlite_instant(value: datetime) -> str:
    # Django's text form of an instant on SQLite (naive UTC), without its per-value checks.
    return str(value.astimezone(UTC).replace(tzinfo=None))


def _store_complete_until(windows: Sequence[Maintenance]) -> None:
    """Write each window's `events_complete_until` in one statement: Django's bulk_update
    builds a CASE of one branch per row (a quarter of a first pass over yearly windows)."""
    if not windows:
        return
    table = Maintenance._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} SET events_complete_until = v.until "
                "FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, until) "
                f"WHERE {table}.id = v.id",
                [[w.pk for w in windows], [w.events_complete_until for w in windows]],
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET events_complete_until = %s WHERE id = %s",
                [(_sqlite_instant(w.events_complete_until), w.pk) for w in windows],
            )


def _record_generated(
    rows: Sequence[tuple[int, datetime, datetime]],
    inserted: Sequence[tuple[int, int]],
    windows: Iterable[Maintenance],
) -> None:
    """One audit record per window with new events: ids, count and span of its starts. Under
    the windows' row locks (the horizon job's and every schedule change's), so no concurrent
    writer inserted any of the given rows: the span of the given starts is the inserted one."""
    ids: dict[int, list[int]] = defaultdict(list)
    for event_id, maintenance_id in inserted:
        ids[maintenance_id].append(event_id)
    if not ids:
        return
    spans: dict[int, tuple[datetime, datetime]] = {}
    for maintenance_id, start, _end in rows:
        first, last = spans.get(maintenance_id, (start, start))
        spans[maintenance_id] = (min(first, start), max(last, start))
    by_pk = {window.pk: window for window in windows if window.pk in ids}
    if len(by_pk) < len(ids):
        by_pk.update(Maintenance.objects.in_bulk([pk for pk in ids if pk not in by_pk]))
    audit.record_generated(
        "events",
        (
            audit.Generated(by_pk[pk], event_ids, *spans[pk])
            for pk, event_ids in ids.items()
            if pk in by_pk
        ),
    )


def _known_occurrences(
    *, maintenance_ids: Sequence[int], now: datetime, max_duration_seconds: int
) -> dict[int, set[datetime]]:
    """Occurrence keys already used (by an event or a remembered deletion) near the window."""
    window = Q(occurrence__gt=now - timedelta(seconds=max_duration_seconds)) & Q(
        occurrence__lte=now + _horizon()
    )
    known: dict[int, set[datetime]] = defaultdict(set)
    for model in (MaintenanceEvent, DeletedOccurrence):
        rows = model.objects.filter(window, maintenance_id__in=maintenance_ids).values_list(
            "maintenance_id", "occurrence"
        )
        for maintenance_id, occurrence in rows:
            known[maintenance_id].add(occurrence)
    return known


def _generate_locked(
    *,
    maintenance: Maintenance,
    now: datetime,
    is_new: bool = False,
    recurrence: Recurrence | None = None,
) -> int:
    """`events_generate` for a row this transaction has locked (or just created: `is_new`,
    which has no event or deletion to look up); `recurrence`: its rule, when the caller has
    built it already."""
    recurrence = recurrence or maintenance.recurrence()
    due = _due_occurrences(maintenance=maintenance, recurrence=recurrence, now=now)
    known: Iterable[datetime] = ()
    if not is_new:
        known = _known_occurrences(
            maintenance_ids=[maintenance.pk],
            now=now,
            max_duration_seconds=maintenance.duration_seconds,
        )[maintenance.pk]
    created = _insert_events(
        _missing_events(maintenance=maintenance, due=due, known=known), windows=[maintenance]
    )
    Maintenance.objects.filter(pk=maintenance.pk).update(events_complete_until=due.complete_until)
    maintenance.events_complete_until = due.complete_until
    return created


def events_generate(*, maintenance: Maintenance, now: datetime) -> int:
    """Create every missing event of one ACTIVE maintenance; return how many were inserted.

    Covers each occurrence whose end is after `now` and whose start is at most
    `MAINTENANCE_EVENT_HORIZON_DAYS` after `now` (so one already under way too), at most
    1000. Skips occurrences that already have an event (even one edited to other times) and
    remembered deleted occurrences. Takes the maintenance row lock, so it is safe beside a
    schedule change; the unique `(maintenance, occurrence)` key makes concurrent runs harmless.
    The count includes rows a concurrent process may have inserted first.
    """
    with transaction.atomic():
        current = (
            Maintenance.objects.select_for_update()
            .filter(pk=maintenance.pk, status=Maintenance.Status.ACTIVE)
            .first()
        )
        if current is None:
            return 0
        return _generate_locked(maintenance=current, now=now)


def events_extend_horizon(
    *, now: datetime, first_id: int | None = None, last_id: int | None = None
) -> int:
    """`events_generate` for every ACTIVE maintenance that needs it, in bulk; return how many
    events were inserted. `first_id`/`last_id` bound the ids (inclusive) so that several
    workers can share one pass (`selectors.windows_due_id_ranges`).

    One query finds the windows the horizon has reached (`events_complete_until` at most
    now + horizon, or unknown); the others have every event they need. Then in chunks of
    maintenances: one locking SELECT, two queries for the occurrence keys in use, one INSERT
    and one UPDATE of `events_complete_until`. Maintenances locked by a request in flight
    are skipped (that request generates them). Idempotent; two processes may run it at once.
    A stored rule that no longer builds is logged and skipped, not allowed to stop the rest.
    """
    created = 0
    ids = selectors.windows_due(now=now, horizon=_horizon())
    if first_id is not None:
        ids = ids.filter(pk__gte=first_id)
    if last_id is not None:
        ids = ids.filter(pk__lte=last_id)
    for chunk in _batched(ids.values_list("pk", flat=True).order_by("pk"), _EXTEND_CHUNK):
        with transaction.atomic():
            maintenances = list(
                Maintenance.objects.filter(pk__in=chunk, status=Maintenance.Status.ACTIVE)
                .select_for_update(skip_locked=True)
                .order_by("pk")
            )
            if not maintenances:
                continue
            known = _known_occurrences(
                maintenance_ids=[m.pk for m in maintenances],
                now=now,
                max_duration_seconds=max(m.duration_seconds for m in maintenances),
            )
            rows: list[tuple[int, datetime, datetime]] = []
            completed: list[Maintenance] = []
            for maintenance in maintenances:
                try:
                    due = _due_occurrences(
                        maintenance=maintenance, recurrence=maintenance.recurrence(), now=now
                    )
                except RecurrenceError:
                    logger.exception(
                        "Maintenance %s has a rule that does not build", maintenance.pk
                    )
                    continue
                rows += _missing_events(
                    maintenance=maintenance, due=due, known=known[maintenance.pk]
                )
                maintenance.events_complete_until = due.complete_until
                completed.append(maintenance)
            created += _insert_events(rows, windows=completed)
            _store_complete_until(completed)
    return created


def events_horizon_recheck(*, now: datetime) -> int:
    """Mark "not known" (`events_complete_until` empty) every ACTIVE window that has no
    event after `now`, so that the next horizon pass expands its rule again and brings back
    events removed behind the services' back; return how many windows were marked.

    The horizon pass itself reads only `events_complete_until` (an index probe when nothing
    is due); this anti-join over every window runs in the hourly sweep instead
    (`scheduling.tasks.sweep_event_horizon`). A window whose rule simply has nothing left
    within the horizon is marked too: its next pass finds nothing and marks it complete.
    """
    return selectors.windows_without_upcoming_event(now=now).update(events_complete_until=None)


def event_end_counts_compact() -> tuple[int, int]:
    """Fold the per-statement rows of the event count by end time (migration scheduling 0007,
    PostgreSQL only) into one row per hour bucket, dropping buckets that net zero; returns how
    many rows there were and are. The list's count sums the rows after the current bucket, so
    their number bounds its cost: a horizon pass appends one row per hour per INSERT batch.

    One statement: rows appended meanwhile by uncommitted writers are not in its snapshot and
    stay as they are. The advisory lock keeps a second compaction (two beats) from waiting on
    this one's rows only to find them gone."""
    if connection.vendor != "postgresql":
        return 0, 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext('scheduling_event_end_count'))")
        if not cursor.fetchone()[0]:
            return 0, 0
        cursor.execute(
            "WITH folded AS (DELETE FROM scheduling_event_end_count RETURNING bucket, n), "
            "kept AS (INSERT INTO scheduling_event_end_count (bucket, n) "
            "SELECT bucket, SUM(n) FROM folded GROUP BY bucket HAVING SUM(n) <> 0 RETURNING 1) "
            "SELECT (SELECT COUNT(*) FROM folded), (SELECT COUNT(*) FROM kept)"
        )
        before, after = cursor.fetchone()
    return before, after


def events_advance_statuses(*, now: datetime) -> dict[str, list[int]]:
    """Store every transition that is true at `now`; return the ids moved into each status.

    SCHEDULED → READY → ONGOING → COMPLETED, several steps at once when the scheduler was
    down (an event reported under COMPLETED may never have been stored as ONGOING). Rows are
    claimed with `SELECT ... FOR UPDATE SKIP LOCKED` and changed with compare-and-set UPDATEs
    (`WHERE id IN (...) AND status = <old>`), so each transition is reported by exactly one
    call even when several workers run it at once. `status_changed_at` records when the
    transition was stored; compared with the event's times it tells a late one.

    In the same transaction each stored step is announced (`maintenance.ready`, `.started`,
    `.completed`, keyed ``event:<id>:<STATUS>``) to the channels that hear the window's
    monitors. Steps jumped over after downtime are recorded too, but one whose relevance has
    passed (ready: until the start; started: until the end; completed: an hour after the
    end) is recorded as skipped and never sent.
    """
    moved: dict[str, list[int]] = {
        EventStatus.READY: [],
        EventStatus.ONGOING: [],
        EventStatus.COMPLETED: [],
    }
    # Each live status by the time of its next transition (SCHEDULED: the start less the
    # lead; READY: the start; ONGOING: the end), so "nothing to do" is three index probes
    # (`sched_event_status_start_idx`, `sched_event_ongoing_end_idx`), not a read of every
    # event under way. The services move a status back themselves when an edit puts it
    # behind (`event_update_times`), so only forward steps are left to find here.
    due = (
        Q(status=EventStatus.SCHEDULED, start_date_time__lte=now + ready_lead())
        | Q(status=EventStatus.READY, start_date_time__lte=now)
        | Q(status=EventStatus.ONGOING, end_date_time__lte=now)
    )
    # The idle tick's case, checked without a transaction and its round trips.
    if not MaintenanceEvent.objects.filter(due).exists():
        return moved
    with transaction.atomic():
        rows = (
            MaintenanceEvent.objects.filter(due)
            .select_for_update(skip_locked=True)
            .with_live_status(now)
            .exclude(live_status=F("status"))
            .values_list("pk", "status", "live_status")
        )
        announce: dict[int, list[str]] = {}
        by_pair: dict[tuple[str, str], list[int]] = defaultdict(list)
        for pk, old, new in rows:
            by_pair[(old, new)].append(pk)
        for (old, new), pks in sorted(by_pair.items()):
            for chunk in _batched(pks, 500):
                updated = MaintenanceEvent.objects.filter(pk__in=chunk, status=old).update(
                    status=new, status_changed_at=now
                )
                if updated != len(chunk):  # pragma: no cover - the row locks make this impossible
                    logger.warning("Status CAS %s→%s moved %s of %s", old, new, updated, len(chunk))
                audit.record_bulk_updated(MaintenanceEvent, chunk, {"status": (old, new)})
                moved[new].extend(chunk)
                # Every step this call stored, even those it jumped over after downtime:
                # each is recorded once, and only those still relevant are sent.
                steps = [
                    _EVENT_OF_STATUS[status]
                    for status in (EventStatus.READY, EventStatus.ONGOING, EventStatus.COMPLETED)
                    if STATUS_RANK[old] < STATUS_RANK[status] <= STATUS_RANK[new]
                ]
                for pk in chunk:
                    announce[pk] = steps
        if announce:
            _announce_events(
                MaintenanceEvent.objects.filter(pk__in=list(announce)), announce, now=now
            )
    return moved


# --- events ------------------------------------------------------------------------------------


def _locked_event(event: MaintenanceEvent) -> MaintenanceEvent:
    return MaintenanceEvent.objects.select_for_update().get(pk=event.pk)


def event_update_times(
    *,
    event: MaintenanceEvent,
    start_date_time: datetime,
    end_date_time: datetime,
    now: datetime | None = None,
) -> MaintenanceEvent:
    """Move an event's window by hand (not when COMPLETED or CANCELLED).

    The event keeps its occurrence, so generation never recreates it at the old time. If the
    new window puts it back in time (an ONGOING event moved to tomorrow), the stored status
    goes back with it; if it puts it ahead, the scheduler stores (and reports) the transition.
    """
    now = _now(now)
    if end_date_time <= start_date_time:
        raise InvalidInput(
            gettext("end_date_time must be greater than start_date_time"), field="end_date_time"
        )
    with transaction.atomic():
        current = _locked_event(event)
        changes = audit.track(current)
        status = current.status_at(now)
        if status in (EventStatus.COMPLETED, EventStatus.CANCELLED):
            raise InvalidInput(
                gettext("Cannot change start_date_time and end_date_time of a %(status)s event")
                % {"status": status},
                field="status",
            )
        if start_date_time != current.start_date_time:
            current.rearmed_at = now  # its reminders count again, from now on
        moved_from = (current.start_date_time, current.end_date_time)
        current.start_date_time = start_date_time
        current.end_date_time = end_date_time
        current.is_modified = True
        current.sequence += 1  # calendar subscribers see the move as an update
        recomputed = current.status_at(now)
        if STATUS_RANK[recomputed] < STATUS_RANK[current.status]:
            current.status = recomputed
            current.status_changed_at = now
        current.save()
        changes.record()
        notices.announce_updates(
            events=MaintenanceEvent.objects.filter(pk=current.pk),
            changes=notices.time_changes(old=moved_from, new=(start_date_time, end_date_time)),
            now=now,
        )
    return current


def event_update_end(
    *, event: MaintenanceEvent, end_date_time: datetime, now: datetime | None = None
) -> MaintenanceEvent:
    """Extend or shorten an ONGOING event: only its end moves, to a time after now.

    Any other event needs both times (`event_update_times`); ending one now is
    `event_transition(status=COMPLETED)`.
    """
    now = _now(now)
    with transaction.atomic():
        current = _locked_event(event)
        status = current.status_at(now)
        if status != EventStatus.ONGOING:
            # The message of a PATCH that lacks start_date_time, as before ONGOING events
            # could change their end alone.
            raise InvalidInput(
                gettext("start_date_time is required with end_date_time"),
                field="start_date_time",
            )
        if end_date_time <= now:
            raise InvalidInput(
                gettext(
                    "end_date_time must be in the future; to end the event now, "
                    'PATCH {"status": "COMPLETED"}'
                ),
                field="end_date_time",
            )
        if (end_date_time - current.start_date_time).total_seconds() > MAX_DURATION_SECONDS:
            raise InvalidInput(
                gettext("end_date_time must be at most 366 days after start_date_time"),
                field="end_date_time",
            )
        changes = audit.track(current)
        ended_at = current.end_date_time
        current.end_date_time = end_date_time
        current.is_modified = True
        current.sequence += 1  # its end moved: calendar subscribers update it in place
        current.save(update_fields=["end_date_time", "is_modified", "sequence", "updated_at"])
        changes.record()
        notices.announce_updates(
            events=MaintenanceEvent.objects.filter(pk=current.pk),
            changes=notices.time_changes(
                old=(current.start_date_time, ended_at),
                new=(current.start_date_time, end_date_time),
            ),
            now=now,
        )
    return current


def event_add(
    *,
    maintenance: Maintenance,
    start_date_time: datetime,
    end_date_time: datetime,
    now: datetime | None = None,
) -> MaintenanceEvent:
    """Add a one-off extra event to an ACTIVE maintenance (like RDATE), beside its rule.

    Its start is its occurrence key. Refused (400): an end not after the start or more than
    366 days after it, a start more than `EXTRA_EVENT_PAST_TOLERANCE` in the past, a start
    that is an occurrence of the rule (not skipped by an exdate) or that another event of
    the maintenance has (as its start or its occurrence). A schedule change keeps it.
    """
    now = _now(now)
    if end_date_time <= start_date_time:
        raise InvalidInput(
            gettext("end_date_time must be greater than start_date_time"), field="end_date_time"
        )
    if (end_date_time - start_date_time).total_seconds() > MAX_DURATION_SECONDS:
        raise InvalidInput(
            gettext("end_date_time must be at most 366 days after start_date_time"),
            field="end_date_time",
        )
    if start_date_time < now - EXTRA_EVENT_PAST_TOLERANCE:
        minutes = int(EXTRA_EVENT_PAST_TOLERANCE.total_seconds() // 60)
        raise InvalidInput(
            gettext("start_date_time must not be more than %(minutes)s minutes in the past")
            % {"minutes": minutes},
            field="start_date_time",
        )
    taken = InvalidInput(
        gettext("start_date_time: the maintenance already has an event starting at %(start)s")
        % {"start": _unix(start_date_time)},
        field="start_date_time",
    )
    with transaction.atomic():
        current = Maintenance.objects.select_for_update().get(pk=maintenance.pk)
        if current.status != Maintenance.Status.ACTIVE:
            raise InvalidInput(
                gettext("Cannot add an event to an INACTIVE maintenance; set its status to ACTIVE"),
                field="status",
            )
        if current.events.filter(
            Q(occurrence=start_date_time) | Q(start_date_time=start_date_time)
        ).exists():
            raise taken
        if start_date_time not in current.exdate_instants() and is_occurrence(
            current.recurrence(), start_date_time
        ):
            raise InvalidInput(
                gettext(
                    "start_date_time: %(start)s is an occurrence of the rule, "
                    "which has (or will have) its own event"
                )
                % {"start": _unix(start_date_time)},
                field="start_date_time",
            )
        try:
            with transaction.atomic():
                return MaintenanceEvent.objects.create(
                    maintenance=current,
                    occurrence=start_date_time,
                    start_date_time=start_date_time,
                    end_date_time=end_date_time,
                    # Stored SCHEDULED like a generated one: the scheduler stores and
                    # announces its transitions.
                    status=EventStatus.SCHEDULED,
                    is_modified=True,
                    is_extra=True,
                )
        except IntegrityError:
            raise taken from None


def event_transition(
    *, event: MaintenanceEvent, status: str, now: datetime | None = None
) -> MaintenanceEvent:
    """Complete an ONGOING event, or cancel one that is SCHEDULED, READY or ONGOING.

    Ending an ONGOING event (either way) moves its end to now; cancelling one that has not
    started keeps its planned window. Announced as `maintenance.completed` / `.cancelled`.
    """
    now = _now(now)
    with transaction.atomic():
        current = _locked_event(event)
        changes = audit.track(current)
        before = current.status_at(now)
        if before not in MANUAL_TRANSITIONS.get(status, ()):
            raise InvalidInput(
                gettext("Cannot transition event from %(before)s to %(status)s")
                % {"before": before, "status": status},
                field="status",
            )
        if before == EventStatus.ONGOING:
            current.end_date_time = _ended_now(current, now)
        current.status = status
        current.status_changed_at = now
        current.sequence += 1  # cancelled, or its end moved: calendars update it in place
        current.save()
        changes.record()
        _announce_events(
            MaintenanceEvent.objects.filter(pk=current.pk), [_EVENT_OF_STATUS[status]], now=now
        )
    return current


def event_delete(*, event: MaintenanceEvent, now: datetime | None = None) -> None:
    """Delete an event and remember its occurrence so that generation does not recreate it.

    One already announced as starting soon is announced cancelled."""
    now = _now(now)
    with transaction.atomic():
        _call_off_announced(MaintenanceEvent.objects.filter(pk=event.pk), now=now)
        DeletedOccurrence.objects.bulk_create(
            [DeletedOccurrence(maintenance_id=event.maintenance_id, occurrence=event.occurrence)],
            ignore_conflicts=True,
        )
        audit.record_deleted(event)
        event.delete()


def deleted_occurrence_forget(
    *, deleted_occurrence: DeletedOccurrence, now: datetime | None = None
) -> None:
    """Forget a deleted occurrence, so that its event comes back: generated now if the
    maintenance is ACTIVE and the occurrence has not ended (otherwise never, like any past one).
    """
    now = _now(now)
    with transaction.atomic():
        deleted_occurrence.delete()
        events_generate(maintenance=deleted_occurrence.maintenance, now=now)


# --- monitors ----------------------------------------------------------------------------------


def _tag_taken(tag: str) -> Conflict:
    message = gettext("Monitor with tag '%(tag)s' already exists") % {"tag": tag}
    return Conflict(message, details={"tag": [message]})


def monitor_create(*, tag: str, name: str | None = None, description: str = "") -> Monitor:
    """Create a monitor; `name` defaults to the tag. A taken tag is a 409."""
    try:
        with transaction.atomic():
            monitor = Monitor.objects.create(tag=tag, name=name or tag, description=description)
            audit.record_created(monitor)
            return monitor
    except IntegrityError:
        raise _tag_taken(tag) from None


def monitor_update(*, monitor: Monitor, changes: dict[str, Any]) -> Monitor:
    """Change a monitor's tag, name or description. A taken tag is a 409."""
    unknown = set(changes) - {"tag", "name", "description"}
    if unknown:
        raise ValueError(f"not monitor fields: {sorted(unknown)}")
    before = audit.snapshot(monitor)
    for name, value in changes.items():
        setattr(monitor, name, value)
    try:
        with transaction.atomic():
            monitor.save()
            audit.record_updated(monitor, before=before)
    except IntegrityError:
        raise _tag_taken(monitor.tag) from None
    return monitor


def monitor_delete(*, monitor: Monitor) -> None:
    """Delete a monitor no maintenance names; otherwise 409 listing those maintenances.

    The links are PROTECTed, so the check and the delete are one step (no race).
    """
    try:
        with transaction.atomic():
            audit.record_deleted(monitor)
            monitor.delete()
    except ProtectedError as exc:
        ids = sorted({link.maintenance_id for link in exc.protected_objects})
        listed = ", ".join(str(pk) for pk in ids)
        raise Conflict(
            gettext(
                "Monitor with tag '%(tag)s' is used by maintenances %(maintenance_ids)s; "
                "remove it from them first"
            )
            % {"tag": monitor.tag, "maintenance_ids": listed},
            details={"maintenance_ids": [str(pk) for pk in ids]},
        ) from None


# --- one-off windows (another app's work: a work order in progress) ------------------------------

ONE_OFF_RULE = "FREQ=DAILY;COUNT=1"


def oneoff_window_create(
    *,
    title: str,
    description: str | None,
    monitor_tags: Sequence[str],
    impact: str,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
) -> Maintenance:
    """A window of one occurrence, from `start` to `end`, on the monitors of `monitor_tags`
    (tags with no monitor are left out) with `impact`; audited like any window.

    One that has begun (`start` at or before now) is stored ONGOING and announced
    `maintenance.started` at once instead of on the scheduler's next pass, so the monitors'
    status and the webhooks say it from the moment the work starts.
    """
    now = _now(now)
    start = start.replace(microsecond=0)  # v4 speaks Unix seconds
    monitors = [
        MonitorLink(monitor=monitor, impact=impact)
        for monitor in Monitor.objects.filter(tag__in=list(monitor_tags)).order_by("tag")
    ]
    spec = MaintenanceSpec(
        title=title[:255],
        description=description,
        start_date_time=start,
        rrule=ONE_OFF_RULE,
        duration_seconds=max(1, int((end - start).total_seconds())),
        monitors=monitors,
    )
    with transaction.atomic():
        maintenance = maintenance_create(spec=spec, now=now)
        if start <= now:
            started = list(
                maintenance.events.under_way(now)
                .filter(status__in=(EventStatus.SCHEDULED, EventStatus.READY))
                .values_list("pk", "status")
            )
            for pk, old in started:
                MaintenanceEvent.objects.filter(pk=pk, status=old).update(
                    status=EventStatus.ONGOING, status_changed_at=now
                )
                audit.record_bulk_updated(
                    MaintenanceEvent, [pk], {"status": (old, EventStatus.ONGOING)}
                )
            if started:
                _announce_events(
                    MaintenanceEvent.objects.filter(pk__in=[pk for pk, _ in started]),
                    [MAINTENANCE_STARTED],
                    now=now,
                )
    return maintenance


def oneoff_window_end(*, maintenance_id: int, now: datetime | None = None) -> None:
    """End a window's live events now: an ONGOING one is completed (its end moves to now), one
    that has not started is cancelled. A window already over, or deleted, is left as it is, so
    ending twice is harmless."""
    now = _now(now)
    with transaction.atomic():
        events = MaintenanceEvent.objects.filter(maintenance_id=maintenance_id)
        for event in events.under_way(now).order_by("pk"):
            event_transition(event=event, status=EventStatus.COMPLETED, now=now)
        for event in events.not_started(now).order_by("pk"):
            event_transition(event=event, status=EventStatus.CANCELLED, now=now)
