"""Message templates: every event renders, times in the object's zone with the zone named."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from notifications.events import event_types
from notifications.messages import Message
from notifications.models import Delivery
from notifications.services import _checked_payload
from notifications.templatetags.notification_tags import in_zone
from tests.notifications.conftest import task_payload, window_payload

PAYLOADS = {
    "task.created": task_payload(),
    "task.overdue": task_payload(assignee=None),
    "task.due_soon": {**task_payload(), "reminder": {"lead": "24h"}},
    "task.escalated": {
        **task_payload(),
        "escalation": {"fraction": 0.75, "at": "2026-07-01T14:00:00Z"},
    },
    "maintenance.ready": window_payload("READY"),
    "maintenance.started": window_payload("ONGOING"),
    "maintenance.completed": window_payload("COMPLETED", monitors=[]),
    "maintenance.cancelled": window_payload("CANCELLED"),
    "maintenance.reminder": {**window_payload("SCHEDULED"), "reminder": {"lead": "24h"}},
    "maintenance.updated": {
        **window_payload("ONGOING"),
        "changes": [
            {"field": "end_at", "old": "2026-07-01T09:05:00Z", "new": "2026-07-01T10:05:00Z"},
            {"field": "title", "old": "DB upgrade", "new": "Database upgrade"},
            {"field": "monitors", "old": [], "new": [{"monitor_tag": "api", "impact": "DOWN"}]},
        ],
    },
    "report.ready": {
        "timezone": "Europe/Madrid",
        "report": {
            "id": "rpt_x",
            "trigger": "scheduled",
            "frequency": "weekly",
            "label": "2026-W27",
            "metrics": ["tasks_overdue"],
            "schedule": {"id": "rsch_x", "name": "Weekly PM"},
            "period": {
                "start": "2026-06-28T22:00:00Z",
                "end": "2026-07-05T22:00:00Z",
                "first_day": "2026-06-29",
                "last_day": "2026-07-05",
            },
            "summary": [
                {
                    "metric": "tasks_overdue",
                    "title": "Overdue tasks",
                    "lines": [{"label": "Overdue at the end", "value": 3}],
                }
            ],
            "data": {"tasks_overdue": {"count": 3}},
            "files": [
                {
                    "name": "report-2026-W27.csv",
                    "format": "csv",
                    "content_type": "text/csv",
                    "size": 120,
                    "url": "http://localhost:8000/api/v1/maintenance/reports/rpt_x/files/r.csv?token=t",
                    "expires_at": "2026-07-13T08:00:00Z",
                }
            ],
        },
    },
    "test": {"timezone": "UTC", "message": "hello", "requested_at": "2026-07-01T08:00:00Z"},
}


def message(event: str) -> Message:
    delivery = Delivery(
        id="dlv_x",
        event=event,
        payload=_checked_payload(event, PAYLOADS[event]),
        created_at=timezone.now(),
    )
    return Message(delivery)


@pytest.mark.parametrize("event", [registered.name for registered in event_types()])
def test_every_event_has_a_subject_a_text_and_an_html_body(event):
    rendered = message(event)

    assert rendered.subject and "\n" not in rendered.subject
    assert "{" not in rendered.subject + rendered.text
    assert rendered.html.lstrip().startswith("<!doctype html>")
    if event != "test":
        zone = PAYLOADS[event]["timezone"]
        assert f"({zone})" in rendered.text
        assert f"({zone})" in rendered.html


def test_window_times_are_shown_in_the_windows_zone():
    text = message("maintenance.ready").text

    assert "Starts:      Wed 01 Jul 2026, 04:05 EDT (America/New_York)" in text
    assert "Ends:        Wed 01 Jul 2026, 05:05 EDT (America/New_York)" in text


@pytest.mark.parametrize(
    ("instant", "zone", "shown"),
    [
        ("2026-07-01T08:00:00Z", "Europe/Berlin", "Wed 01 Jul 2026, 10:00 CEST (Europe/Berlin)"),
        ("2026-01-01T08:00:00Z", "Europe/Berlin", "Thu 01 Jan 2026, 09:00 CET (Europe/Berlin)"),
        # The night the clocks go back: the same wall time twice, told apart by the zone.
        ("2026-10-25T00:30:00Z", "Europe/Berlin", "Sun 25 Oct 2026, 02:30 CEST (Europe/Berlin)"),
        ("2026-10-25T01:30:00Z", "Europe/Berlin", "Sun 25 Oct 2026, 02:30 CET (Europe/Berlin)"),
        ("2026-07-01T08:00:00Z", "UTC", "Wed 01 Jul 2026, 08:00 UTC"),
        ("2026-07-01T08:00:00Z", "Asia/Kolkata", "Wed 01 Jul 2026, 13:30 IST (Asia/Kolkata)"),
        (
            datetime(2026, 7, 1, 8, tzinfo=UTC),
            "America/Sao_Paulo",
            "Wed 01 Jul 2026, 05:00 -03 (America/Sao_Paulo)",
        ),
        (None, "UTC", ""),
    ],
)
def test_in_zone_names_the_zone(instant, zone, shown):
    assert in_zone(instant, zone) == shown
