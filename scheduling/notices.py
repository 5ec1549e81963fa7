"""What the notices of maintenance windows say, and `maintenance.updated`: telling the channels
that heard of an event that it changed.

An event counts as announced to a channel once a ``maintenance.ready``, ``.started`` or
``.reminder`` delivery of it is recorded for that channel and not given up (pending, being
sent or sent: a stale, cancelled or failed one told nobody). When such an event moves
(`event_update_times`, `event_update_end`: API and admin) or its window's title, monitors or
impacts change (`maintenance_update`), each of those channels that subscribes to
``maintenance.updated`` gets one notice per change, saying what changed (old → new). The
notice is recorded in the transaction of the change, under a key of its own
(``event:<id>:updated:<token>``), so the deliveries' exactly-once machinery sends it once
however many workers run; a change that rolls back records nothing.
"""

from __future__ import annotations

import re
import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db.models import Prefetch

from notifications import services as notifications
from notifications.models import MAX_REMINDER_LEAD, Channel, Delivery
from scheduling.events import (
    MAINTENANCE_READY,
    MAINTENANCE_REMINDER,
    MAINTENANCE_STARTED,
    MAINTENANCE_UPDATED,
)
from scheduling.models import MaintenanceEvent, MaintenanceMonitor

ANNOUNCING_EVENTS = (MAINTENANCE_READY, MAINTENANCE_STARTED, MAINTENANCE_REMINDER)
_HEARD = (Delivery.Status.PENDING, Delivery.Status.SENDING, Delivery.Status.SENT)
_EVENT_KEY = re.compile(r"event:(\d+):")

Change = dict[str, Any]  # {"field": ..., "old": ..., "new": ...}


def window_payload(event: MaintenanceEvent, status: str) -> dict[str, Any]:
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


def time_changes(*, old: tuple[datetime, datetime], new: tuple[datetime, datetime]) -> list[Change]:
    """The start_at / end_at changes between two (start, end) windows."""
    return [
        {"field": field, "old": before, "new": after}
        for field, before, after in zip(("start_at", "end_at"), old, new, strict=True)
        if before != after
    ]


def announced_channels(event_ids: Iterable[int]) -> dict[int, set[str]]:
    """Channel ids each event was announced to (see the module docstring). One query."""
    ids = sorted(set(event_ids))
    if not ids:
        return {}
    keys = Delivery.objects.filter(
        event__in=ANNOUNCING_EVENTS,
        status__in=_HEARD,
        object_key__regex=rf"^event:({'|'.join(str(pk) for pk in ids)}):",
    ).values_list("object_key", "channel_id")
    heard: dict[int, set[str]] = defaultdict(set)
    for key, channel_id in keys:
        heard[int(_EVENT_KEY.match(key).group(1))].add(channel_id)
    return heard


def announce_updates(
    *, events, changes: Sequence[Change] | dict[int, Sequence[Change]], now: datetime
) -> int:
    """Record `maintenance.updated` for each of ``events`` (a queryset) that changed (one list
    of ``changes`` for all, or by event id) and was announced; returns how many deliveries.

    Only events still live are told (completed and cancelled ones are over). Call it inside
    the transaction of the change, after the rows carry their new values.
    """
    if not changes or not Channel.objects.filter(active=True).exists():
        return 0
    candidates = (
        events.exclude(status__in=("COMPLETED", "CANCELLED"))
        .filter(end_date_time__gt=now)
        .order_by("pk")
    )
    heard = announced_channels(candidates.values_list("pk", flat=True))
    if not heard:
        return 0
    links = Prefetch(
        "maintenance__monitor_links",
        queryset=MaintenanceMonitor.objects.select_related("monitor").order_by("pk"),
    )
    recorded = 0
    for event in (
        candidates.filter(pk__in=list(heard)).select_related("maintenance").prefetch_related(links)
    ):
        these = changes.get(event.pk, ()) if isinstance(changes, dict) else changes
        if not these:
            continue
        payload = {**window_payload(event, event.status_at(now)), "changes": list(these)}
        recorded += len(
            notifications.notify(
                event=MAINTENANCE_UPDATED,
                # One key per change: the same event may change again a minute later.
                object_key=f"event:{event.pk}:updated:{secrets.token_hex(8)}",
                payload=payload,
                channel_ids=sorted(heard[event.pk]),
                relevant_until=event.end_date_time,
                now=now,
            )
        )
    return recorded


def announce_window_updates(*, maintenance, changes: Sequence[Change], now: datetime) -> int:
    """`announce_updates` for a change of the window itself (title, monitors): of its events,
    only those that can have been announced, under way or starting within the longest
    reminder lead (its events did not move, so a later one never was)."""
    return announce_updates(
        events=maintenance.events.filter(start_date_time__lte=now + MAX_REMINDER_LEAD),
        changes=changes,
        now=now,
    )
