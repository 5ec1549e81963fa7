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
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext

from core.admin import zoned_and_utc
from core.admin_fields import TimezoneInput
from core.admin_rules import ADVANCED, BUILDER, DURATION_UNITS, compose, parts_from_query
from core.admin_zoned import NonexistentTime, wall_to_utc
from core.errors import DomainError, InvalidInput, NotFound
from core.i18n import localized
from maintenance import selectors as maintenance_selectors
from maintenance import services as maintenance_services
from maintenance.models import Asset, Technician
from scheduling import selectors as scheduling_selectors
from scheduling import services as scheduling_services
from scheduling.models import TERMINAL_STATUSES, MaintenanceEvent, Monitor
from scheduling.recurrence import RecurrenceError, every_to_rrule
from scheduling.specs import Schedule

PREVIEW_COUNT = 10
REPLACED_SHOWN = 100
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
    """A start from the form: `YYYY-MM-DDTHH:MM[:SS]`, read as UTC (the admin's zone), or the
    date as the form's widget shows it in the page's language (`02/12/2026` in Spanish)."""
    parsed = parse_datetime(raw.strip().replace(" ", "T")) if raw else None
    if parsed is None and raw:
        try:
            parsed = forms.DateTimeField().to_python(raw.strip().replace("T", " "))
        except forms.ValidationError:
            return None
    if parsed is None:
        return None
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _error(message: str, details: dict) -> JsonResponse:
    return JsonResponse({"error": {"message": message, "details": details}}, status=400)


# --- live preview ------------------------------------------------------------------------------


def preview(request):
    """`GET ?rrule=|every=&unit=, start=, timezone=, duration_seconds=, maintenance_id=`;
    from the admin's forms also `local=1` (start is wall time in `timezone`), `rule_mode=`
    with the rule builder's fields (core.admin_rules), `duration=` + `duration_unit=`.

    → `{"occurrences": [{"start", "end"}], "description", "replaced": [...]}`: the next ten
    occurrences from the start, the rule in words, and, for an existing window whose schedule
    would change, the events that have not started (SCHEDULED/READY, hand-edited included)
    that saving would replace. A bad rule is a 400 with the engine's message for the field.
    """
    params = request.GET
    tz = params.get("timezone") or "UTC"
    start = _parse_start(params.get("start", ""))
    if start is None:
        return _error(
            gettext("start: Enter a valid date and time."),
            {"start": [gettext("Enter a valid date.")]},
        )
    if params.get("local"):
        # The admin's forms type the start as wall time in the object's zone (core.admin_zoned).
        try:
            start = wall_to_utc(start.replace(tzinfo=None), tz)
        except NonexistentTime as exc:
            return _error(str(exc), {"start": [str(exc)]})
    rrule = params.get("rrule", "").strip()
    every = params.get("every", "").strip()
    mode = params.get("rule_mode", "")
    if mode == BUILDER:
        # The builder's fields, composed as the form composes them on save.
        parts = parts_from_query(params)
        if parts is None:
            return _error(
                gettext("every: Complete the rule."), {"every": [gettext("Complete the rule.")]}
            )
        rrule = compose(parts)
    elif mode == ADVANCED:
        every = ""
    if every and not rrule:
        try:
            rrule = every_to_rrule(int(every), params.get("unit", ""))
        except RecurrenceError as exc:  # a ValueError too: caught first
            message = localized(exc)
            return _error(message, {exc.field: [message]})
        except ValueError:
            message = gettext("every must be a whole number")
            return _error(message, {"every": [message]})
    if not rrule:
        return _error(
            gettext("rrule: Give rrule, or every + unit."), {"rrule": [gettext("Give a rule.")]}
        )
    try:
        duration = int(params.get("duration_seconds") or 0)
        if params.get("duration"):
            duration = int(params["duration"]) * DURATION_UNITS.get(
                params.get("duration_unit", ""), 60
            )
    except ValueError:
        duration = 0
    try:
        recurrence = scheduling_services.checked_recurrence(rrule=rrule, start=start, timezone=tz)
    except DomainError as exc:
        return _error(exc.message, exc.details)
    length = timedelta(seconds=max(duration, 0))
    body = {
        "rule": recurrence.rule,
        "description": localized(recurrence.description()),
        "start_shown": zoned_and_utc(start, tz),
        # Each occurrence in UTC, and as shown: the object's wall time with UTC beside.
        "occurrences": [
            {
                "start": _iso(s),
                "end": _iso(s + length) if duration else None,
                "shown": zoned_and_utc(s, tz),
                "end_shown": zoned_and_utc(s + length, tz) if duration else None,
            }
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

VIEWS = ("month", "week", "list")


@dataclass
class Entry:
    kind: str  # "window" | "plan"
    title: str
    start: datetime  # in the page's time zone
    end: datetime | None
    status: str
    url: str
    detail: str = ""
    # What the inline "move" form changes: an event's id, or the plan whose next due date
    # this is (the following occurrences are computed, not stored, so they do not move).
    move_id: str = ""

    @property
    def hover(self) -> str:
        when = self.start.strftime("%Y-%m-%d %H:%M")
        if self.end:
            when += "\N{EN DASH}" + self.end.strftime("%H:%M")
        return " · ".join(part for part in (self.title, when, self.status, self.detail) if part)


def _window_entries(since: datetime, until: datetime, monitor: str, tz) -> list[Entry]:
    events = scheduling_selectors.window_events_between(
        since=since, until=until, monitor_tag=monitor, limit=SCHEDULE_MAX_EVENTS
    )
    return [
        Entry(
            kind="window",
            title=event.maintenance.title,
            start=event.start_date_time.astimezone(tz),
            end=event.end_date_time.astimezone(tz),
            status=event.live_status,
            url=reverse("admin:scheduling_maintenance_change", args=[quote(event.maintenance_id)]),
            detail=", ".join(link.monitor.tag for link in event.maintenance.monitor_links.all()),
            move_id=str(event.pk) if event.live_status not in TERMINAL_STATUSES else "",
        )
        for event in events
    ]


def _plan_entries(
    since: datetime, until: datetime, asset: str, technician: str, tz, days: int
) -> list[Entry]:
    entries = []
    for due in maintenance_selectors.plan_due_dates_between(
        since=since,
        until=until,
        asset_code=asset,
        technician_id=technician,
        max_plans=SCHEDULE_MAX_PLANS,
        max_per_plan=days + 1,
    ):
        plan = due.plan
        detail = ", ".join(link.asset.code for link in plan.plan_assets.all())
        if plan.assignee:
            detail = f"{detail} · {plan.assignee.name}" if detail else plan.assignee.name
        url = reverse("admin:maintenance_plan_change", args=[quote(plan.pk)])
        is_next = due.due_at == plan.next_due_at
        entries.append(
            Entry(
                "plan",
                plan.name,
                due.due_at.astimezone(tz),
                None,
                gettext("next due") if is_next else gettext("due"),
                url,
                detail,
                move_id=plan.pk if is_next else "",
            )
        )
    return entries


def _zone(raw: str):
    """The page's IANA time zone (default UTC), or None when it names none."""
    try:
        return ZoneInfo(raw or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _parse_day(raw: str) -> date | None:
    """A YYYY-MM-DD day within years 1900-2200 (so the period and its neighbours exist)."""
    try:
        day = parse_date(raw.strip())
    except ValueError:  # well formed but no such day
        return None
    return day if day is not None and 1900 <= day.year <= 2200 else None


def _period(view: str, anchor: date) -> tuple[date, date, date, date]:
    """[first, last] days shown, and the anchors of the previous and next period."""
    if view == "week":
        first = anchor - timedelta(days=anchor.weekday())
        return first, first + timedelta(days=6), first - timedelta(days=7), first + timedelta(7)
    first = anchor.replace(day=1)
    last = first.replace(day=pycalendar.monthrange(first.year, first.month)[1])
    previous = (first - timedelta(days=1)).replace(day=1)
    return first, last, previous, last + timedelta(days=1)


def _local_midnight(day: date, tz) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def schedule(request):
    """Window events and plan due dates for a month or a week, as a grid or a list.

    GET: `view` (month | week | list: the month as a list), `date` (YYYY-MM-DD, any day of
    the period; default today), `tz` (IANA zone the page shows and enters times in; default
    UTC), and the filters `monitor` (tag: windows covering it), `asset` (code) and
    `technician` (id: plans on that asset / assigned to them). A filter on one kind's
    attribute hides the other kind, which has no such attribute. A bad date or zone is a
    400 naming the parameter. A fixed number of queries whatever the data.
    """
    now = timezone.now()
    params = request.GET
    view = params.get("view") if params.get("view") in VIEWS else "month"
    monitor = params.get("monitor", "").strip()
    asset = params.get("asset", "").strip()
    technician = params.get("technician", "").strip()
    tz_name = params.get("tz", "").strip() or "UTC"

    # Each kind is shown to those who may view it in its own admin.
    sees_windows = request.user.has_perm("scheduling.view_maintenance")
    sees_plans = request.user.has_perm("maintenance.view_plan")
    if not (sees_windows or sees_plans):
        raise PermissionDenied

    errors = []
    tz = _zone(tz_name)
    if tz is None:
        errors.append(gettext("tz: Unknown time zone %(name)s.") % {"name": tz_name[:64]})
        tz, tz_name = UTC, "UTC"
    today = now.astimezone(tz).date()
    anchor = _parse_day(params["date"]) if params.get("date") else today
    if anchor is None:
        errors.append(gettext("date: Enter a valid date (YYYY-MM-DD)."))
        anchor = today
    first, last, previous, following = _period("week" if view == "week" else "month", anchor)
    since, until = _local_midnight(first, tz), _local_midnight(last + timedelta(days=1), tz)
    days_shown = (last - first).days + 1

    entries: list[Entry] = []
    if not errors:
        if sees_windows and not (asset or technician):
            entries += _window_entries(since, until, monitor, tz)
        if sees_plans and not monitor:
            entries += _plan_entries(since, until, asset, technician, tz, days_shown)
    entries.sort(key=lambda e: (e.start, e.kind, e.title))
    total = len(entries)
    entries = entries[:SCHEDULE_MAX_ENTRIES]

    by_day: dict[date, list[Entry]] = defaultdict(list)
    for entry in entries:
        by_day[entry.start.date()].append(entry)
    per_cell = DAY_ENTRIES if view == "month" else SCHEDULE_MAX_ENTRIES
    weeks = []
    day = first - timedelta(days=first.weekday())
    while day <= last:
        week = []
        for _ in range(7):
            week.append(
                {
                    "date": day,
                    "in_range": first <= day <= last,
                    "is_today": day == today,
                    "entries": by_day.get(day, [])[:per_cell],
                    "more": max(len(by_day.get(day, [])) - per_cell, 0),
                }
            )
            day += timedelta(days=1)
        weeks.append(week)
    days = [{"date": d, "entries": by_day[d]} for d in sorted(by_day)]

    filters = {"monitor": monitor, "asset": asset, "technician": technician, "tz": tz_name}
    keep = urlencode({k: v for k, v in filters.items() if v})
    if view == "week":
        title = gettext("Schedule: week of %(day)s") % {"day": first.isoformat()}
    else:
        title = gettext("Schedule: %(month)s") % {"month": date_format(first, "F Y")}
    context = {
        **admin.site.each_context(request),
        "title": title,
        "view": view,
        "weeks": weeks,
        "weekdays": list(pycalendar.day_abbr),
        "days": days,
        "entry_count": total,
        "truncated": total - len(entries),
        "shown": len(entries),
        "since": since,
        "until": until,
        "first": first,
        "last": last,
        "anchor": anchor.isoformat(),
        "previous": previous.isoformat(),
        "following": following.isoformat(),
        "today": today.isoformat(),
        "keep": keep,
        "filters": filters,
        "tz_name": tz_name,
        # The same picker as the forms' timezone fields (core.admin_fields).
        "tz_input": TimezoneInput(
            attrs={"id": "schedule-tz", "size": 18, "class": "ops-zone"}
        ).render("tz", tz_name),
        "errors": errors,
        "can_move_events": request.user.has_perm("scheduling.change_maintenanceevent"),
        "can_move_plans": request.user.has_perm("maintenance.change_plan"),
        "next_url": request.get_full_path(),
        "monitors": Monitor.objects.order_by("tag").values_list("tag", "name")[:500],
        "technicians": Technician.objects.filter(active=True)
        .order_by("name")
        .values_list("id", "name")[:500],
        "asset_codes": Asset.objects.order_by("code").values_list("code", flat=True)[:500],
        "max_plans": SCHEDULE_MAX_PLANS,
    }
    return TemplateResponse(request, "admin/schedule.html", context, status=400 if errors else 200)


def _local_instant(raw: str, tz) -> datetime | None:
    """A `datetime-local` value (YYYY-MM-DDTHH:MM) read in the page's zone, as UTC. A wall
    time in a DST gap or overlap resolves as zoneinfo does (fold 0: the first instance)."""
    parsed = parse_datetime(raw.strip()) if raw else None
    if parsed is None:
        return None
    if timezone.is_aware(parsed):
        return parsed.astimezone(UTC)
    return parsed.replace(tzinfo=tz).astimezone(UTC)


def move(request):
    """POST from the schedule's inline "move" form: a window event's start and end
    (`scheduling.services.event_update_times`) or a plan's next due date
    (`maintenance.services.plan_move_next_due`), entered in the page's zone. The services'
    messages come back as they are; then back to the schedule page."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    data = request.POST
    back = data.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("admin_schedule")
    tz = _zone(data.get("tz", ""))
    if tz is None:
        messages.error(request, gettext("tz: Unknown time zone."))
        return redirect(back)
    kind, object_id = data.get("kind"), data.get("id", "")
    try:
        if kind == "window":
            message = _move_event(request, object_id, data, tz)
        elif kind == "plan":
            message = _move_plan(request, object_id, data, tz)
        else:
            raise InvalidInput(gettext("kind: Choose window or plan."), field="kind")
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, message)
    return redirect(back)


def _move_event(request, object_id: str, data, tz) -> str:
    if not request.user.has_perm("scheduling.change_maintenanceevent"):
        raise PermissionDenied
    event_pk = scheduling_selectors.parse_id(object_id)
    event = (
        MaintenanceEvent.objects.select_related("maintenance").filter(pk=event_pk).first()
        if event_pk is not None
        else None
    )
    if event is None:
        raise NotFound(gettext("id: No window event %(id)s.") % {"id": object_id[:40]})
    start = _local_instant(data.get("start", ""), tz)
    end = _local_instant(data.get("end", ""), tz)
    for name, value in (("start_date_time", start), ("end_date_time", end)):
        if value is None:
            raise InvalidInput(
                gettext("%(field)s: Enter a valid date and time.") % {"field": name}, field=name
            )
    moved = scheduling_services.event_update_times(
        event=event, start_date_time=start, end_date_time=end, now=timezone.now()
    )
    return gettext("Moved %(title)s to %(start)s.") % {
        "title": event.maintenance.title,
        "start": moved.start_date_time.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z"),
    }


def _move_plan(request, object_id: str, data, tz) -> str:
    if not request.user.has_perm("maintenance.change_plan"):
        raise PermissionDenied
    due = _local_instant(data.get("due", ""), tz)
    if due is None:
        raise InvalidInput(
            gettext("next_due_at: Enter a valid date and time."), field="next_due_at"
        )
    plan = maintenance_services.plan_move_next_due(
        plan_id=object_id, due_at=due, now=timezone.now()
    )
    return gettext("Moved %(title)s to %(start)s.") % {
        "title": plan.name,
        "start": plan.next_due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z"),
    }


def urls() -> list:
    """Mounted under /admin/schedule/ (before the admin's own URLs), staff only."""
    wrap = admin.site.admin_view
    return [
        path("", wrap(schedule), name="admin_schedule"),
        path("move", wrap(move), name="admin_schedule_move"),
        path("preview", wrap(preview), name="admin_schedule_preview"),
    ]
