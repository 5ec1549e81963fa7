"""Request ids on every response, JSON log lines that name the request, caller and objects,
and the id on outgoing webhooks."""

import re

import pytest
from django.test import Client

from core.context import accepted_request_id
from tests.notifications.conftest import receiver  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.mark.urls("tests.operable.urls")
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/healthz", 200),
        ("/api/v4/maintenances", 401),
        ("/api/v1/nowhere", 404),
        ("/nowhere", 404),
        ("/admin/", 302),
        ("/admin/login/", 200),
        ("/api/v1/boom", 500),
        ("/boom", 500),
    ],
)
def test_it_returns_a_request_id_on_every_response(path, status):
    response = Client(raise_request_exception=False).get(path)
    assert response.status_code == status
    assert GENERATED.fullmatch(response["X-Request-ID"])


def test_it_keeps_a_proxys_request_id(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="edge-7f3a:1.2/abc=")
    assert response["X-Request-ID"] == "edge-7f3a:1.2/abc="


@pytest.mark.parametrize(
    "sent", ["", "x" * 129, "has space", "new\nline", 'quote"', "ümlaut", "<script>"]
)
def test_it_replaces_a_request_id_it_cannot_trust(client, sent):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=sent)
    assert GENERATED.fullmatch(response["X-Request-ID"])
    assert accepted_request_id(sent) != sent


def test_it_logs_one_json_object_per_line_naming_the_request_and_the_caller(api_client, json_log):
    response = api_client.get("/api/v1/maintenance/plans", HTTP_X_REQUEST_ID="req-42")
    assert response.status_code == 200

    [line] = [entry for entry in json_log() if entry["logger"] == "core.requests"]
    assert line["level"] == "INFO"
    assert line["message"] == "GET /api/v1/maintenance/plans 200"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00", line["time"])
    assert line["request_id"] == "req-42"
    assert line["actor"] == "key:tests"
    assert (line["route"], line["status"], line["method"]) == ("v1-plan-list", 200, "GET")


def test_it_names_a_staff_user_as_the_caller(staff_client, json_log):
    staff_client.get("/api/v1/maintenance/plans")
    [line] = [entry for entry in json_log() if entry["logger"] == "core.requests"]
    assert line["actor"] == "user:planner"


def test_it_puts_the_request_id_on_webhooks_and_the_object_ids_in_the_log(
    api_client,
    receiver,  # noqa: F811
    json_log,
    settings,
):
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = True  # the receiver is on loopback
    channel = api_client.post(
        "/api/v1/notifications/channels",
        {"name": "ops", "kind": "webhook", "target": receiver.url("/hook")},
        format="json",
    ).json()
    receiver.respond(500)

    response = api_client.post(
        f"/api/v1/notifications/channels/{channel['id']}/test", HTTP_X_REQUEST_ID="trace-1"
    )

    assert response.status_code == 200
    assert response.json()["deliveries"][0]["status"] == "failed"
    [request] = receiver.requests
    assert request.headers["X-Request-ID"] == "trace-1"
    [failure] = [entry for entry in json_log() if entry["logger"] == "notifications.services"]
    assert failure["level"] == "WARNING"
    assert failure["request_id"] == "trace-1"
    assert failure["actor"] == "key:tests"
    assert failure["channel_id"] == channel["id"]
    assert failure["delivery_id"].startswith("dlv_")
