"""Which deliveries and silences retention may prune (see core.retention; days in settings).

Only finished ones: pending and sending deliveries are work still to do. A delivery's
`updated_at` is when it reached its final state. An Alertmanager silence row is kept while
its occurrence can still change (waiting or active); once expired it is only history.
"""

from core.retention import prunable
from notifications.models import Delivery, Silence

NOT_SENT = (Delivery.Status.FAILED, Delivery.Status.SKIPPED, Delivery.Status.CANCELLED)


@prunable("deliveries.sent", setting="RETENTION_DELIVERIES_SENT_DAYS")
def expired_sent_deliveries(cutoff):
    return Delivery.objects.filter(status=Delivery.Status.SENT, updated_at__lt=cutoff)


@prunable("deliveries.failed", setting="RETENTION_DELIVERIES_FAILED_DAYS")
def expired_unsent_deliveries(cutoff):
    """Failed, skipped and cancelled deliveries."""
    return Delivery.objects.filter(status__in=NOT_SENT, updated_at__lt=cutoff)


@prunable("silences.expired", setting="RETENTION_SILENCES_EXPIRED_DAYS")
def expired_silences(cutoff):
    """Expired silences whose window ended before the cutoff (the expiry is final: a notice
    of the occurrence arriving later finds its event completed or cancelled and asks for no
    silence)."""
    return Silence.objects.filter(
        state=Silence.State.EXPIRED, ends_at__lt=cutoff, updated_at__lt=cutoff
    )
