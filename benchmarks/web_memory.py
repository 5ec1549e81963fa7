"""Memory of a web worker over 10,000 requests (a benchmark: RSS is the kernel's figure).

The Procfile's web process, one keep-alive client; 200 warm-up requests, then RSS of each
gunicorn worker after every tenth of 10,000 more requests (global list, limit 100, and single
maintenances). A worker that keeps something per request grows by megabytes and keeps
growing in the second half; caches (each gthread thread's database connection and its page
cache, the allocator's arenas) fill early and level off. The anonymous part (RssAnon, the
heap) is printed apart from the file-backed part, where a Python leak cannot hide.
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
        # samples[k][pid] = (RSS, RssAnon) in KiB after the warm-up and each tenth.
        samples = [_memory(server.worker_pids())]
        for tenth in range(10):
            first, last = tenth * REQUESTS // 10, (tenth + 1) * REQUESTS // 10
            client.timed(
                [("GET", paths[n % len(paths)], None) for n in range(first, last)], expect=200
            )
            samples.append(_memory(server.worker_pids()))
        client.close()
    before, middle, after = samples[0], samples[5], samples[-1]
    for pid in sorted(before):
        series = " / ".join(f"{sample.get(pid, (0, 0))[0] / 1024:.1f}" for sample in samples)
        anon = " / ".join(f"{sample.get(pid, (0, 0))[1] / 1024:.1f}" for sample in samples)
        yield (f"web worker {pid}: RSS after {WARM_UP}, then every {REQUESTS // 10:,}", series)
        yield ("  of it anonymous (the heap)", anon)
    growth = max(after.get(pid, (0, 0))[0] - before[pid][0] for pid in before) / 1024
    yield Figure(
        "  largest growth of a worker", growth, "MiB", goal=5, higher_is_better=False, digits=1
    )
    # A leak keeps growing; caches and allocator arenas fill early and level off.
    late = max(after.get(pid, (0, 0))[0] - middle.get(pid, (0, 0))[0] for pid in before) / 1024
    yield Figure(
        f"  largest growth over the last {REQUESTS - REQUESTS // 2:,} requests",
        late,
        "MiB",
        goal=1,
        higher_is_better=False,
        digits=1,
    )


def _memory(pids: list[int]) -> dict[int, tuple[int, int]]:
    return {pid: (rss_kib(pid), rss_kib(pid, "RssAnon")) for pid in pids}
