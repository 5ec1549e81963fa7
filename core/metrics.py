"""``GET /metrics``: what Prometheus scrapes, off until ``METRICS_TOKEN`` is set.

Two kinds of metrics, each correct however many processes serve the site:

- **Requests** (`http_requests_total`, `http_request_duration_seconds`), counted in each web
  process by `MetricsMiddleware` with prometheus-client's multiprocess mode: every process
  writes its samples to files in ``PROMETHEUS_MULTIPROC_DIR`` and a scrape, whichever worker
  answers it, sums them all. Labelled by route name (the resolved URL name, never the raw
  path), so the number of series stays bounded.
- **The domain**, read from the database at scrape time by `DomainCollector`: each app
  declares its gauges with `@domain_metrics` in its ``metrics.py`` (discovered at start),
  with a few set-based queries per scrape. The database is the one truth every web process
  and Celery worker shares, so nothing has to be counted in the workers.
"""

import hmac
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from django.conf import settings
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

if values.ValueClass is values.MutexValue and "PROMETHEUS_MULTIPROC_DIR" in os.environ:
    # prometheus-client was imported before the settings named the folder (an import order
    # we do not control, e.g. a test plugin): choose the multiprocess values now, before the
    # first metric below is created.
    values.ValueClass = values.get_value_class()

# Created once per process; in multiprocess mode they write to this process's files.
REQUESTS = Counter(
    "http_requests",
    "HTTP requests served, by route name, method and status code.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to serve a request, by route name and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
# Requests that matched no URL pattern share one label value instead of their raw path.
UNMATCHED_ROUTE = "<unmatched>"


class MetricsMiddleware:
    """Counts and times every request by its route name (just inside `RequestIdMiddleware`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        # Labelled after the view ran: only then is the URL resolved.
        route, method = _route_name(request), _method(request)
        LATENCY.labels(route, method).observe(elapsed)
        REQUESTS.labels(route, method, str(response.status_code)).inc()
        return response


_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _method(request) -> str:
    # A client may send any token as the method; bounded like the routes.
    return request.method if request.method in _KNOWN_METHODS else "OTHER"


def _route_name(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNMATCHED_ROUTE
    return match.view_name or match.route or UNMATCHED_ROUTE


# --- Domain metrics ----------------------------------------------------------------------

Reader = Callable[[datetime], Iterable[Metric]]
_READERS: dict[str, Reader] = {}


def domain_metrics(reader: Reader) -> Reader:
    """Declare ``reader(now)``, which yields metric families read from the database."""
    _READERS[f"{reader.__module__}.{reader.__name__}"] = reader
    return reader


def gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def gauge_by(
    name: str,
    documentation: str,
    labels: Sequence[str],
    values: dict[tuple[str, ...], float],
    *,
    every: Iterable[tuple[str, ...]] = (),
) -> GaugeMetricFamily:
    """A labelled gauge; each label tuple in ``every`` is present (0 when it has no rows), so a
    query like `rate()` or `> 0` sees the series before its first row exists."""
    family = GaugeMetricFamily(name, documentation, labels=list(labels))
    for key in dict.fromkeys([*every, *values]):
        family.add_metric(list(key), values.get(key, 0))
    return family


def counter_by(
    name: str, documentation: str, labels: Sequence[str], values: dict[tuple[str, ...], float]
) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=list(labels))
    for key, value in values.items():
        family.add_metric(list(key), value)
    return family


class DomainCollector(Collector):
    """Runs every declared reader at scrape time."""

    def collect(self) -> Iterable[Metric]:
        now = timezone.now()
        for reader in _READERS.values():
            yield from reader(now)


# --- The endpoint ------------------------------------------------------------------------


def multiprocess_dir() -> str:
    return os.environ["PROMETHEUS_MULTIPROC_DIR"]


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=multiprocess_dir())
    registry.register(DomainCollector())
    return registry


def _authorized(request) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    expected = settings.METRICS_TOKEN.encode()
    # Compared in constant time, whatever the caller sent.
    return scheme == "Bearer" and hmac.compare_digest(token.strip().encode(), expected)


@require_GET
def metrics_view(request):
    if not settings.METRICS_TOKEN:
        raise Http404("Metrics are off: set METRICS_TOKEN to turn them on")
    if not _authorized(request):
        response = HttpResponse("Bearer token required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)


def clean_multiprocess_dir(path: str) -> None:
    """Empty the samples folder of a previous run (the web server's master calls it at start,
    before its workers fork: their counters start at zero, as Prometheus expects)."""
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))


# --- The kernel's own gauges ---------------------------------------------------------------


@domain_metrics
def scheduler_metrics(now):
    from core.models import SchedulerJob

    ages = {
        (name,): max(0.0, (now - finished).total_seconds())
        for name, finished in SchedulerJob.objects.exclude(last_finished_at=None).values_list(
            "name", "last_finished_at"
        )
    }
    yield gauge_by(
        "scheduler_job_last_run_age_seconds",
        "Seconds since a worker (or run_scheduler_tick) last finished each periodic job.",
        ["job"],
        ages,
    )
    queues = _queue_lengths()
    if queues is not None:
        yield gauge_by(
            "celery_queue_length",
            "Messages waiting in each Celery queue (Redis broker).",
            ["queue"],
            {(name,): length for name, length in queues.items()},
        )


def _queue_lengths() -> dict[str, int] | None:
    """LLEN of each queue's key on a Redis broker; None on other brokers or when Redis does not
    answer (the scrape still serves everything else, and the warning says why)."""
    if not settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        return None
    import redis
    from celery import current_app

    names = sorted(current_app.amqp.queues) or [current_app.conf.task_default_queue]
    try:
        client = redis.Redis.from_url(
            settings.CELERY_BROKER_URL, socket_timeout=1, socket_connect_timeout=1
        )
        with client.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.llen(name)
            lengths = pipe.execute()
        client.close()
    except redis.RedisError as exc:
        logger.warning("celery_queue_length: the broker did not answer: %s", exc)
        return None
    return dict(zip(names, lengths, strict=True))
