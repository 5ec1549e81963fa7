"""iCalendar (RFC 5545) feeds of maintenance events, built with the `icalendar` library.

One VEVENT per event, never an RRULE: events are edited, cancelled and ended one by one, and
a calendar app shows exactly what the API lists. What keeps subscriptions right:

- `UID` comes from the occurrence key (maintenance id + original start), which never changes,
  so an event that moves, or is regenerated for the same occurrence after a schedule change,
  updates in place instead of appearing twice.
- `SEQUENCE` is the event's stored revision (`MaintenanceEvent.sequence`), which the services
  raise when an event moves, ends early or is cancelled.
- `DTSTAMP` = `LAST-MODIFIED` (RFC 5545 §3.8.7.2 for a calendar without METHOD): the later of
  the event's and its maintenance's last change, so the same rows render the same bytes.
- Times are in the window's own zone with a VTIMEZONE covering the feed's years (UTC windows
  use `Z` times and need none); the one wall time a zone cannot name unambiguously (the
  second pass through the hour clocks repeat in autumn) is written in UTC.
- The ETag is one aggregate query over the same rows, so a polling calendar app that sends
  `If-None-Match` costs one query and gets a 304.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo

from django.core.cache import caches
from django.db.models import Count, Max, QuerySet, Sum
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags
from icalendar import Calendar, Event, vDuration

from scheduling.models import IMPACT_SEVERITY, EventStatus, MaintenanceEvent
from scheduling.recurrence import parse_timezone

# Without `event_start_date_time`, a feed keeps the events that ended in the last 30 days as
# well as the ongoing and upcoming ones: a calendar app drops an event that leaves the feed,
# and a window that just ended should stay in the calendar's recent past.
FEED_PAST = timedelta(days=30)
# A feed is not paged (calendar apps cannot page); this bounds it, soonest first.
FEED_MAX_EVENTS = 5000
# Raised when the rendering changes, so that stored ETags stop matching.
FEED_FORMAT = "1"
CALENDAR_CONTENT_TYPE = "text/calendar; charset=utf-8"
PRODID = "-//maintenance-scheduler//Maintenance windows//EN"
UID_DOMAIN = "maintenance-windows"
# How often calendar apps that honour it (RFC 7986 REFRESH-INTERVAL, X-PUBLISHED-TTL) poll.
REFRESH_INTERVAL = timedelta(minutes=15)


def event_uid(event: MaintenanceEvent) -> str:
    """The event's calendar UID, from its occurrence key: the same for its whole life."""
    occurrence = event.occurrence.astimezone(UTC)
    return f"maintenance-{event.maintenance_id}-{occurrence:%Y%m%dT%H%M%SZ}@{UID_DOMAIN}"


def feed_etag(events: QuerySet[MaintenanceEvent], *, variant: str) -> str:
    """A strong ETag of the feed `events` would render, from one aggregate query: which rows
    (count and sum of ids), and the last change of the rows, their maintenances and the
    monitors they name (a title, impact or monitor name shows in the feed too)."""
    stats = events.order_by().aggregate(
        count=Count("id", distinct=True),
        ids=Sum("id", distinct=True),
        events=Max("updated_at"),
        maintenances=Max("maintenance__updated_at"),
        monitors=Max("maintenance__monitor_links__monitor__updated_at"),
    )
    parts = [FEED_FORMAT, variant, *(str(stats[key]) for key in sorted(stats))]
    return '"' + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32] + '"'


def etag_matches(etag: str, if_none_match: str) -> bool:
    """Whether an `If-None-Match` header names `etag` (or `*`)."""
    if not if_none_match:
        return False
    tags = parse_etags(if_none_match)
    return "*" in tags or etag in tags or f"W/{etag}" in tags


def zone_named(name: str) -> tzinfo:
    return UTC if name == "UTC" else parse_timezone(name)


def wall_time_in(instant: datetime, zone: tzinfo) -> datetime:
    """`instant` as wall time in `zone`, or in UTC when the wall time would name another
    instant: RFC 5545 reads an ambiguous local time (the repeated hour when clocks go back)
    as its first occurrence, so the second one can only be written in UTC."""
    local = instant.astimezone(zone)
    if local.replace(fold=0).astimezone(UTC) != instant:
        return instant.astimezone(UTC)
    return local


def _worst(impacts: Sequence[str]) -> str | None:
    return max(impacts, key=lambda impact: IMPACT_SEVERITY[impact]) if impacts else None


def _description(event: MaintenanceEvent, *, public: bool) -> str:
    """The monitors and their impacts; a private feed adds the window's description and ids."""
    links = list(event.maintenance.monitor_links.all())
    impact = _worst([link.impact for link in links])
    if public:
        named = [f"{link.monitor.name} ({link.impact})" for link in links]
        lines = [f"Impact: {impact or 'none'}", f"Services: {', '.join(named) or 'none'}"]
        return "\n".join(lines)
    named = [f"{link.monitor.tag} ({link.impact})" for link in links]
    lines = [f"Impact: {impact or 'none'}", f"Monitors: {', '.join(named) or 'none'}"]
    lines.append(f"Maintenance {event.maintenance_id}, event {event.pk}")
    if event.maintenance.description:
        lines = [event.maintenance.description, "", *lines]
    return "\n".join(lines)


def _vevent(event: MaintenanceEvent, *, public: bool) -> Event:
    maintenance = event.maintenance
    zone = zone_named(maintenance.timezone)
    modified = max(event.updated_at, maintenance.updated_at).astimezone(UTC)
    vevent = Event()
    vevent.add("uid", event_uid(event))
    vevent.add("dtstamp", modified)
    vevent.add("last-modified", modified)
    vevent.add("created", event.created_at.astimezone(UTC))
    vevent.add("sequence", event.sequence)
    vevent.add("dtstart", wall_time_in(event.start_date_time, zone))
    vevent.add("dtend", wall_time_in(event.end_date_time, zone))
    vevent.add("summary", maintenance.title)
    vevent.add("description", _description(event, public=public))
    cancelled = event.status == EventStatus.CANCELLED
    vevent.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    # A maintenance window is information, not the subscriber's own busy time.
    vevent.add("transp", "TRANSPARENT")
    return vevent


def new_calendar(name: str, *, prodid: str) -> Calendar:
    """An empty VCALENDAR named `name` (RFC 7986 NAME, and X-WR-CALNAME for the apps that
    only read that), Gregorian, from `prodid`."""
    calendar = Calendar()
    calendar.add("prodid", prodid)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)
    return calendar


def calendar_of(events: Sequence[MaintenanceEvent], *, name: str, public: bool = False) -> bytes:
    """The VCALENDAR of `events` (with their maintenances and monitor links fetched), as
    bytes with CRLF line endings and folded lines. A public feed names monitors by their
    display name only and leaves out descriptions and ids."""
    calendar = new_calendar(name, prodid=PRODID)
    calendar.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH_INTERVAL))
    for event in events:
        calendar.add_component(_vevent(event, public=public))
    if events:
        # VTIMEZONEs that cover the feed's years only: small, and the same for the same rows.
        first = min(event.start_date_time for event in events)
        last = max(event.end_date_time for event in events)
        calendar.add_missing_timezones(
            first_date=date(first.year - 1, 1, 1), last_date=date(last.year + 1, 12, 31)
        )
    return calendar.to_ical()


def feed_response(
    events: QuerySet[MaintenanceEvent],
    *,
    name: str,
    if_none_match: str,
    cache_control: str,
    public: bool = False,
    cache_seconds: int = 0,
) -> HttpResponse:
    """The feed of `events` (at most FEED_MAX_EVENTS, soonest first) with its ETag, or a 304
    when `if_none_match` names that ETag: then only the aggregate query runs.

    With `cache_seconds`, the body is kept in Django's cache under its ETag (and name) that
    long: requests in between cost the aggregate query only, and never get a stale body,
    since any change makes a new ETag."""
    etag = feed_etag(events, variant="public" if public else "private")
    if etag_matches(etag, if_none_match):
        response = HttpResponseNotModified()
    else:

        def body() -> bytes:
            return calendar_of(list(events[:FEED_MAX_EVENTS]), name=name, public=public)

        if cache_seconds:
            key = "feed:" + hashlib.sha256(f"{etag}|{name}".encode()).hexdigest()
            content = caches["pages"].get_or_set(key, body, cache_seconds)
        else:
            content = body()
        response = HttpResponse(content, content_type=CALENDAR_CONTENT_TYPE)
        response["Content-Disposition"] = 'inline; filename="maintenances.ics"'
    response["ETag"] = etag
    response["Cache-Control"] = cache_control
    return response


def feed_window_start(now: datetime) -> datetime:
    """Without `event_start_date_time`, a feed holds the events that end after this."""
    return now - FEED_PAST
