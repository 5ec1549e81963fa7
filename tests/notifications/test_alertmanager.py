"""Alertmanager channels against a real Alertmanager on loopback: a window's notices create,
update and expire one silence; failures are retried or failed like every delivery.

Real time, not a frozen clock: Alertmanager judges silences by its own clock."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.admin.utils import quote
from django.utils import timezone

from notifications import services
from notifications.models import Channel, Delivery, Silence
from tests.notifications.alertmanager_server import alertmanager  # noqa: F401 (fixture)
from tests.notifications.conftest import task_payload

CHANNELS = "/api/v1/notifications/channels"


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ends(silence: dict) -> str:
    # Alertmanager answers with milliseconds: "2026-12-01T18:00:00.000Z".
    return silence["endsAt"].replace(".000Z", "Z")


def window(status: str, *, end: datetime, tags=("api", "db-main"), occurrence=42, **extra):
    start = timezone.now().replace(microsecond=0) - timedelta(minutes=1)
    return {
        "timezone": "Europe/Berlin",
        "maintenance": {"id": 7, "title": "Database upgrade", "description": None},
        "occurrence": {"id": occurrence, "start_at": start, "end_at": end, "status": status},
        "monitors": [{"monitor_tag": tag, "impact": "MAINTENANCE"} for tag in tags],
        **extra,
    }


def announce(event: str, status: str, *, end: datetime, key: str | None = None, **kwargs):
    """Record a window notice (as the scheduling app does) and return its deliveries."""
    payload = window(status, end=end, **kwargs)
    return services.notify(
        event=event,
        object_key=key or f"event:{payload['occurrence']['id']}:{status}",
        payload=payload,
        monitor_tags=[m["monitor_tag"] for m in payload["monitors"]],
    )


def send(delivery: Delivery) -> Delivery:
    sent = services.delivery_send(delivery_id=delivery.pk, now=timezone.now())
    assert sent is not None
    return sent


def am_channel(url: str, **options) -> Channel:
    return services.channel_create(name="am", kind="alertmanager", target=url, options=options)


@pytest.fixture
def end():
    return timezone.now().replace(microsecond=0) + timedelta(hours=1)


def test_an_ongoing_window_is_silenced_extended_and_expired(
    db,
    alertmanager,  # noqa: F811 (the imported fixture)
    end,
):
    channel = am_channel(alertmanager.url)

    [started] = announce("maintenance.started", "ONGOING", end=end)
    assert send(started).status == "sent"

    [silence] = alertmanager.live()
    assert silence["status"]["state"] == "active"
    assert silence["matchers"] == [
        {"name": "monitor", "value": r"api|db\-main", "isRegex": True, "isEqual": True}
    ]
    assert _ends(silence) == _iso(end)
    assert silence["createdBy"] == "maintenance-scheduler"
    assert silence["comment"] == "Database upgrade (maintenance 7, event 42)"
    row = Silence.objects.get(channel=channel)
    assert (row.window_key, row.silence_id, row.state) == ("occurrence:42", silence["id"], "active")

    later = end + timedelta(hours=2)
    [extended] = announce(
        "maintenance.updated", "ONGOING", end=later, key="event:42:updated:1", changes=[]
    )
    assert send(extended).status == "sent"
    # Updated in place: the same silence, the new end.
    assert [(s["id"], _ends(s)) for s in alertmanager.live()] == [(silence["id"], _iso(later))]

    [completed] = announce("maintenance.completed", "COMPLETED", end=later)
    assert send(completed).status == "sent"
    assert alertmanager.live() == []
    assert alertmanager.silence(silence["id"])["status"]["state"] == "expired"
    assert Silence.objects.get(channel=channel).state == "expired"


def test_the_label_and_a_single_monitor_give_an_equality_matcher(db, alertmanager, end):  # noqa: F811
    am_channel(alertmanager.url, label="service")

    [started] = announce("maintenance.started", "ONGOING", end=end, tags=["checkout"])
    send(started)

    [silence] = alertmanager.live()
    assert silence["matchers"] == [
        {"name": "service", "value": "checkout", "isRegex": False, "isEqual": True}
    ]


def test_silence_at_ready_silences_when_the_window_is_announced_ready(db, alertmanager, end):  # noqa: F811
    am_channel(alertmanager.url, silence_at="READY")
    ongoing_only = services.channel_create(
        name="at start", kind="alertmanager", target=alertmanager.url + "/"
    )

    deliveries = announce("maintenance.ready", "READY", end=end)
    assert {send(d).status for d in deliveries} == {"sent"}

    [silence] = alertmanager.live()
    assert not Silence.objects.get(channel=ongoing_only).silence_id  # waits for the start
    assert Silence.objects.exclude(channel=ongoing_only).get().silence_id == silence["id"]


def test_a_cancelled_window_expires_its_silence(db, alertmanager, end):  # noqa: F811
    am_channel(alertmanager.url)
    send(announce("maintenance.started", "ONGOING", end=end)[0])

    send(announce("maintenance.cancelled", "CANCELLED", end=end)[0])

    assert alertmanager.live() == []
    # Over for good: a late notice brings nothing back.
    send(
        announce("maintenance.updated", "ONGOING", end=end, key="event:42:updated:x", changes=[])[0]
    )
    assert alertmanager.live() == []


def test_a_late_start_notice_does_not_undo_a_newer_extension(db, alertmanager, end):  # noqa: F811
    am_channel(alertmanager.url)
    [started] = announce("maintenance.started", "ONGOING", end=end)
    later = end + timedelta(hours=3)
    [extended] = announce(
        "maintenance.updated", "ONGOING", end=later, key="event:42:updated:1", changes=[]
    )

    send(extended)  # first, as a retry schedule may have it
    send(started)

    [silence] = alertmanager.live()
    assert _ends(silence) == _iso(later)


def test_monitors_removed_from_the_window_lift_the_silence(db, alertmanager, end):  # noqa: F811
    am_channel(alertmanager.url)
    send(announce("maintenance.started", "ONGOING", end=end)[0])

    send(
        announce(
            "maintenance.updated", "ONGOING", end=end, tags=[], key="event:42:updated:1", changes=[]
        )[0]
    )

    assert alertmanager.live() == []


def test_only_window_notices_are_recorded_for_an_alertmanager(db, alertmanager):  # noqa: F811
    channel = am_channel(alertmanager.url)

    recorded = services.notify(
        event="task.created", object_key="task:1", payload=task_payload(), channel_ids=[channel.pk]
    )

    assert recorded == []


def test_a_channel_test_asks_alertmanager_whether_it_answers(db, alertmanager):  # noqa: F811
    channel = am_channel(alertmanager.url)

    [result] = services.send_test(channel_ids=[channel.pk], now=timezone.now())

    assert (result.status, result.error) == ("sent", None)
    assert alertmanager.silences() == []


# --- unhappy paths, against a loopback receiver that answers what the test says ------------


def test_a_5xx_is_retried_a_4xx_fails_at_once(db, receiver, end):
    am_channel(receiver.url("/am"))
    receiver.respond(503)
    [started] = announce("maintenance.started", "ONGOING", end=end)

    retried = send(started)
    assert (retried.status, retried.last_error) == ("pending", "Received status code 503")
    assert retried.next_attempt_at > timezone.now()

    receiver.respond(400)
    Delivery.objects.filter(pk=started.pk).update(next_attempt_at=timezone.now())
    failed = send(started)
    assert (failed.status, failed.last_error) == ("failed", "Received status code 400")
    assert [(r.method, r.path) for r in receiver.requests] == [("POST", "/am/api/v2/silences")] * 2
    assert receiver.requests[0].json["endsAt"] == _iso(end)


def test_a_silent_alertmanager_times_out_and_is_retried(db, hanging_port, end):
    am_channel(f"http://127.0.0.1:{hanging_port}")

    [started] = announce("maintenance.started", "ONGOING", end=end)
    retried = send(started)

    assert (retried.status, retried.last_error) == ("pending", "Timed out after 1 s")
    assert Silence.objects.get().lease_until is None  # free for the retry


def test_a_redirect_is_not_followed(db, receiver, other_receiver, end):
    am_channel(receiver.url("/am"))
    receiver.respond((307, other_receiver.url("/internal")))

    failed = send(announce("maintenance.started", "ONGOING", end=end)[0])

    assert failed.status == "failed"
    assert "redirects are not followed" in failed.last_error
    assert other_receiver.requests == []


def test_a_notice_of_a_window_another_worker_is_applying_waits_its_turn(db, receiver, end):
    am_channel(receiver.url("/am"))
    [started] = announce("maintenance.started", "ONGOING", end=end)
    Silence.objects.create(
        channel=Channel.objects.get(),
        window_key="occurrence:42",
        lease_until=timezone.now() + timedelta(minutes=5),
    )

    waiting = send(started)

    assert waiting.status == "pending"
    assert waiting.last_error == "Another notice of this maintenance is being applied"
    assert receiver.requests == []


def test_an_answer_without_a_silence_id_is_retried(db, receiver, end):
    am_channel(receiver.url("/am"))
    receiver.respond(200)  # an empty body: not Alertmanager, or a broken one

    retried = send(announce("maintenance.started", "ONGOING", end=end)[0])

    assert (retried.status, retried.last_error) == (
        "pending",
        "Alertmanager answered without a silence id",
    )


def test_a_silence_gone_from_alertmanager_is_created_again(db, alertmanager, end):  # noqa: F811
    channel = am_channel(alertmanager.url)
    # What we remember from before Alertmanager lost its storage.
    Silence.objects.create(
        channel=channel,
        window_key="occurrence:42",
        state="active",
        silence_id="5a1e7c1e-0000-4000-8000-000000000000",
    )

    sent = send(
        announce("maintenance.updated", "ONGOING", end=end, key="event:42:updated:1", changes=[])[0]
    )

    assert sent.status == "sent"
    [silence] = alertmanager.live()
    assert Silence.objects.get().silence_id == silence["id"]


# --- the API --------------------------------------------------------------------------------


def test_the_api_creates_an_alertmanager_channel_with_default_options(api_client):
    response = api_client.post(
        CHANNELS,
        {"name": "am", "kind": "alertmanager", "target": "http://127.0.0.1:9093/"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["options"] == {"label": "monitor", "silence_at": "ONGOING"}
    assert body["target"] == "http://127.0.0.1:9093"
    assert body["secret"] is None


@pytest.mark.parametrize(
    ("fields", "field", "complaint"),
    [
        ({"target": "ftp://am.example.com"}, "target", "is not a valid http(s) URL"),
        ({"target": "http://am.example.com/?x=1"}, "target", "no query string"),
        ({"target": "http://alertmanager:99999"}, "target", "is not a valid http(s) URL"),
        ({"target": "http://under_score:9093"}, "target", "is not a valid http(s) URL"),
        ({"options": {"label": "1bad"}}, "options", "options.label"),
        ({"options": {"label": "__name__"}}, "options", "options.label"),
        ({"options": {"silence_at": "SCHEDULED"}}, "options", "options.silence_at"),
        ({"options": {"colour": "red"}}, "options", "options.colour"),
        ({"options": ["label"]}, "options", "dictionary"),
    ],
)
def test_bad_targets_and_options_are_a_400_naming_the_field(api_client, fields, field, complaint):
    response = api_client.post(
        CHANNELS,
        {"name": "am", "kind": "alertmanager", "target": "http://am.example.com", **fields},
        format="json",
    )

    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert list(details) == [field]
    assert complaint in str(details[field])


def test_other_kinds_take_no_options(api_client):
    response = api_client.post(
        CHANNELS,
        {
            "name": "hook",
            "kind": "webhook",
            "target": "https://hooks.example.com/x",
            "options": {"label": "x"},
        },
        format="json",
    )

    assert response.status_code == 400
    assert "takes no options" in str(response.json()["error"]["details"]["options"])


@pytest.mark.usefixtures("guarded")
@pytest.mark.parametrize(
    "target", ["http://127.0.0.1:9093", "http://10.0.0.5:9093", "http://169.254.169.254"]
)
def test_private_alertmanagers_are_refused_unless_allowed(api_client, target):
    response = api_client.post(
        CHANNELS, {"name": "am", "kind": "alertmanager", "target": target}, format="json"
    )

    assert response.status_code == 400
    assert "is not allowed" in str(response.json()["error"]["details"]["target"])


def test_the_admin_adds_an_alertmanager_channel(admin_client):
    response = admin_client.post(
        "/admin/notifications/channel/add/",
        {
            "name": "am",
            "kind": "alertmanager",
            "target": "http://127.0.0.1:9093",
            # No event ticked (every event), no tags: the admin's widgets send nothing.
            "monitor_tags": "",
            "reminders": "",
            "options": '{"silence_at": "READY"}',
            "active": "on",
        },
        follow=True,
    )

    assert response.status_code == 200
    channel = Channel.objects.get()
    assert channel.options == {"label": "monitor", "silence_at": "READY"}
    change = admin_client.get(f"/admin/notifications/channel/{quote(channel.pk)}/change/")
    assert change.status_code == 200
    refused = admin_client.post(
        "/admin/notifications/channel/add/",
        {
            "name": "bad",
            "kind": "alertmanager",
            "target": "http://127.0.0.1:9093",
            "monitor_tags": "",
            "reminders": "",
            "options": '{"label": "no spaces"}',
        },
    )
    assert "options.label" in refused.content.decode()
    assert Channel.objects.count() == 1


def test_the_target_shows_its_host_and_masks_its_credentials(api_client):
    created = api_client.post(
        CHANNELS,
        {"name": "am", "kind": "alertmanager", "target": "http://ops:s3cret@alertmanager:9093"},
        format="json",
    ).json()

    shown = api_client.get(f"{CHANNELS}/{created['id']}").json()["target"]

    assert shown == "http://****:****@alertmanager:9093"
