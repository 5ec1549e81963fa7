"""Silences under real processes: one beat and two workers on PostgreSQL + Redis drive a real
Alertmanager on loopback through a window's life (silenced when it starts, extended, expired
when it completes), and tell a webhook of the extension exactly once."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import services as notification_services
from notifications.models import Delivery, Silence
from scheduling.events import MAINTENANCE_UPDATED
from scheduling.models import MaintenanceEvent, Monitor
from tests.integration.conftest import wait_for
from tests.notifications.alertmanager_server import alertmanager  # noqa: F401 (fixture)
from tests.notifications.conftest import receiver  # noqa: F401 (fixture)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TICKS = {"SCHEDULER_TICK_SECONDS": "2", "SCHEDULER_HORIZON_SECONDS": "2"}


def _iso(instant) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_a_window_silences_its_monitors_extends_and_expires_the_silence_once(
    cluster,
    api_client,
    postgres_only,
    alertmanager,  # noqa: F811 (the imported fixture)
    receiver,  # noqa: F811
):
    for n in (1, 2):
        cluster.worker(f"worker{n}", **TICKS)
    cluster.beat("beat1", **TICKS)
    am = notification_services.channel_create(
        name="silences", kind="alertmanager", target=alertmanager.url
    )
    hook = notification_services.channel_create(
        name="ops",
        kind="webhook",
        target=receiver.url(),
        events=["maintenance.started", "maintenance.updated"],
    )
    receiver.secrets["/hook"] = hook.secret
    for tag in ("api", "db"):
        Monitor.objects.create(tag=tag, name=tag)
    # Started this minute (starts are whole minutes): under way from the first tick on.
    start = timezone.now().replace(second=0, microsecond=0)
    response = api_client.post(
        "/api/v4/maintenances",
        {
            "title": "Failover drill",
            "start_date_time": int(start.timestamp()),
            "rrule": "FREQ=DAILY;COUNT=1",
            "duration_seconds": 1800,
            "monitors": [{"monitor_tag": "db"}, {"monitor_tag": "api"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    maintenance_id = response.json()["maintenance"]["id"]
    event = MaintenanceEvent.objects.get(maintenance_id=maintenance_id)
    end = start + timedelta(seconds=1800)

    [silence] = wait_for(alertmanager.live, timeout=60, what="the silence")
    assert silence["matchers"] == [
        {"name": "monitor", "value": "api|db", "isRegex": True, "isEqual": True}
    ]
    assert silence["endsAt"] == _iso(end)
    assert silence["comment"] == f"Failover drill (maintenance {maintenance_id}, event {event.pk})"

    # Extended by an hour: the same silence ends later, the webhook hears it once.
    later = end + timedelta(hours=1)
    response = api_client.patch(
        f"/api/v4/maintenances/{maintenance_id}/events/{event.pk}",
        {"end_date_time": int(later.timestamp())},
        format="json",
    )
    assert response.status_code == 200, response.json()
    wait_for(
        lambda: [s["endsAt"] for s in alertmanager.live()] == [_iso(later)],
        timeout=30,
        what="the extended silence",
    )
    assert [s["id"] for s in alertmanager.live()] == [silence["id"]]

    response = api_client.patch(
        f"/api/v4/maintenances/{maintenance_id}/events/{event.pk}",
        {"status": "COMPLETED"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    wait_for(lambda: alertmanager.live() == [], timeout=30, what="the silence to expire")
    time.sleep(5)  # the beat ticks a few more times over the finished window
    cluster.stop_all()

    assert [s["id"] for s in alertmanager.silences()] == [silence["id"]]  # one, ever
    assert alertmanager.silence(silence["id"])["status"]["state"] == "expired"
    silenced = Delivery.objects.filter(channel=am).order_by("created_at")
    assert [(d.event, d.status) for d in silenced if d.status == "sent"] == [
        ("maintenance.started", "sent"),
        (MAINTENANCE_UPDATED, "sent"),
        ("maintenance.completed", "sent"),
    ]
    assert Silence.objects.get(channel=am).state == "expired"
    heard = [r.json for r in receiver.requests if r.json["event"] == MAINTENANCE_UPDATED]
    assert len(heard) == 1
    assert heard[0]["data"]["changes"] == [
        {"field": "end_at", "old": _iso(end)[:-5] + "Z", "new": _iso(later)[:-5] + "Z"}
    ]
