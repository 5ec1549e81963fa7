"""Delivery gauges for ``GET /metrics`` (read at scrape time; see core.metrics)."""

from django.db.models import Count

from core.metrics import domain_metrics, gauge_by
from notifications.models import Channel, Delivery


@domain_metrics
def notification_metrics(now):
    rows = (
        Delivery.objects.order_by()
        .values("status", "channel__kind")
        .annotate(n=Count("id"))
        .values_list("status", "channel__kind", "n")
    )
    yield gauge_by(
        "notifications_deliveries",
        "Notification deliveries stored, by state and channel kind (retention prunes old ones).",
        ["state", "kind"],
        {(status, kind): n for status, kind, n in rows},
        every=[(s, k) for s in Delivery.Status.values for k in Channel.Kind.values],
    )
