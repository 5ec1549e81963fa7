"""The iCalendar feeds of API v4: `maintenances/events.ics` (the global list's filters) and
`maintenances/{id}/events.ics`.

Who may read them (the key in the header, or a read-only one in `?token=`) and how they
answer errors is `core.api.feeds`, shared with v1's task feed.
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema

from core.api.feeds import FEED_CACHE_CONTROL, FeedViewMixin, feed_responses
from scheduling import feeds, selectors
from scheduling.api.filters import EventFilter
from scheduling.api.views import EVENTS, MAINTENANCE_ID, V4View
from scheduling.models import MaintenanceEvent

FEED_RESPONSES = feed_responses(
    "An iCalendar (RFC 5545) VCALENDAR: one VEVENT per event, UID stable per "
    "occurrence, SEQUENCE raised when the event moves or is cancelled. Carries an `ETag`."
)
FEED_DESCRIPTION = (
    "Subscribe from a calendar app with `?token=<read-only API key>` (or send the key in the "
    "Authorization header). Without `event_start_date_time`, the feed holds the events that "
    f"ended in the last {feeds.FEED_PAST.days} days and every later one; at most "
    f"{feeds.FEED_MAX_EVENTS} events, soonest first. Send `If-None-Match` with the last ETag "
    "to get a 304 when nothing changed."
)


class FeedView(FeedViewMixin, V4View):
    permission_model = MaintenanceEvent
    filterset_class = EventFilter
    feed_name = "Maintenance windows"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request
            return MaintenanceEvent.objects.none()
        return selectors.event_list_detailed(now=self.now)

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if not self.request.query_params.get("event_start_date_time"):
            queryset = queryset.filter(end_date_time__gt=feeds.feed_window_start(self.now))
        return queryset

    def feed(self, events, *, name: str) -> HttpResponse:
        return feeds.feed_response(
            events,
            name=name,
            if_none_match=self.request.headers.get("If-None-Match", ""),
            cache_control=FEED_CACHE_CONTROL,
        )


class EventFeedView(FeedView):
    @extend_schema(
        operation_id="maintenanceEventsFeed",
        summary="The events of all maintenances as an iCalendar feed",
        description=FEED_DESCRIPTION,
        tags=EVENTS,
        filters=True,
        responses=FEED_RESPONSES,
    )
    def get(self, request):
        return self.feed(self.filter_queryset(self.get_queryset()), name=self.feed_name)


class MaintenanceFeedFilter(EventFilter):
    maintenance_id = None  # the path names it

    class Meta(EventFilter.Meta):
        fields = ["event_start_date_time", "event_status", "monitors"]


class MaintenanceFeedView(FeedView):
    filterset_class = MaintenanceFeedFilter

    @extend_schema(
        operation_id="maintenanceFeed",
        summary="The events of one maintenance as an iCalendar feed",
        description=FEED_DESCRIPTION,
        tags=EVENTS,
        filters=True,
        parameters=[MAINTENANCE_ID],
        responses=FEED_RESPONSES,
    )
    def get(self, request, maintenance_id: str):
        maintenance = selectors.maintenance_get(maintenance_id=maintenance_id, with_monitors=False)
        events = self.filter_queryset(self.get_queryset()).filter(maintenance=maintenance)
        return self.feed(events, name=f"{self.feed_name}: {maintenance.title}")
