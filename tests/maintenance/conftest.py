"""Fixtures for the v1 tests: a frozen clock and factories that go through the API."""

import copy
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine

from maintenance.specs import CalendarTrigger, CounterTrigger, PlanSpec, TaskTemplate
from tests.conftest import at  # noqa: F401 - re-exported for this package's tests

BASE = "/api/v1/maintenance"
T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _merge(base: dict, overrides: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


CALENDAR_PLAN = {
    "name": "Lubricate pump bearings",
    "trigger": "calendar",
    "task": {"title": "Lubricate bearings", "checklist": ["Clean nipple", "Grease 5 g"]},
    "calendar": {"every": 1, "unit": "day", "start_at": "2026-03-02T08:00:00Z"},
}

COUNTER_PLAN = {
    "name": "Oil change",
    "trigger": "counter",
    "counter": {"unit": "hours", "interval": 500},
}

# The same two plans as service input (`dataclasses.replace` them to vary a field).
CALENDAR_SPEC = PlanSpec(
    name="Lubricate pump bearings",
    task=TaskTemplate(title="Lubricate bearings", checklist=("Clean nipple", "Grease 5 g")),
    trigger=CalendarTrigger(every=1, unit="day", start_at=datetime(2026, 3, 2, 8, tzinfo=UTC)),
)
COUNTER_SPEC = PlanSpec(
    name="Oil change", trigger=CounterTrigger(unit="hours", interval=Decimal(500))
)


@pytest.fixture
def clock():
    """Time frozen at 2026-03-01T00:00Z; `clock.move_to(...)` moves it (no ticking)."""
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def make_plan(api_client):
    """POST a plan (a daily calendar plan unless told otherwise) and return its JSON."""

    def make(base: dict | None = None, **overrides) -> dict:
        body = _merge(base or CALENDAR_PLAN, overrides)
        response = api_client.post(f"{BASE}/plans", body, format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    return make


@pytest.fixture
def make_counter_plan(make_plan):
    def make(**overrides) -> dict:
        return make_plan(COUNTER_PLAN, **overrides)

    return make


@pytest.fixture
def make_asset(api_client):
    counter = iter(range(1, 10_000))

    def make(**fields) -> dict:
        n = next(counter)
        body = {"code": f"A-{n:03d}", "name": f"Asset {n}", **fields}
        response = api_client.post(f"{BASE}/assets", body, format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    return make


@pytest.fixture
def make_technician(api_client):
    def make(**fields) -> dict:
        body = {"name": "Ada Fixer", "skills": ["mechanical"], **fields}
        response = api_client.post(f"{BASE}/technicians", body, format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    return make


@pytest.fixture
def admin_client(client, django_user_model):
    """A superuser's admin session; `admin_client.user` is that user."""
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456!")
    client.force_login(user)
    client.user = user
    return client
