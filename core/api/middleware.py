"""Limits every request is held to before a view sees it, and the headers of API responses.

- A body larger than `MAX_REQUEST_BYTES` (Django's `DATA_UPLOAD_MAX_MEMORY_SIZE`) is a 413
  in the error envelope, on every route. Django checks the declared `Content-Length` only when
  a form is parsed, and DRF reads the stream without any check, so the check is made here
  once: on the declared length, and for a chunked body (no `Content-Length`; the server hands
  it over decoded) on the bytes actually read, at most one more than the limit.
- A NUL in the path names nothing (404) and a NUL in a query parameter is a 400 naming it:
  PostgreSQL refuses NUL in text, so it must never reach a query.
- These refusals are answered before Django's LocaleMiddleware runs, so they pick the
  request's language themselves, as it would (the language cookie, then Accept-Language,
  else English).
- API responses carry `Cache-Control: no-store`: some carry a secret shown only once (a new
  key, a webhook's signing secret), and none is meant for a shared cache.
- Every response carries the Content-Security-Policy of the settings (`PolicyCSPMiddleware`,
  django-csp's middleware with the header built once per policy instead of per response).
"""

import http.client
import io
from collections.abc import Callable

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, JsonResponse
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext

from core.api.exceptions import error_body


def _declared_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # as Django reads it


def body_too_large(request) -> bool:
    """Whether the body exceeds the limit; a chunked body is read here (bounded) and kept."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if _declared_length(request) > limit:
        return True
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    if chunked and not request.META.get("CONTENT_LENGTH") and "wsgi.input" in request.META:
        body = request.META["wsgi.input"].read(limit + 1)
        if len(body) > limit:
            return True
        # Handed on as a body of known length: Django reads a stream without one as empty.
        request._stream = LimitedStream(io.BytesIO(body), len(body))
        request.META["CONTENT_LENGTH"] = str(len(body))
    return False


def _nul_in_query(request) -> str | None:
    """The name of the first query parameter with a NUL in its name or a value, as shown."""
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return name.replace("\x00", "\\x00")
    return None


def _too_large(request) -> JsonResponse:
    message = gettext("Request body must be at most %(limit)s bytes") % {
        "limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    }
    return JsonResponse(error_body("PAYLOAD_TOO_LARGE", message), status=413)


def _nul_in_path(request) -> JsonResponse:
    return JsonResponse(error_body("NOT_FOUND", gettext("Not found")), status=404)


def _nul_in(name: str) -> Callable[[HttpRequest], JsonResponse]:
    def refusal(request) -> JsonResponse:
        message = gettext("%(name)s must not contain NUL characters") % {"name": name}
        return JsonResponse(error_body("BAD_REQUEST", message, {name: [message]}), status=400)

    return refusal


def _in_its_language(request, refusal: Callable[[HttpRequest], JsonResponse]) -> JsonResponse:
    """The refusal worded in the request's language, chosen as LocaleMiddleware (which has not
    run yet) would choose it; looked up only for a refusal, not on every request."""
    language = translation.get_language_from_request(request)
    with translation.override(language):
        response = refusal(request)
    response.headers["Content-Language"] = language
    return response


class RequestLimitsMiddleware:
    """Refuses oversized bodies (413) and NULs in the path (404) or query (400), as JSON."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if body_too_large(request):
            return _in_its_language(request, _too_large)
        if "\x00" in request.path:
            return _in_its_language(request, _nul_in_path)
        name = _nul_in_query(request)
        if name is not None:
            return _in_its_language(request, _nul_in(name))
        return self.get_response(request)


class ApiNoStoreMiddleware:
    """`Cache-Control: no-store` on every response under /api/ that does not choose its own
    caching: the calendar feeds say `private, no-cache` so that calendar apps revalidate
    with their ETag instead of downloading the whole feed on every poll (they hold no secret)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/api/") and not response.has_header("Cache-Control"):
            patch_cache_control(response, no_store=True)
        return response


# What a view or a nonce can change of a response's policy (django-csp's decorators set these
# on the response; a template reading `request.csp_nonce` sets `request._csp_nonce`).
_PER_RESPONSE = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)


class PolicyCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, with the settings' headers built once.

    django-csp rebuilds the header from the settings on every response (a tenth of a small
    API request); it only changes with the settings. A response whose view or template
    adjusts its policy (a `csp_update` decorator, a nonce) goes through django-csp as is.
    The headers are rebuilt when the policy settings are replaced (`override_settings`).
    """

    _built: tuple | None = None  # (policy setting, report-only setting, header, report-only)

    def _settings_headers(self) -> tuple[str, str]:
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", None)
        report_only = getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
        built = PolicyCSPMiddleware._built
        if built is None or built[0] is not policy or built[1] is not report_only:
            built = (policy, report_only, build_policy(), build_policy(report_only=True))
            PolicyCSPMiddleware._built = built
        return built[2], built[3]

    def process_response(self, request, response):
        if getattr(request, "_csp_nonce", None) is not None or any(
            getattr(response, name, None) is not None for name in _PER_RESPONSE
        ):
            return super().process_response(request, response)
        if settings.DEBUG and response.status_code in (
            http.client.INTERNAL_SERVER_ERROR,
            http.client.NOT_FOUND,
        ):
            return response  # django-csp leaves the debug pages alone
        header, header_report_only = self._settings_headers()
        for name, value, setting, exempt in (
            (HEADER, header, "CONTENT_SECURITY_POLICY", "_csp_exempt"),
            (
                HEADER_REPORT_ONLY,
                header_report_only,
                "CONTENT_SECURITY_POLICY_REPORT_ONLY",
                "_csp_exempt_ro",
            ),
        ):
            if not value or name in response or getattr(response, exempt, False) is not False:
                continue
            prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
            if not request.path_info.startswith(tuple(prefixes)):
                response[name] = value
        # As django-csp: a nonce asked for after the header is written is an error.
        if getattr(request, "_csp_nonce", None) is None:
            request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
