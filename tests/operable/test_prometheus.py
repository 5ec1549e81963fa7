"""A real Prometheus scrapes the service under gunicorn (two workers) and sees what changed."""

from datetime import UTC, datetime, timedelta

import pytest
import requests

from core.models import ApiKey
from tests.notifications.conftest import receiver  # noqa: F401 - a fixture

pytestmark = pytest.mark.integration

JOB = '{job="maintenance"}'


def _api(service, raw_key):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {raw_key}"

    def call(method: str, path: str, **kwargs) -> requests.Response:
        # A new connection each time (no keep-alive), so both workers take requests.
        response = session.request(
            method, f"{service.url}{path}", timeout=10, headers={"Connection": "close"}, **kwargs
        )
        assert response.status_code < 400, (path, response.status_code, response.text)
        return response

    return call


def test_it_is_scraped_and_follows_a_plan_falling_due_and_a_delivery_failing(
    service,
    prometheus,
    receiver,  # noqa: F811
):
    _, raw_key = ApiKey.objects.create_key(name="prometheus test")
    api = _api(service, raw_key)
    prometheus.wait_for_value(f"up{JOB}", 1, timeout=60)
    # The master emptied the samples folder of the previous run before forking its workers.
    assert not (service.metrics_dir / "counter_999999.db").exists()
    assert prometheus.value(f"maintenance_plans_due{JOB}") == 0
    assert prometheus.value('notifications_deliveries{state="failed",kind="webhook"}') == 0

    # A plan whose first occurrence is a few seconds away falls due by itself (no beat runs).
    start_at = (datetime.now(UTC) + timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    api(
        "POST",
        "/api/v1/maintenance/plans",
        json={
            "name": "Lubricate pump bearings",
            "trigger": "calendar",
            "task": {"title": "Lubricate bearings"},
            "calendar": {"every": 1, "unit": "day", "start_at": start_at},
        },
    )
    prometheus.wait_for_value(f"maintenance_plans_due{JOB}", 1)

    # A webhook that answers 410 Gone: the test notification fails for good.
    receiver.respond(410)
    channel = api(
        "POST",
        "/api/v1/notifications/channels",
        json={"name": "gone", "kind": "webhook", "target": receiver.url("/gone")},
    ).json()
    result = api("POST", f"/api/v1/notifications/channels/{channel['id']}/test").json()
    assert [d["status"] for d in result["deliveries"]] == ["failed"]
    prometheus.wait_for_value('notifications_deliveries{state="failed",kind="webhook"}', 1)

    # Requests are counted by route name, summed over both gunicorn workers.
    for number in range(12):  # twelve ids, one route
        missing = requests.get(
            f"{service.url}/api/v1/maintenance/plans/plan_missing{number}",
            headers={"Authorization": f"Bearer {raw_key}", "Connection": "close"},
            timeout=10,
        )
        assert missing.status_code == 404
    prometheus.wait_for_value(
        'sum(http_requests_total{route="v1-plan-detail",method="GET",status="404"})', 12
    )
    assert prometheus.value('count(http_requests_total{route=~".*plan_missing.*"})') is None
    assert prometheus.value(
        'sum(http_request_duration_seconds_count{route="v1-plan-detail"})'
    ) == pytest.approx(12)
