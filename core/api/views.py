"""The declarative base of every API view of both versions.

A view says what it serves (serializers, queryset, filterset, paging, which actions may
answer 409) and how to call its service; the base brings the rest: who may call
(authentication, permissions), the JSON parser and renderer, the error envelope for every
failure, and the error responses of the OpenAPI document (`core.api.schema`).
"""

from __future__ import annotations

from collections.abc import Collection

from django.utils.translation import gettext, gettext_lazy
from rest_framework import generics, viewsets
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings

from core.api.authentication import BearerApiKeyAuthentication, StaffSessionAuthentication
from core.api.exceptions import envelope_exception_handler
from core.api.parsers import AnyContentTypeJSONParser
from core.api.permissions import ApiKeyOrStaff
from core.api.schema import ServiceAutoSchema
from core.api.throttling import ApiKeyRateThrottle
from core.errors import NotFound


class ApiView:
    """Mixin for DRF views: the wiring both API versions share."""

    authentication_classes = [BearerApiKeyAuthentication, StaffSessionAuthentication]
    permission_classes = [ApiKeyOrStaff]
    throttle_classes = [ApiKeyRateThrottle]
    parser_classes = [AnyContentTypeJSONParser]
    renderer_classes = [JSONRenderer]
    schema = ServiceAutoSchema()
    pagination_class = None
    filterset_class = None
    # Actions (viewset action names, or lower-case HTTP methods) that may answer 409; the
    # schema documents the conflict for them.
    conflict_actions: Collection[str] = ()
    # "Channel" → "Channel with id 'x' not found".
    object_label = gettext_lazy("Object")

    def get_exception_handler(self):
        return envelope_exception_handler

    # --- per-request work DRF repeats for answers that are always the same -------------------
    # (together a tenth of a small v4 request; the answers are DRF's)

    # Accept headers every renderer list answers with its first renderer, as DRF's
    # negotiation does (no header means `*/*`).
    _ANY_ACCEPT = frozenset({None, "", "*/*"})

    def perform_content_negotiation(self, request, force=False):
        """DRF's negotiation, short-cut for a client that accepts anything (or the first
        renderer's own type) and names no format: the first renderer, its media type."""
        accept = request.META.get("HTTP_ACCEPT")
        if (
            getattr(self, "format_kwarg", None) is None
            and api_settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            renderer_class = self.renderer_classes[0]
            if accept in self._ANY_ACCEPT or accept == renderer_class.media_type:
                return renderer_class(), renderer_class.media_type
        return super().perform_content_negotiation(request, force)

    @property
    def default_response_headers(self):
        """DRF's `Allow` (and `Vary`) headers, which depend on the class alone: built once."""
        cls = type(self)
        headers = cls.__dict__.get("_default_headers")
        if headers is None:
            headers = super().default_response_headers
            cls._default_headers = headers
        return dict(headers)

    def validated(self, serializer_class, *, partial: bool = False, **kwargs) -> dict:
        """The request body, validated by `serializer_class` (a 400 naming the fields)."""
        serializer = serializer_class(data=self.request.data, partial=partial, **kwargs)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def get_object(self):
        """The object named by the `pk` path argument, or the envelope's 404 naming it."""
        pk = self.kwargs["pk"]
        obj = self.get_queryset().filter(pk=pk).first()
        if obj is None:
            raise NotFound(
                gettext("%(object_label)s with id '%(pk)s' not found")
                % {"object_label": self.object_label, "pk": pk}
            )
        return obj

    def page_of(self, queryset, serializer_class):
        """One page of `queryset` in the view's paging envelope."""
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer_class(page, many=True).data)


class ServiceViewSet(ApiView, viewsets.GenericViewSet):
    """A resource's routes (list, create, retrieve, ...) over its services."""


class ServiceAPIView(ApiView, generics.GenericAPIView):
    """One route with its methods (get, post, ...) over services and selectors."""
