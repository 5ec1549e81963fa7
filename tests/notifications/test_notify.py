"""`notify`, the entry point of the domain apps: an outbox row per channel, sent after commit,
once per cause, to the right channels, never when it is no longer relevant."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from notifications import services
from notifications.models import Delivery
from tests.notifications.conftest import T0, task_payload, window_payload

WINDOW_EVENTS = [
    "maintenance.ready",
    "maintenance.started",
    "maintenance.completed",
    "maintenance.cancelled",
]


def notify_task(channel, event="task.created", **kwargs):
    return services.notify(
        event=event,
        object_key="task:task_abc",
        payload=task_payload(),
        channel_ids=[channel.pk],
        now=T0,
        **kwargs,
    )


def notify_window(event="maintenance.ready", tags=("api",), **kwargs):
    return services.notify(
        event=event,
        object_key=f"event:42:{event}",
        payload=window_payload(),
        monitor_tags=list(tags),
        now=T0,
        **kwargs,
    )


@pytest.mark.django_db(transaction=True)
def test_it_records_in_the_callers_transaction_and_sends_after_commit(
    receiver, webhook, eager_celery
):
    # A real commit (no test transaction around it): the task runs when the change commits.
    channel = webhook()

    with transaction.atomic():
        [delivery] = notify_task(channel)
        assert receiver.requests == []  # nothing leaves before the change commits
        assert Delivery.objects.get().status == "pending"

    [request] = receiver.requests
    assert request.signature_ok is True
    assert request.headers["X-Delivery-Id"] == delivery.pk
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 1, "")
    assert delivery.sent_at is not None


def test_it_records_and_sends_nothing_when_the_change_rolls_back(
    receiver, webhook, eager_celery, django_capture_on_commit_callbacks
):
    channel = webhook()

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        notify_task(channel)
        raise RuntimeError("the domain change failed")

    assert callbacks == []
    assert not Delivery.objects.exists()
    assert receiver.requests == []


@pytest.mark.parametrize("event", ["task.created", "task.overdue"])
def test_a_task_event_fires_once_when_its_cause_is_processed_twice(
    event, receiver, webhook, eager_celery, django_capture_on_commit_callbacks
):
    channel = webhook()

    with django_capture_on_commit_callbacks(execute=True):
        first = notify_task(channel, event=event)
    with django_capture_on_commit_callbacks(execute=True) as second_callbacks:
        second = notify_task(channel, event=event)

    assert len(first) == 1
    assert second == []
    assert second_callbacks == []
    assert Delivery.objects.count() == 1
    assert [r.headers["X-Event"] for r in receiver.requests] == [event]


@pytest.mark.parametrize("event", WINDOW_EVENTS)
def test_a_window_event_fires_once_when_its_cause_is_processed_twice(
    event, receiver, webhook, eager_celery, django_capture_on_commit_callbacks
):
    webhook(monitor_tags=["api"])

    with django_capture_on_commit_callbacks(execute=True):
        notify_window(event)
        notify_window(event)

    assert Delivery.objects.filter(event=event).count() == 1
    assert [r.headers["X-Event"] for r in receiver.requests] == [event]
    assert receiver.requests[0].json["data"]["occurrence"]["id"] == 42


def test_each_event_of_one_object_is_its_own_cause(webhook):
    channel = webhook()

    notify_task(channel, event="task.created")
    notify_task(channel, event="task.overdue")

    assert sorted(Delivery.objects.values_list("event", flat=True)) == [
        "task.created",
        "task.overdue",
    ]


def test_window_events_reach_channels_of_their_tags_and_channels_of_every_window(webhook):
    api = webhook("api team", monitor_tags=["api", "web"])
    db = webhook("db team", monitor_tags=["db"])
    everything = webhook("noc")

    assert {d.channel_id for d in notify_window(tags=["api"])} == {api.pk, everything.pk}
    assert {d.channel_id for d in notify_window("maintenance.started", tags=["db", "web"])} == {
        api.pk,
        db.pk,
        everything.pk,
    }
    # A window without monitors still interests the channels that hear every window.
    assert {d.channel_id for d in notify_window("maintenance.completed", tags=[])} == {
        everything.pk
    }


def test_task_events_reach_only_the_named_channels(webhook):
    named = webhook("technician")
    webhook("noc")  # hears every window, but a task is not a window

    deliveries = notify_task(named)

    assert [d.channel_id for d in deliveries] == [named.pk]
    assert (
        services.notify(event="task.created", object_key="task:x", payload=task_payload(), now=T0)
        == []
    )


def test_a_window_event_also_reaches_channels_named_explicitly_once_each(webhook):
    named = webhook("named", monitor_tags=["db"])
    tagged = webhook("api", monitor_tags=["api"])

    deliveries = notify_window(tags=["api"], channel_ids=[named.pk, tagged.pk, "chan_gone"])

    assert sorted(d.channel_id for d in deliveries) == sorted([named.pk, tagged.pk])


def test_a_channel_gets_only_the_events_it_subscribed_to(webhook):
    starts_only = webhook("starts", events=["maintenance.started"])
    everything = webhook("all")  # empty events: every event
    tasks_only = webhook("tasks", events=["task.created", "task.overdue"])

    ready = notify_window("maintenance.ready")
    started = notify_window("maintenance.started")

    assert {d.channel_id for d in ready} == {everything.pk}
    assert {d.channel_id for d in started} == {starts_only.pk, everything.pk}
    assert [d.channel_id for d in notify_task(tasks_only)] == [tasks_only.pk]
    assert notify_task(starts_only) == []


def test_an_inactive_channel_gets_no_delivery(webhook):
    channel = webhook(active=False)

    assert notify_task(channel) == []
    assert notify_window() == []


def test_a_stale_event_is_recorded_as_skipped_and_never_sent(
    receiver, webhook, eager_celery, django_capture_on_commit_callbacks
):
    webhook()
    # Back after downtime: the window's READY moment is long gone, the window already ended.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        [delivery] = notify_window(relevant_until=T0 - timedelta(hours=1))

    assert callbacks == []
    assert receiver.requests == []
    assert delivery.status == "skipped"
    assert delivery.last_error == "stale: relevant until 2026-07-01T07:00:00Z"
    assert delivery.attempts == 0
    # Still one per cause: the next pass over the same transition adds nothing.
    assert notify_window(relevant_until=T0 - timedelta(hours=1)) == []


def test_an_event_still_relevant_is_sent(receiver, webhook):
    webhook()

    [delivery] = notify_window(relevant_until=T0 + timedelta(minutes=5))
    sent = services.delivery_send(delivery_id=delivery.pk, now=T0 + timedelta(minutes=4))

    assert sent.status == "sent"
    assert len(receiver.requests) == 1


def test_a_delivery_that_went_stale_while_the_workers_were_down_is_not_sent(receiver, webhook):
    webhook()
    [delivery] = notify_window(relevant_until=T0 + timedelta(minutes=5))  # no worker ran

    later = T0 + timedelta(hours=3)
    result = services.delivery_send(delivery_id=delivery.pk, now=later)

    assert receiver.requests == []
    assert (result.status, result.attempts) == ("skipped", 0)
    assert result.last_error.startswith("stale: ")
    assert services.delivery_send(delivery_id=delivery.pk, now=later) is None


def test_it_stores_the_payload_as_json_with_utc_instants(webhook):
    channel = webhook()
    payload = task_payload()
    berlin_noon = datetime(2026, 7, 2, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    payload["task"]["due_at"] = berlin_noon

    [delivery] = services.notify(
        event="task.created", object_key="task:t", payload=payload, channel_ids=[channel.pk]
    )

    delivery.refresh_from_db()
    assert delivery.payload["task"]["due_at"] == "2026-07-02T10:00:00Z"
    assert delivery.payload["plan"] == {"id": "plan_1", "name": "Air handling units"}


@pytest.mark.parametrize(
    ("event", "payload", "complaint"),
    [
        ("task.exploded", task_payload(), "Unknown event"),
        ("test", {"timezone": "UTC", "message": "hi"}, "Unknown event"),
        ("task.created", task_payload(plan=None), "plan.id"),
        ("maintenance.ready", task_payload(), "maintenance.id"),
        ("task.created", task_payload(timezone="Mars/Olympus"), "Mars/Olympus"),
        ("task.created", [], "dict"),
    ],
)
def test_it_refuses_a_payload_that_breaks_the_schema(webhook, event, payload, complaint):
    channel = webhook()

    with pytest.raises(ValueError, match=complaint):
        services.notify(event=event, object_key="task:t", payload=payload, channel_ids=[channel.pk])


@pytest.mark.parametrize("object_key", ["", "x" * 201, 42])
def test_it_refuses_an_object_key_it_cannot_store(webhook, object_key):
    channel = webhook()

    with pytest.raises(ValueError, match="object_key"):
        services.notify(
            event="task.created",
            object_key=object_key,
            payload=task_payload(),
            channel_ids=[channel.pk],
        )
