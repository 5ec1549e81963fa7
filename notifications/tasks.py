"""Celery tasks of the notifications app: thin, they take an id and call a service.

`send_delivery` is enqueued after the commit that recorded the delivery. The service makes
one attempt and, after a temporary failure, leaves the delivery pending with its
``next_attempt_at``; this task then sends itself again for that instant. A duplicate message
(a redelivery, the sweep) finds the delivery claimed or not due and does nothing.
Note for Redis: a message whose ETA lies beyond the broker's visibility timeout may be
delivered twice; that is harmless for the same reason.
"""

from datetime import datetime

from django.utils import timezone

from core.jobs import JobResult, database_task, periodic_job
from notifications import services
from notifications.models import Delivery


@database_task("notifications.tasks.send_delivery")
def send_delivery(delivery_id: str) -> str | None:
    """One attempt at one delivery; returns its status, or None when it was not ours to send."""
    delivery = services.delivery_send(delivery_id=delivery_id, now=timezone.now())
    if delivery is None:
        return None
    if delivery.status == Delivery.Status.PENDING:  # a temporary failure: try again later
        send_delivery.apply_async((delivery_id,), eta=delivery.next_attempt_at)
    return delivery.status


# Resend deliveries whose message was lost (broker down at commit, a worker died); a minute is
# the precision that needs.
@periodic_job(every=lambda: 60, tick_order=50)
def retry_due_deliveries(now: datetime) -> JobResult:
    """For beat: re-enqueue deliveries whose message was lost (see deliveries_retry_due)."""
    enqueued = services.deliveries_retry_due(now=now)
    return JobResult(f"{enqueued} deliveries enqueued", {"enqueued": enqueued})
