"""The OpenAPI document both API versions share: drf-spectacular, told how our API behaves.

- One schema of the error envelope (`ErrorEnvelope`), for every error of every operation.
- `ServiceAutoSchema` (REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]) adds to each operation the
  errors it can answer, derived from the operation itself, so that no view lists them:
  401 when it needs a caller, 403 when it writes (a read-only key, a session without CSRF
  token), 400 when it reads a body or query parameters, 404 when its path names an object,
  409 for the actions a view names in `conflict_actions`. A response a view declares itself
  with `extend_schema(responses=...)` wins.
- Request bodies are declared `application/json`: the parser reads any content type as JSON
  (`core.api.parsers`), but its `*/*` in the document makes client generators skip the body.
- How our authentication classes appear in the document.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_doc
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

JSON = "application/json"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="BAD_REQUEST, NOT_FOUND, CONFLICT, ...")
    message = serializers.CharField(help_text="One sentence for a person.")
    details = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Messages by field name (`monitors[0].monitor_tag`), for invalid input.",
    )


class ErrorEnvelopeSerializer(serializers.Serializer):
    """Every error of both API versions: `{"error": {"code", "message", "details"?}}`."""

    error = ErrorSerializer()


class ServiceAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, with the errors each operation can answer."""

    def map_parsers(self) -> list[str]:
        return [JSON]

    def get_description(self) -> str:
        # The action's docstring, else the view's own: never one inherited from a base view
        # (the bases describe plumbing, not the operation).
        action = getattr(self.view, getattr(self.view, "action", self.method.lower()), None)
        own_doc = type(self.view).__dict__.get("__doc__")
        return get_doc(action) or (get_doc(type(self.view)) if own_doc else "")

    def error_statuses(self, operation: dict) -> set[int]:
        """The error statuses this operation can answer, read from the operation and the view."""
        statuses: set[int] = set()
        if any(requirement for requirement in operation.get("security", [])) and not any(
            requirement == {} for requirement in operation.get("security", [])
        ):
            statuses.add(401)
            if self.method in WRITE_METHODS:
                statuses.add(403)
        parameters = operation.get("parameters", [])
        if "requestBody" in operation or any(p["in"] == "query" for p in parameters):
            statuses.add(400)
        if any(p["in"] == "path" for p in parameters):
            statuses.add(404)
        action = getattr(self.view, "action", None) or self.method.lower()
        if action in getattr(self.view, "conflict_actions", ()):
            statuses.add(409)
        return statuses

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:  # excluded from the document
            return None
        responses = operation.setdefault("responses", {})
        for status in sorted(self.error_statuses(operation)):
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(
                    ErrorEnvelopeSerializer, str(status)
                )
        operation["responses"] = dict(sorted(responses.items()))
        return operation


class BearerApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "core.api.authentication.BearerApiKeyAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from `manage.py create_api_key` or the admin.",
        }


class StaffSessionScheme(OpenApiAuthenticationExtension):
    target_class = "core.api.authentication.StaffSessionAuthentication"
    name = "staffSession"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "A logged-in staff user of the admin (CSRF token required on writes).",
        }


def error_responses(*codes: int) -> dict:
    """`extend_schema(responses=...)` entries: the error envelope for each status code."""
    return {code: OpenApiResponse(ErrorEnvelopeSerializer) for code in codes}


def skip_limit_page(serializer_class, name: str):
    """The schema of one page of v1's skip/limit paging (`SkipLimitPagination`)."""
    return inline_serializer(
        name=name,
        fields={
            "items": serializer_class(many=True),
            "total": serializers.IntegerField(),
            "skip": serializers.IntegerField(),
            "limit": serializers.IntegerField(),
        },
    )


SKIP_LIMIT_PARAMETERS = [
    OpenApiParameter("skip", OpenApiTypes.INT, description="rows to skip", default=0),
    OpenApiParameter("limit", OpenApiTypes.INT, description="page size (max 100)", default=20),
]
