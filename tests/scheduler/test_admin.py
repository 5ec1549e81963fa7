"""Operators see the schedule and the last run of each job in the admin."""

import io

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_it_lists_the_last_run_of_each_job(admin_client, clock):
    call_command("run_scheduler_tick", stdout=io.StringIO())

    page = admin_client.get("/admin/core/schedulerjob/")

    assert page.status_code == 200
    for name in ("extend_event_horizon", "advance_event_statuses", "execute_due_plans"):
        assert name in page.content.decode()
    assert "0 tasks created" in page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_it_lists_the_declared_periodic_tasks(admin_client):
    from config.celery import app as celery_app
    from core.jobs import RegistryScheduler

    RegistryScheduler(app=celery_app, lazy=True).setup_schedule()  # what beat does at start

    page = admin_client.get("/admin/django_celery_beat/periodictask/")

    assert page.status_code == 200
    for name in ("extend-event-horizon", "advance-event-statuses", "execute-due-plans"):
        assert name in page.content.decode()
