"""API v4 figures: event generation rate and the global event list's latency.

- 1,000 ACTIVE maintenances with a mix of rules, inserted without events, then one
  `events_extend_horizon` pass generates every event over the horizon: events per second.
- With at least 100,000 events stored, the median latency of
  `GET /api/v4/maintenances/events?limit=100` (default filter: not ended yet) and of the same
  list filtered by monitor tag and status, through Django's full request stack.
"""

import statistics
import time
from datetime import UTC, datetime, timedelta

from django.test import Client
from django.utils import timezone

from core.models import ApiKey
from scheduling.models import Maintenance, MaintenanceEvent, MaintenanceMonitor, Monitor
from scheduling.services import events_extend_horizon

MAINTENANCES = 1_000
TARGET_EVENTS = 100_000
LIST_REQUESTS = 40

# (rrule, timezone, duration) cycled over the maintenances; about 100 events each over 90 days.
RULES = [
    ("FREQ=DAILY;BYHOUR=2;BYMINUTE=0", "Europe/Berlin", 3600),
    ("FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=22", "America/New_York", 7200),
    ("FREQ=HOURLY;INTERVAL=6", "UTC", 900),
    ("FREQ=MINUTELY;INTERVAL=90", "Asia/Tokyo", 600),
    ("FREQ=MONTHLY;BYDAY=-1FR;BYHOUR=23", "Europe/London", 14400),
    ("FREQ=HOURLY;INTERVAL=12;BYDAY=MO,TU,WE,TH,FR", "Australia/Sydney", 1800),
]


def _seed_maintenances(now: datetime) -> None:
    start = (now - timedelta(days=30)).replace(second=0, microsecond=0)
    maintenances = [
        Maintenance(
            title=f"Window {index}",
            start_date_time=start + timedelta(minutes=index % 60),
            rrule=RULES[index % len(RULES)][0],
            timezone=RULES[index % len(RULES)][1],
            duration_seconds=RULES[index % len(RULES)][2],
            status=Maintenance.Status.ACTIVE,
        )
        for index in range(MAINTENANCES)
    ]
    Maintenance.objects.bulk_create(maintenances, batch_size=500)
    monitors = Monitor.objects.bulk_create(
        [Monitor(tag=f"service-{n}", name=f"Service {n}") for n in range(20)]
    )
    links = [
        MaintenanceMonitor(maintenance=maintenance, monitor=monitors[index % 20])
        for index, maintenance in enumerate(Maintenance.objects.order_by("pk"))
    ]
    MaintenanceMonitor.objects.bulk_create(links, batch_size=1000)


def _median_ms(client: Client, url: str, headers: dict) -> float:
    samples = []
    for _ in range(LIST_REQUESTS):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:300]
    return statistics.median(samples)


def run() -> list[tuple[str, str]]:
    now = timezone.now()
    _seed_maintenances(now)

    started = time.perf_counter()
    created = events_extend_horizon(now=now)
    elapsed = time.perf_counter() - started
    rows = [
        (f"events_extend_horizon: {MAINTENANCES} maintenances, mixed rules", f"{created} events"),
        ("event generation rate", f"{created / elapsed:,.0f} events/s ({elapsed:.2f} s)"),
    ]

    # Top up to the target with extra far-future events so the list is measured at 100k rows.
    missing = TARGET_EVENTS - MaintenanceEvent.objects.count()
    if missing > 0:
        maintenance_ids = list(Maintenance.objects.values_list("pk", flat=True))
        base = datetime(2100, 1, 1, tzinfo=UTC)
        extra = []
        for index in range(missing):
            occurrence = base + timedelta(hours=index)
            extra.append(
                MaintenanceEvent(
                    maintenance_id=maintenance_ids[index % len(maintenance_ids)],
                    occurrence=occurrence,
                    start_date_time=occurrence,
                    end_date_time=occurrence + timedelta(minutes=30),
                )
            )
        MaintenanceEvent.objects.bulk_create(extra, batch_size=2000)
    total = MaintenanceEvent.objects.count()
    rows.append(("events stored for the list benchmark", f"{total:,}"))

    _, raw_key = ApiKey.objects.create_key(name="bench", read_only=True)
    headers = {"Authorization": f"Bearer {raw_key}"}
    client = Client(HTTP_HOST="127.0.0.1")
    for label, url in [
        ("GET /api/v4/maintenances/events?limit=100", "/api/v4/maintenances/events?limit=100"),
        (
            "  ... &page=50 (deep page)",
            "/api/v4/maintenances/events?limit=100&page=50",
        ),
        (
            "  ... &monitors=service-3,service-7&event_status=scheduled",
            "/api/v4/maintenances/events?limit=100&monitors=service-3,service-7"
            "&event_status=scheduled",
        ),
    ]:
        rows.append((f"median latency {label}", f"{_median_ms(client, url, headers):.1f} ms"))
    return rows
