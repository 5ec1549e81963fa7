"""What the iCalendar feeds of both API versions share: who may read them and how they answer.

Calendar apps cannot send an Authorization header, so a feed also takes the key as `?token=`,
but only a read-only one: a URL ends up in calendar settings, proxies and logs, and a key
that can write must not. Errors stay the JSON envelope whatever the app accepts.
"""

from __future__ import annotations

from types import SimpleNamespace

from django.utils.translation import gettext
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import authentication, exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from core.api.authentication import BearerApiKeyAuthentication, StaffSessionAuthentication
from core.api.schema import ServiceAutoSchema, error_responses

# The URL may carry a key: shared caches must not keep it; apps revalidate.
FEED_CACHE_CONTROL = "private, no-cache"


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
                gettext(
                    "A read-write API key may not be sent in a URL: use a read-only key in "
                    "?token=, or send the key in the Authorization header"
                )
            )
        return principal, api_key


class QueryTokenScheme(OpenApiAuthenticationExtension):
    target_class = "core.api.feeds.QueryTokenAuthentication"
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
    body itself; errors are rendered as JSON by `FeedViewMixin.finalize_response`)."""

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


def feed_responses(description: str) -> dict:
    """A feed's OpenAPI responses: the calendar, 304, and the errors."""
    return {
        (200, "text/calendar"): OpenApiResponse(OpenApiTypes.STR, description=description),
        304: OpenApiResponse(description="Not modified: `If-None-Match` names the current ETag."),
        **error_responses(403),
    }


class FeedViewMixin:
    """Mixin for a feed view (before the API base view): the key in the header or a read-only
    one in `?token=`, a staff session, and JSON errors whatever the client accepts."""

    authentication_classes = [
        BearerApiKeyAuthentication,
        QueryTokenAuthentication,
        StaffSessionAuthentication,
    ]
    renderer_classes = [JSONRenderer, ICalendarRenderer]
    content_negotiation_class = AcceptHeaderNegotiation
    schema = FeedSchema()

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response):  # an error envelope, whatever the client accepts
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)
