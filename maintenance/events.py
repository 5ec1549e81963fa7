"""The notification events of preventive maintenance: a task was generated, is due soon, is
escalated (most of the time to its deadline passed), is overdue.

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

``task.due_soon`` adds ``"reminder": {"lead": "24h"}``, the lead time it was sent for;
``task.escalated`` adds ``"escalation": {"fraction": 0.75, "at": "…Z"}``, the fraction of the
time from due to deadline that had passed and the instant it did (see `maintenance.reminders`).

A contract with webhook consumers: add keys freely, never rename or remove one.
"""

from typing import TYPE_CHECKING, Any

from notifications.events import EventType

if TYPE_CHECKING:
    from maintenance.models import Plan, Task

TASK_CREATED = "task.created"
TASK_OVERDUE = "task.overdue"
# A scheduled report's period ended (or one was sent on request); payload in maintenance.reports.
REPORT_READY = "report.ready"
TASK_DUE_SOON = "task.due_soon"
TASK_ESCALATED = "task.escalated"

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
    EventType(TASK_DUE_SOON, "Task due soon", required=(*_TASK_KEYS, "reminder.lead")),
    EventType(
        TASK_ESCALATED,
        "Task escalated",
        required=(*_TASK_KEYS, "escalation.fraction", "escalation.at"),
    ),
    EventType(
        REPORT_READY,
        "Report ready",
        required=("report.id", "report.schedule.id", "report.period.start", "report.period.end"),
    ),
)


def task_payload(task: "Task", plan: "Plan | None", *, asset_ids: list[str]) -> dict[str, Any]:
    """The payload of every task event (schema above); the reminders add their own key."""
    payload: dict[str, Any] = {
        "timezone": plan.timezone if plan is not None else "UTC",
        "task": {
            "id": task.pk,
            "code": task.code,
            "title": task.title,
            "description": task.description or None,
            "priority": task.priority,
            "status": task.status,
            "due_at": task.due_at,
            "deadline_at": task.deadline_at,
            "asset_ids": list(asset_ids),
            "assignee_id": task.assignee_id,
        },
        "plan": {"id": task.plan_id, "name": plan.name if plan is not None else ""},
    }
    if task.assignee_id is not None:
        assignee = task.assignee
        payload["assignee"] = {
            "id": assignee.pk,
            "name": assignee.name,
            "email": assignee.email or None,
        }
    return payload
