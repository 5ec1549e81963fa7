"""Fixtures of the scheduler tests: a stopped clock and Celery running tasks inline."""

from datetime import UTC, datetime

import pytest
import time_machine

from config.celery import app as celery_app

T0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # a Monday, an hour before the plans' 08:00


def at(text: str) -> datetime:
    """`at("2026-03-02 08:00")` → an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def clock():
    """Time stopped at T0; `clock.move_to(...)` moves it (it never ticks by itself)."""
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def eager_celery():
    """Tasks sent with `delay`/`apply_async` run inline, as a worker would run them."""
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield celery_app
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous
