"""Fixtures of the scheduler tests: a stopped clock at a Monday morning."""

from datetime import UTC, datetime

import pytest
import time_machine

from tests.conftest import at  # noqa: F401 - re-exported for this package's tests

T0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # a Monday, an hour before the plans' 08:00


@pytest.fixture
def clock():
    """Time stopped at T0; `clock.move_to(...)` moves it (it never ticks by itself)."""
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller
