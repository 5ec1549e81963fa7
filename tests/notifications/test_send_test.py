"""`send_test`, what a plan's test-notification route will call: a test through each channel,
now, in this process, with one result per channel."""

import time
from datetime import timedelta

import pytest

from core.errors import Conflict
from notifications import services, tasks
from notifications.models import SENDING_LEASE, Delivery
from notifications.selectors import unknown_channel_ids
from notifications.services import DeliveryResult
from tests.notifications.conftest import T0


def test_it_sends_a_test_through_every_kind_of_channel(receiver, webhook, smtp):
    hook = webhook(events=["task.created"])  # a test reaches a channel whatever it subscribed to
    mail = services.channel_create(name="Ada", kind="email", target="ada@example.com")
    chat = services.channel_create(
        name="chat", kind="apprise", target=f"json://127.0.0.1:{receiver.port}/apprise"
    )

    results = services.send_test(channel_ids=[hook.pk, mail.pk, chat.pk], now=T0)

    assert results == [
        DeliveryResult(hook.pk, "sent", None),
        DeliveryResult(mail.pk, "sent", None),
        DeliveryResult(chat.pk, "sent", None),
    ]
    # The channels are sent to at once, so the two HTTP requests arrive in either order.
    by_path = {request.path: request for request in receiver.requests}
    assert sorted(by_path) == ["/apprise", "/hook"]
    signed, via_apprise = by_path["/hook"], by_path["/apprise"]
    assert signed.signature_ok is True
    assert signed.json["data"]["requested_at"] == "2026-07-01T08:00:00Z"
    assert via_apprise.json["title"] == "Test notification"
    assert smtp.messages[0]["Subject"] == "Test notification"
    assert "Sent Wed 01 Jul 2026, 08:00 UTC." in smtp.messages[0].get_body(("plain",)).get_content()
    assert set(Delivery.objects.values_list("event", "status", "attempts")) == {("test", "sent", 1)}


def test_it_reports_each_failure_and_does_not_retry(receiver, webhook, smtp):
    ok = webhook("ok", path="/ok")
    gone = webhook("gone", path="/gone")
    rejected = services.channel_create(name="x", kind="email", target="rejected@example.com")
    receiver.respond_at("/gone", 410)

    results = services.send_test(channel_ids=[ok.pk, gone.pk, rejected.pk], now=T0)

    assert results == [
        DeliveryResult(ok.pk, "sent", None),
        DeliveryResult(gone.pk, "failed", "Received status code 410"),
        DeliveryResult(rejected.pk, "failed", "Address rejected: 550 5.1.1 No such user here"),
    ]
    assert services.deliveries_retry_due(now=T0.replace(year=2027)) == 0


def test_a_temporary_failure_is_reported_as_failed_at_once(receiver, webhook):
    channel = webhook()
    receiver.respond("hang")

    [result] = services.send_test(channel_ids=[channel.pk], now=T0)

    assert result == DeliveryResult(channel.pk, "failed", "Timed out after 1 s")
    assert Delivery.objects.get().status == "failed"


def test_unknown_and_inactive_channels_are_skipped_with_the_reason(receiver, webhook):
    inactive = webhook(active=False)

    results = services.send_test(channel_ids=["chan_gone", inactive.pk, "chan_gone"], now=T0)

    assert results == [
        DeliveryResult("chan_gone", "skipped", "no such channel"),
        DeliveryResult(inactive.pk, "skipped", "the channel is inactive"),
    ]
    assert receiver.requests == []


def test_each_test_is_its_own_cause(receiver, webhook):
    channel = webhook()

    services.send_test(channel_ids=[channel.pk], now=T0)
    services.send_test(channel_ids=[channel.pk], now=T0)

    assert len(receiver.requests) == 2
    assert Delivery.objects.values("object_key").distinct().count() == 2


def test_no_channels_is_a_conflict(db):
    with pytest.raises(Conflict):
        services.send_test(channel_ids=[], now=T0)


def test_it_names_the_channel_ids_that_do_not_exist(webhook):
    channel = webhook()

    assert unknown_channel_ids([channel.pk, "chan_a", "chan_b", "chan_a"]) == ["chan_a", "chan_b"]
    assert unknown_channel_ids([channel.pk]) == []
    assert unknown_channel_ids([]) == []


# --- Bounded by NOTIFICATIONS_HTTP_TIMEOUT in total, whatever the transport --------------------


def hanging_channels(port: int) -> list:
    """One channel of each kind, all to a port that accepts and never answers."""
    return [
        services.channel_create(name="hook", kind="webhook", target=f"http://127.0.0.1:{port}/h"),
        services.channel_create(name="chat", kind="apprise", target=f"json://127.0.0.1:{port}/a"),
        services.channel_create(name="mail", kind="email", target="ada@example.com"),
    ]


@pytest.fixture
def hanging_smtp(settings, hanging_port):
    """Django's SMTP backend pointed at the silent port, with an SMTP timeout far beyond the
    notification timeout (as an operator's EMAIL_URL might leave it)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", hanging_port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 30
    return hanging_port


def test_a_test_through_hanging_transports_answers_within_the_timeout_in_total(
    db, settings, hanging_smtp
):
    assert settings.NOTIFICATIONS_HTTP_TIMEOUT == 1
    channels = hanging_channels(hanging_smtp)

    started = time.monotonic()
    results = services.send_test(channel_ids=[c.pk for c in channels], now=T0)
    elapsed = time.monotonic() - started

    assert elapsed < 1.8  # one timeout for all three, not one each (nor SMTP's 30 s)
    assert [(r.status, r.error) for r in results] == [("failed", "Timed out after 1 s")] * 3
    assert set(Delivery.objects.values_list("status", flat=True)) == {"failed"}


def test_the_test_route_answers_json_within_the_timeout_for_a_hanging_apprise_target(
    api_client, settings, hanging_port
):
    # Apprise URLs may ask for long timeouts of their own (cto=, rto=): ours still bounds them.
    channel = services.channel_create(
        name="chat", kind="apprise", target=f"json://127.0.0.1:{hanging_port}/a?cto=30&rto=30"
    )

    started = time.monotonic()
    response = api_client.post(f"/api/v1/notifications/channels/{channel.pk}/test")
    elapsed = time.monotonic() - started

    assert elapsed < 1.8
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    [delivery] = response.json()["deliveries"]
    assert delivery["status"] == "failed"
    assert "imed out" in delivery["error"]


def test_a_timed_out_test_is_never_retried_by_the_sweep(db, hanging_smtp, monkeypatch):
    channels = hanging_channels(hanging_smtp)
    services.send_test(channel_ids=[c.pk for c in channels], now=T0)
    enqueued = []
    monkeypatch.setattr(
        tasks.send_delivery, "apply_async", lambda args, **options: enqueued.append(args)
    )

    for later in (T0 + timedelta(minutes=10), T0 + timedelta(days=2)):
        assert services.deliveries_retry_due(now=later) == 0
    assert enqueued == []
    assert set(Delivery.objects.values_list("status", "attempts")) == {("failed", 1)}


def test_a_test_left_sending_by_a_killed_web_worker_fails_instead_of_being_retried(
    receiver, webhook, monkeypatch
):
    # What gunicorn's worker timeout leaves behind: the test claimed, then the process killed.
    channel = webhook()
    stranded = Delivery.objects.create(
        channel=channel,
        event="test",
        object_key="test:killed",
        payload={"timezone": "UTC", "message": "m", "requested_at": "2026-07-01T08:00:00Z"},
        status="sending",
        attempts=1,
        next_attempt_at=T0 + SENDING_LEASE,
    )
    enqueued = []
    monkeypatch.setattr(
        tasks.send_delivery, "apply_async", lambda args, **options: enqueued.append(args)
    )

    assert services.deliveries_retry_due(now=T0 + SENDING_LEASE + timedelta(minutes=1)) == 0

    stranded.refresh_from_db()
    assert (stranded.status, stranded.attempts) == ("failed", 1)
    assert stranded.last_error == "interrupted before it finished (a test is never retried)"
    assert enqueued == []
    assert receiver.requests == []


def test_a_test_sent_again_from_the_admin_is_still_not_retried(receiver, webhook):
    channel = webhook()
    receiver.respond(500, 500)
    services.send_test(channel_ids=[channel.pk], now=T0)
    test_delivery = Delivery.objects.get()
    assert services.delivery_resend(delivery=test_delivery, now=T0)

    again = services.delivery_send(delivery_id=test_delivery.pk, now=T0)

    assert (again.status, again.attempts) == ("failed", 1)
    assert services.deliveries_retry_due(now=T0 + timedelta(days=1)) == 0
    assert len(receiver.requests) == 2
