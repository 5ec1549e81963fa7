"""`send_test`, what a plan's test-notification route will call: a test through each channel,
now, in this process, with one result per channel."""

import pytest

from core.errors import Conflict
from notifications import services
from notifications.models import Delivery
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
    signed, via_apprise = receiver.requests
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
