"""Reminders under real processes: two beats and three workers on PostgreSQL + Redis send
each (event, channel, lead time) reminder exactly once, to a real HTTP endpoint."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import services as notification_services
from notifications.models import Delivery
from scheduling.events import MAINTENANCE_REMINDER
from scheduling.models import MaintenanceEvent
from tests.integration.conftest import wait_for
from tests.notifications.conftest import receiver  # noqa: F401 (fixture)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_two_beats_and_three_workers_send_each_reminder_once(
    cluster,
    api_client,
    postgres_only,
    receiver,  # noqa: F811 (the imported fixture)
):
    for n in (1, 2, 3):
        cluster.worker(f"worker{n}", SCHEDULER_TICK_SECONDS="2", SCHEDULER_HORIZON_SECONDS="2")
    cluster.beat("beat1", SCHEDULER_TICK_SECONDS="2", SCHEDULER_HORIZON_SECONDS="2")
    cluster.beat("beat2", SCHEDULER_TICK_SECONDS="2", SCHEDULER_HORIZON_SECONDS="2")
    hook = notification_services.channel_create(
        name="ops", kind="webhook", target=receiver.url(), reminders=["2m", "1m"]
    )
    receiver.secrets["/hook"] = hook.secret
    # Starts at the minute boundary after next: both reminders fall due within ~2 minutes,
    # and both after the event was created.
    now = timezone.now()
    start = (now + timedelta(minutes=2)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    if start - timedelta(minutes=2) <= now:
        start += timedelta(minutes=1)
    response = api_client.post(
        "/api/v4/maintenances",
        {
            "title": "Failover drill",
            "start_date_time": int(start.timestamp()),
            "rrule": "FREQ=DAILY;COUNT=1",
            "duration_seconds": 600,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    event = MaintenanceEvent.objects.get(maintenance_id=response.json()["maintenance"]["id"])

    def reminders_heard() -> list[str]:
        return [
            r.json["data"]["reminder"]["lead"]
            for r in receiver.requests
            if r.json["event"] == MAINTENANCE_REMINDER
        ]

    wait_for(
        lambda: len(reminders_heard()) >= 2,
        timeout=(start - timezone.now()).total_seconds() + 30,
        what="both reminders",
    )
    time.sleep(6)  # both beats tick over the sent reminders a few more times
    cluster.stop_all()

    assert sorted(reminders_heard()) == ["1m", "2m"]
    deliveries = Delivery.objects.filter(event=MAINTENANCE_REMINDER, channel=hook)
    assert sorted(deliveries.values_list("object_key", flat=True)) == [
        f"event:{event.pk}:reminder:1m:{int(start.timestamp())}",
        f"event:{event.pk}:reminder:2m:{int(start.timestamp())}",
    ]
    assert set(deliveries.values_list("status", flat=True)) == {"sent"}
    assert all(r.signature_ok for r in receiver.requests)  # signed with the channel's secret
