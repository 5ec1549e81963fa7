"""Shared helpers of the API v4 tests: a frozen clock, monitors, request bodies."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from scheduling.models import Monitor

# A Monday at noon UTC; every schedule test runs with the clock stopped here unless it moves it.
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def ts(*parts: int, tz: str = "UTC") -> int:
    """Unix seconds of a wall time in `tz`: ts(2026, 1, 6, 2, 0, tz="Europe/Berlin")."""
    return int(datetime(*parts, tzinfo=ZoneInfo(tz)).timestamp())


def body(**overrides) -> dict:
    """A valid CreateMaintenanceRequest: daily 02:00-03:00 UTC from tomorrow, three times."""
    return {
        "title": "Database upgrade",
        "start_date_time": ts(2026, 1, 6, 2, 0),
        "rrule": "FREQ=DAILY;COUNT=3",
        "duration_seconds": 3600,
        **overrides,
    }


def create(client, **overrides) -> dict:
    response = client.post("/api/v4/maintenances", body(**overrides), format="json")
    assert response.status_code == 201, response.json()
    return response.json()["maintenance"]


def events_of(client, maintenance_id: int, **params) -> list[dict]:
    response = client.get(f"/api/v4/maintenances/{maintenance_id}/events", {"limit": 100, **params})
    assert response.status_code == 200, response.json()
    return response.json()["events"]


def error(response, status: int) -> dict:
    """The error object of an envelope response, after checking its status."""
    assert response.status_code == status, response.content
    return response.json()["error"]


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def monitors(db) -> dict[str, Monitor]:
    return {tag: Monitor.objects.create(tag=tag, name=tag.upper()) for tag in ("api", "db", "web")}
