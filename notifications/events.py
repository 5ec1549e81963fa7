"""The events a channel can hear about, and the payload each one carries.

Domain apps pass a payload to `notifications.services.notify`; it is stored on the delivery
as is, sent to webhooks inside the envelope below, and rendered by the message templates
(``templates/notifications/<event>/``). The shape is a contract with webhook consumers:
add keys freely, never rename or remove one.

Every payload has ``timezone``: the IANA zone of the object (the plan's, the window's), in
which messages show times. Instants are ISO 8601 UTC strings with ``Z`` (a datetime given to
`notify` is converted). Keys (``?`` marks optional ones, which may also be null):

``task.created`` / ``task.overdue``::

    {"timezone": "Europe/Berlin",
     "task": {"id": "task_…", "code": "MAN-042", "title": "…", "description"?: "…",
              "priority"?: "high", "status"?: "open", "due_at": "…Z", "deadline_at": "…Z",
              "asset_ids"?: ["asset_…"], "assignee_id"?: "tech_…"},
     "plan": {"id": "plan_…", "name": "…"},
     "assignee"?: {"id": "tech_…", "name": "…", "email": "…"}}

``maintenance.ready`` / ``.started`` / ``.completed`` / ``.cancelled``::

    {"timezone": "Europe/Berlin",
     "maintenance": {"id": 7, "title": "…", "description"?: "…"},
     "occurrence": {"id": 42, "start_at": "…Z", "end_at": "…Z", "status": "READY"},
     "monitors": [{"monitor_tag": "api", "impact": "MAINTENANCE"}]}

``test``::

    {"timezone": "UTC", "message": "…", "requested_at": "…Z"}

A webhook receives ``{"id": "dlv_…", "event": "…", "created_at": "…Z", "data": <payload>}``.
"""

from dataclasses import dataclass

TASK_CREATED = "task.created"
TASK_OVERDUE = "task.overdue"
MAINTENANCE_READY = "maintenance.ready"
MAINTENANCE_STARTED = "maintenance.started"
MAINTENANCE_COMPLETED = "maintenance.completed"
MAINTENANCE_CANCELLED = "maintenance.cancelled"
TEST = "test"

_TASK_KEYS = (
    "timezone",
    "task.id",
    "task.code",
    "task.title",
    "task.due_at",
    "task.deadline_at",
    "plan.id",
    "plan.name",
)
_WINDOW_KEYS = (
    "timezone",
    "maintenance.id",
    "maintenance.title",
    "occurrence.id",
    "occurrence.start_at",
    "occurrence.end_at",
    "occurrence.status",
    "monitors",
)


@dataclass(frozen=True)
class EventType:
    name: str
    label: str
    # Dotted paths that must be present in the payload (the value may not be missing;
    # it may be null only for keys documented as optional, which are not listed here).
    required: tuple[str, ...]


EVENT_TYPES: dict[str, EventType] = {
    e.name: e
    for e in (
        EventType(TASK_CREATED, "Task created", _TASK_KEYS),
        EventType(TASK_OVERDUE, "Task overdue", _TASK_KEYS),
        EventType(MAINTENANCE_READY, "Maintenance starting soon", _WINDOW_KEYS),
        EventType(MAINTENANCE_STARTED, "Maintenance started", _WINDOW_KEYS),
        EventType(MAINTENANCE_COMPLETED, "Maintenance completed", _WINDOW_KEYS),
        EventType(MAINTENANCE_CANCELLED, "Maintenance cancelled", _WINDOW_KEYS),
        EventType(TEST, "Test", ("timezone", "message")),
    )
}

EVENT_CHOICES = [(e.name, e.label) for e in EVENT_TYPES.values()]
# What a channel may subscribe to. `test` is not among them: a test reaches every channel
# it is sent to, whatever the channel's `events`.
SUBSCRIBABLE_EVENTS = tuple(name for name in EVENT_TYPES if name != TEST)


def missing_keys(event: str, payload: dict) -> list[str]:
    """The required dotted paths of ``event`` that ``payload`` lacks."""
    missing = []
    for path in EVENT_TYPES[event].required:
        node = payload
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                missing.append(path)
                break
            node = node[part]
    return missing
