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
from django.db.models import F, Prefetch, ProtectedError, Q
from django.utils import timezone as django_timezone

from core.errors import Conflict, InvalidInput
from notifications import services as notifications
from notifications.models import Channel
from scheduling import selectors
from scheduling.events import (
    MAINTENANCE_CANCELLED,
    MAINTENANCE_COMPLETED,
    MAINTENANCE_READY,
    MAINTENANCE_STARTED,
)
from scheduling.models import (
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
        message = exc.message if exc.field in exc.message else f"{exc.field}: {exc.message}"
        raise InvalidInput(message, details={exc.field: [exc.message]}) from None


@dataclass(frozen=True)
class PreviewOccurrence:
    start_date_time: datetime
    end_date_time: datetime


def maintenance_preview(
    *, start_date_time: datetime, rrule: str, duration_seconds: int, timezone: str, limit: int
) -> tuple[list[PreviewOccurrence], str]:
    """The first `limit` occurrences of a schedule and its description; writes nothing."""
    recurrence = checked_recurrence(rrule=rrule, start=start_date_time, timezone=timezone)
    duration = timedelta(seconds=duration_seconds)
    occurrences = [PreviewOccurrence(start, start + duration) for start in recurrence.first(limit)]
    return occurrences, recurrence.describe()


# --- maintenances ------------------------------------------------------------------------------


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
    with transaction.atomic():
        maintenance = Maintenance.objects.create(
            title=spec.title,
            description=spec.description,
            start_date_time=spec.start_date_time,
            rrule=recurrence.rule,
            duration_seconds=spec.duration_seconds,
            timezone=spec.timezone,
            status=spec.status,
        )
        if spec.monitors:
            _add_monitor_links(maintenance=maintenance, monitors=spec.monitors)
        if maintenance.status == Maintenance.Status.ACTIVE:
            # Created in this transaction: no other process can hold or see the row yet.
            _generate_locked(maintenance=maintenance, now=now, is_new=True)
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
    completed and cancelled events stay. ACTIVE → INACTIVE removes the events that have not
    started and ends an ongoing one now; INACTIVE → ACTIVE generates from now.
    """
    now = _now(now)
    given = changes.given()
    with transaction.atomic():
        current = Maintenance.objects.select_for_update().get(pk=maintenance.pk)
        schedule = replace(
            Schedule.of(current), **{name: given[name] for name in SCHEDULE_FIELDS if name in given}
        )
        if any(name in given for name in ("start_date_time", "rrule", "timezone")):
            given["rrule"] = checked_recurrence(
                rrule=schedule.rrule, start=schedule.start_date_time, timezone=schedule.timezone
            ).rule
            schedule = replace(schedule, rrule=given["rrule"])
        # Decided against the stored row, before it takes the new values.
        schedule_changed = selectors.schedule_changes(maintenance=current, schedule=schedule)
        replaced = selectors.events_replaced_by(maintenance=current, schedule=schedule, now=now)
        was_active = current.status == Maintenance.Status.ACTIVE
        for name, value in given.items():
            setattr(current, name, value)
        is_active = current.status == Maintenance.Status.ACTIVE
        current.save()
        if changes.monitors is not UNSET:
            _replace_monitor_links(maintenance=current, monitors=changes.monitors)
        if schedule_changed:
            # Manually edited events that have not started go with the old schedule too.
            _call_off_announced(replaced, now=now)
            replaced.delete()
            current.deleted_occurrences.all().delete()
        if was_active and not is_active:
            _events_deactivate(maintenance=current, now=now)
        if is_active and (schedule_changed or not was_active):
            events_generate(maintenance=current, now=now)
    return current


def _events_deactivate(*, maintenance: Maintenance, now: datetime) -> None:
    not_started = maintenance.events.not_started(now)
    _call_off_announced(not_started, now=now)
    not_started.delete()
    ended = []
    for event in maintenance.events.under_way(now):
        event.end_date_time = _ended_now(event, now)
        event.status = EventStatus.COMPLETED
        event.status_changed_at = now
        event.save(update_fields=["end_date_time", "status", "status_changed_at", "updated_at"])
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


def _window_payload(event: MaintenanceEvent, status: str) -> dict[str, Any]:
    """A maintenance.* payload (schema in `scheduling.events`)."""
    maintenance = event.maintenance
    return {
        "timezone": maintenance.timezone,
        "maintenance": {
            "id": maintenance.pk,
            "title": maintenance.title,
            "description": maintenance.description,
        },
        "occurrence": {
            "id": event.pk,
            "start_at": event.start_date_time,
            "end_at": event.end_date_time,
            "status": status,
        },
        "monitors": [
            {"monitor_tag": link.monitor.tag, "impact": link.impact}
            for link in maintenance.monitor_links.all()
        ],
    }


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


def maintenance_delete(*, maintenance: Maintenance) -> None:
    """Delete a maintenance with its events, monitor links and remembered occurrences."""
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
    horizon_end = now + _horizon()
    starts = recurrence.occurrences_between(
        now - maintenance.duration + _TICK, horizon_end + _TICK, limit=MAX_EVENTS_PER_HORIZON
    )
    if len(starts) == MAX_EVENTS_PER_HORIZON:
        # Capped: the first 1000 stay the same until the first of them ends, which makes room
        # for one more; the horizon "reaches" the window then.
        return _Due(starts, starts[0] + maintenance.duration + _horizon())
    return _Due(starts, recurrence.next_after(horizon_end) or NO_MORE_OCCURRENCES)


def _missing_events(
    *, maintenance: Maintenance, due: _Due, known: Iterable[datetime]
) -> list[tuple[int, datetime, datetime]]:
    """`(maintenance_id, start, end)` of each due occurrence without an event or a deletion."""
    duration = maintenance.duration
    known = set(known)
    return [(maintenance.pk, start, start + duration) for start in due.starts if start not in known]


def _insert_events(rows: Sequence[tuple[int, datetime, datetime]]) -> int:
    """Insert events `(maintenance_id, occurrence, end)` (starting at their occurrence) in one
    set-based statement; an occurrence that already has an event is skipped (the unique key).

    Every generated event is written here and nowhere else. Stored SCHEDULED even when already
    under way: the scheduler then stores (and reports) the transition once, like every other.
    Returns how many rows were given (including those a concurrent process inserted first).
    """
    if not rows:
        return 0
    table = MaintenanceEvent._meta.db_table
    now = django_timezone.now()
    columns = (
        "maintenance_id, occurrence, start_date_time, end_date_time, status, is_modified, "
        "status_changed_at, created_at, updated_at"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement whatever the count: the rows travel as three arrays.
            maintenance_ids, starts, ends = (list(column) for column in zip(*rows, strict=True))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) "
                "SELECT m, s, s, e, %s, false, NULL, %s, %s "
                "FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[]) AS r(m, s, e) "
                "ON CONFLICT DO NOTHING",
                [EventStatus.SCHEDULED, now, now, maintenance_ids, starts, ends],
            )
        else:
            # Django's text form of an instant (naive UTC), without its per-value checks.
            def adapt(value: datetime) -> str:
                return str(value.astimezone(UTC).replace(tzinfo=None))

            stamp = adapt(now)
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) "
                "VALUES (%s, %s, %s, %s, %s, false, NULL, %s, %s) ON CONFLICT DO NOTHING",
                [
                    (pk, first, first, adapt(end), EventStatus.SCHEDULED, stamp, stamp)
                    for pk, first, end in ((pk, adapt(start), end) for pk, start, end in rows)
                ],
            )
    return len(rows)


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


def _generate_locked(*, maintenance: Maintenance, now: datetime, is_new: bool = False) -> int:
    """`events_generate` for a row this transaction has locked (or just created: `is_new`,
    which has no event or deletion to look up)."""
    due = _due_occurrences(maintenance=maintenance, recurrence=maintenance.recurrence(), now=now)
    known: Iterable[datetime] = ()
    if not is_new:
        known = _known_occurrences(
            maintenance_ids=[maintenance.pk],
            now=now,
            max_duration_seconds=maintenance.duration_seconds,
        )[maintenance.pk]
    created = _insert_events(_missing_events(maintenance=maintenance, due=due, known=known))
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
            created += _insert_events(rows)
            Maintenance.objects.bulk_update(completed, ["events_complete_until"])
    return created


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
    with transaction.atomic():
        rows = (
            MaintenanceEvent.objects.filter(
                status__in=(EventStatus.SCHEDULED, EventStatus.READY, EventStatus.ONGOING),
                start_date_time__lte=now + ready_lead(),
            )
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
            "end_date_time must be greater than start_date_time", field="end_date_time"
        )
    with transaction.atomic():
        current = _locked_event(event)
        status = current.status_at(now)
        if status in (EventStatus.COMPLETED, EventStatus.CANCELLED):
            raise InvalidInput(
                f"Cannot change start_date_time and end_date_time of a {status} event",
                field="status",
            )
        current.start_date_time = start_date_time
        current.end_date_time = end_date_time
        current.is_modified = True
        recomputed = current.status_at(now)
        if STATUS_RANK[recomputed] < STATUS_RANK[current.status]:
            current.status = recomputed
            current.status_changed_at = now
        current.save()
    return current


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
        before = current.status_at(now)
        if before not in MANUAL_TRANSITIONS.get(status, ()):
            raise InvalidInput(f"Cannot transition event from {before} to {status}", field="status")
        if before == EventStatus.ONGOING:
            current.end_date_time = _ended_now(current, now)
        current.status = status
        current.status_changed_at = now
        current.save()
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
    return Conflict(
        f"Monitor with tag '{tag}' already exists",
        details={"tag": [f"Monitor with tag '{tag}' already exists"]},
    )


def monitor_create(*, tag: str, name: str | None = None, description: str = "") -> Monitor:
    """Create a monitor; `name` defaults to the tag. A taken tag is a 409."""
    try:
        with transaction.atomic():
            return Monitor.objects.create(tag=tag, name=name or tag, description=description)
    except IntegrityError:
        raise _tag_taken(tag) from None


def monitor_update(*, monitor: Monitor, changes: dict[str, Any]) -> Monitor:
    """Change a monitor's tag, name or description. A taken tag is a 409."""
    unknown = set(changes) - {"tag", "name", "description"}
    if unknown:
        raise ValueError(f"not monitor fields: {sorted(unknown)}")
    for name, value in changes.items():
        setattr(monitor, name, value)
    try:
        with transaction.atomic():
            monitor.save()
    except IntegrityError:
        raise _tag_taken(monitor.tag) from None
    return monitor


def monitor_delete(*, monitor: Monitor) -> None:
    """Delete a monitor no maintenance names; otherwise 409 listing those maintenances.

    The links are PROTECTed, so the check and the delete are one step (no race).
    """
    try:
        with transaction.atomic():
            monitor.delete()
    except ProtectedError as exc:
        ids = sorted({link.maintenance_id for link in exc.protected_objects})
        listed = ", ".join(str(pk) for pk in ids)
        raise Conflict(
            f"Monitor with tag '{monitor.tag}' is used by maintenances {listed}; "
            "remove it from them first",
            details={"maintenance_ids": [str(pk) for pk in ids]},
        ) from None
