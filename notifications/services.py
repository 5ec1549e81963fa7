"""Every write of the notifications app: channels, the `notify` outbox, sending and retries.

Domain apps call `notify` inside the transaction that made the change: the delivery rows
commit (or roll back) with that change, and a Celery task sends each one after commit. The
database keeps it exactly-once: one delivery per (event, object_key, channel), claimed by a
compare-and-set UPDATE before each attempt, so a redelivered message or a second worker
never sends twice.
"""

import contextvars
import json
import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext

from core import audit
from core.errors import Conflict, InvalidInput
from notifications.events import TEST, UnknownEvent, event_type
from notifications.masking import MaskedTarget, redact, unmasked
from notifications.messages import Message, json_default
from notifications.models import SENDING_LEASE, Channel, Delivery, new_delivery_id, new_secret
from notifications.transports import TRANSPORTS, TransportError, timed_out, transport_for

logger = logging.getLogger(__name__)

Status = Delivery.Status

# A pending delivery is normally sent by the message enqueued for it; the sweep only picks
# up those still waiting this long after they were due (lost messages), not the ones whose
# message is simply on its way.
SWEEP_GRACE = timedelta(seconds=60)
SWEEP_BATCH = 500
TEST_INTERRUPTED = "interrupted before it finished (a test is never retried)"
OBJECT_KEY_MAX_LENGTH = Delivery._meta.get_field("object_key").max_length


# --- Channels ---------------------------------------------------------------------------------


def channel_create(
    *,
    name: str,
    kind: str,
    target: str,
    events: list[str] | None = None,
    monitor_tags: list[str] | None = None,
    active: bool = True,
    reminders: list[str] | None = None,
    options: dict | None = None,
) -> Channel:
    """A new channel; a webhook gets its signing secret (on ``channel.secret``, show it once)."""
    channel = Channel(
        name=name,
        kind=kind,
        target=target,
        events=events or [],
        monitor_tags=monitor_tags or [],
        reminders=reminders or [],
        options=options or {},
        active=active,
        secret=new_secret() if kind == Channel.Kind.WEBHOOK else "",
    )
    channel.full_clean()
    with transaction.atomic():
        channel.save()
        audit.record_created(channel)
    return channel


UPDATABLE_FIELDS = ("name", "target", "events", "monitor_tags", "active", "reminders", "options")


def channel_update(*, channel: Channel, data: dict) -> Channel:
    """Change the fields in ``data``; the kind is fixed (a webhook's secret belongs to it).

    A ``target`` equal to its masked form (what every view after creation shows) keeps the
    stored target and its credentials; one that holds ``****`` otherwise is refused.
    """
    if "kind" in data and data["kind"] != channel.kind:
        raise InvalidInput(
            gettext("kind cannot be changed; create a new channel instead"), field="kind"
        )
    before = audit.snapshot(channel)
    if "target" in data:
        try:
            target = unmasked(channel.kind, stored=channel.target, sent=data["target"])
        except MaskedTarget as exc:
            raise InvalidInput(str(exc), field="target") from None
        data = {**data, "target": target}
    for field in UPDATABLE_FIELDS:
        if field in data:
            setattr(channel, field, data[field])
    channel.full_clean()
    with transaction.atomic():
        channel.save()
        audit.record_updated(channel, before=before)
    return channel


def channel_delete(*, channel: Channel) -> None:
    """Delete a channel and its deliveries (pending ones are never sent)."""
    with transaction.atomic():
        audit.record_deleted(channel)
        channel.delete()


# --- The entry point of the domain apps ---------------------------------------------------------


def notify(
    *,
    event: str,
    object_key: str,
    payload: dict,
    channel_ids: list[str] | None = None,
    monitor_tags: list[str] | None = None,
    relevant_until: datetime | None = None,
    now: datetime | None = None,
) -> list[Delivery]:
    """Record that ``event`` happened to ``object_key``; send it after the caller commits.

    Call it inside the transaction of the change. Channels are those named in ``channel_ids``
    (a plan's) plus, when ``monitor_tags`` is given (a window's tags, possibly empty), every
    channel subscribed to one of those tags or to all windows (empty ``monitor_tags``); of
    those, only active channels whose ``events`` list the event (empty: every event).

    Returns the deliveries recorded by this call: one per channel, none for a channel that
    already has one for this (event, object_key), so processing a cause twice sends once.
    When ``relevant_until`` has passed, the deliveries are recorded as ``skipped`` ("stale")
    and never sent: after downtime, nobody is told that a window which already ended is
    about to start.

    ``event`` is a name an app registered (`notifications.events`) and ``payload`` follows
    the schema registered with it (ValueError otherwise: a bug in the caller, not bad input);
    datetimes in it are stored as ISO 8601 UTC strings.
    """
    if not event_type(event).subscribable:
        raise UnknownEvent(f"Unknown event {event!r} for notify: channels cannot subscribe to it")
    if not isinstance(object_key, str) or not 0 < len(object_key) <= OBJECT_KEY_MAX_LENGTH:
        raise ValueError(f"object_key must be a string of 1 to {OBJECT_KEY_MAX_LENGTH} characters")
    payload = _checked_payload(event, payload)
    now = now or timezone.now()
    channels = [
        channel
        for channel in _channels_for(event, channel_ids=channel_ids, monitor_tags=monitor_tags)
        if TRANSPORTS[channel.kind].accepts(payload)  # an alertmanager hears only windows
    ]
    if not channels:
        return []
    stale = relevant_until is not None and relevant_until < now
    rows = [
        Delivery(
            id=new_delivery_id(),
            channel=channel,
            event=event,
            object_key=object_key,
            payload=payload,
            relevant_until=relevant_until,
            status=Status.SKIPPED if stale else Status.PENDING,
            last_error=_stale_reason(relevant_until) if stale else "",
            next_attempt_at=None if stale else now,
        )
        for channel in channels
    ]
    # A row that would repeat (event, object_key, channel) is dropped by the database; the
    # ids we generated tell which rows this call actually inserted.
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    created = list(
        Delivery.objects.filter(id__in=[row.id for row in rows]).select_related("channel")
    )
    for delivery in created:
        if delivery.status == Status.PENDING:
            _enqueue_on_commit(delivery.id)
    return created


def _checked_payload(event: str, payload: dict) -> dict:
    """``payload`` as stored: checked against the keys registered for ``event``, JSON only."""
    if not isinstance(payload, dict):
        raise ValueError("payload must be a dict")
    missing = event_type(event).missing_keys(payload)
    if missing:
        raise ValueError(f"{event} payload lacks {', '.join(missing)}")
    try:
        ZoneInfo(payload["timezone"])
    except (KeyError, ValueError, TypeError):  # ZoneInfoNotFoundError is a KeyError
        zone = payload["timezone"]
        raise ValueError(f"{event} payload has an unknown timezone {zone!r}") from None
    # Stored exactly as it will be sent: JSON types only, instants as ISO 8601 UTC strings.
    return json.loads(json.dumps(payload, default=json_default))


def _channels_for(
    event: str, *, channel_ids: list[str] | None, monitor_tags: list[str] | None
) -> list[Channel]:
    named = set(channel_ids or ())
    if not named and monitor_tags is None:
        return []
    channels = Channel.objects.filter(active=True)
    if monitor_tags is None:
        channels = channels.filter(pk__in=named)
    # Subscriptions are filtered here rather than in SQL: JSON containment is not portable
    # to SQLite, and an installation has tens of channels, not thousands.
    windows = monitor_tags is not None
    return [
        channel
        for channel in channels
        if (channel.pk in named or (windows and channel.hears_window(monitor_tags)))
        and channel.wants(event)
    ]


def _stale_reason(relevant_until: datetime) -> str:
    return f"stale: relevant until {json_default(relevant_until)}"


def _enqueue_on_commit(delivery_id: str) -> None:
    # robust: a broker that is down must not turn the caller's committed change into an
    # error; the delivery stays pending and `deliveries_retry_due` sends it later.
    transaction.on_commit(partial(_enqueue, delivery_id), robust=True)


def _enqueue(delivery_id: str) -> None:
    from notifications.tasks import send_delivery  # tasks imports this module

    send_delivery.apply_async((delivery_id,))


# --- Sending ------------------------------------------------------------------------------------


def delivery_send(*, delivery_id: str, now: datetime | None = None) -> Delivery | None:
    """Make one attempt at a pending delivery that is due; returns it, or None if not ours.

    None means another worker has it, it is not due yet, or it is no longer pending (sent,
    failed, ...): a duplicate message is a no-op. On a temporary error the delivery goes back
    to pending with ``next_attempt_at`` set by exponential backoff with jitter (the caller
    re-enqueues for then), until NOTIFICATIONS_MAX_ATTEMPTS attempts; then, or at once on a
    permanent error, it is ``failed``. A delivery whose channel was disabled is
    ``cancelled``; one past its ``relevant_until`` is ``skipped``. Neither counts as an attempt.
    """
    now = now or timezone.now()
    delivery = (
        Delivery.objects.select_related("channel")
        .filter(pk=delivery_id, status=Status.PENDING, next_attempt_at__lte=now)
        .first()
    )
    if delivery is None:
        return None
    if not delivery.channel.active:
        return _settle_pending(delivery, Status.CANCELLED, "cancelled: the channel is inactive")
    if delivery.is_stale(now):
        return _settle_pending(delivery, Status.SKIPPED, _stale_reason(delivery.relevant_until))
    if not _claim(delivery, now):
        return None
    # A test is one-shot wherever it runs (the admin may send one again): never retried.
    return _attempt(delivery, now, may_retry=delivery.event != TEST)


def _settle_pending(delivery: Delivery, status: str, reason: str) -> Delivery | None:
    settled = Delivery.objects.filter(pk=delivery.pk, status=Status.PENDING).update(
        status=status, last_error=reason, next_attempt_at=None, updated_at=timezone.now()
    )
    if not settled:
        return None
    delivery.status, delivery.last_error, delivery.next_attempt_at = status, reason, None
    return delivery


def _claim(delivery: Delivery, now: datetime) -> bool:
    """Compare-and-set pending → sending; exactly one worker wins. The attempt counts now,
    so a message that kills its worker every time still runs out of attempts."""
    claimed = Delivery.objects.filter(
        pk=delivery.pk, status=Status.PENDING, next_attempt_at__lte=now
    ).update(
        status=Status.SENDING,
        attempts=F("attempts") + 1,
        next_attempt_at=now + SENDING_LEASE,
        updated_at=timezone.now(),
    )
    if claimed:
        delivery.status = Status.SENDING
        delivery.attempts += 1
    return bool(claimed)


def _attempt(delivery: Delivery, now: datetime, *, may_retry: bool) -> Delivery:
    """Send a claimed delivery once and record the outcome on it and on its channel."""
    return _record(delivery, now, _send_once(delivery), may_retry=may_retry)


def _send_once(delivery: Delivery) -> TransportError | None:
    """One try through the channel's transport: None when it was accepted. Touches no row."""
    channel = delivery.channel
    try:
        transport_for(channel).send(Message(delivery))
    except TransportError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - a template or plugin bug: record it, retry
        # A library's text may quote the target: its credentials are masked in the log and in
        # the error (no traceback either, whose last line is that same text).
        text = redact(f"{exc.__class__.__name__}: {exc}", kind=channel.kind, target=channel.target)
        logger.error("Unexpected error sending delivery %s: %s", delivery.pk, text)
        return TransportError(gettext("Unexpected error: %(error)s") % {"error": text})
    return None


def _record(
    delivery: Delivery, now: datetime, error: TransportError | None, *, may_retry: bool
) -> Delivery:
    if error is None:
        fields = {"status": Status.SENT, "sent_at": now, "last_error": "", "next_attempt_at": None}
    elif not error.permanent and may_retry and delivery.attempts < _max_attempts():
        fields = {
            "status": Status.PENDING,
            "last_error": error.message,
            "next_attempt_at": now + backoff(delivery.attempts),
        }
    else:
        fields = {"status": Status.FAILED, "last_error": error.message, "next_attempt_at": None}
    # Only if our claim still holds (a sweep may have reclaimed a send that outlived it).
    Delivery.objects.filter(pk=delivery.pk, status=Status.SENDING).update(
        **fields, updated_at=timezone.now()
    )
    for name, value in fields.items():
        setattr(delivery, name, value)
    # The channel shows its latest outcome (an update, not a save: never clobber an edit).
    Channel.objects.filter(pk=delivery.channel_id).update(last_error=fields["last_error"])
    delivery.channel.last_error = fields["last_error"]
    if error is not None:
        logger.warning(
            "Delivery %s (%s to %s) attempt %d: %s -> %s",
            delivery.pk,
            delivery.event,
            delivery.channel_id,
            delivery.attempts,
            error.message,
            delivery.status,
            extra={"delivery_id": delivery.pk, "channel_id": delivery.channel_id},
        )
    return delivery


def _max_attempts() -> int:
    return settings.NOTIFICATIONS_MAX_ATTEMPTS


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: base·2^(n-1), capped, with jitter.

    "Equal jitter": half the delay fixed, half random, so deliveries that failed together
    (a receiver was down) do not all come back in the same second, yet never retry at once.
    """
    base = settings.NOTIFICATIONS_RETRY_BASE_SECONDS
    cap = settings.NOTIFICATIONS_RETRY_MAX_SECONDS
    delay = min(cap, base * 2 ** (attempts - 1))
    return timedelta(seconds=delay / 2 + random.uniform(0, delay / 2))


def deliveries_retry_due(*, now: datetime) -> int:
    """Enqueue the deliveries whose message was lost; returns how many were enqueued.

    For beat (every minute or so). Picks up pending deliveries overdue by more than a grace
    period (the broker was down at commit, a worker crashed, a retry message was lost) and
    deliveries whose sending claim expired (the worker died mid-send): those go back to
    pending, or to failed when that was their last attempt. Safe beside the workers and
    beside itself: a second message for a delivery is a no-op.
    """
    lost = Delivery.objects.filter(status=Status.SENDING, next_attempt_at__lte=now)
    # A test whose web process died mid-send (killed by gunicorn's timeout, say) was answered
    # or abandoned by then; sending it again later would surprise everyone: it just fails.
    lost.filter(event=TEST).update(
        status=Status.FAILED,
        last_error=TEST_INTERRUPTED,
        next_attempt_at=None,
        updated_at=timezone.now(),
    )
    lost.filter(attempts__gte=_max_attempts()).update(
        status=Status.FAILED,
        last_error="the worker stopped while sending the last attempt",
        next_attempt_at=None,
        updated_at=timezone.now(),
    )
    recovered = list(lost.values_list("id", flat=True)[:SWEEP_BATCH])
    Delivery.objects.filter(id__in=recovered, status=Status.SENDING).update(
        status=Status.PENDING, next_attempt_at=now, updated_at=timezone.now()
    )
    overdue = list(
        Delivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=now - SWEEP_GRACE)
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:SWEEP_BATCH]
    )
    due_ids = list(dict.fromkeys([*recovered, *overdue]))
    for delivery_id in due_ids:
        _enqueue(delivery_id)
    return len(due_ids)


def delivery_resend(*, delivery: Delivery, now: datetime | None = None) -> bool:
    """Send a delivery again (admin): back to pending with a fresh budget of attempts.

    The operator's request overrides relevance: ``relevant_until`` is cleared. A delivery
    being sent right now is left alone (returns False).
    """
    now = now or timezone.now()
    reset = (
        Delivery.objects.filter(pk=delivery.pk)
        .exclude(status=Status.SENDING)
        .update(
            status=Status.PENDING,
            attempts=0,
            next_attempt_at=now,
            relevant_until=None,
            updated_at=timezone.now(),
        )
    )
    if reset:
        _enqueue_on_commit(delivery.pk)
    return bool(reset)


# --- Test notifications ----------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryResult:
    """The outcome of a synchronous send: ``status`` is sent, failed or skipped."""

    channel_id: str
    status: str
    error: str | None


def send_test(*, channel_ids: list[str], now: datetime) -> list[DeliveryResult]:
    """Send a ``test`` to each channel now, in this process, once (no retries).

    For the channel test route and a plan's test-notification. Each attempt is recorded as a
    delivery. An unknown id or an inactive channel is ``skipped`` with the reason; an empty
    list is a Conflict (409): there is nothing to test. Reasons and errors are worded in the
    active language (the language of the request that asked; the sends' threads take it on).
    """
    if not channel_ids:
        raise Conflict(gettext("There are no notification channels to test"))
    channel_ids = list(dict.fromkeys(channel_ids))
    channels = Channel.objects.in_bulk(channel_ids)
    token = new_delivery_id().removeprefix("dlv_")
    payload = {
        "timezone": "UTC",
        "message": "This is a test notification. If you can read it, the channel works.",
        "requested_at": json_default(now),
    }
    results: dict[str, DeliveryResult] = {}
    claimed = []
    for channel_id in channel_ids:
        channel = channels.get(channel_id)
        if channel is None:
            results[channel_id] = DeliveryResult(
                channel_id, Status.SKIPPED, gettext("no such channel")
            )
            continue
        if not channel.active:
            results[channel_id] = DeliveryResult(
                channel_id, Status.SKIPPED, gettext("the channel is inactive")
            )
            continue
        # Recorded as claimed (sending, one attempt) so no worker or sweep touches it.
        claimed.append(
            Delivery.objects.create(
                channel=channel,
                event=TEST,
                object_key=f"test:{token}",
                payload=payload,
                status=Status.SENDING,
                attempts=1,
                next_attempt_at=now + SENDING_LEASE,
            )
        )
    for delivery, error in zip(claimed, _send_all_within(claimed), strict=True):
        delivery = _record(delivery, now, error, may_retry=False)
        results[delivery.channel_id] = DeliveryResult(
            delivery.channel_id, delivery.status, delivery.last_error or None
        )
    return [results[channel_id] for channel_id in channel_ids]


def _send_all_within(deliveries: list[Delivery]) -> list[TransportError | None]:
    """Send each delivery once, all at the same time, and wait NOTIFICATIONS_HTTP_TIMEOUT in
    total, whatever the transports do (Apprise's plugins and SMTP have timeouts of their own,
    per socket operation, that add up): a web request never waits longer than that.

    A send still running then counts as timed out; its thread (a daemon, it touches no row)
    is left to finish on its own, bounded by the transport's socket timeouts, and what it
    does is not recorded: the receiver may still get that test.
    """
    budget = float(settings.NOTIFICATIONS_HTTP_TIMEOUT)
    outcomes: list[TransportError | None] = [timed_out(budget) for _ in deliveries]
    finished = [threading.Event() for _ in deliveries]

    ended_at = [0.0 for _ in deliveries]

    # Django's active language is per thread (asgiref ignores a copied context's): each send
    # words its error in the language of this request explicitly.
    language = translation.get_language()

    def run(index: int) -> None:
        try:
            with translation.override(language):
                outcomes[index] = _send_once(deliveries[index])
        finally:
            ended_at[index] = time.monotonic()
            finished[index].set()

    for index in range(len(deliveries)):
        # Each thread runs in a copy of this request's context: the request id (a webhook's
        # X-Request-ID header) and the caller travel with the send.
        context = contextvars.copy_context()
        threading.Thread(
            target=context.run, args=(run, index), daemon=True, name="send-test"
        ).start()
    deadline = time.monotonic() + budget
    for event in finished:
        event.wait(max(0.0, deadline - time.monotonic()))
    late = timed_out(budget)
    # A transport whose own timeout equals the budget (Apprise's whole call) may give up a
    # moment before the deadline with its own words: having used the whole budget, it too
    # ran out of time, and says so like the others.
    return [
        outcome if event.is_set() and (outcome is None or ended < deadline - 0.05) else late
        for outcome, event, ended in zip(outcomes, finished, ended_at, strict=True)
    ]
