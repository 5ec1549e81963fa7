"""`GET /api/v1/maintenance/tasks.ics`: a technician's open tasks as an iCalendar feed.

One VEVENT per open (or in-progress) task at its due time, for its estimated duration
(`DEFAULT_DURATION` when it has none), written in its plan's timezone so a calendar app
shows 08:00 on both sides of a DST change; the UID is the task's id, which never changes.
Who may read it, and how errors answer, is `core.api.feeds` (the v4 feeds' rules); the
zone handling and `If-None-Match` matching are the v4 feed's (`scheduling.feeds`).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, timedelta

import django_filters
from django.db.models import Count, Max, QuerySet
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from icalendar import Event

from core.api.feeds import FEED_CACHE_CONTROL, FeedViewMixin, feed_responses
from core.api.views import ServiceAPIView
from core.errors import InvalidInput
from maintenance.models import Priority, Task, Technician
from scheduling.feeds import (
    CALENDAR_CONTENT_TYPE,
    etag_matches,
    new_calendar,
    wall_time_in,
    zone_named,
)

FEED_MAX_TASKS = 2000
DEFAULT_DURATION = timedelta(hours=1)
FEED_FORMAT = "1"
PRODID = "-//maintenance-scheduler//Maintenance tasks//EN"
UID_DOMAIN = "maintenance-tasks"
# RFC 5545 PRIORITY: 1 highest .. 9 lowest.
ICAL_PRIORITY = {Priority.URGENT: 1, Priority.HIGH: 3, Priority.MEDIUM: 5, Priority.LOW: 9}


class TaskFeedFilter(django_filters.FilterSet):
    assignee = django_filters.CharFilter(
        field_name="assignee_id",
        max_length=40,
        help_text="A technician's id: only the tasks assigned to them.",
    )

    class Meta:
        model = Task
        fields = ("assignee",)


def _tasks() -> QuerySet[Task]:
    return (
        Task.objects.filter(status__in=Task.OPEN_STATUSES)
        .select_related("plan", "assignee")
        .prefetch_related("task_assets__asset")
        .order_by("due_at", "code")
    )


def task_feed_etag(tasks: QuerySet[Task]) -> str:
    """One aggregate query: which tasks (count and the last change of each table shown)."""
    stats = tasks.order_by().aggregate(
        count=Count("id", distinct=True),
        tasks=Max("updated_at"),
        plans=Max("plan__updated_at"),
        assignees=Max("assignee__updated_at"),
        assets=Max("task_assets__asset__updated_at"),
    )
    parts = [FEED_FORMAT, *(f"{key}={stats[key]}" for key in sorted(stats))]
    return '"' + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32] + '"'


def _vevent(task: Task) -> Event:
    zone = zone_named(task.plan.timezone if task.plan is not None else "UTC")
    duration = (
        timedelta(minutes=task.estimated_duration_minutes)
        if task.estimated_duration_minutes
        else DEFAULT_DURATION
    )
    assets = [f"{link.asset.code} · {link.asset.name}" for link in task.task_assets.all()]
    lines = [
        f"Plan: {task.plan.name}" if task.plan is not None else "Corrective task",
        f"Assets: {', '.join(assets) or 'none'}",
        f"Priority: {task.priority}",
        f"Status: {task.status}",
    ]
    if task.deadline_at is not None:
        lines.append(f"Deadline: {task.deadline_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC")
    if task.description:
        lines = [task.description, "", *lines]
    vevent = Event()
    vevent.add("uid", f"{task.pk}@{UID_DOMAIN}")
    vevent.add("dtstamp", task.updated_at.astimezone(UTC))
    vevent.add("last-modified", task.updated_at.astimezone(UTC))
    vevent.add("created", task.created_at.astimezone(UTC))
    vevent.add("dtstart", wall_time_in(task.due_at, zone))
    vevent.add("dtend", wall_time_in(task.due_at + duration, zone))
    vevent.add("summary", f"{task.code} · {task.title}")
    vevent.add("description", "\n".join(lines))
    vevent.add("priority", ICAL_PRIORITY.get(task.priority, 5))
    vevent.add("status", "CONFIRMED")
    if assets:
        vevent.add("location", ", ".join(assets))
    return vevent


def task_calendar(tasks: list[Task], *, name: str) -> bytes:
    calendar = new_calendar(name, prodid=PRODID)
    for task in tasks:
        calendar.add_component(_vevent(task))
    if tasks:
        first, last = tasks[0].due_at, max(task.due_at for task in tasks)
        calendar.add_missing_timezones(
            first_date=date(first.year - 1, 1, 1), last_date=date(last.year + 1, 12, 31)
        )
    return calendar.to_ical()


class TaskFeedView(FeedViewMixin, ServiceAPIView):
    """Open tasks as an iCalendar feed (a technician's with `?assignee=`)."""

    permission_model = Task
    filterset_class = TaskFeedFilter

    def get_queryset(self):
        return _tasks()

    @extend_schema(
        operation_id="v1_tasks_feed",
        summary="Open tasks as an iCalendar feed",
        description=(
            "Subscribe from a calendar app with `?token=<read-only API key>` (or send the key "
            "in the Authorization header). One event per open or in-progress task at its due "
            "time, for its estimated duration (1 hour without one), in its plan's timezone; "
            f"at most {FEED_MAX_TASKS}, soonest first. Send `If-None-Match` with the last "
            "ETag to get a 304 when nothing changed."
        ),
        filters=True,
        responses=feed_responses(
            "An iCalendar (RFC 5545) VCALENDAR: one VEVENT per open task, UID the task's id."
        ),
    )
    def get(self, request):
        assignee_id = request.query_params.get("assignee")
        name = "Maintenance tasks"
        if assignee_id:
            technician = Technician.objects.filter(pk=assignee_id).first()
            if technician is None:
                raise InvalidInput(
                    (
                        gettext("Technician '%(assignee_id)s' not found")
                        % {"assignee_id": assignee_id}
                    ),
                    field="assignee",
                )
            name = f"Maintenance tasks: {technician.name}"
        tasks = self.filter_queryset(self.get_queryset())
        etag = task_feed_etag(tasks)
        if etag_matches(etag, request.headers.get("If-None-Match", "")):
            response = HttpResponseNotModified()
        else:
            body = task_calendar(list(tasks[:FEED_MAX_TASKS]), name=name)
            response = HttpResponse(body, content_type=CALENDAR_CONTENT_TYPE)
            response["Content-Disposition"] = 'inline; filename="tasks.ics"'
        response["ETag"] = etag
        response["Cache-Control"] = FEED_CACHE_CONTROL
        return response
