"""The kernel's periodic job: retention (what each app registered in its retention.py)."""

from datetime import datetime

from django.conf import settings

from core.jobs import JobResult, periodic_job
from core.retention import prune_expired


# Last in a manual tick: pruning is housekeeping, never in the way of due work.
@periodic_job(every=lambda: settings.RETENTION_PRUNE_SECONDS, tick_order=90)
def prune_expired_records(now: datetime) -> JobResult:
    """Delete what has outlived its retention setting, in short batches."""
    pruned = prune_expired(now=now)
    summary = ", ".join(f"{name} {count}" for name, count in pruned.items() if count)
    return JobResult(summary or "nothing pruned", pruned)
