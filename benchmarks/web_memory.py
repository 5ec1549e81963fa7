"""Memory of a web worker over 10,000 requests (a benchmark: RSS is the kernel's figure).

The Procfile's web process, one keep-alive client; 200 warm-up requests, then RSS of each
gunicorn worker; 10,000 more requests (global list, limit 100, and single maintenances), RSS
after half of them and at the end. A worker that keeps something per request would grow by
megabytes, and keep growing in the second half.
"""

from pathlib import Path

from django.db import connections
from django.utils import timezone

from benchmarks.report import Figure, scaled
from benchmarks.web import KeepAliveClient, rss_kib, web_server
from core.models import ApiKey
from scheduling.services import maintenance_create
from scheduling.specs import MaintenanceSpec

REQUESTS = scaled(10_000)
WARM_UP = 200


def run():
    _, raw_key = ApiKey.objects.create_key(name="bench-memory", read_only=True)
    ids = [
        maintenance_create(
            spec=MaintenanceSpec(
                title=f"Window {n}",
                start_date_time=timezone.now().replace(second=0, microsecond=0),
                rrule="FREQ=DAILY",
                duration_seconds=3600,
            )
        ).pk
        for n in range(20)
    ]
    connections.close_all()
    paths = ["/api/v4/maintenances/events?limit=100"] + [f"/api/v4/maintenances/{pk}" for pk in ids]
    log_dir = Path(__file__).resolve().parent.parent / "var" / "bench"
    with web_server(log_dir=log_dir) as server:
        client = KeepAliveClient(server.port, api_key=raw_key)
        client.timed([("GET", paths[n % len(paths)], None) for n in range(WARM_UP)], expect=200)
        before = {pid: rss_kib(pid) for pid in server.worker_pids()}
        half = REQUESTS // 2
        client.timed([("GET", paths[n % len(paths)], None) for n in range(half)], expect=200)
        middle = {pid: rss_kib(pid) for pid in server.worker_pids()}
        rest = [("GET", paths[n % len(paths)], None) for n in range(half, REQUESTS)]
        client.timed(rest, expect=200)
        after = {pid: rss_kib(pid) for pid in server.worker_pids()}
        client.close()
    for pid in sorted(before):
        yield (
            f"web worker {pid}: RSS after {WARM_UP} / +{half:,} / +{REQUESTS:,} requests",
            f"{before[pid] / 1024:.1f} / {middle.get(pid, 0) / 1024:.1f} / "
            f"{after.get(pid, 0) / 1024:.1f} MiB",
        )
    growth = max(after.get(pid, 0) - before[pid] for pid in before) / 1024
    yield Figure(
        "  largest growth of a worker", growth, "MiB", goal=5, higher_is_better=False, digits=1
    )
    # A leak keeps growing; caches and allocator arenas fill early and level off.
    late = max(after.get(pid, 0) - middle.get(pid, 0) for pid in before) / 1024
    yield Figure(
        f"  largest growth over the last {REQUESTS - half:,} requests",
        late,
        "MiB",
        goal=1,
        higher_is_better=False,
        digits=1,
    )
