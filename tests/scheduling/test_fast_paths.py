"""The fast v4 paths give what the slow ones gave: the global list's plain rows equal the
serializer that documents them, a create takes the same few queries however many events it
generates, and the horizon job leaves alone the windows that have every event they need."""

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.jobs import periodic_jobs
from core.models import AuditRecord
from scheduling import selectors, services
from scheduling.api.serializers import MaintenanceEventRowSerializer, event_rows
from scheduling.models import Maintenance, MaintenanceEvent
from scheduling.services import NO_MORE_OCCURRENCES, events_extend_horizon
from tests.scheduling.conftest import NOW, create, ts

pytestmark = pytest.mark.usefixtures("db", "frozen")


def job(name: str):
    (found,) = [job for job in periodic_jobs() if job.name == name]
    return found


def test_list_rows_are_what_the_row_serializer_renders(api_client, monitors):
    create(api_client, monitors=[{"monitor_tag": "db", "impact": "DOWN"}, {"monitor_tag": "api"}])
    create(
        api_client, title="No monitors", description="Kernel \u2028 update", timezone="Asia/Tokyo"
    )
    create(api_client, title="Inactive", status="INACTIVE")
    events = selectors.event_list(now=NOW)

    rows = list(selectors.event_row_values(events))
    links = selectors.monitor_links_of({row["maintenance_id"] for row in rows})
    expected = MaintenanceEventRowSerializer(
        selectors.event_list_detailed(now=NOW), many=True, context={"now": NOW}
    ).data

    assert len(rows) == 6
    assert event_rows(rows, links) == [dict(row) for row in expected]
    response = api_client.get("/api/v4/maintenances/events", {"limit": 100})
    assert response.json()["events"] == event_rows(rows, links)


@pytest.mark.parametrize("rrule", ["FREQ=DAILY;COUNT=1", "FREQ=HOURLY"])
def test_a_create_takes_the_same_queries_for_one_event_or_a_thousand(api_client, monitors, rrule):
    # key lookup, monitors by tag, INSERT maintenance, INSERT links, INSERT events, UPDATE
    # of how far its events go, the links to render (plus the transaction's statements); the
    # audit trail adds its reads (the window's links, content types) and two INSERTs however
    # many events: the window's creation, and its generated events in one record.
    with CaptureQueriesContext(connection) as queries:
        maintenance = create(api_client, rrule=rrule, monitors=[{"monitor_tag": "api"}])

    audit_inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "core_auditrecord"')]
    assert len(queries) - len(audit_inserts) <= 13
    assert maintenance["monitors"] == [{"monitor_tag": "api", "impact": "MAINTENANCE"}]
    events = MaintenanceEvent.objects.count()
    assert events in (1, 1000)
    window_type = ContentType.objects.get_for_model(Maintenance)
    (generated,) = AuditRecord.objects.filter(content_type=window_type, changes__has_key="events")
    assert generated.changes["events"][1]["count"] == events
    assert len(audit_inserts) == 2


def test_the_horizon_job_only_looks_at_windows_the_horizon_reached(api_client, settings):
    settings.MAINTENANCE_EVENT_HORIZON_DAYS = 7
    daily = create(api_client, rrule="FREQ=DAILY")
    weekly = create(
        api_client, title="Thursdays", rrule="FREQ=WEEKLY", start_date_time=ts(2026, 1, 8, 2, 0)
    )
    finished = create(api_client, title="Three days", rrule="FREQ=DAILY;COUNT=3")
    horizon = timedelta(days=7)

    assert Maintenance.objects.get(pk=finished["id"]).events_complete_until == NO_MORE_OCCURRENCES
    assert not selectors.windows_due(now=NOW, horizon=horizon).exists()
    # A day later the daily window's next occurrence came into reach; the weekly one's not.
    later = NOW + timedelta(days=1)
    due = selectors.windows_due(now=later, horizon=horizon)
    assert list(due.values_list("pk", flat=True)) == [daily["id"]]

    assert events_extend_horizon(now=later) == 1
    assert not selectors.windows_due(now=later, horizon=horizon).exists()
    assert Maintenance.objects.get(pk=weekly["id"]).events.count() == 1


def test_a_window_whose_events_were_removed_behind_the_services_back_is_generated_again(
    api_client,
):
    from scheduling import tasks

    maintenance = create(api_client, rrule="FREQ=DAILY")
    MaintenanceEvent.objects.all().delete()

    # The 10-minute pass reads only how far the window's events go, and trusts it.
    assert events_extend_horizon(now=NOW) == 0
    # The hourly sweep finds the window without an upcoming event and brings them back.
    result = job("sweep_event_horizon").inline(NOW)
    assert result.counts == {"rechecked": 1, "created": 90}
    assert MaintenanceEvent.objects.filter(maintenance_id=maintenance["id"]).count() == 90
    assert tasks.sweep_event_horizon.name == "scheduling.tasks.sweep_event_horizon"


def test_the_sweep_restores_a_removed_event_and_leaves_complete_windows_alone(api_client):
    kept = create(api_client, title="Kept", rrule="FREQ=DAILY")
    emptied = create(api_client, title="Emptied", rrule="FREQ=WEEKLY")
    events = MaintenanceEvent.objects.filter(maintenance_id=emptied["id"])
    (removed,) = events.values_list("occurrence", flat=True)[:1]
    events.delete()
    horizon = timedelta(days=90)

    assert not selectors.windows_due(now=NOW, horizon=horizon).exists()
    assert list(selectors.windows_without_upcoming_event(now=NOW).values_list("pk", flat=True)) == [
        emptied["id"]
    ]
    assert services.events_horizon_recheck(now=NOW) == 1
    assert list(selectors.windows_due(now=NOW, horizon=horizon).values_list("pk", flat=True)) == [
        emptied["id"]
    ]
    assert events_extend_horizon(now=NOW) == 13
    assert removed in set(events.values_list("occurrence", flat=True))
    assert MaintenanceEvent.objects.filter(maintenance_id=kept["id"]).count() == 90
    assert services.events_horizon_recheck(now=NOW) == 0


def test_workers_share_a_pass_by_id_ranges(api_client):
    ids = [create(api_client, title=f"m{n}", rrule="FREQ=DAILY")["id"] for n in range(5)]
    MaintenanceEvent.objects.all().delete()
    assert services.events_horizon_recheck(now=NOW) == 5  # what the hourly sweep does first

    ranges = selectors.windows_due_id_ranges(now=NOW, horizon=timedelta(days=90), size=2)
    assert ranges == [(ids[0], ids[1]), (ids[2], ids[3]), (ids[4], ids[4])]
    created = [events_extend_horizon(now=NOW, first_id=lo, last_id=hi) for lo, hi in ranges]

    assert created == [180, 180, 90]
    assert events_extend_horizon(now=NOW) == 0


def test_a_big_horizon_pass_is_shared_out_to_the_workers_in_id_ranges(
    api_client, settings, eager_celery
):
    from scheduling import tasks

    for n in range(5):
        create(api_client, title=f"m{n}", rrule="FREQ=DAILY")
    MaintenanceEvent.objects.all().delete()
    settings.SCHEDULER_HORIZON_BATCH = 2

    # Eager: the three range tasks run inline, as three workers would. The sweep's pass is
    # shared out like the 10-minute one.
    assert tasks.sweep_event_horizon() == {"rechecked": 5, "dispatched": 3}
    assert MaintenanceEvent.objects.count() == 5 * 90
    assert tasks.extend_event_horizon() == {"created": 0}
    assert tasks.sweep_event_horizon() == {"rechecked": 0, "created": 0}


def test_a_capped_window_is_due_again_when_its_first_event_ends(api_client):
    maintenance = create(api_client, rrule="FREQ=MINUTELY;INTERVAL=15", duration_seconds=600)
    events = MaintenanceEvent.objects.filter(maintenance_id=maintenance["id"])
    first_end = events.order_by("start_date_time").first().end_date_time
    horizon = timedelta(days=90)

    assert events.count() == 1000
    assert not selectors.windows_due(now=first_end - timedelta(seconds=1), horizon=horizon).exists()
    assert selectors.windows_due(now=first_end, horizon=horizon).exists()
    assert events_extend_horizon(now=first_end) == 1
    assert events.count() == 1001


def test_a_stored_rule_that_no_longer_parses_is_logged_and_skipped(api_client, caplog):
    broken = create(api_client, title="Broken", rrule="FREQ=DAILY")
    fine = create(api_client, title="Fine", rrule="FREQ=DAILY")
    MaintenanceEvent.objects.all().delete()
    # As if the engine stopped accepting what it once stored (the rule is not checked again
    # on every pass: `stored_recurrence` parses it).
    Maintenance.objects.filter(pk=broken["id"]).update(rrule="FREQ=FORTNIGHTLY")
    Maintenance.objects.update(events_complete_until=None)

    assert events_extend_horizon(now=NOW) == 90
    assert MaintenanceEvent.objects.filter(maintenance_id=fine["id"]).count() == 90
    assert f"Maintenance {broken['id']} has a rule that does not build" in caplog.text
