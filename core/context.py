"""Who and what a log line is about: the request id, the caller, and the Celery task.

One request id follows a piece of work through every process it touches: taken from the
proxy's ``X-Request-ID`` (when it is well formed) or generated, returned on every response,
put into the headers of each Celery task the request enqueues, restored in the worker before
the task runs, and sent on outgoing webhooks (`current_request_id`). `ContextFilter` adds
``request_id``, ``actor``, ``task`` and ``task_id`` to every log record, so the JSON
formatter (``LOG_FORMAT=json``) prints them as fields.
"""

import logging
import re
import time
import uuid
from contextvars import ContextVar

from django.utils.functional import SimpleLazyObject, empty

REQUEST_ID_HEADER = "X-Request-ID"
# The same header as the WSGI environ names it: read from there, `request.headers` would
# build the mapping of every header on every request for this one.
_REQUEST_ID_META = "HTTP_X_REQUEST_ID"
# A proxy's id is kept only when it is short and made of characters that are safe in a log
# line and a header (UUIDs, ULIDs, hex, nginx's $request_id, AWS's "Root=1-..." ids).
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:=+/-]{1,128}")
# The Celery message header that carries the context to the worker.
_TASK_HEADER = "operable_context"

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_request: ContextVar[object | None] = ContextVar("request", default=None)
_actor: ContextVar[str | None] = ContextVar("actor", default=None)
_task: ContextVar[tuple[str, str] | None] = ContextVar("task", default=None)

request_logger = logging.getLogger("core.requests")


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(raw: str | None) -> str:
    """The incoming id if it is well formed, else a new one (never the caller's junk)."""
    if raw and _SAFE_REQUEST_ID.fullmatch(raw):
        return raw
    return new_request_id()


def current_request_id() -> str | None:
    """The id of the request (or of the task a request enqueued) being served, if any."""
    return _request_id.get()


def request_id_headers() -> dict[str, str]:
    """``{"X-Request-ID": id}`` for an outgoing request made on behalf of the current work."""
    request_id = _request_id.get()
    return {REQUEST_ID_HEADER: request_id} if request_id else {}


def _actor_of(user) -> str | None:
    # Only a user that is already known: a log line must never trigger a session lookup.
    if user is None:
        return None
    if isinstance(user, SimpleLazyObject):
        if user._wrapped is empty:
            return None
        user = user._wrapped
    actor = getattr(user, "actor", None)  # an API key principal names itself ("key:<name>")
    if actor:
        return actor
    if getattr(user, "is_authenticated", False):
        return f"user:{user.get_username()}"
    return None


def current_actor() -> str | None:
    """The API key name or user behind the current request (or the request that enqueued the
    running task)."""
    request = _request.get()
    if request is not None:
        # DRF authenticates inside the view and stores its user on the Django request.
        return _actor_of(request.__dict__.get("user"))
    return _actor.get()


class RequestIdMiddleware:
    """Outermost middleware: binds the request id (and the request, for the caller) to the
    context, returns ``X-Request-ID`` on every response and logs one line per request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = accepted_request_id(request.META.get(_REQUEST_ID_META))
        request.request_id = request_id
        id_token, request_token = _request_id.set(request_id), _request.set(request)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            match = getattr(request, "resolver_match", None)
            request_logger.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "route": match.view_name if match else None,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            return response
        finally:
            _request_id.reset(id_token)
            _request.reset(request_token)


class ContextFilter(logging.Filter):
    """Adds the context fields to every record (None where there is none), so formatters can
    name them and the JSON formatter prints them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        if not hasattr(record, "actor"):
            record.actor = current_actor()
        task = _task.get()
        if not hasattr(record, "task"):
            record.task = task[0] if task else None
        if not hasattr(record, "task_id"):
            record.task_id = task[1] if task else None
        return True


# --- Celery ------------------------------------------------------------------------------


def _carry_context(headers=None, **kwargs) -> None:
    # before_task_publish: runs in the process that enqueues (the web request, or a task
    # fanning out work), so the worker can continue with the same request id and actor.
    if headers is None or headers.get(_TASK_HEADER):
        return
    request_id = _request_id.get()
    if request_id is not None:
        headers[_TASK_HEADER] = {"request_id": request_id, "actor": current_actor()}


def _restore_context(task_id=None, task=None, **kwargs) -> None:
    # task_prerun: a task without a carried id (beat's ticks) gets one of its own, so every
    # line it logs and every webhook it sends can still be traced.
    if task is None or task.request.is_eager:
        return  # run inline (eager): it already runs in the caller's context
    carried = task.request.get(_TASK_HEADER) or {}
    _request_id.set(accepted_request_id(carried.get("request_id")))
    _actor.set(carried.get("actor"))
    _task.set((task.name, task_id))


def _clear_context(task=None, **kwargs) -> None:
    # Pool processes run task after task: nothing of one may leak into the next.
    if task is None or task.request.is_eager:
        return
    _request_id.set(None)
    _actor.set(None)
    _task.set(None)


def _configure_worker_logging(**kwargs) -> None:
    # Connected only for LOG_FORMAT=json: Celery then leaves logging to Django's LOGGING
    # instead of installing its own plain formatter on the root logger.
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


def install_celery_hooks() -> None:
    """Connect the signals that carry the context through Celery (idempotent)."""
    from celery import signals
    from django.conf import settings

    signals.before_task_publish.connect(_carry_context, dispatch_uid="core.context.carry")
    signals.task_prerun.connect(_restore_context, dispatch_uid="core.context.restore")
    signals.task_postrun.connect(_clear_context, dispatch_uid="core.context.clear")
    if settings.LOG_FORMAT == "json":
        signals.setup_logging.connect(_configure_worker_logging, dispatch_uid="core.context.log")
