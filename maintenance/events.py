"""The notification events of preventive maintenance: a task was generated, a task is overdue.

Registered by `MaintenanceConfig.ready`; `maintenance.services` raises them with
`notifications.services.notify`. Their messages are the templates under
``maintenance/templates/notifications/`` (``task.created/``, ``task.overdue/``, sharing
``_task.txt`` and ``_task.html``).

Payload of both (besides ``timezone``, the plan's zone; the envelope and the rules every
payload follows are in `notifications.events`; ``?`` marks optional keys, which may also be
null)::

    {"timezone": "Europe/Berlin",
     "task": {"id": "task_…", "code": "MAN-042", "title": "…", "description"?: "…",
              "priority"?: "high", "status"?: "open", "due_at": "…Z", "deadline_at": "…Z",
              "asset_ids"?: ["asset_…"], "assignee_id"?: "tech_…"},
     "plan": {"id": "plan_…", "name": "…"},
     "assignee"?: {"id": "tech_…", "name": "…", "email": "…"}}

A contract with webhook consumers: add keys freely, never rename or remove one.
"""

from notifications.events import EventType

TASK_CREATED = "task.created"
TASK_OVERDUE = "task.overdue"
# A scheduled report's period ended (or one was sent on request); payload in maintenance.reports.
REPORT_READY = "report.ready"

_TASK_KEYS = (
    "task.id",
    "task.code",
    "task.title",
    "task.due_at",
    "task.deadline_at",
    "plan.id",
    "plan.name",
)

EVENT_TYPES = (
    EventType(TASK_CREATED, "Task created", required=_TASK_KEYS),
    EventType(TASK_OVERDUE, "Task overdue", required=_TASK_KEYS),
    EventType(
        REPORT_READY,
        "Report ready",
        required=("report.id", "report.schedule.id", "report.period.start", "report.period.end"),
    ),
)
