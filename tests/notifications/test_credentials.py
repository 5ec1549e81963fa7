"""Credentials inside channel targets: shown once, in the create response, masked in every
later response, in the admin, in logs and in delivery errors; never in a cookie."""

import logging

import pytest
from django.contrib.admin.utils import quote
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpRequest

from notifications import services
from notifications.models import Channel
from notifications.transports import Webhook
from tests.notifications.conftest import T0

URL = "/api/v1/notifications/channels"

# (kind, target, the secrets in it, the masked form every later view shows)
CREDENTIALED = [
    (
        "webhook",
        "https://ops:hunter2pw@hooks.example.com/notify?token=s3cr3t-t0ken&team=ops",
        ["ops:", "hunter2pw", "s3cr3t-t0ken"],
        "https://****:****@hooks.example.com/notify?token=****&team=****",
    ),
    (
        "webhook",
        "https://hooks.slack.com/services/T0AAAA111/B0BBBB222/XXXXxxxxXXXXxxxxXXXX1234",
        ["T0AAAA111", "B0BBBB222", "XXXXxxxxXXXXxxxxXXXX1234"],
        "https://hooks.slack.com/services/****/****/****",
    ),
    (
        "apprise",
        "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ",
        ["T1JJ3T3L2", "A1BRTD4JD", "TIiajkdnlazkcOXrIdevi7FQ"],
        "slack://****/****/****",
    ),
    (
        "apprise",
        "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-1001234567",
        ["AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"],
        "tgram://****/-1001234567",
    ),
    (
        "apprise",
        "discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js",
        ["JHMHI8qBe7bk2ZwO5U711o3dV_js"],
        "discord://4174216298/****",
    ),
    (
        "apprise",
        "json://alerts:Pa55w0rd!@hooks.example.com/in?token=abc123xyz",
        ["alerts", "Pa55w0rd!", "abc123xyz"],
        "json://****:****@hooks.example.com/in?token=****",
    ),
]


def create(client, kind, target):
    return client.post(URL, {"name": "ops", "kind": kind, "target": target}, format="json")


def assert_hidden(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text


@pytest.mark.parametrize(("kind", "target", "secrets", "masked"), CREDENTIALED)
def test_a_target_is_shown_in_full_once_and_masked_everywhere_after(
    api_client, read_only_client, kind, target, secrets, masked
):
    created = create(api_client, kind, target)

    assert created.status_code == 201
    assert created.json()["target"] == target
    url = f"{URL}/{created.json()['id']}"
    later = [
        api_client.get(url),
        api_client.get(URL),
        read_only_client.get(url),
        read_only_client.get(URL),
        api_client.patch(url, {"name": "renamed"}, format="json"),
        api_client.patch(url, {"target": masked}, format="json"),
    ]
    for response in later:
        assert response.status_code == 200
        assert_hidden(response.content.decode(), secrets)
    assert later[0].json()["target"] == masked
    assert later[1].json()["items"][0]["target"] == masked
    assert Channel.objects.get().target == target  # kept, for sending


@pytest.mark.parametrize(("kind", "target", "secrets", "masked"), CREDENTIALED)
def test_a_get_body_put_back_keeps_the_stored_credentials(
    api_client, kind, target, secrets, masked
):
    created = create(api_client, kind, target).json()
    url = f"{URL}/{created['id']}"
    shown = api_client.get(url).json()

    replaced = api_client.put(url, {**shown, "name": "renamed"}, format="json")

    assert replaced.status_code == 200
    assert replaced.json()["target"] == masked
    assert Channel.objects.get().target == target
    assert Channel.objects.get().name == "renamed"


def test_a_target_with_part_of_the_mask_is_refused_and_nothing_changes(api_client):
    target = "https://ops:hunter2pw@hooks.example.com/notify?token=s3cr3t-t0ken"
    created = create(api_client, "webhook", target).json()
    url = f"{URL}/{created['id']}"

    edited = api_client.patch(
        url,
        {"target": "https://****:****@hooks.example.com/other?token=****"},
        format="json",
    )

    assert edited.status_code == 400
    error = edited.json()["error"]
    assert list(error["details"]) == ["target"]
    assert "masked value" in error["details"]["target"][0]
    assert Channel.objects.get().target == target


def test_new_credentials_mean_a_new_target(api_client):
    created = create(api_client, "webhook", "https://hooks.example.com/x?token=old-token").json()
    url = f"{URL}/{created['id']}"

    changed = api_client.patch(
        url, {"target": "https://hooks.example.com/x?token=new-token"}, format="json"
    )

    assert changed.status_code == 200
    assert changed.json()["target"] == "https://hooks.example.com/x?token=****"
    assert Channel.objects.get().target == "https://hooks.example.com/x?token=new-token"


@pytest.mark.parametrize(("kind", "target", "secrets", "masked"), CREDENTIALED)
def test_the_admin_list_and_form_show_the_target_masked(
    admin_client, kind, target, secrets, masked
):
    channel = services.channel_create(name="ops", kind=kind, target=target)

    listing = admin_client.get("/admin/notifications/channel/").content.decode()
    form = admin_client.get(
        f"/admin/notifications/channel/{quote(channel.pk)}/change/"
    ).content.decode()
    searched = admin_client.get("/admin/notifications/channel/", {"q": secrets[-1]})

    assert_hidden(listing, secrets)
    assert_hidden(form, secrets)
    assert masked.split("://")[1].split("/")[0] in listing
    # Searching by a secret finds nothing: search would otherwise be a guessing oracle.
    assert "0 channels" in searched.content.decode() or "0 results" in searched.content.decode()


def test_saving_the_admin_form_unchanged_keeps_the_credentials(admin_client):
    target = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"
    channel = services.channel_create(name="ops", kind="apprise", target=target)

    response = admin_client.post(
        f"/admin/notifications/channel/{quote(channel.pk)}/change/",
        {
            "name": "renamed",
            "target": "slack://****/****/****",
            "events": [],
            "monitor_tags": "",
            "active": "on",
        },
    )

    assert response.status_code == 302, response.content.decode()
    channel.refresh_from_db()
    assert (channel.name, channel.target) == ("renamed", target)


def test_the_admin_refuses_a_partly_masked_target(admin_client):
    target = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"
    channel = services.channel_create(name="ops", kind="apprise", target=target)

    response = admin_client.post(
        f"/admin/notifications/channel/{quote(channel.pk)}/change/",
        {
            "name": "ops",
            "target": "slack://****/****/NEWTOKENabcdefgh12345678",
            "events": [],
            "monitor_tags": "",
            "active": "on",
        },
    )

    assert response.status_code == 200
    assert "masked value" in response.content.decode()
    channel.refresh_from_db()
    assert channel.target == target


def messages_in_cookie(response) -> list[str]:
    cookie = response.cookies.get("messages")
    if cookie is None or not cookie.value:
        return []
    return [str(message) for message in CookieStorage(HttpRequest())._decode(cookie.value)]


def test_the_admin_shows_a_new_secret_on_the_page_never_in_the_messages_cookie(admin_client):
    response = admin_client.post(
        "/admin/notifications/channel/add/",
        {
            "name": "ops",
            "kind": "webhook",
            "target": "https://hooks.example.com/x?token=s3cr3t-t0ken",
            "events": [],
            "monitor_tags": "",
            "active": "on",
        },
    )

    channel = Channel.objects.get()
    page = response.content.decode()
    assert response.status_code == 200
    assert channel.secret in page
    assert "s3cr3t-t0ken" in page  # the full target, this once
    assert "not shown again" in page
    assert "no-store" in response["Cache-Control"]
    assert "The channel “ops” was added." in page  # a message, shown on this page
    cookie_messages = messages_in_cookie(response)
    next_page = admin_client.get("/admin/notifications/channel/").content.decode()
    assert channel.secret not in next_page
    for message in cookie_messages:
        assert channel.secret not in message
        assert "s3cr3t-t0ken" not in message


def test_logs_and_errors_never_show_the_credentials(db, receiver, monkeypatch, caplog):
    target = f"http://ops:hunter2pw@127.0.0.1:{receiver.port}/hook?token=s3cr3t-t0ken"
    channel = services.channel_create(name="ops", kind="webhook", target=target)

    def library_bug(self, message):
        # A library that quotes the URL in its error text, as requests and urllib3 do.
        raise RuntimeError(f"cannot post to {target} (token s3cr3t-t0ken)")

    monkeypatch.setattr(Webhook, "send", library_bug)
    with caplog.at_level(logging.DEBUG):
        [result] = services.send_test(channel_ids=[channel.pk], now=T0)
        receiver.respond(500)
        monkeypatch.undo()
        [second] = services.send_test(channel_ids=[channel.pk], now=T0)

    assert result.status == "failed"
    assert "****" in result.error
    for text in (result.error, second.error, caplog.text, Channel.objects.get().last_error):
        assert_hidden(text, ["hunter2pw", "s3cr3t-t0ken"])
