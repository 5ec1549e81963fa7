"""Where the time of the v4 hot paths goes: pyinstrument over the Kener workload, in process.

`python -m benchmarks profile` (or with `DATABASE_URL=postgres://...`): 200 creates of the
Kener body, 200 global list requests, then `events_extend_horizon` over 1,000 new daily
windows, each under pyinstrument through Django's full request stack (no HTTP server, so the
profile shows our code, not the socket). Prints the call trees (frames under 2 % hidden).
"""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone
from pyinstrument import Profiler

from benchmarks.report import scaled
from core.models import ApiKey
from scheduling.models import Maintenance
from scheduling.services import events_extend_horizon


def _profiled(label: str, work) -> None:
    profiler = Profiler(interval=0.0005)
    profiler.start()
    work()
    profiler.stop()
    print(f"\n---- profile: {label}")
    print(profiler.output_text(unicode=True, color=False, show_all=False, time="percent_of_total"))


def run():
    _, raw_key = ApiKey.objects.create_key(name="bench-profile")
    client = Client(HTTP_HOST="127.0.0.1", headers={"Authorization": f"Bearer {raw_key}"})
    start = int(timezone.now().timestamp())
    body = {"rrule": "FREQ=DAILY", "duration_seconds": 3600, "start_date_time": start}
    client.get("/api/v4/maintenances/events?limit=100")  # imports and first connection

    def creates():
        for n in range(200):
            response = client.post(
                "/api/v4/maintenances", {"title": f"W{n}", **body}, content_type="application/json"
            )
            assert response.status_code == 201, response.content

    def lists():
        for _ in range(200):
            response = client.get("/api/v4/maintenances/events?limit=100")
            assert response.status_code == 200, response.content

    _profiled("200 creates", creates)
    _profiled("200 GET /api/v4/maintenances/events?limit=100", lists)

    now = timezone.now()
    Maintenance.objects.bulk_create(
        Maintenance(
            title=f"Window {n}",
            start_date_time=now - timedelta(days=1, minutes=n % 1440),
            rrule="FREQ=DAILY",
            duration_seconds=3600,
        )
        for n in range(scaled(1000))
    )
    extend = lambda: events_extend_horizon(now=now)  # noqa: E731
    _profiled("events_extend_horizon, 1,000 new daily windows", extend)
    _profiled("events_extend_horizon again, nothing to do", extend)
    yield ("profiles", "printed above")
