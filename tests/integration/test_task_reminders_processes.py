"""Task reminders under real processes: two beats and three workers on PostgreSQL + Redis
generate a task, then send each `task.due_soon` lead and each `task.escalated` fraction
exactly once per channel, to a real HTTP endpoint on loopback."""

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from maintenance.events import TASK_DUE_SOON, TASK_ESCALATED
from maintenance.models import Task
from notifications import services as notification_services
from notifications.models import Delivery
from tests.integration.conftest import wait_for
from tests.notifications.conftest import receiver  # noqa: F401 (fixture)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FAST = {"SCHEDULER_TICK_SECONDS": "2"}


def test_two_beats_and_three_workers_remind_and_escalate_each_task_once(
    cluster,
    api_client,
    postgres_only,
    receiver,  # noqa: F811 (the imported fixture)
):
    # Started first: the task is generated on their first tick, before its leads.
    for n in (1, 2, 3):
        cluster.worker(f"worker{n}", **FAST)
    cluster.beat("beat1", **FAST)
    cluster.beat("beat2", **FAST)
    crew = notification_services.channel_create(
        name="crew", kind="webhook", target=receiver.url("/crew")
    )
    managers = notification_services.channel_create(
        name="managers", kind="webhook", target=receiver.url("/managers")
    )
    receiver.secrets["/crew"] = crew.secret
    receiver.secrets["/managers"] = managers.secret
    # Due at a minute boundary at least 2¼ minutes away, so both leads fall after the task
    # is generated (at once: its lead time of an hour has already begun).
    now = timezone.now()
    due = (now + timedelta(minutes=2, seconds=15)).replace(second=0, microsecond=0)
    due += timedelta(minutes=1)
    tolerance_hours = 0.05  # a deadline 3 minutes after due: escalations at +18 s and +36 s
    response = api_client.post(
        "/api/v1/maintenance/plans",
        {
            "name": "Lubricate pump bearings",
            "trigger": "calendar",
            "calendar": {
                "every": 1,
                "unit": "day",
                "start_at": due.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "lead_time_hours": 1,
                "tolerance_hours": tolerance_hours,
            },
            "notification_channel_ids": [crew.pk],
            "due_soon_lead_times": ["2m", "1m"],
            "escalation_fractions": [0.1, 0.2],
            "escalation_channel_ids": [managers.pk],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    plan_id = response.json()["id"]

    def heard(path: str, event: str) -> list[dict]:
        return [
            r.json["data"] for r in receiver.requests if r.path == path and r.json["event"] == event
        ]

    last_escalation = due + timedelta(hours=tolerance_hours) * 0.2
    wait_for(
        lambda: (
            len(heard("/crew", TASK_DUE_SOON)) >= 2 and len(heard("/managers", TASK_ESCALATED)) >= 2
        ),
        timeout=(last_escalation - timezone.now()).total_seconds() + 30,
        what="both reminders and both escalations",
    )
    time.sleep(6)  # both beats sweep over the sent ones a few more times
    cluster.stop_all()

    [task] = Task.objects.filter(plan_id=plan_id)
    assert sorted(d["reminder"]["lead"] for d in heard("/crew", TASK_DUE_SOON)) == ["1m", "2m"]
    assert sorted(d["escalation"]["fraction"] for d in heard("/managers", TASK_ESCALATED)) == [
        0.1,
        0.2,
    ]
    assert {d["task"]["id"] for d in heard("/crew", TASK_DUE_SOON)} == {task.pk}
    # Each once, to its own channels only: no escalation to the crew, no reminder to managers.
    assert not heard("/crew", TASK_ESCALATED) and not heard("/managers", TASK_DUE_SOON)
    deliveries = Delivery.objects.filter(event__in=(TASK_DUE_SOON, TASK_ESCALATED))
    assert Counter(deliveries.values_list("event", "status")) == {
        (TASK_DUE_SOON, "sent"): 2,
        (TASK_ESCALATED, "sent"): 2,
    }
    assert all(r.signature_ok for r in receiver.requests)
