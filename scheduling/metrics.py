"""The v4 domain's gauges for ``GET /metrics`` (read at scrape time; see core.metrics)."""

from django.db.models import Count

from core.metrics import domain_metrics, gauge, gauge_by
from scheduling.models import EventStatus, Maintenance, MaintenanceEvent, MaintenanceMonitor


@domain_metrics
def scheduling_metrics(now):
    # The status that is true now (as the API shows it), not the one the last tick stored.
    by_status = dict(
        MaintenanceEvent.objects.with_live_status(now)
        .order_by()
        .values("live_status")
        .annotate(n=Count("id"))
        .values_list("live_status", "n")
    )
    yield gauge_by(
        "scheduling_events",
        "Maintenance events by their status now.",
        ["status"],
        {(status,): n for status, n in by_status.items()},
        every=[(status,) for status in EventStatus.values],
    )
    # Same rule as GET /api/v4/monitors/{tag}/maintenance: an ONGOING event of an ACTIVE window.
    ongoing = MaintenanceEvent.objects.under_way(now).filter(
        maintenance__status=Maintenance.Status.ACTIVE
    )
    under = (
        MaintenanceMonitor.objects.filter(maintenance__events__in=ongoing)
        .values("monitor_id")
        .distinct()
        .count()
    )
    yield gauge(
        "scheduling_monitors_under_maintenance", "Monitors under maintenance right now.", under
    )
