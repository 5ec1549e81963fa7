"""The iCalendar feeds of API v4: `maintenances/events.ics` (the global list's filters) and
`maintenances/{id}/events.ics`.

Calendar apps cannot send an Authorization header, so these two routes also take the key as
`?token=`, but only a read-only one: a URL ends up in calendar settings, proxies and logs,
and a key that can write must not. Errors stay the JSON envelope whatever the app accepts.
"""

from __future__ import annotations

from types import SimpleNamespace

from django.http import HttpResponse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import authentication, exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from core.api.authentication import BearerApiKeyAuthentication, StaffSessionAuthentication
from core.api.schema import ServiceAutoSchema, error_responses
from scheduling import feeds, selectors
from scheduling.api.filters import EventFilter
from scheduling.api.views import EVENTS, MAINTENANCE_ID, V4View
from scheduling.models import MaintenanceEvent


class QueryTokenAuthentication(BearerApiKeyAuthentication):
    """A read-only API key in `?token=`, for requests without an Authorization header."""

    def authenticate(self, request):
        if authentication.get_authorization_header(request):
            return None  # the header decides (BearerApiKeyAuthentication)
        raw_key = request.query_params.get("token")
        if not raw_key:
            return None
        principal, api_key = self.authenticate_key(request, raw_key)
        if not principal.read_only:
            raise exceptions.PermissionDenied(
                "A read-write API key may not be sent in a URL: use a read-only key in ?token=, "
                "or send the key in the Authorization header"
            )
        return principal, api_key


class QueryTokenScheme(OpenApiAuthenticationExtension):
    target_class = "scheduling.api.feeds.QueryTokenAuthentication"
    name = "readOnlyKeyInQuery"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "query",
            "name": "token",
            "description": "A read-only API key, for calendar apps that cannot send headers "
            "(a read-write key here is refused with 403).",
        }


class ICalendarRenderer(BaseRenderer):
    """Lets a client that accepts only `text/calendar` reach the feed (the view answers the
    body itself; errors are rendered as JSON by `FeedView.finalize_response`)."""

    media_type = "text/calendar"
    format = "ics"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class AcceptHeaderNegotiation(DefaultContentNegotiation):
    """Negotiates on the Accept header alone: `?format=` is not a feed parameter (calendar
    URLs carry only the filters and the token)."""

    settings = SimpleNamespace(URL_FORMAT_OVERRIDE=None)


class FeedSchema(ServiceAutoSchema):
    def _get_format_parameters(self) -> list:
        return []  # no `?format=` (AcceptHeaderNegotiation)


FEED_RESPONSES = {
    (200, "text/calendar"): OpenApiResponse(
        OpenApiTypes.STR,
        description="An iCalendar (RFC 5545) VCALENDAR: one VEVENT per event, UID stable per "
        "occurrence, SEQUENCE raised when the event moves or is cancelled. Carries an `ETag`.",
    ),
    304: OpenApiResponse(description="Not modified: `If-None-Match` names the current ETag."),
    **error_responses(403),
}
FEED_DESCRIPTION = (
    "Subscribe from a calendar app with `?token=<read-only API key>` (or send the key in the "
    "Authorization header). Without `event_start_date_time`, the feed holds the events that "
    f"ended in the last {feeds.FEED_PAST.days} days and every later one; at most "
    f"{feeds.FEED_MAX_EVENTS} events, soonest first. Send `If-None-Match` with the last ETag "
    "to get a 304 when nothing changed."
)


class FeedView(V4View):
    permission_model = MaintenanceEvent
    authentication_classes = [
        BearerApiKeyAuthentication,
        QueryTokenAuthentication,
        StaffSessionAuthentication,
    ]
    renderer_classes = [JSONRenderer, ICalendarRenderer]
    content_negotiation_class = AcceptHeaderNegotiation
    schema = FeedSchema()
    filterset_class = EventFilter
    feed_name = "Maintenance windows"

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response):  # an error envelope, whatever the client accepts
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

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
            # The URL may carry a key: shared caches must not keep it; apps revalidate.
            cache_control="private, no-cache",
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
