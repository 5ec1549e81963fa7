"""The notification events of maintenance windows: one per step an occurrence announces.

Registered by `SchedulingConfig.ready`; `scheduling.services` raises them with
`notifications.services.notify`. Their messages are the templates under
``scheduling/templates/notifications/`` (``maintenance.ready/`` … ``maintenance.cancelled/``,
sharing ``_window.txt`` and ``_window.html``).

Payload of all four (besides ``timezone``, the window's zone; the envelope and the rules
every payload follows are in `notifications.events`; ``?`` marks optional keys, which may
also be null)::

    {"timezone": "Europe/Berlin",
     "maintenance": {"id": 7, "title": "…", "description"?: "…"},
     "occurrence": {"id": 42, "start_at": "…Z", "end_at": "…Z", "status": "READY"},
     "monitors": [{"monitor_tag": "api", "impact": "MAINTENANCE"}]}

``maintenance.reminder`` adds ``"reminder": {"lead": "24h"}``, the channel's lead time.

``maintenance.updated`` (an occurrence already announced moved, or its window's title,
monitors or impacts changed; `scheduling.notices`) shows the occurrence as it is now and adds
what changed, old → new, in the order start_at, end_at, title, monitors::

    "changes": [{"field": "end_at", "old": "…Z", "new": "…Z"},
                {"field": "title", "old": "…", "new": "…"},
                {"field": "monitors", "old": [{"monitor_tag": …, "impact": …}], "new": [...]}]

A contract with webhook consumers: add keys freely, never rename or remove one.
"""

from notifications.events import EventType

MAINTENANCE_READY = "maintenance.ready"
MAINTENANCE_STARTED = "maintenance.started"
MAINTENANCE_COMPLETED = "maintenance.completed"
MAINTENANCE_CANCELLED = "maintenance.cancelled"
# Sent `lead` before an event starts, once per lead time a channel lists in `reminders`.
MAINTENANCE_REMINDER = "maintenance.reminder"
# An announced event moved, or its window's title, monitors or impacts changed.
MAINTENANCE_UPDATED = "maintenance.updated"

_WINDOW_KEYS = (
    "maintenance.id",
    "maintenance.title",
    "occurrence.id",
    "occurrence.start_at",
    "occurrence.end_at",
    "occurrence.status",
    "monitors",
)

EVENT_TYPES = (
    EventType(MAINTENANCE_READY, "Maintenance starting soon", required=_WINDOW_KEYS),
    EventType(MAINTENANCE_STARTED, "Maintenance started", required=_WINDOW_KEYS),
    EventType(MAINTENANCE_COMPLETED, "Maintenance completed", required=_WINDOW_KEYS),
    EventType(MAINTENANCE_CANCELLED, "Maintenance cancelled", required=_WINDOW_KEYS),
    EventType(
        MAINTENANCE_REMINDER, "Maintenance reminder", required=(*_WINDOW_KEYS, "reminder.lead")
    ),
    EventType(MAINTENANCE_UPDATED, "Maintenance changed", required=(*_WINDOW_KEYS, "changes")),
)
