"""GET /metrics: off until a token is set, bearer-guarded, the domain read at scrape time."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from core.jobs import JobResult, run_periodic_job
from core.metrics import REQUESTS, UNMATCHED_ROUTE
from maintenance.models import Task
from notifications.models import Channel, Delivery
from tests.operable.conftest import METRICS_TOKEN

pytestmark = pytest.mark.django_db


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = METRICS_TOKEN


def scrape(client: Client) -> dict[str, list]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples: dict[str, list] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def value(samples, name: str, **labels) -> float | None:
    for sample_labels, sample_value in samples.get(name, []):
        if all(sample_labels.get(k) == v for k, v in labels.items()):
            return sample_value
    return None


def test_it_is_not_there_until_a_token_is_set(client):
    assert client.get("/metrics").status_code == 404


@pytest.mark.parametrize(
    "header", [None, "Bearer wrong", f"Basic {METRICS_TOKEN}", f"Bearer {METRICS_TOKEN}x", "Bearer"]
)
def test_it_wants_the_bearer_token(client, metrics_on, header):
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"maintenance_plans_due" not in response.content


def test_it_counts_requests_by_route_name_never_by_raw_path(client, api_client, metrics_on):
    # This process's own samples (the scrape sums every process that shares the folder).
    def served(route, status):
        return REQUESTS.labels(route, "GET", status)._value.get()

    plans_before, unmatched_before = served("v1-plan-detail", "404"), served(UNMATCHED_ROUTE, "404")
    for number in range(3):
        assert api_client.get(f"/api/v1/maintenance/plans/plan_nope{number}").status_code == 404
    assert client.get("/no/such/page/at/all").status_code == 404

    assert served("v1-plan-detail", "404") - plans_before == 3
    assert served(UNMATCHED_ROUTE, "404") - unmatched_before == 1
    samples = scrape(client)
    routes = {labels["route"] for labels, _ in samples["http_requests_total"]}
    assert {"v1-plan-detail", UNMATCHED_ROUTE} <= routes
    assert not any("plan_nope" in route or "/" in route for route in routes)
    assert (
        value(samples, "http_request_duration_seconds_count", route="v1-plan-detail", method="GET")
        >= 3
    )


def test_it_reads_the_domain_at_scrape_time(client, api_client, metrics_on, settings):
    empty = scrape(client)
    assert value(empty, "maintenance_plans_due") == 0
    assert value(empty, "scheduling_events", status="ONGOING") == 0
    assert value(empty, "notifications_deliveries", state="failed", kind="webhook") == 0

    now = timezone.now()
    soon = (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    plan = api_client.post(
        "/api/v1/maintenance/plans",
        {
            "name": "Lubricate",
            "trigger": "calendar",
            "task": {"title": "Lubricate"},
            "calendar": {"every": 7, "unit": "day", "start_at": soon},
        },
        format="json",
    ).json()
    assert value(scrape(client), "maintenance_plans_due") == 0
    with time_machine.travel(now + timedelta(hours=2)):
        assert value(scrape(client), "maintenance_plans_due") == 1  # it fell due meanwhile
    assert api_client.post(f"/api/v1/maintenance/plans/{plan['id']}/execute").status_code == 200
    Task.objects.update(deadline_at=now - timedelta(hours=1))  # late already
    api_client.post("/api/v4/monitors", {"tag": "db", "name": "Database"}, format="json")
    api_client.post(
        "/api/v4/maintenances",
        {
            "title": "Patch",
            "start_date_time": int((now - timedelta(minutes=5)).timestamp()),
            "rrule": "FREQ=DAILY;COUNT=1",
            "duration_seconds": 3600,
            "monitors": [{"monitor_tag": "db", "impact": "MAINTENANCE"}],
        },
        format="json",
    )
    channel = Channel.objects.create(name="hook", kind="webhook", target="https://example.org/")
    Delivery.objects.create(channel=channel, event="test", object_key="t:1", status="failed")
    run_periodic_job("extend_event_horizon", lambda now: JobResult("ok"))

    samples = scrape(client)
    assert value(samples, "maintenance_tasks_open") == 1
    assert value(samples, "maintenance_tasks_overdue") == 1
    assert value(samples, "scheduling_events", status="ONGOING") == 1
    assert value(samples, "scheduling_monitors_under_maintenance") == 1
    assert value(samples, "notifications_deliveries", state="failed", kind="webhook") == 1
    assert value(samples, "notifications_deliveries", state="sent", kind="email") == 0
    assert value(samples, "maintenance_counter_readings_total") == 0
    age = value(samples, "scheduler_job_last_run_age_seconds", job="extend_event_horizon")
    assert 0 <= age < 60
    assert value(samples, "retention_pruned_rows_total", kind="deliveries.sent") == 0


def test_it_scrapes_in_a_few_queries_whatever_is_stored(
    client, api_client, metrics_on, django_assert_max_num_queries
):
    channel = Channel.objects.create(name="hook", kind="webhook", target="https://example.org/")
    Delivery.objects.bulk_create(
        Delivery(channel=channel, event="test", object_key=f"t:{n}", status="sent")
        for n in range(50)
    )
    with django_assert_max_num_queries(10):
        samples = scrape(client)
    assert value(samples, "notifications_deliveries", state="sent", kind="webhook") == 50


def test_it_reports_the_length_of_the_celery_queue_on_redis(client, metrics_on, settings):
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        assert "celery_queue_length" not in scrape(client)  # other brokers have no such key
        return
    import redis

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("celery")
    broker.rpush("celery", "a", "b")
    try:
        assert value(scrape(client), "celery_queue_length", queue="celery") == 2
    finally:
        broker.delete("celery")
