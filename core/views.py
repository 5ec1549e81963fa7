"""GET /healthz: liveness for load balancers and operators, without authentication.

The status code answers "can this web process serve?" (database and broker reachable). The
scheduler's freshness is reported beside it but does not turn the answer into a 503: a web
process is healthy even when beat is down (some deployments run the scheduler from cron, or
not at all while migrating), and a load balancer must not take every web process out of
rotation because of it. Monitoring should alert on `scheduler.stale` instead.

A failing part is named (`"database": "error"`, and in `failing`) but never described: the
endpoint needs no authentication, and a driver's error text tells a stranger host names,
ports, user names and versions. The exception goes to the log, where operators read it.
"""

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from kombu import Connection

logger = logging.getLogger(__name__)


def _database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception:
        logger.exception("healthz: the database is unreachable")
        return "error"


def _broker_status() -> str:
    timeout = settings.HEALTHZ_BROKER_TIMEOUT.total_seconds()
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            transport_options=getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}),
            connect_timeout=timeout,
        ) as broker:
            broker.ensure_connection(max_retries=1, timeout=timeout)
        return "ok"
    except Exception:
        logger.exception("healthz: the broker is unreachable")
        return "error"


def _scheduler_status() -> dict:
    """When a periodic job last finished (in a worker or `run_scheduler_tick`), and how long ago."""
    from core.models import SchedulerJob

    try:
        last_tick_at = (
            SchedulerJob.objects.exclude(last_finished_at=None)
            .order_by("-last_finished_at")
            .values_list("last_finished_at", flat=True)
            .first()
        )
    except Exception:
        logger.exception("healthz: cannot read the scheduler's jobs")
        return {"last_tick_at": None, "age_seconds": None, "stale": True, "error": "unreadable"}
    if last_tick_at is None:
        return {"last_tick_at": None, "age_seconds": None, "stale": True}
    age = max(0.0, (timezone.now() - last_tick_at).total_seconds())
    return {
        "last_tick_at": last_tick_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "age_seconds": round(age),
        "stale": age > settings.SCHEDULER_STALE_AFTER.total_seconds(),
    }


@require_GET
def healthz(request):
    checks = {"database": _database_status(), "broker": _broker_status()}
    healthy = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if healthy else "error", **checks, "scheduler": _scheduler_status()}
    if not healthy:
        body["failing"] = [part for part, value in checks.items() if value != "ok"]
    return JsonResponse(body, status=200 if healthy else 503)
