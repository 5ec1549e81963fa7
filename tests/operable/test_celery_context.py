"""A request's id travels into the Celery task it enqueues (a real worker) and on from there
into the webhook that task sends and the worker's JSON log lines."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from tests.integration.conftest import wait_for
from tests.notifications.conftest import receiver  # noqa: F401 - a fixture

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _same_broker_as_this_process() -> dict[str, str]:
    # The request below enqueues from this process; the worker must read the same broker.
    if django_settings.CELERY_BROKER_URL.startswith("filesystem://"):
        options = django_settings.CELERY_BROKER_TRANSPORT_OPTIONS
        folder = Path(options["data_folder_in"]).parent
        return {"CELERY_BROKER_DIR": str(folder)}
    return {}


def test_the_request_id_reaches_the_worker_and_the_webhook_it_sends(
    cluster,
    api_client,
    receiver,  # noqa: F811
    settings,
):
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = True  # the receiver is on loopback
    cluster.worker(
        "worker1",
        LOG_FORMAT="json",
        NOTIFICATIONS_ALLOW_PRIVATE_TARGETS="true",
        **_same_broker_as_this_process(),
    )
    channel = api_client.post(
        "/api/v1/notifications/channels",
        {"name": "ops", "kind": "webhook", "target": receiver.url("/hook")},
        format="json",
    ).json()
    start_at = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    plan = api_client.post(
        "/api/v1/maintenance/plans",
        {
            "name": "Lubricate",
            "trigger": "calendar",
            "task": {"title": "Lubricate"},
            "calendar": {"every": 1, "unit": "day", "start_at": start_at},
            "notification_channel_ids": [channel["id"]],
        },
        format="json",
    ).json()

    response = api_client.post(
        f"/api/v1/maintenance/plans/{plan['id']}/execute", HTTP_X_REQUEST_ID="carry-me-1"
    )

    assert response.status_code == 200
    assert response["X-Request-ID"] == "carry-me-1"
    wait_for(lambda: receiver.requests, timeout=60, what="the worker to send the webhook")
    [webhook] = receiver.requests
    assert webhook.json["event"] == "task.created"
    assert webhook.headers["X-Request-ID"] == "carry-me-1"

    def worker_lines_of_the_request() -> list[dict]:
        lines = [
            json.loads(line) for line in cluster.log("worker1").splitlines() if line[:1] == "{"
        ]
        return [line for line in lines if line.get("request_id") == "carry-me-1"]

    lines = wait_for(worker_lines_of_the_request, timeout=30, what="the worker's log lines")
    assert {line["task"] for line in lines} == {"notifications.tasks.send_delivery"}
    assert {line["actor"] for line in lines} == {"key:tests"}
    assert all(line["task_id"] and line["level"] and line["logger"] for line in lines)
