"""Admin pages that span both apps: the schedule calendar and the live rule preview.

Both are staff-only (wrapped in `admin.site.admin_view`, which also keeps CSRF on) and read
only. This module parses the request and renders; the reads are the apps' selectors. The
preview uses the same recurrence engine and messages as the APIs
(`scheduling.services.checked_recurrence`) and lists the events a save would replace by the
service's own rule (`scheduling.selectors.events_replaced_by`); the calendar reads window
events and plans' due dates through `scheduling.selectors` and `maintenance.selectors`.
"""

from __future__ import annotations

import calendar as pycalendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.errors import DomainError, NotFound
from maintenance import selectors as maintenance_selectors
from maintenance.models import Asset, Technician
from scheduling import selectors as scheduling_selectors
from scheduling import services as scheduling_services
from scheduling.models import Monitor
from scheduling.recurrence import RecurrenceError, every_to_rrule
from scheduling.specs import Schedule

PREVIEW_COUNT = 10
REPLACED_SHOWN = 100
SCHEDULE_DAYS = 30
# The calendar shows at most this many plans (soonest due first); beyond that the page says
# so rather than expanding an unbounded number of rules on one request.
SCHEDULE_MAX_PLANS = 200
SCHEDULE_MAX_EVENTS = 1000
# A page shows at most this many entries (the earliest), and a month cell at most DAY_ENTRIES
# with "+N more" linking to that day in the list: the page stays readable and fast however
# much is scheduled; the filters narrow it.
SCHEDULE_MAX_ENTRIES = 1000
DAY_ENTRIES = 6


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _parse_start(raw: str) -> datetime | None:
    """A start from the form: `YYYY-MM-DDTHH:MM[:SS]`, read as UTC (the admin's zone)."""
    parsed = parse_datetime(raw.strip().replace(" ", "T")) if raw else None
    if parsed is None:
        return None
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _error(message: str, details: dict) -> JsonResponse:
    return JsonResponse({"error": {"message": message, "details": details}}, status=400)


# --- live preview ------------------------------------------------------------------------------


def preview(request):
    """`GET ?rrule=|every=&unit=, start=, timezone=, duration_seconds=, maintenance_id=`.

    → `{"occurrences": [{"start", "end"}], "description", "replaced": [...]}`: the next ten
    occurrences from the start, the rule in words, and, for an existing window whose schedule
    would change, the events that have not started (SCHEDULED/READY, hand-edited included)
    that saving would replace. A bad rule is a 400 with the engine's message for the field.
    """
    params = request.GET
    start = _parse_start(params.get("start", ""))
    if start is None:
        return _error("start: Enter a valid date and time.", {"start": ["Enter a valid date."]})
    tz = params.get("timezone") or "UTC"
    rrule = params.get("rrule", "").strip()
    every = params.get("every", "").strip()
    if every and not rrule:
        try:
            rrule = every_to_rrule(int(every), params.get("unit", ""))
        except (ValueError, RecurrenceError) as exc:
            message = getattr(exc, "message", "every must be a whole number")
            return _error(message, {getattr(exc, "field", "every"): [message]})
    if not rrule:
        return _error("rrule: Give rrule, or every + unit.", {"rrule": ["Give a rule."]})
    try:
        duration = int(params.get("duration_seconds") or 0)
    except ValueError:
        duration = 0
    try:
        recurrence = scheduling_services.checked_recurrence(rrule=rrule, start=start, timezone=tz)
    except DomainError as exc:
        return _error(exc.message, exc.details)
    length = timedelta(seconds=max(duration, 0))
    body = {
        "rule": recurrence.rule,
        "description": recurrence.describe(),
        "occurrences": [
            {"start": _iso(s), "end": _iso(s + length) if duration else None}
            for s in recurrence.first(PREVIEW_COUNT)
        ],
        "replaced": _replaced_events(
            request.user, params.get("maintenance_id", ""), recurrence.rule, start, tz, duration
        ),
    }
    return JsonResponse(body)


def _replaced_events(
    user, raw_id: str, rule: str, start: datetime, tz: str, duration: int
) -> list[dict]:
    """The not-started events a save of this schedule would replace, as `maintenance_update`
    decides it (`scheduling.selectors.events_replaced_by`). A missing duration is the one the
    window has; the start is floored to the minute, as the form does on save."""
    if not raw_id or not user.has_perm("scheduling.view_maintenance"):
        return []
    try:
        maintenance = scheduling_selectors.maintenance_get(
            maintenance_id=raw_id, with_monitors=False
        )
    except NotFound:
        return []
    proposed = Schedule(
        rrule=rule,
        start_date_time=start.replace(second=0, microsecond=0),
        timezone=tz,
        duration_seconds=duration or maintenance.duration_seconds,
    )
    now = timezone.now()
    events = scheduling_selectors.events_replaced_by(
        maintenance=maintenance, schedule=proposed, now=now
    )
    return [
        {
            "id": event.pk,
            "start": _iso(event.start_date_time),
            "end": _iso(event.end_date_time),
            "status": event.status_at(now),
            "is_modified": event.is_modified,
        }
        for event in events[:REPLACED_SHOWN]
    ]


# --- schedule page -----------------------------------------------------------------------------


@dataclass
class Entry:
    kind: str  # "window" | "plan"
    title: str
    start: datetime
    end: datetime | None
    status: str
    url: str
    detail: str = ""


def _window_entries(since: datetime, until: datetime, monitor: str) -> list[Entry]:
    events = scheduling_selectors.window_events_between(
        since=since, until=until, monitor_tag=monitor, limit=SCHEDULE_MAX_EVENTS
    )
    return [
        Entry(
            kind="window",
            title=event.maintenance.title,
            start=event.start_date_time,
            end=event.end_date_time,
            status=event.live_status,
            url=reverse("admin:scheduling_maintenance_change", args=[event.maintenance_id]),
            detail=", ".join(link.monitor.tag for link in event.maintenance.monitor_links.all()),
        )
        for event in events
    ]


def _plan_entries(since: datetime, until: datetime, asset: str, technician: str) -> list[Entry]:
    entries = []
    for due in maintenance_selectors.plan_due_dates_between(
        since=since,
        until=until,
        asset_code=asset,
        technician_id=technician,
        max_plans=SCHEDULE_MAX_PLANS,
        max_per_plan=SCHEDULE_DAYS + 1,
    ):
        plan = due.plan
        detail = ", ".join(link.asset.code for link in plan.plan_assets.all())
        if plan.assignee:
            detail = f"{detail} · {plan.assignee.name}" if detail else plan.assignee.name
        url = reverse("admin:maintenance_plan_change", args=[quote(plan.pk)])
        entries.append(Entry("plan", plan.name, due.due_at, None, "due", url, detail))
    return entries


def schedule(request):
    """The next 30 days of window events and plan due dates, as a month grid or a list.

    Filters (GET): `monitor` (tag: windows covering it), `asset` (code) and `technician` (id:
    plans on that asset / assigned to them). A filter on one kind's attribute hides the
    other kind, which has no such attribute. A fixed number of queries whatever the data.
    """
    now = timezone.now()
    view = "list" if request.GET.get("view") == "list" else "month"
    monitor = request.GET.get("monitor", "").strip()
    asset = request.GET.get("asset", "").strip()
    technician = request.GET.get("technician", "").strip()
    today = now.astimezone(UTC).date()
    since = datetime.combine(today, time.min, tzinfo=UTC)
    until = since + timedelta(days=SCHEDULE_DAYS)

    # Each kind is shown to those who may view it in its own admin.
    sees_windows = request.user.has_perm("scheduling.view_maintenance")
    sees_plans = request.user.has_perm("maintenance.view_plan")
    if not (sees_windows or sees_plans):
        raise PermissionDenied
    entries: list[Entry] = []
    if sees_windows and not (asset or technician):
        entries += _window_entries(since, until, monitor)
    if sees_plans and not monitor:
        entries += _plan_entries(since, until, asset, technician)
    entries.sort(key=lambda e: (e.start, e.kind, e.title))
    total = len(entries)
    entries = entries[:SCHEDULE_MAX_ENTRIES]

    by_day: dict[date, list[Entry]] = defaultdict(list)
    for entry in entries:
        by_day[entry.start.astimezone(UTC).date()].append(entry)
    last = today + timedelta(days=SCHEDULE_DAYS - 1)
    first_monday = today - timedelta(days=today.weekday())
    weeks = []
    day = first_monday
    while day <= last:
        week = []
        for _ in range(7):
            week.append(
                {
                    "date": day,
                    "in_range": today <= day <= last,
                    "is_today": day == today,
                    "entries": by_day.get(day, [])[:DAY_ENTRIES],
                    "more": max(len(by_day.get(day, [])) - DAY_ENTRIES, 0),
                }
            )
            day += timedelta(days=1)
        weeks.append(week)
    days = [{"date": d, "entries": by_day[d]} for d in sorted(by_day)]

    context = {
        **admin.site.each_context(request),
        "title": "Schedule: the next 30 days",
        "view": view,
        "weeks": weeks,
        "weekdays": list(pycalendar.day_abbr),
        "days": days,
        "entry_count": total,
        "truncated": total - len(entries),
        "shown": len(entries),
        "since": since,
        "until": until,
        "filters": {"monitor": monitor, "asset": asset, "technician": technician},
        "monitors": Monitor.objects.order_by("tag").values_list("tag", "name")[:500],
        "technicians": Technician.objects.filter(active=True)
        .order_by("name")
        .values_list("id", "name")[:500],
        "asset_codes": Asset.objects.order_by("code").values_list("code", flat=True)[:500],
        "max_plans": SCHEDULE_MAX_PLANS,
    }
    return TemplateResponse(request, "admin/schedule.html", context)


def urls() -> list:
    """Mounted under /admin/schedule/ (before the admin's own URLs), staff only."""
    wrap = admin.site.admin_view
    return [
        path("", wrap(schedule), name="admin_schedule"),
        path("preview", wrap(preview), name="admin_schedule_preview"),
    ]
