"""Sending a delivery: signatures, retries with backoff, permanent failures, timeouts, a channel
disabled mid-retry, claims that keep two workers from sending twice, and the sweep."""

import base64
import json
import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from notifications import services, tasks
from notifications.models import SENDING_LEASE, Channel, Delivery
from notifications.transports import Webhook
from tests.notifications.conftest import T0, task_payload


@pytest.fixture
def record(webhook):
    """A pending task.created delivery to a fresh webhook channel, as notify leaves it."""

    def make(**channel_fields) -> Delivery:
        channel = webhook(**channel_fields)
        [delivery] = services.notify(
            event="task.created",
            object_key="task:task_abc",
            payload=task_payload(),
            channel_ids=[channel.pk],
            now=T0,
        )
        return delivery

    return make


def send(delivery: Delivery, now=T0) -> Delivery | None:
    return services.delivery_send(delivery_id=delivery.pk, now=now)


def test_it_posts_the_envelope_signed_with_the_channel_secret(receiver, record):
    delivery = record()

    sent = send(delivery)

    assert sent.status == "sent"
    [request] = receiver.requests
    assert request.signature_ok is True
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Event"] == "task.created"
    assert request.headers["X-Delivery-Id"] == delivery.pk
    assert request.headers["X-Signature"] == Webhook.signature(
        delivery.channel.secret, request.body
    )
    body = request.json
    assert set(body) == {"id", "event", "created_at", "data"}
    assert (body["id"], body["event"]) == (delivery.pk, "task.created")
    assert body["created_at"].endswith("Z")
    assert body["data"]["task"]["code"] == "MAN-042"
    assert body["data"]["task"]["due_at"] == "2026-07-02T08:00:00Z"
    assert body["data"]["timezone"] == "Europe/Berlin"


def test_it_retries_temporary_failures_with_growing_backoff_then_succeeds(receiver, record):
    delivery = record()
    receiver.respond(500, 503)

    first = send(delivery)
    assert (first.status, first.attempts, first.last_error) == (
        "pending",
        1,
        "Received status code 500",
    )
    # Base 10 s with equal jitter: the first wait is 5..10 s, the second 10..20 s.
    first_wait = first.next_attempt_at - T0
    assert timedelta(seconds=5) <= first_wait <= timedelta(seconds=10)
    assert send(delivery, now=first.next_attempt_at - timedelta(seconds=1)) is None  # not due

    second = send(delivery, now=first.next_attempt_at)
    assert (second.status, second.attempts) == ("pending", 2)
    second_wait = second.next_attempt_at - first.next_attempt_at
    assert timedelta(seconds=10) <= second_wait <= timedelta(seconds=20)
    assert Channel.objects.get().last_error == "Received status code 503"

    third = send(delivery, now=second.next_attempt_at)
    assert (third.status, third.attempts, third.last_error) == ("sent", 3, "")
    assert third.sent_at == second.next_attempt_at
    assert Channel.objects.get().last_error == ""  # the channel works again
    assert len(receiver.requests) == 3
    assert all(r.signature_ok for r in receiver.requests)
    assert len({r.headers["X-Delivery-Id"] for r in receiver.requests}) == 1


def test_it_gives_up_after_the_last_attempt(receiver, record):
    delivery = record()
    receiver.respond(500, 500, 500, 200)

    now = T0
    for _ in range(3):  # NOTIFICATIONS_MAX_ATTEMPTS in these tests
        delivery = send(delivery, now=now)
        now = delivery.next_attempt_at or now

    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert delivery.last_error == "Received status code 500"
    assert delivery.next_attempt_at is None
    assert send(delivery, now=now + timedelta(days=1)) is None
    assert len(receiver.requests) == 3
    stored = Delivery.objects.get()
    assert (stored.status, stored.attempts) == ("failed", 3)


@pytest.mark.parametrize("code", [400, 401, 403, 404, 410, 422])
def test_a_client_error_fails_at_once(receiver, record, code):
    delivery = record()
    receiver.respond(code)

    failed = send(delivery)

    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.last_error == f"Received status code {code}"
    assert Delivery.objects.get().status == "failed"


@pytest.mark.parametrize("code", [408, 429, 500, 502, 503, 504])
def test_timeouts_throttling_and_server_errors_are_retried(receiver, record, code):
    delivery = record()
    receiver.respond(code)

    assert send(delivery).status == "pending"


def test_a_redirect_is_not_followed_and_fails(receiver, record):
    delivery = record()
    receiver.respond(302)

    assert send(delivery).status == "failed"


def test_a_hung_receiver_times_out_and_is_retried(receiver, record, settings):
    assert settings.NOTIFICATIONS_HTTP_TIMEOUT == 1
    delivery = record()
    receiver.respond("hang")

    started = time.monotonic()
    hung = send(delivery)
    elapsed = time.monotonic() - started

    assert 0.9 <= elapsed < 3
    assert (hung.status, hung.attempts, hung.last_error) == ("pending", 1, "Timed out after 1 s")
    assert send(delivery, now=hung.next_attempt_at).status == "sent"
    assert len(receiver.requests) == 2


def test_a_refused_connection_is_retried(record):
    delivery = record()
    Channel.objects.update(target="http://127.0.0.1:9/hook")  # discard port: nobody listens

    refused = send(delivery)

    assert refused.status == "pending"
    assert refused.last_error == "Connection refused"  # what happened, not the socket text


def test_a_channel_disabled_while_retrying_stops(api_client, receiver, record):
    delivery = record()
    receiver.respond(500)
    retrying = send(delivery)
    assert retrying.status == "pending"

    api_client.patch(
        f"/api/v1/notifications/channels/{delivery.channel_id}", {"active": False}, format="json"
    )
    stopped = send(delivery, now=retrying.next_attempt_at)

    assert (stopped.status, stopped.attempts) == ("cancelled", 1)
    assert stopped.last_error == "cancelled: the channel is inactive"
    assert len(receiver.requests) == 1
    Channel.objects.update(active=True)  # re-enabling does not resurrect it
    assert send(delivery, now=retrying.next_attempt_at + timedelta(hours=1)) is None


def test_a_second_worker_never_sends_a_delivery_being_sent(receiver, record, monkeypatch):
    delivery = record()
    second_worker = []
    original = Webhook.send

    def send_while_another_worker_tries(self, message):
        # Mid-send, the same message arrives at another worker (a redelivery).
        second_worker.append(services.delivery_send(delivery_id=delivery.pk, now=T0))
        original(self, message)

    monkeypatch.setattr(Webhook, "send", send_while_another_worker_tries)

    assert send(delivery).status == "sent"
    assert second_worker == [None]
    assert len(receiver.requests) == 1
    assert send(delivery) is None  # and a late duplicate finds it sent


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_one_delivery_send_it_once(receiver, record):
    delivery = record()
    barrier = threading.Barrier(4)
    outcomes = []

    def worker():
        barrier.wait()
        try:
            result = services.delivery_send(delivery_id=delivery.pk, now=T0)
            outcomes.append(result and result.status)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes, key=str) == [None, None, None, "sent"]
    assert len(receiver.requests) == 1


def test_the_task_reenqueues_itself_for_the_next_attempt(receiver, record, monkeypatch):
    delivery = record()
    receiver.respond(500)
    enqueued = []
    monkeypatch.setattr(
        tasks.send_delivery, "apply_async", lambda args, **options: enqueued.append((args, options))
    )

    assert tasks.send_delivery(delivery.pk) == "pending"

    delivery.refresh_from_db()
    assert enqueued == [((delivery.pk,), {"eta": delivery.next_attempt_at})]


def test_eagerly_the_task_retries_until_it_succeeds(
    receiver, record, eager_celery, settings, django_capture_on_commit_callbacks
):
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 0  # due again at once, so the chain runs inline
    receiver.respond(500, 429)

    with django_capture_on_commit_callbacks(execute=True):
        delivery = record()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 3)
    assert len(receiver.requests) == 3


def test_eagerly_the_task_stops_at_the_attempt_cap(
    receiver, record, eager_celery, settings, django_capture_on_commit_callbacks
):
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 0
    receiver.respond(500, 500, 500, 500, 500)

    with django_capture_on_commit_callbacks(execute=True):
        delivery = record()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert len(receiver.requests) == 3


def test_an_unexpected_error_is_recorded_and_retried(record, monkeypatch):
    delivery = record()

    def broken(self, message):
        raise KeyError("template bug")

    monkeypatch.setattr(Webhook, "send", broken)

    result = send(delivery)
    assert result.status == "pending"
    assert result.last_error == "Unexpected error: KeyError: 'template bug'"


class TestTheSweep:
    @pytest.fixture
    def enqueued(self, monkeypatch):
        ids = []
        monkeypatch.setattr(
            tasks.send_delivery, "apply_async", lambda args, **options: ids.append(args[0])
        )
        return ids

    def test_it_enqueues_pending_deliveries_whose_message_was_lost(self, record, enqueued):
        lost = record()  # the broker was down at commit: nothing was enqueued

        assert services.deliveries_retry_due(now=T0 + timedelta(seconds=30)) == 0  # grace
        assert services.deliveries_retry_due(now=T0 + timedelta(minutes=2)) == 1
        assert enqueued == [lost.pk]

    def test_it_leaves_retries_that_are_not_due_yet(self, record, enqueued, receiver):
        delivery = record()
        receiver.respond(500)
        retrying = send(delivery)

        assert services.deliveries_retry_due(now=T0 + timedelta(seconds=61)) == 0
        overdue = retrying.next_attempt_at + timedelta(minutes=2)
        assert services.deliveries_retry_due(now=overdue) == 1

    def test_it_takes_back_a_delivery_whose_worker_died_mid_send(self, record, enqueued, receiver):
        delivery = record()
        Delivery.objects.update(
            status="sending", attempts=1, next_attempt_at=T0 + SENDING_LEASE
        )  # claimed at T0, then the worker was killed

        assert services.deliveries_retry_due(now=T0 + timedelta(minutes=1)) == 0  # still leased
        after_lease = T0 + SENDING_LEASE
        assert services.deliveries_retry_due(now=after_lease) == 1
        assert enqueued == [delivery.pk]
        resent = send(delivery, now=after_lease)
        assert (resent.status, resent.attempts) == ("sent", 2)

    def test_a_delivery_lost_on_its_last_attempt_fails(self, record, enqueued):
        record()
        Delivery.objects.update(status="sending", attempts=3, next_attempt_at=T0)

        assert services.deliveries_retry_due(now=T0) == 0
        lost = Delivery.objects.get()
        assert lost.status == "failed"
        assert lost.last_error == "the worker stopped while sending the last attempt"

    def test_the_periodic_task_runs_the_sweep_and_records_its_run(self, record, enqueued):
        from core.models import SchedulerJob

        record()
        Delivery.objects.update(next_attempt_at=T0 - timedelta(hours=1))

        assert tasks.retry_due_deliveries() == {"enqueued": 1}
        assert SchedulerJob.objects.get(name="retry_due_deliveries").last_ok is True


def test_the_body_is_signed_exactly_as_sent(receiver, record):
    # A receiver that re-serializes before checking would fail; these bytes are the contract.
    send(record())

    [request] = receiver.requests
    assert json.dumps(request.json, separators=(",", ":"), ensure_ascii=False).encode() == (
        request.body
    )


# --- Standard Webhooks --------------------------------------------------------------------------


def test_it_signs_the_standard_webhooks_way_beside_x_signature(receiver, record):
    delivery = record()

    send(delivery)

    [request] = receiver.requests
    assert request.standard_signature_ok is True  # verified by the standardwebhooks library
    assert request.signature_ok is True  # and the original signature still holds
    assert request.headers["webhook-id"] == delivery.pk
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    assert request.headers["webhook-signature"].startswith("v1,")
    secret = delivery.channel.secret
    assert StandardWebhook(secret.encode()).verify(request.body, request.headers) == json.loads(
        request.body
    )
    # The whsec_ form of the same key, for libraries that want it (README).
    whsec = "whsec_" + base64.b64encode(secret.encode()).decode()
    assert StandardWebhook(whsec).verify(request.body, request.headers)


def test_the_webhook_id_is_stable_across_retries_and_the_timestamp_is_each_attempts(
    receiver, record
):
    delivery = record()
    receiver.respond(500, 503)

    with time_machine.travel("2026-07-01 08:00:00Z", tick=False):
        first = send(delivery)
    with time_machine.travel("2026-07-01 08:00:30Z", tick=False):
        second = send(delivery, now=first.next_attempt_at)
    third = send(delivery, now=second.next_attempt_at)

    assert third.status == "sent"
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    stamps = [r.headers["webhook-timestamp"] for r in receiver.requests]
    assert ids == [delivery.pk] * 3  # one delivery id: the receiver's deduplication key
    assert stamps[:2] == ["1782892800", "1782892830"]
    assert len({r.headers["webhook-signature"] for r in receiver.requests}) == 3
    assert receiver.requests[2].standard_signature_ok is True


def test_a_replayed_request_is_rejected_by_a_standard_receiver(receiver, record):
    with time_machine.travel("2026-07-01 08:00:00Z", tick=False):
        send(record())
    [request] = receiver.requests

    # Replayed now, long after: the library refuses it by its timestamp (5 minutes' tolerance).
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(Channel.objects.get().secret.encode()).verify(request.body, request.headers)
