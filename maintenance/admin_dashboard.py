"""The admin's home page: what both teams look at first.

PM compliance by month (the compliance selector per month, with the plans behind each bar),
overdue and due-this-week tasks, open tasks by status and assignee, ongoing and upcoming
window events with their monitors, failed deliveries. Every figure links to the admin list
it counts, filtered the same way (plain changelist lookups in the query string), so a click
shows exactly those rows. Read only; a fixed number of queries whatever the data. Mounted on
/admin/ before the admin's own URLs (config/urls.py), rendering the admin's index with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext

from maintenance import selectors as maintenance_selectors
from maintenance.models import Plan, Task
from notifications.models import Delivery
from scheduling import selectors as scheduling_selectors
from scheduling.models import EventStatus

COMPLIANCE_MONTHS = 6
UPCOMING_DAYS = 7
WINDOWS_SHOWN = 10
FAILED_SHOWN = 5
CHART_HEIGHT = 120  # px of the tallest bar (100 %)
BAR_WIDTH, BAR_GAP = 44, 16
OPEN = ",".join(Task.OPEN_STATUSES)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _changelist(name: str, **lookups) -> str:
    return f"{reverse(f'admin:{name}_changelist')}?{urlencode(lookups)}"


def _month_starts(today: date, count: int) -> list[date]:
    first = today.replace(day=1)
    months = [first]
    for _ in range(count - 1):
        months.insert(0, (months[0] - timedelta(days=1)).replace(day=1))
    return months


@dataclass
class MonthBar:
    label: str
    rate: float | None
    url: str
    plans: list[dict] = field(default_factory=list)
    x: int = 0
    height: int = 0
    y: int = 0


def _compliance(now: datetime) -> dict:
    today = now.astimezone(UTC).date()
    months = _month_starts(today, COMPLIANCE_MONTHS)
    bars, plan_ids = [], set()
    reports = []
    for first in months:
        following = (first + timedelta(days=32)).replace(day=1)
        last = min(following - timedelta(days=1), today)
        report = maintenance_selectors.compliance_report(start_date=first, end_date=last, now=now)
        reports.append((first, following, report))
        plan_ids.update(row["plan_id"] for row in report["by_plan"] if row["plan_id"])
    names = dict(Plan.objects.filter(pk__in=plan_ids).values_list("id", "name"))
    for index, (first, following, report) in enumerate(reports):
        since, until = (
            _iso(datetime.combine(first, datetime.min.time(), tzinfo=UTC)),
            _iso(datetime.combine(following, datetime.min.time(), tzinfo=UTC)),
        )
        rate = report["compliance_rate"]
        bar = MonthBar(
            label=date_format(first, "M Y"),  # month names in the reader's language
            rate=rate,
            url=_changelist("maintenance_task", due_at__gte=since, due_at__lt=until),
            x=index * (BAR_WIDTH + BAR_GAP),
        )
        bar.height = round(CHART_HEIGHT * (rate or 0) / 100)
        bar.y = CHART_HEIGHT - bar.height
        for row in report["by_plan"]:
            plan_id = row["plan_id"]
            bar.plans.append(
                {
                    "name": names.get(plan_id) or gettext("%(id)s (deleted)") % {"id": plan_id},
                    "rate": row["compliance_rate"],
                    "due": row["due_count"],
                    "overdue": row["overdue_count"],
                    "url": _changelist(
                        "maintenance_task", plan=plan_id, due_at__gte=since, due_at__lt=until
                    ),
                }
            )
        bar.plans.sort(key=lambda p: (p["rate"] is None, p["rate"] or 0, p["name"]))
        bars.append(bar)
    return {
        "bars": bars,
        "width": len(bars) * (BAR_WIDTH + BAR_GAP),
        "height": CHART_HEIGHT,
        "bar_width": BAR_WIDTH,
    }


def _tasks(now: datetime) -> dict:
    week_end = now + timedelta(days=UPCOMING_DAYS)
    open_tasks = Task.objects.filter(status__in=Task.OPEN_STATUSES)
    counts = open_tasks.aggregate(
        overdue=Count("pk", filter=Q(deadline_at__lt=now)),
        due_week=Count("pk", filter=Q(due_at__gte=now, due_at__lt=week_end)),
    )
    by_status = [
        {
            "status": Task.Status(row["status"]).label,
            "count": row["count"],
            "url": _changelist("maintenance_task", status__exact=row["status"]),
        }
        for row in Task.objects.values("status").annotate(count=Count("pk")).order_by("status")
    ]
    by_assignee = []
    rows = (
        open_tasks.values("assignee_id", "assignee__name")
        .annotate(count=Count("pk"))
        .order_by("-count", "assignee__name")
    )
    for row in rows:
        if row["assignee_id"] is None:
            name = gettext("Unassigned")
            lookup = {"assignee__isnull": "True"}
        else:
            name = row["assignee__name"]
            lookup = {"assignee__id__exact": row["assignee_id"]}
        by_assignee.append(
            {
                "name": name,
                "count": row["count"],
                "url": _changelist("maintenance_task", status__in=OPEN, **lookup),
            }
        )
    return {
        "overdue": counts["overdue"],
        "overdue_url": _changelist("maintenance_task", status__in=OPEN, deadline_at__lt=_iso(now)),
        "due_week": counts["due_week"],
        "due_week_url": _changelist(
            "maintenance_task",
            status__in=OPEN,
            due_at__gte=_iso(now),
            due_at__lt=_iso(week_end),
        ),
        "by_status": by_status,
        "by_assignee": by_assignee,
        "queue_url": reverse("admin:maintenance_task_queue"),
    }


def _windows(now: datetime) -> dict:
    until = now + timedelta(days=UPCOMING_DAYS)
    events = scheduling_selectors.window_events_between(since=now, until=until, limit=WINDOWS_SHOWN)
    live = ",".join((EventStatus.SCHEDULED, EventStatus.READY, EventStatus.ONGOING))
    rows = [
        {
            "title": event.maintenance.title,
            "start": event.start_date_time,
            "end": event.end_date_time,
            "status": event.live_status,
            "monitors": [link.monitor.tag for link in event.maintenance.monitor_links.all()],
            "url": reverse(
                "admin:scheduling_maintenance_change", args=[quote(event.maintenance_id)]
            ),
        }
        for event in events
        if event.live_status != EventStatus.CANCELLED
    ]
    return {
        "rows": rows,
        "ongoing": sum(1 for r in rows if r["status"] == EventStatus.ONGOING),
        "ongoing_url": _changelist(
            "scheduling_maintenanceevent",
            status__in=live,
            start_date_time__lte=_iso(now),
            end_date_time__gt=_iso(now),
        ),
        "upcoming_url": _changelist(
            "scheduling_maintenanceevent",
            status__in=live,
            start_date_time__gt=_iso(now),
            start_date_time__lt=_iso(until),
        ),
        "days": UPCOMING_DAYS,
    }


def _deliveries() -> dict:
    failed = Delivery.objects.filter(status=Delivery.Status.FAILED)
    return {
        "count": failed.count(),
        "url": _changelist("notifications_delivery", status__exact=Delivery.Status.FAILED),
        "latest": list(
            failed.select_related("channel").order_by("-updated_at", "id")[:FAILED_SHOWN]
        ),
    }


def dashboard(request, now: datetime | None = None) -> dict:
    """The figures the user may see (each part needs the view permission of its list)."""
    now = now or timezone.now()
    user = request.user
    board: dict = {"now": now}
    if user.has_perm("maintenance.view_task"):
        board["tasks"] = _tasks(now)
        board["compliance"] = _compliance(now)
    if user.has_perm("scheduling.view_maintenanceevent"):
        board["windows"] = _windows(now)
    if user.has_perm("notifications.view_delivery"):
        board["deliveries"] = _deliveries()
    return board


def index(request):
    """/admin/: the admin's own index (apps and models) with the dashboard above it."""
    return admin.site.index(request, extra_context={"board": dashboard(request)})
