"""API v4 figures in process: event generation, the global event list, the idle horizon pass.

- Event generation: 1,000 ACTIVE maintenances with a mix of rules, then 1,000 daily windows
  (90 days each), inserted without events; one `events_extend_horizon` pass each.
- `GET /api/v4/maintenances/events?limit=100` through Django's full request stack (no HTTP
  server: `benchmarks.kener` measures that) with 270,000 events stored, and on PostgreSQL
  with 1,000,000 (the extra rows made by one set-based INSERT ... SELECT generate_series).
- The idle horizon pass with 10,000 weekly windows whose events all exist, and the status
  pass beside it (the window part of an idle beat cycle; `benchmarks.beat_cycle` times the
  whole cycle through Celery).
"""

import statistics
import time
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.test import Client
from django.utils import timezone

from benchmarks.report import Figure, scaled
from core.models import ApiKey
from scheduling.models import Maintenance, MaintenanceEvent, MaintenanceMonitor, Monitor
from scheduling.services import events_advance_statuses, events_extend_horizon

MAINTENANCES = scaled(1_000)
LIST_EVENTS = scaled(270_000)
BIG_LIST_EVENTS = scaled(1_000_000)
IDLE_WINDOWS = scaled(10_000)
LIST_REQUESTS = 100

# (rrule, timezone, duration) cycled over the maintenances; about 270 events each over 90 days.
RULES = [
    ("FREQ=DAILY;BYHOUR=2;BYMINUTE=0", "Europe/Berlin", 3600),
    ("FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=22", "America/New_York", 7200),
    ("FREQ=HOURLY;INTERVAL=6", "UTC", 900),
    ("FREQ=MINUTELY;INTERVAL=90", "Asia/Tokyo", 600),
    ("FREQ=MONTHLY;BYDAY=-1FR;BYHOUR=23", "Europe/London", 14400),
    ("FREQ=HOURLY;INTERVAL=12;BYDAY=MO,TU,WE,TH,FR", "Australia/Sydney", 1800),
]


def _seed(count: int, now: datetime, *, rules=RULES, title: str = "Window") -> list[int]:
    start = (now - timedelta(days=30)).replace(second=0, microsecond=0)
    created = Maintenance.objects.bulk_create(
        (
            Maintenance(
                title=f"{title} {index}",
                start_date_time=start + timedelta(minutes=index % 60),
                rrule=rules[index % len(rules)][0],
                timezone=rules[index % len(rules)][1],
                duration_seconds=rules[index % len(rules)][2],
            )
            for index in range(count)
        ),
        batch_size=1000,
    )
    return [maintenance.pk for maintenance in created]


def _link_monitors() -> None:
    monitors = Monitor.objects.bulk_create(
        [Monitor(tag=f"service-{n}", name=f"Service {n}") for n in range(20)]
    )
    MaintenanceMonitor.objects.bulk_create(
        (
            MaintenanceMonitor(maintenance_id=pk, monitor=monitors[index % 20])
            for index, pk in enumerate(
                Maintenance.objects.order_by("pk").values_list("pk", flat=True)
            )
        ),
        batch_size=1000,
    )


def _generation(label: str, now: datetime, *, goal_seconds: float | None = None):
    started = time.perf_counter()
    created = events_extend_horizon(now=now)
    elapsed = time.perf_counter() - started
    yield (f"events_extend_horizon: {label}", f"{created:,} events")
    yield Figure("  event generation rate", created / elapsed, "events/s", goal=50_000)
    yield Figure(
        "  event generation time",
        elapsed,
        "s",
        goal=goal_seconds,
        higher_is_better=False,
        digits=2,
    )


def _top_up(target: int) -> None:
    """Far-future events (year 2100 on) until `target` are stored, in one statement."""
    missing = target - MaintenanceEvent.objects.count()
    if missing <= 0:
        return
    ids = list(Maintenance.objects.order_by("pk").values_list("pk", flat=True))
    table = MaintenanceEvent._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {table} (maintenance_id, occurrence, start_date_time, "
                "end_date_time, status, is_modified, is_extra, sequence, created_at, updated_at) "
                "SELECT (%s::bigint[])[1 + n %% %s], t, t, t + interval '30 minutes', "
                "'SCHEDULED', false, false, 0, now(), now() "
                "FROM generate_series(0, %s - 1) AS n, "
                "LATERAL (SELECT %s::timestamptz + n * interval '1 minute') AS s(t)",
                [ids, len(ids), missing, datetime(2100, 1, 1, tzinfo=UTC)],
            )
            cursor.execute(f"VACUUM ANALYZE {table}")
        else:
            base = datetime(2100, 1, 1)
            cursor.executemany(
                f"INSERT INTO {table} (maintenance_id, occurrence, start_date_time, "
                "end_date_time, status, is_modified, is_extra, sequence, created_at, updated_at) "
                "VALUES (%s, %s, %s, %s, 'SCHEDULED', false, false, 0, %s, %s)",
                (
                    (
                        ids[n % len(ids)],
                        str(base + timedelta(minutes=n)),
                        str(base + timedelta(minutes=n)),
                        str(base + timedelta(minutes=n + 30)),
                        str(base),
                        str(base),
                    )
                    for n in range(missing)
                ),
            )
            cursor.execute("ANALYZE")


def _list_latency(client: Client, url: str, headers: dict) -> tuple[list[float], int]:
    samples, total = [], 0
    for _ in range(LIST_REQUESTS):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:300]
        total = response.json()["total"]
    return samples, total


def _lists(stored: int, *, goal_ms: float | None, headers: dict):
    client = Client(HTTP_HOST="127.0.0.1")
    yield ("events stored for the list", f"{stored:,}")
    for label, url, goal in [
        ("GET /api/v4/maintenances/events?limit=100", "", goal_ms),
        ("  ... &page=50 (deep page)", "&page=50", None),
        (
            "  ... &monitors=service-3,service-7&event_status=scheduled",
            "&monitors=service-3,service-7&event_status=scheduled",
            None,
        ),
    ]:
        samples, total = _list_latency(
            client, f"/api/v4/maintenances/events?limit=100{url}", headers
        )
        yield Figure(
            f"{label}, median",
            statistics.median(samples),
            "ms",
            goal=goal,
            higher_is_better=False,
            digits=1,
        )
        if not url:
            now = timezone.now()
            exact = MaintenanceEvent.objects.filter(end_date_time__gt=now).count()
            yield ("  total in the response vs COUNT(*)", f"{total:,} / {exact:,}")


def _idle(now: datetime):
    MaintenanceEvent.objects.all().delete()
    Maintenance.objects.all().delete()
    weekly = [("FREQ=WEEKLY", "UTC", 3600)]
    _seed(IDLE_WINDOWS, now, rules=weekly, title="Weekly")
    events_extend_horizon(now=now)
    later = now + timedelta(seconds=30)
    samples = []
    for _ in range(3):
        started = time.perf_counter()
        created = events_extend_horizon(now=later)
        samples.append(time.perf_counter() - started)
        assert created == 0, created
    yield Figure(
        f"idle horizon pass, {IDLE_WINDOWS:,} weekly windows, nothing to do (median of 3)",
        statistics.median(samples) * 1000,
        "ms",
        digits=1,
    )
    started = time.perf_counter()
    events_advance_statuses(now=later)
    yield Figure(
        "  status pass beside it (window part of an idle beat cycle)",
        (time.perf_counter() - started) * 1000,
        "ms",
        digits=1,
    )
    whole = statistics.median(samples) + time.perf_counter() - started
    yield Figure("  both, in one process", whole, "s", goal=0.5, higher_is_better=False, digits=3)


def run():
    now = timezone.now()
    postgres = connection.vendor == "postgresql"
    _seed(MAINTENANCES, now)
    yield from _generation(f"{MAINTENANCES:,} windows, mixed rules", now)
    daily = [("FREQ=DAILY", "UTC", 3600)]
    _seed(MAINTENANCES, now, rules=daily, title="Daily")
    yield from _generation(f"{MAINTENANCES:,} daily windows x 90 days", now, goal_seconds=2.0)
    _link_monitors()

    _, raw_key = ApiKey.objects.create_key(name="bench", read_only=True)
    headers = {"Authorization": f"Bearer {raw_key}"}
    _top_up(LIST_EVENTS)
    yield from _lists(
        MaintenanceEvent.objects.count(), goal_ms=10 if postgres else None, headers=headers
    )
    if postgres:
        _top_up(BIG_LIST_EVENTS)
        yield from _lists(MaintenanceEvent.objects.count(), goal_ms=15, headers=headers)
    yield from _idle(now)
