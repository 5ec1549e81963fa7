"""Strict paging for both API versions: bad values are a 400 naming the parameter, never clamped."""

from django.utils.translation import gettext
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

MAX_LIMIT = 100
DEFAULT_LIMIT = 20


def read_int_param(request, name: str, *, default: int, minimum: int, maximum: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(
            {
                name: [
                    (
                        gettext("%(name)s must be an integer, got '%(raw)s'")
                        % {"name": name, "raw": raw}
                    )
                ]
            }
        ) from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = (
            (
                gettext("between %(minimum)s and %(maximum)s")
                % {"minimum": minimum, "maximum": maximum}
            )
            if maximum is not None
            else f">= {minimum}"
        )
        raise ValidationError(
            {
                name: [
                    (
                        gettext("%(name)s must be %(bound)s, got %(value)s")
                        % {"name": name, "bound": bound, "value": value}
                    )
                ]
            }
        )
    return value


class _CountedPagination(pagination.BasePagination):
    """Two queries per page whatever its size: one COUNT, one sliced SELECT."""

    results_key = "items"

    def _schema_int(self, name: str, description: str, **bounds) -> dict:
        return {
            "name": name,
            "required": False,
            "in": "query",
            "description": description,
            "schema": {"type": "integer", **bounds},
        }

    def _paginate(self, queryset, offset: int, limit: int) -> list:
        self.total = queryset.count()
        return list(queryset[offset : offset + limit])


class PageLimitPagination(_CountedPagination):
    """Kener's v4 paging: `page` (1-based) and `limit` (max 100); answers page, limit, total."""

    results_key = "events"

    def paginate_queryset(self, queryset, request, view=None):
        self.page = read_int_param(request, "page", default=1, minimum=1, maximum=None)
        self.limit = read_int_param(
            request, "limit", default=DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT
        )
        # A page far past the end is an empty page, not an error; but keep the offset sane.
        if self.page > 10_000_000:
            raise ValidationError(
                {
                    "page": [
                        (
                            gettext("page must be at most 10000000, got %(page)s")
                            % {"page": self.page}
                        )
                    ]
                }
            )
        return self._paginate(queryset, (self.page - 1) * self.limit, self.limit)

    def get_paginated_response(self, data):
        return Response(
            {self.results_key: data, "page": self.page, "limit": self.limit, "total": self.total}
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": [self.results_key, "page", "limit", "total"],
            "properties": {
                self.results_key: schema,
                "page": {"type": "integer"},
                "limit": {"type": "integer"},
                "total": {"type": "integer"},
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            self._schema_int("page", "1-based page number", minimum=1, default=1),
            self._schema_int("limit", "page size", minimum=1, maximum=MAX_LIMIT, default=20),
        ]


class SkipLimitPagination(_CountedPagination):
    """v1 paging: `skip` and `limit` (max 100); answers items, total, skip, limit."""

    def paginate_queryset(self, queryset, request, view=None):
        self.skip = read_int_param(request, "skip", default=0, minimum=0, maximum=1_000_000_000)
        self.limit = read_int_param(
            request, "limit", default=DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT
        )
        return self._paginate(queryset, self.skip, self.limit)

    def get_paginated_response(self, data):
        return Response(
            {self.results_key: data, "total": self.total, "skip": self.skip, "limit": self.limit}
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": [self.results_key, "total", "skip", "limit"],
            "properties": {
                self.results_key: schema,
                "total": {"type": "integer"},
                "skip": {"type": "integer"},
                "limit": {"type": "integer"},
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            self._schema_int("skip", "rows to skip", minimum=0, default=0),
            self._schema_int("limit", "page size", minimum=1, maximum=MAX_LIMIT, default=20),
        ]
