"""A channel's Send test says what happened in the user's language: the admin's button in the
language the admin chose, the API's test route in the caller's (Accept-Language). Statuses,
field names and what a worker records stay English."""

import pytest
from django.conf import settings
from django.contrib.admin.utils import quote

from notifications import services

URL = "/api/v1/notifications/channels"
SPANISH = {"HTTP_ACCEPT_LANGUAGE": "es-ES,es;q=0.9"}


def send_test_in_the_admin(client, channel) -> list[str]:
    page = client.post(f"/admin/notifications/channel/{quote(channel.pk)}/send_test/", follow=True)
    assert page.status_code == 200
    return [str(message) for message in page.context["messages"]]


@pytest.fixture
def spanish_admin(admin_client):
    """An admin who picked Spanish in the admin's header (the language cookie it sets)."""
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    return admin_client


def test_the_admin_send_test_shows_a_refused_target_in_spanish(
    settings, spanish_admin, receiver, webhook
):
    # Stored while private targets were allowed; the send checks the address again.
    channel = webhook()
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = False

    messages = send_test_in_the_admin(spanish_admin, channel)

    assert messages == ["La prueba a «ops hook» falló: dirección de destino no permitida"]
    assert receiver.requests == []


def test_the_admin_send_test_stays_english_for_an_english_admin(
    settings, admin_client, receiver, webhook
):
    channel = webhook()
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = False

    messages = send_test_in_the_admin(admin_client, channel)

    assert messages == ["Test to “ops hook” failed: target address not allowed"]


def test_the_admin_send_test_says_a_success_in_spanish(spanish_admin, receiver, webhook):
    channel = webhook()

    assert send_test_in_the_admin(spanish_admin, channel) == ["Prueba enviada a «ops hook»."]
    assert len(receiver.requests) == 1


def test_the_api_test_route_answers_in_the_callers_language(
    settings, api_client, receiver, webhook
):
    channel = webhook()
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = False

    spanish = api_client.post(f"{URL}/{channel.pk}/test", **SPANISH)
    english = api_client.post(f"{URL}/{channel.pk}/test")

    assert spanish.status_code == 200
    assert spanish.json()["deliveries"] == [
        {"channel_id": channel.pk, "status": "failed", "error": "dirección de destino no permitida"}
    ]
    assert english.json()["deliveries"][0]["error"] == "target address not allowed"


@pytest.mark.parametrize(
    ("answer", "spanish"),
    [
        (503, "Se recibió el código de estado 503"),
        # The sends run on threads of their own; they speak the request's language too.
        ("hang", "Tiempo de espera agotado tras 1 s"),
    ],
)
def test_a_receivers_refusal_is_reported_in_spanish(api_client, receiver, webhook, answer, spanish):
    channel = webhook()
    receiver.respond(answer)

    response = api_client.post(f"{URL}/{channel.pk}/test", **SPANISH)

    assert response.json()["deliveries"][0]["error"] == spanish


def test_a_skipped_channel_is_explained_in_spanish(api_client, spanish_admin, receiver, webhook):
    channel = webhook(active=False)

    response = api_client.post(f"{URL}/{channel.pk}/test", **SPANISH)

    assert response.json()["deliveries"] == [
        {"channel_id": channel.pk, "status": "skipped", "error": "el canal está inactivo"}
    ]
    assert send_test_in_the_admin(spanish_admin, channel) == [
        "La prueba a «ops hook» se omitió: el canal está inactivo"
    ]


def test_a_refused_target_at_creation_is_explained_in_spanish(guarded, api_client):
    response = api_client.post(
        URL,
        {"name": "ops", "kind": "webhook", "target": "http://127.0.0.1/hook"},
        format="json",
        **SPANISH,
    )

    assert response.status_code == 400
    [message] = response.json()["error"]["details"]["target"]
    assert message.startswith("Este destino no está permitido")
    assert "NOTIFICATIONS_ALLOW_PRIVATE_TARGETS=true" in message


def test_outside_a_request_the_errors_stay_english(db, settings, receiver, webhook):
    """No request, no language chosen: what a worker or a command records reads as before."""
    channel = webhook()
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = False

    [result] = services.send_test(channel_ids=[channel.pk], now=channel.created_at)

    assert result.error == "target address not allowed"
