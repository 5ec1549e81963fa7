"""Channel `reminders`: `maintenance.reminder` once per (event, channel, lead time), re-armed
when an event moves, never for a lead already past when the event was created or moved."""

from datetime import timedelta

import pytest

from notifications import services as notification_services
from notifications.models import Delivery
from scheduling import tasks
from scheduling.events import MAINTENANCE_REMINDER
from scheduling.services import events_send_reminders
from tests.notifications.conftest import fast_notifications, receiver  # noqa: F401 (fixtures)
from tests.scheduling.conftest import NOW, create, error, events_of, ts

pytestmark = pytest.mark.usefixtures("frozen")

CHANNELS = "/api/v1/notifications/channels"
JAN_6 = ts(2026, 1, 6, 2, 0)  # the first event of body(): 14 hours after NOW


def channel(**fields):
    defaults = {"name": "ops", "kind": "email", "target": "ops@example.com"}
    return notification_services.channel_create(**{**defaults, **fields})


def reminders_sent() -> list[tuple[str, str, str]]:
    rows = Delivery.objects.filter(event=MAINTENANCE_REMINDER).order_by("created_at", "id")
    return [(d.channel.name, d.payload["reminder"]["lead"], d.object_key) for d in rows]


def test_it_reminds_once_per_lead_and_channel_when_its_time_comes(api_client, frozen):
    channel(reminders=["24h", "1h", "30m"])
    channel(name="db team", reminders=["1h"], monitor_tags=["db"])  # not this window's
    maintenance = create(api_client)
    first = events_of(api_client, maintenance["id"])[0]["id"]

    # 24h before is already past at creation (14 h before): never sent late.
    assert events_send_reminders(now=NOW) == 0
    frozen.move_to(NOW + timedelta(hours=13))  # 01:00, one hour before
    assert events_send_reminders(now=NOW + timedelta(hours=13)) == 1
    assert events_send_reminders(now=NOW + timedelta(hours=13, minutes=1)) == 0
    assert events_send_reminders(now=NOW + timedelta(hours=13, minutes=30)) == 1

    assert sorted(reminders_sent()) == [
        ("ops", "1h", f"event:{first}:reminder:1h:{JAN_6}"),
        ("ops", "30m", f"event:{first}:reminder:30m:{JAN_6}"),
    ]
    payload = Delivery.objects.filter(event=MAINTENANCE_REMINDER).first().payload
    assert payload["occurrence"]["id"] == first
    assert payload["occurrence"]["start_at"] == "2026-01-06T02:00:00Z"
    assert payload["maintenance"]["title"] == "Database upgrade"


def test_a_moved_event_is_reminded_again_for_its_new_time(api_client, frozen):
    channel(reminders=["24h", "1h"])
    maintenance = create(api_client)
    first = events_of(api_client, maintenance["id"])[0]["id"]
    at_one = NOW + timedelta(hours=13)
    frozen.move_to(at_one)
    events_send_reminders(now=at_one)  # the 1h one, for 02:00

    moved = ts(2026, 1, 7, 1, 30)  # 24 h 30 min after the move
    response = api_client.patch(
        f"/api/v4/maintenances/{maintenance['id']}/events/{first}",
        {"start_date_time": moved, "end_date_time": moved + 3600},
        format="json",
    )
    assert response.status_code == 200

    assert events_send_reminders(now=at_one + timedelta(minutes=29)) == 0
    assert events_send_reminders(now=at_one + timedelta(minutes=30)) == 1  # 24h before
    assert events_send_reminders(now=at_one + timedelta(hours=23, minutes=30)) == 2  # 1h
    keys = {key for *_, key in reminders_sent() if key.startswith(f"event:{first}:")}
    assert keys == {
        f"event:{first}:reminder:1h:{JAN_6}",
        f"event:{first}:reminder:24h:{moved}",
        f"event:{first}:reminder:1h:{moved}",
    }


def test_a_lead_already_past_at_the_move_is_not_sent(api_client, frozen):
    channel(reminders=["24h"])
    maintenance = create(api_client, rrule="FREQ=DAILY;COUNT=1")
    first = events_of(api_client, maintenance["id"])[0]["id"]
    moved = ts(2026, 1, 6, 4, 0)  # 16 hours away: its 24h reminder time has passed

    api_client.patch(
        f"/api/v4/maintenances/{maintenance['id']}/events/{first}",
        {"start_date_time": moved, "end_date_time": moved + 600},
        format="json",
    )

    assert events_send_reminders(now=NOW + timedelta(hours=15)) == 0


def test_cancelled_started_and_inactive_windows_get_no_reminder(api_client):
    channel(reminders=["1h"])
    maintenance = create(api_client, rrule="FREQ=DAILY;COUNT=2")
    events = events_of(api_client, maintenance["id"])
    api_client.patch(
        f"/api/v4/maintenances/{maintenance['id']}/events/{events[0]['id']}",
        {"status": "CANCELLED"},
        format="json",
    )
    assert events_send_reminders(now=NOW + timedelta(hours=13)) == 0  # cancelled
    assert events_send_reminders(now=NOW + timedelta(hours=14, minutes=5)) == 0  # started
    api_client.patch(
        f"/api/v4/maintenances/{maintenance['id']}", {"status": "INACTIVE"}, format="json"
    )
    assert events_send_reminders(now=NOW + timedelta(hours=37)) == 0


def test_a_reminder_late_after_downtime_is_recorded_not_sent(api_client):
    channel(reminders=["6h", "1h"])
    create(api_client)

    # The scheduler was down from 20:00 (6 h before) to 01:30: the 6h one is stale.
    events_send_reminders(now=NOW + timedelta(hours=13, minutes=30))

    statuses = dict(
        Delivery.objects.filter(event=MAINTENANCE_REMINDER).values_list(
            "payload__reminder__lead", "status"
        )
    )
    assert statuses == {"6h": "skipped", "1h": "pending"}


def test_the_periodic_job_sends_the_reminder_to_a_real_endpoint(
    api_client,
    frozen,
    receiver,  # noqa: F811 (the imported fixture)
    eager_celery,
    django_capture_on_commit_callbacks,
):
    channel(kind="webhook", target=receiver.url(), reminders=["1h"])
    create(api_client)
    frozen.move_to(NOW + timedelta(hours=13))

    with django_capture_on_commit_callbacks(execute=True):
        counts = tasks.send_reminders()

    assert counts == {"reminders": 1}
    [request] = receiver.requests
    assert request.json["event"] == "maintenance.reminder"
    assert request.json["data"]["reminder"] == {"lead": "1h"}


# --- the channel field -------------------------------------------------------------------------


def test_a_channel_carries_its_reminders(api_client):
    response = api_client.post(
        CHANNELS,
        {"name": "ops", "kind": "email", "target": "a@example.com", "reminders": ["7d", "30m"]},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["reminders"] == ["7d", "30m"]
    changed = api_client.patch(
        f"{CHANNELS}/{response.json()['id']}", {"reminders": ["72h"]}, format="json"
    )
    assert changed.json()["reminders"] == ["72h"]


@pytest.mark.parametrize(
    ("reminders", "words"),
    [
        (["24h", "1 hour"], "reminders[1]: '1 hour' is not a lead time"),
        (["0h"], "reminders[0]: '0h' is not a lead time"),
        (["31d"], "reminders[0]: 31d is longer than 30 days"),
        (["721h"], "reminders[0]: 721h is longer than 30 days"),
        (["24h", "1d"], "reminders[1]: 1d repeats reminders[0]"),
        ([f"{n}m" for n in range(1, 12)], "At most 10 reminders"),
        (["1h", 5], "Must be a list of strings"),
        ("24h", "Must be a list of strings"),
    ],
)
def test_it_refuses_bad_reminders_and_names_them(api_client, reminders, words):
    response = api_client.post(
        CHANNELS,
        {"name": "ops", "kind": "email", "target": "a@example.com", "reminders": reminders},
        format="json",
    )

    problem = error(response, 400)
    assert words in problem["details"]["reminders"][0]
    assert "reminders" in problem["message"]
