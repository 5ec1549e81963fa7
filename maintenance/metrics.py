"""The v1 domain's gauges for ``GET /metrics`` (read at scrape time; see core.metrics)."""

from django.db.models import Count, Q

from core.metrics import domain_metrics, gauge
from maintenance.models import CounterReading, Plan, Task


@domain_metrics
def maintenance_metrics(now):
    # The scheduler's own due condition (selectors.due_plan_ids), served by its partial index.
    due = Plan.objects.filter(status=Plan.Status.ACTIVE, next_run_at__lte=now).count()
    yield gauge("maintenance_plans_due", "Active calendar plans whose run time has come.", due)
    tasks = Task.objects.filter(status__in=Task.OPEN_STATUSES).aggregate(
        open=Count("id"), overdue=Count("id", filter=Q(deadline_at__lt=now))
    )
    yield gauge("maintenance_tasks_open", "Tasks open or in progress.", tasks["open"])
    yield gauge(
        "maintenance_tasks_overdue",
        "Open tasks past their deadline (calendar: due + tolerance; counter: usage passed).",
        tasks["overdue"],
    )
    yield gauge(
        "maintenance_counter_readings_total",
        "Counter readings stored (falls when retention thins or prunes old readings).",
        CounterReading.objects.count(),
    )
