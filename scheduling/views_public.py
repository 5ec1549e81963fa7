"""The public maintenance page `/status/` and its calendar feed `/status/events.ics`.

Off unless `PUBLIC_MAINTENANCE_PAGE=true` (404 otherwise), served without a key, and showing
only what a status page's visitors may see: window titles, times, impacts and monitors by
display name. Never a window's description (it has no public/private flag, and operators
write internal notes there), ids, rules, tags or a monitor's own description.

Both are cached for `PUBLIC_CACHE_SECONDS` (30 s) in each process's memory (the `pages`
cache), so a crowd on the page during an incident costs one render every
30 s: the page as a whole (it may be up to 30 s old), the feed's body under its ETag (one
aggregate query a request, never stale; `If-None-Match` gets a 304).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import cache_page
from django.views.decorators.http import require_safe

from scheduling import feeds, history
from scheduling.models import IMPACT_SEVERITY, MaintenanceEvent
from scheduling.selectors import event_list_detailed

PUBLIC_CACHE_SECONDS = 30
# The page shows what is ongoing and what starts in the next 30 days, at most 500 events.
PUBLIC_DAYS = 30
PUBLIC_MAX_EVENTS = 500
GENERAL = "General"  # the heading of windows that name no monitor
PUBLIC_FEED_NAME = "Planned maintenance"


def public_page(view):
    """404 unless PUBLIC_MAINTENANCE_PAGE is on; GET and HEAD only."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not settings.PUBLIC_MAINTENANCE_PAGE:
            raise Http404("The public maintenance page is not enabled")
        return view(request, *args, **kwargs)

    return require_safe(guarded)


def _window(event: MaintenanceEvent, *, now, impact: str) -> dict:
    return {
        "title": event.maintenance.title,
        "start": event.start_date_time,
        "end": event.end_date_time,
        "impact": impact,
        "ongoing": event.start_date_time <= now,
    }


def _by_monitor(events: list[MaintenanceEvent], *, now) -> list[dict]:
    """[{"name", "windows"}] by monitor name (windows naming none last, under GENERAL)."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for event in events:
        links = list(event.maintenance.monitor_links.all())
        for link in links:
            groups[link.monitor.name].append(_window(event, now=now, impact=link.impact))
        if not links:
            groups[GENERAL].append(_window(event, now=now, impact=""))
    names = sorted((name for name in groups if name != GENERAL), key=str.casefold)
    if GENERAL in groups:
        names.append(GENERAL)
    result = []
    for name in names:
        windows = groups[name]
        worst_ongoing = [w["impact"] for w in windows if w["ongoing"] and w["impact"]]
        result.append(
            {
                "name": name,
                "windows": windows,
                "ongoing": max(worst_ongoing, key=IMPACT_SEVERITY.__getitem__, default=""),
            }
        )
    return result


@public_page
@cache_page(PUBLIC_CACHE_SECONDS, cache="pages")
def status_page(request):
    now = timezone.now()
    events = history.upcoming_windows(
        now=now, until=now + timedelta(days=PUBLIC_DAYS), limit=PUBLIC_MAX_EVENTS
    )
    feed_url = request.build_absolute_uri("/status/events.ics")
    context = {
        "groups": _by_monitor(events, now=now),
        "now": now,
        "days": PUBLIC_DAYS,
        "feed_url": feed_url,
        "webcal_url": "webcal://" + feed_url.split("://", 1)[1],
    }
    return render(request, "status/maintenance.html", context)


@public_page
def status_feed(request):
    now = timezone.now()
    events = event_list_detailed(now=now).filter(end_date_time__gt=feeds.feed_window_start(now))
    return feeds.feed_response(
        events,
        name=PUBLIC_FEED_NAME,
        if_none_match=request.headers.get("If-None-Match", ""),
        public=True,
        cache_control=f"public, max-age={PUBLIC_CACHE_SECONDS}",
        cache_seconds=PUBLIC_CACHE_SECONDS,
    )
