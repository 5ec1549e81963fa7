"""The two rows measured side by side with Kener v4.1.2, over real HTTP.

The server is the Procfile's web process (`make run`), the client one keep-alive connection
sending one request at a time (`benchmarks.web`):

1. 200 creates of `{"title", "start_date_time", "rrule": "FREQ=DAILY", "duration_seconds":
   3600}`, each generating its 90 days of events (91 events: 18,200 in all);
2. then 200 `GET /api/v4/maintenances/events?limit=100` over those 18,200 events.

Kener's figures from the same kind of run (issue 12): 270 creates/s, list median 2.7 ms.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.db import connections
from django.utils import timezone

from benchmarks.report import Figure
from benchmarks.web import KeepAliveClient, web_server
from core.models import ApiKey
from scheduling.models import MaintenanceEvent

CREATES = 200
LISTS = 200
WARM_UP = 10
KENER_CREATES_PER_SECOND = 270
KENER_LIST_MEDIAN_MS = 2.7
LIST_PATH = "/api/v4/maintenances/events?limit=100"


def _create_body(index: int, start: int) -> dict:
    return {
        "title": f"Window {index}",
        "start_date_time": start,
        "rrule": "FREQ=DAILY",
        "duration_seconds": 3600,
    }


def run():
    _, raw_key = ApiKey.objects.create_key(name="bench-kener")
    connections.close_all()  # the server processes own the database from here
    start = int(timezone.now().timestamp())
    preview = {"start_date_time": start, "rrule": "FREQ=DAILY", "duration_seconds": 3600}
    log_dir = Path(__file__).resolve().parent.parent / "var" / "bench"
    with web_server(log_dir=log_dir) as server:
        client = KeepAliveClient(server.port, api_key=raw_key)
        # Every worker imports, connects and resolves once before the clock starts.
        client.timed([("GET", LIST_PATH, None)] * WARM_UP, expect=200)
        client.timed([("POST", "/api/v4/maintenances/preview", preview)] * WARM_UP, expect=200)
        creates = client.timed(
            [("POST", "/api/v4/maintenances", _create_body(n, start)) for n in range(CREATES)],
            expect=201,
        )
        stored = MaintenanceEvent.objects.count()
        connections.close_all()
        time.sleep(0.5)
        cpu_before = server.workers_cpu_seconds()
        lists = client.timed([("GET", LIST_PATH, None)] * LISTS, expect=200)
        list_cpu_ms = (server.workers_cpu_seconds() - cpu_before) / LISTS * 1000
        # Every connection the client opened, the warm-up's first included: 1 when the
        # server kept the connection alive throughout.
        connections_opened = client.reconnects
        client.close()
    yield Figure(
        f"{CREATES} creates, FREQ=DAILY 3600 s, one at a time",
        creates.per_second,
        "creates/s",
        goal=2 * KENER_CREATES_PER_SECOND,
        reference=KENER_CREATES_PER_SECOND,
    )
    yield Figure("  create latency, median", creates.median_ms, "ms", digits=2)
    yield Figure("  create latency, p99", creates.percentile_ms(0.99), "ms", digits=2)
    yield ("  events stored by the creates", f"{stored:,}")
    yield Figure(
        f"{LISTS} x GET {LIST_PATH}, median",
        lists.median_ms,
        "ms",
        goal=KENER_LIST_MEDIAN_MS / 2,
        higher_is_better=False,
        reference=KENER_LIST_MEDIAN_MS,
        digits=2,
    )
    yield Figure(
        "  list latency, p99",
        lists.percentile_ms(0.99),
        "ms",
        goal=5,
        higher_is_better=False,
        digits=2,
    )
    # Clock ticks are 10 ms: over 200 requests the figure is good to 0.05 ms.
    yield Figure("  list, server CPU per request (workers, mean)", list_cpu_ms, "ms", digits=2)
    yield ("  connections opened (keep-alive kept when 1)", str(connections_opened))
