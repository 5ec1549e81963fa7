"""Retention: a registry of prunable records and the batched pruner the beat job runs.

An app declares what may be pruned where its models live (``<app>/retention.py``, discovered
at start), once per kind of record::

    @prunable("deliveries.sent", setting="RETENTION_DELIVERIES_SENT_DAYS")
    def expired_sent_deliveries(cutoff):
        return Delivery.objects.filter(status="sent", sent_at__lt=cutoff)

The setting holds the days to keep (0 keeps forever); the function returns the rows older
than ``cutoff`` that may go. `prune_expired` deletes them in batches of
``RETENTION_BATCH_SIZE`` ids, each batch its own short transaction that re-checks the
condition (a row that changed since it was picked stays), so no lock is held for long and a
busy table keeps serving. What it pruned goes to the log and, counted in the database (so it
is right whichever worker pruned), to ``retention_pruned_rows_total{kind}`` on /metrics.

Never pruned: plans, tasks and executions (execution history and compliance are computed from
them), a plan's counter state (stored on the plan), monitors and windows.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from core.metrics import counter_by, domain_metrics

logger = logging.getLogger(__name__)

# A run stops after this many batches per kind, so one run stays short after a long pause
# (or when retention is first turned on); the next run goes on where it stopped.
MAX_BATCHES_PER_RUN = 200


@dataclass(frozen=True)
class Prunable:
    name: str  # the label in logs and metrics ("deliveries.sent")
    setting: str  # the setting with the days to keep; 0 keeps forever
    expired: Callable[[datetime], QuerySet]  # rows older than the cutoff that may go

    def keep_days(self) -> int:
        return getattr(settings, self.setting)


_REGISTRY: dict[str, Prunable] = {}


def prunable(name: str, *, setting: str):
    """Declare ``expired(cutoff) -> QuerySet`` as the rows of kind ``name`` that may be pruned
    once they are older than ``setting`` days."""

    def declare(expired: Callable[[datetime], QuerySet]):
        _REGISTRY[name] = Prunable(name=name, setting=setting, expired=expired)
        return expired

    return declare


def prunables() -> list[Prunable]:
    return sorted(_REGISTRY.values(), key=lambda item: item.name)


def prune(item: Prunable, *, now: datetime, batch_size: int | None = None) -> int:
    """Delete what `item` says has expired at `now`, in batches; return the rows deleted."""
    days = item.keep_days()
    if days <= 0:
        return 0
    cutoff = now - timedelta(days=days)
    batch_size = batch_size or settings.RETENTION_BATCH_SIZE
    deleted = 0
    for _ in range(MAX_BATCHES_PER_RUN):
        expired = item.expired(cutoff)
        model = expired.model
        ids = list(expired.order_by().values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        with transaction.atomic():
            # The condition again, on locked rows: one that changed since it was picked (a
            # failed delivery sent again) is kept.
            still = expired.filter(pk__in=ids).select_for_update(of=("self",))
            still_ids = list(still.values_list("pk", flat=True))
            _, by_model = model.objects.filter(pk__in=still_ids).delete()
        deleted += by_model.get(model._meta.label, 0)
        if len(ids) < batch_size:
            break
    return deleted


def prune_expired(*, now: datetime) -> dict[str, int]:
    """Prune every registered kind; log and count what went. Returns the rows per kind."""
    from core.models import RetentionTotal

    pruned = {}
    for item in prunables():
        count = prune(item, now=now)
        pruned[item.name] = count
        if count:
            RetentionTotal.objects.add(item.name, count, at=now)
            logger.info(
                "Pruned %d %s older than %d days",
                count,
                item.name,
                item.keep_days(),
                extra={"retention_kind": item.name, "pruned": count},
            )
    return pruned


@domain_metrics
def retention_metrics(now):
    from core.models import RetentionTotal

    totals = dict(RetentionTotal.objects.values_list("name", "pruned"))
    yield counter_by(
        "retention_pruned_rows",
        "Rows the retention job has deleted, by kind of record.",
        ["kind"],
        {(item.name,): totals.get(item.name, 0) for item in prunables()},
    )


@prunable("audit.records", setting="RETENTION_AUDIT_DAYS")
def expired_audit_records(cutoff):
    from core.models import AuditRecord

    return AuditRecord.objects.filter(timestamp__lt=cutoff)
