"""The admin: channels (the secret shown once, on creation) and deliveries (send again)."""

import pytest
from django.contrib.admin.utils import quote
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications import services
from notifications.models import Channel, Delivery
from tests.notifications.conftest import T0, task_payload


def test_adding_a_webhook_in_the_admin_shows_its_secret_once(admin_client):
    response = admin_client.post(
        "/admin/notifications/channel/add/",
        {
            "name": "ops",
            "kind": "webhook",
            "target": "https://hooks.example.com/x",
            "events": ["task.created"],
            "monitor_tags": "",
            "active": "on",
        },
        follow=True,
    )

    channel = Channel.objects.get()
    assert channel.secret
    assert channel.events == ["task.created"]
    assert channel.secret in response.content.decode()  # the message after saving
    change_page = admin_client.get(f"/admin/notifications/channel/{quote(channel.pk)}/change/")
    assert change_page.status_code == 200
    assert channel.secret not in change_page.content.decode()
    listing = admin_client.get("/admin/notifications/channel/")
    assert channel.secret not in listing.content.decode()


def test_the_admin_validates_targets_as_the_api_does(admin_client):
    response = admin_client.post(
        "/admin/notifications/channel/add/",
        {"name": "x", "kind": "apprise", "target": "nope://", "events": [], "monitor_tags": ""},
    )

    assert response.status_code == 200  # the form again, with the error
    assert "is not a valid Apprise URL" in response.content.decode()
    assert not Channel.objects.exists()


def test_the_deliveries_list_costs_the_same_queries_for_many_rows(admin_client, webhook):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get("/admin/notifications/delivery/").status_code == 200
        return len(queries)

    channel = webhook()
    services.notify(
        event="task.created", object_key="task:0", payload=task_payload(), channel_ids=[channel.pk]
    )
    few = count_queries()
    for i in range(1, 15):
        other = webhook(f"hook {i}", path=f"/{i}")
        services.notify(
            event="task.created",
            object_key=f"task:{i}",
            payload=task_payload(),
            channel_ids=[other.pk],
        )

    assert count_queries() == few


@pytest.mark.parametrize("status", ["failed", "skipped", "cancelled", "sent"])
def test_send_again_resets_a_delivery_and_sends_it(
    status, admin_client, receiver, webhook, eager_celery, django_capture_on_commit_callbacks
):
    channel = webhook()
    [delivery] = services.notify(
        event="task.created",
        object_key="task:t",
        payload=task_payload(),
        channel_ids=[channel.pk],
        relevant_until=T0,  # long past: the operator's request overrides relevance
        now=T0,
    )
    Delivery.objects.update(status=status, attempts=3, last_error="Received status code 500")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/notifications/delivery/",
            {"action": "send_again", "_selected_action": [delivery.pk]},
            follow=True,
        )

    assert "1 deliveries queued to be sent again." in response.content.decode()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 1, "")
    assert len(receiver.requests) == 1


def test_send_again_leaves_a_delivery_being_sent_alone(admin_client, webhook):
    channel = webhook()
    services.notify(
        event="task.created", object_key="task:t", payload=task_payload(), channel_ids=[channel.pk]
    )
    Delivery.objects.update(status="sending")

    selected = list(Delivery.objects.values_list("pk", flat=True))
    response = admin_client.post(
        "/admin/notifications/delivery/",
        {"action": "send_again", "_selected_action": selected},
        follow=True,
    )

    assert "1 being sent right now were left alone." in response.content.decode()
    assert Delivery.objects.get().status == "sending"
