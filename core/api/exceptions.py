"""The one exception handler for both API versions.

Every error leaves the API as `{"error": {"code", "message", "details"?}}`: validation,
authentication, not found, conflicts and unexpected failures alike. Nothing reaches the client
as an HTML page or a bare 500.
"""

import logging
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext
from rest_framework import exceptions, status
from rest_framework.response import Response

from core.api.parsers import NestedTooDeep
from core.errors import DomainError, summary_message

logger = logging.getLogger(__name__)

CODES_BY_STATUS = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_ERROR",
}


def error_body(code: str, message: str, details: dict | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


def flatten_details(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error structure into `{"field.sub[0]": ["message", ...]}`."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = str(key) if not prefix else f"{prefix}.{key}"
            if key == "non_field_errors" and not prefix:
                name = "non_field_errors"
            flat.update(flatten_details(value, name))
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return {prefix or "non_field_errors": [str(item) for item in detail]}
        flat = {}
        for index, item in enumerate(detail):
            if item:  # DRF puts {} for list items that had no error
                flat.update(flatten_details(item, f"{prefix}[{index}]"))
        return flat
    return {prefix or "non_field_errors": [str(detail)]}


def _validation_response(detail: Any) -> Response:
    details = flatten_details(detail)
    return Response(
        error_body("BAD_REQUEST", summary_message(details), details),
        status=status.HTTP_400_BAD_REQUEST,
    )


def envelope_exception_handler(exc: Exception, context: dict) -> Response:
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        return _validation_response(detail)
    if isinstance(exc, exceptions.ValidationError):
        return _validation_response(exc.detail)
    if isinstance(exc, NestedTooDeep):
        return Response(error_body("BAD_REQUEST", str(exc.detail)), status=400)
    if isinstance(exc, exceptions.ParseError):
        return Response(error_body("BAD_REQUEST", gettext("Invalid JSON body")), status=400)
    if isinstance(exc, (Http404, ObjectDoesNotExist)):
        message = str(exc) or gettext("Not found")
        return Response(error_body("NOT_FOUND", message), status=404)
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
            # DRF would otherwise turn a 401 without a challenge into a 403.
            headers["WWW-Authenticate"] = 'Bearer realm="api"'
            exc.status_code = status.HTTP_401_UNAUTHORIZED
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        code = CODES_BY_STATUS.get(exc.status_code, str(exc.default_code).upper())
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return Response(error_body(code, str(message)), status=exc.status_code, headers=headers)
    logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
    return Response(error_body("INTERNAL_ERROR", gettext("Internal server error")), status=500)


def _is_api_path(request) -> bool:
    return request.path.startswith("/api/")


def json_not_found(request, exception=None):
    """Django's 404 for URLs that match no route; JSON under /api/, the HTML page elsewhere."""
    if _is_api_path(request):
        return JsonResponse(
            error_body("NOT_FOUND", (gettext("No route for %(path)s") % {"path": request.path})),
            status=404,
        )
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def json_server_error(request):
    if _is_api_path(request):
        return JsonResponse(
            error_body("INTERNAL_ERROR", gettext("Internal server error")), status=500
        )
    from django.views.defaults import server_error

    return server_error(request)
