"""Retention prunes old records in batches and leaves the history the API promises intact."""

import logging
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import RetentionTotal
from core.retention import prunables
from core.tasks import prune_expired_records
from maintenance.models import CounterReading
from notifications.models import Channel, Delivery, Silence
from scheduling import services as scheduling_services
from scheduling.models import EventStatus, MaintenanceEvent
from tests.maintenance.conftest import BASE, at, clock, make_asset, make_plan  # noqa: F401
from tests.maintenance.test_compliance import data_set  # noqa: F401 - a fixture
from tests.operable.conftest import METRICS_TOKEN
from tests.operable.test_metrics import scrape, value

pytestmark = pytest.mark.django_db


def run_prune():
    from core.jobs import periodic_jobs

    [job] = [job for job in periodic_jobs() if job.name == "prune_expired_records"]
    return job.run_inline()


def every_page(api_client, path: str) -> list[dict]:
    items, offset = [], 0
    while True:
        page = api_client.get(path, {"limit": 100, "offset": offset}).json()
        items += page["items"]
        offset += 100
        if offset >= page["total"]:
            return items


def test_it_registers_every_kind_the_settings_name(settings):
    kinds = {item.name: item.setting for item in prunables()}
    assert kinds == {
        "counter_readings": "RETENTION_COUNTER_READINGS_DAYS",
        "counter_readings.thinned": "RETENTION_COUNTER_READINGS_DAILY_AFTER_DAYS",
        "deliveries.failed": "RETENTION_DELIVERIES_FAILED_DAYS",
        "deliveries.sent": "RETENTION_DELIVERIES_SENT_DAYS",
        "events.cancelled": "RETENTION_EVENTS_CANCELLED_DAYS",
        "reports": "RETENTION_REPORTS_DAYS",
        "events.completed": "RETENTION_EVENTS_COMPLETED_DAYS",
        "audit.records": "RETENTION_AUDIT_DAYS",
        "silences.expired": "RETENTION_SILENCES_EXPIRED_DAYS",
    }
    assert all(isinstance(getattr(settings, setting), int) for setting in kinds.values())
    assert prune_expired_records.name == "core.tasks.prune_expired_records"


def test_compliance_and_execution_history_are_the_same_after_pruning(
    api_client,
    data_set,  # noqa: F811
    make_plan,  # noqa: F811
    settings,
):
    plans = [data_set[name]["id"] for name in "abc"]

    def history() -> tuple:
        report = api_client.get(
            f"{BASE}/compliance", {"start_date": "2026-03-01", "end_date": "2026-03-31"}
        ).json()
        executions = [every_page(api_client, f"{BASE}/plans/{plan}/history") for plan in plans]
        tasks = every_page(api_client, f"{BASE}/tasks")
        return report, executions, tasks

    # Records retention does prune, from the same month: deliveries of the tasks, readings.
    counter_plan = make_plan(
        {"name": "Oil", "trigger": "counter", "counter": {"unit": "hours", "interval": 500}}
    )
    CounterReading.objects.bulk_create(
        CounterReading(
            plan_id=counter_plan["id"],
            value=hour,
            source="plc",
            recorded_at=at("2026-03-01 00:00") + timedelta(hours=hour),
        )
        for hour in range(48)
    )
    channel = Channel.objects.create(name="hook", kind="webhook", target="https://example.org/")
    Delivery.objects.bulk_create(
        Delivery(channel=channel, event="task.created", object_key=f"task:{n}", status="sent")
        for n in range(5)
    )
    Delivery.objects.update(updated_at=at("2026-03-02 09:00"))
    before = history()
    for name in ("DELIVERIES_SENT", "DELIVERIES_FAILED", "EVENTS_COMPLETED", "EVENTS_CANCELLED"):
        setattr(settings, f"RETENTION_{name}_DAYS", 1)
    settings.RETENTION_COUNTER_READINGS_DAYS = 1
    settings.RETENTION_COUNTER_READINGS_DAILY_AFTER_DAYS = 1

    result = run_prune()  # at 03-30 20:00, the instant the report was asked at

    assert result.counts["deliveries.sent"] == 5
    assert result.counts["counter_readings"] == 48
    assert history() == before
    assert before[0]["compliance_rate"] == 37.5  # the hand-computed data set, still


@pytest.fixture
def readings(api_client, make_plan, clock):  # noqa: F811
    """A counter plan read three times a day (06:00, 12:00, 18:00) for ten days from 03-01,
    its meter replaced (reset) on 03-03 at 09:00."""
    plan = make_plan(
        {"name": "Oil", "trigger": "counter", "counter": {"unit": "hours", "interval": 500}}
    )
    value_now = 0
    for day in range(10):
        for hour in (6, 12, 18):
            when = at(f"2026-03-{day + 1:02d} {hour:02d}:00")
            clock.move_to(when)
            value_now += 7
            body = {"value": value_now, "source": "plc", "recorded_at": when.isoformat()}
            if (day, hour) == (2, 12):
                clock.move_to(when - timedelta(hours=3))
                reset = {**body, "value": 1, "reset": True}
                reset["recorded_at"] = (when - timedelta(hours=3)).isoformat()
                path = f"{BASE}/plans/{plan['id']}/counter"
                assert api_client.post(path, reset, format="json").status_code in (200, 201)
                value_now = 1 + 7
                body["value"] = value_now
                clock.move_to(when)
            response = api_client.post(f"{BASE}/plans/{plan['id']}/counter", body, format="json")
            assert response.status_code in (200, 201), response.json()
    return plan


def test_it_keeps_one_reading_per_day_past_the_threshold_and_the_plans_counter(
    api_client,
    readings,
    clock,  # noqa: F811
    settings,
    caplog,
    client,
):
    plan = readings
    detail_before = api_client.get(f"{BASE}/plans/{plan['id']}").json()
    clock.move_to(at("2026-03-15 00:00"))
    settings.RETENTION_COUNTER_READINGS_DAILY_AFTER_DAYS = 8  # cutoff 03-07 00:00
    settings.RETENTION_BATCH_SIZE = 4
    settings.METRICS_TOKEN = METRICS_TOKEN

    with caplog.at_level(logging.INFO, logger="core.retention"):
        result = run_prune()

    kept = CounterReading.objects.filter(plan_id=plan["id"])
    per_day: dict[str, list] = {}
    for reading in kept.order_by("recorded_at"):
        per_day.setdefault(reading.recorded_at.date().isoformat(), []).append(reading)
    # Before the cutoff: the last of each day, plus the reset on 03-03.
    for day in ("2026-03-01", "2026-03-02", "2026-03-04", "2026-03-05", "2026-03-06"):
        assert [r.recorded_at.hour for r in per_day[day]] == [18], day
    assert [(r.recorded_at.hour, r.reset) for r in per_day["2026-03-03"]] == [
        (9, True),
        (18, False),
    ]
    for day in ("2026-03-07", "2026-03-08", "2026-03-09", "2026-03-10"):
        assert len(per_day[day]) == 3, day
    assert result.counts["counter_readings.thinned"] == 6 * 2
    # The plan's current value and next threshold live on the plan: unchanged.
    detail_after = api_client.get(f"{BASE}/plans/{plan['id']}").json()
    for field in ("counter_value", "next_counter_threshold", "counter"):
        assert detail_after[field] == detail_before[field], field
    assert detail_before["counter_value"] is not None
    history = every_page(api_client, f"{BASE}/plans/{plan['id']}/counter/history")
    assert len(history) == 6 + 1 + 12
    assert "Pruned 12 counter_readings.thinned older than 8 days" in caplog.text
    assert RetentionTotal.objects.get(name="counter_readings.thinned").pruned == 12
    samples = scrape(client)
    assert value(samples, "retention_pruned_rows_total", kind="counter_readings.thinned") == 12
    assert value(samples, "maintenance_counter_readings_total") == 6 + 1 + 12

    assert run_prune().counts["counter_readings.thinned"] == 0  # nothing left to thin


@pytest.fixture
def deliveries():
    channel = Channel.objects.create(name="hook", kind="webhook", target="https://example.org/")

    def make(status: str, age_days: int, n: int = 1) -> list[str]:
        made = Delivery.objects.bulk_create(
            Delivery(channel=channel, event="test", object_key=f"{status}:{age_days}:{i}")
            for i in range(n)
        )
        ids = [d.pk for d in made]
        Delivery.objects.filter(pk__in=ids).update(
            status=status, updated_at=timezone.now() - timedelta(days=age_days)
        )
        return ids

    return make


def test_it_prunes_finished_deliveries_in_batches_and_never_pending_work(deliveries, settings):
    settings.RETENTION_DELIVERIES_SENT_DAYS = 30
    settings.RETENTION_DELIVERIES_FAILED_DAYS = 90
    settings.RETENTION_BATCH_SIZE = 10
    old_sent = deliveries("sent", 31, n=25)
    kept = deliveries("sent", 29) + deliveries("failed", 89) + deliveries("pending", 400)
    kept += deliveries("sending", 400)
    old_unsent = deliveries("failed", 91) + deliveries("skipped", 91) + deliveries("cancelled", 91)

    with CaptureQueriesContext(connection) as queries:
        result = run_prune()

    assert result.counts["deliveries.sent"] == 25
    assert result.counts["deliveries.failed"] == 3
    assert set(Delivery.objects.values_list("pk", flat=True)) == set(kept)
    assert not Delivery.objects.filter(pk__in=old_sent + old_unsent).exists()
    deletes = [q["sql"] for q in queries if q["sql"].startswith('DELETE FROM "notifications_')]
    assert len(deletes) == 3 + 1  # 25 sent in batches of 10, then the 3 unsent in one


def test_it_prunes_expired_silences_once_their_window_is_old_and_never_live_ones(settings):
    settings.RETENTION_SILENCES_EXPIRED_DAYS = 90
    channel = Channel.objects.create(
        name="am", kind="alertmanager", target="http://alertmanager.example.org:9093/"
    )
    now = timezone.now()

    def silence(key: str, state: str, ended_days_ago: int) -> Silence:
        made = Silence.objects.create(
            channel=channel,
            window_key=key,
            state=state,
            starts_at=now - timedelta(days=ended_days_ago, hours=1),
            ends_at=now - timedelta(days=ended_days_ago),
        )
        Silence.objects.filter(pk=made.pk).update(updated_at=now - timedelta(days=ended_days_ago))
        return made

    old = silence("occurrence:1", Silence.State.EXPIRED, 91)
    recent = silence("occurrence:2", Silence.State.EXPIRED, 89)
    # A silence still waiting or active is work in progress, however old its row looks.
    waiting = silence("occurrence:3", Silence.State.WAITING, 400)
    active = silence("occurrence:4", Silence.State.ACTIVE, 400)

    assert run_prune().counts["silences.expired"] == 1
    assert set(Silence.objects.values_list("pk", flat=True)) == {recent.pk, waiting.pk, active.pk}
    assert not Silence.objects.filter(pk=old.pk).exists()


def test_zero_days_keeps_everything(deliveries, settings):
    settings.RETENTION_DELIVERIES_SENT_DAYS = 0
    deliveries("sent", 5000)
    assert run_prune().counts["deliveries.sent"] == 0
    assert Delivery.objects.count() == 1


def test_it_prunes_old_events_that_the_horizon_never_brings_back(api_client, clock, settings):  # noqa: F811
    clock.move_to(at("2026-03-01 00:00"))
    api_client.post("/api/v4/monitors", {"tag": "db", "name": "Database"}, format="json")
    api_client.post(
        "/api/v4/maintenances",
        {
            "title": "Nightly patch",
            "start_date_time": int(at("2026-03-01 02:00").timestamp()),
            "rrule": "FREQ=DAILY;COUNT=40",
            "duration_seconds": 3600,
            "monitors": [{"monitor_tag": "db", "impact": "MAINTENANCE"}],
        },
        format="json",
    )
    assert MaintenanceEvent.objects.count() == 40
    cancelled = MaintenanceEvent.objects.order_by("occurrence")[4]
    ahead = MaintenanceEvent.objects.order_by("occurrence")[35]  # cancelled ahead of time
    MaintenanceEvent.objects.filter(pk__in=[cancelled.pk, ahead.pk]).update(
        status=EventStatus.CANCELLED
    )
    clock.move_to(at("2026-03-31 00:00"))
    scheduling_services.events_advance_statuses(now=timezone.now())
    settings.RETENTION_EVENTS_COMPLETED_DAYS = 10  # cutoff 03-21 00:00
    settings.RETENTION_EVENTS_CANCELLED_DAYS = 10

    result = run_prune()

    assert result.counts["events.completed"] == 20 - 1  # 03-01 .. 03-20, but one cancelled
    assert result.counts["events.cancelled"] == 1
    left = MaintenanceEvent.objects.order_by("occurrence")
    assert left.first().occurrence == at("2026-03-21 02:00")
    assert ahead.pk in set(left.values_list("pk", flat=True))
    assert scheduling_services.events_extend_horizon(now=timezone.now()) == 0  # none come back
    assert left.count() == 20
