"""Which counter readings retention may prune (see core.retention; days in settings).

Never pruned here: plans, executions and tasks. Execution history and compliance over any
period are computed from executions and tasks, and a plan's current counter value and next
threshold are stored on the plan, so none of them depends on old readings.
"""

from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import TruncDate

from core.retention import prunable
from maintenance.models import CounterReading, Report


@prunable("counter_readings", setting="RETENTION_COUNTER_READINGS_DAYS")
def expired_readings(cutoff):
    return CounterReading.objects.filter(recorded_at__lt=cutoff)


@prunable("counter_readings.thinned", setting="RETENTION_COUNTER_READINGS_DAILY_AFTER_DAYS")
def thinned_readings(cutoff):
    """Past the cutoff each plan keeps its last reading of each UTC day, and every reset
    (a meter replacement, which the usage series of the optimiser needs)."""
    later_same_day = CounterReading.objects.annotate(day=TruncDate("recorded_at")).filter(
        Q(recorded_at__gt=OuterRef("recorded_at"))
        | Q(recorded_at=OuterRef("recorded_at"), id__gt=OuterRef("id")),
        plan_id=OuterRef("plan_id"),
        day=OuterRef("day"),
    )
    return (
        CounterReading.objects.filter(recorded_at__lt=cutoff, reset=False)
        .annotate(day=TruncDate("recorded_at"))
        .filter(Exists(later_same_day))
    )


@prunable("reports", setting="RETENTION_REPORTS_DAYS")
def expired_reports(cutoff):
    """Reports (and their files) whose period ended before the cutoff."""
    return Report.objects.filter(period_end__lt=cutoff)
