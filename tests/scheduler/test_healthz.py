"""GET /healthz reports how long ago the scheduler last ran a job."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command

from tests.scheduler.conftest import T0


def scheduler_health(client) -> tuple[int, dict]:
    response = client.get("/healthz")
    return response.status_code, response.json()["scheduler"]


@pytest.mark.django_db
def test_it_reports_a_scheduler_that_never_ran_as_stale(anon_client, clock):
    status, scheduler = scheduler_health(anon_client)
    assert status == 200
    assert scheduler == {"last_tick_at": None, "age_seconds": None, "stale": True}


@pytest.mark.django_db
def test_it_reports_the_age_of_the_last_tick_and_stale_after_two_minutes(anon_client, clock):
    call_command("run_scheduler_tick", stdout=io.StringIO())

    clock.move_to(T0 + timedelta(seconds=119))
    status, scheduler = scheduler_health(anon_client)
    assert status == 200
    assert scheduler == {"last_tick_at": "2026-03-02T07:00:00Z", "age_seconds": 119, "stale": False}

    clock.move_to(T0 + timedelta(seconds=121))
    status, scheduler = scheduler_health(anon_client)
    # Stale is reported, not turned into a 503: the web process itself is fine.
    assert status == 200
    assert scheduler["stale"] is True
    assert scheduler["age_seconds"] == 121
