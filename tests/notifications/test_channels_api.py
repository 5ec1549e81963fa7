"""CRUD of /api/v1/notifications/channels and the channel test route."""

import pytest

from notifications.models import Channel, Delivery

URL = "/api/v1/notifications/channels"


def create(client, **body):
    body = {"name": "ops", "kind": "webhook", "target": "https://hooks.example.com/x", **body}
    return client.post(URL, body, format="json")


def test_it_creates_a_webhook_channel_and_shows_its_secret_only_once(api_client):
    response = create(api_client, events=["task.created"], monitor_tags=["api"])

    assert response.status_code == 201
    body = response.json()
    assert body["id"].startswith("chan_")
    assert len(body["secret"]) >= 40
    assert body["events"] == ["task.created"]
    assert body["monitor_tags"] == ["api"]
    assert body["active"] is True
    assert body["last_error"] == ""
    assert body["created_at"].endswith("Z")
    assert Channel.objects.get(pk=body["id"]).secret == body["secret"]  # kept, for signing
    shown = api_client.get(f"{URL}/{body['id']}").json()
    listed = api_client.get(URL).json()["items"][0]
    patched = api_client.patch(f"{URL}/{body['id']}", {"name": "x"}, format="json").json()
    for later in (shown, listed, patched):
        assert "secret" not in later
        assert body["secret"] not in str(later)


@pytest.mark.parametrize(
    ("kind", "target"),
    [("email", "ops@example.com"), ("apprise", "ntfy://ntfy.example.com/maintenance")],
)
def test_it_creates_channels_without_a_secret_when_nothing_is_signed(api_client, kind, target):
    response = create(api_client, kind=kind, target=target)

    assert response.status_code == 201
    assert response.json()["secret"] is None
    assert response.json()["target"] == target


@pytest.mark.parametrize(
    ("kind", "target", "complaint"),
    [
        ("webhook", "not a url", "not a valid http(s) URL"),
        ("webhook", "ftp://files.example.com/hook", "not a valid http(s) URL"),
        ("webhook", "", "may not be blank"),
        ("email", "nobody", "not a valid email address"),
        ("email", "ops@", "not a valid email address"),
        ("apprise", "notaservice://token", "not a valid Apprise URL"),
        ("apprise", "slack://", "not a valid Apprise URL"),
        ("apprise", "just words", "not a valid Apprise URL"),
    ],
)
def test_it_rejects_a_bad_target_naming_the_field(api_client, kind, target, complaint):
    response = create(api_client, kind=kind, target=target)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BAD_REQUEST"
    assert list(error["details"]) == ["target"]
    assert complaint in error["details"]["target"][0]
    assert error["message"].startswith("target")
    assert not Channel.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "complaint"),
    [
        ({"events": ["task.exploded"]}, "events", "Unknown event 'task.exploded'"),
        ({"events": ["test"]}, "events", "Unknown event 'test'"),
        ({"events": "task.created"}, "events", "list"),
        ({"monitor_tags": [""]}, "monitor_tags", "monitor tags"),
        ({"name": 42}, "name", "valid string"),
        ({"active": "yes"}, "active", "valid boolean"),
        ({"kind": "pager"}, "kind", "not a valid choice"),
        ({"color": "red"}, "color", "Unknown field"),
    ],
)
def test_it_rejects_bad_fields_naming_them(api_client, body, field, complaint):
    response = create(api_client, **body)

    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert field in details
    assert complaint in str(details[field])


def test_it_refuses_unknown_keys_on_every_write_beside_the_other_errors(api_client):
    created = create(api_client).json()
    url = f"{URL}/{created['id']}"

    posted = create(api_client, name=42, colour="red")
    patched = api_client.patch(url, {"name": "x", "colour": "red"}, format="json")
    put = api_client.put(url, {**created, "colour": "red"}, format="json")

    assert posted.status_code == 400
    assert posted.json()["error"]["details"] == {
        "name": ["Not a valid string."],
        "colour": ["Unknown field."],
    }
    for response in (patched, put):
        assert response.status_code == 400
        assert response.json()["error"]["details"] == {"colour": ["Unknown field."]}
    assert Channel.objects.get(pk=created["id"]).name == "ops"


def test_it_lists_channels_with_paging_and_filters(api_client):
    create(api_client, name="a", kind="email", target="a@example.com")
    create(api_client, name="b", active=False)
    create(api_client, name="c")

    everything = api_client.get(URL, {"limit": 2}).json()
    assert (everything["total"], everything["skip"], everything["limit"]) == (3, 0, 2)
    assert [c["name"] for c in everything["items"]] == ["a", "b"]
    webhooks = api_client.get(URL, {"kind": "webhook"}).json()["items"]
    assert [c["name"] for c in webhooks] == ["b", "c"]
    inactive = api_client.get(URL, {"active": "false"}).json()["items"]
    assert [c["name"] for c in inactive] == ["b"]
    active_webhooks = api_client.get(URL, {"active": "true", "kind": "webhook"}).json()
    assert [c["name"] for c in active_webhooks["items"]] == ["c"]
    for bad in ({"active": "maybe"}, {"kind": "pager"}, {"limit": 101}, {"skip": -1}):
        response = api_client.get(URL, bad)
        assert response.status_code == 400
        assert next(iter(bad)) in response.json()["error"]["details"]


def test_it_replaces_and_patches_a_channel_but_not_its_kind(api_client):
    created = create(api_client).json()
    url = f"{URL}/{created['id']}"

    replaced = api_client.put(
        url,
        {**created, "name": "renamed", "target": "https://other.example.com/y", "active": False},
        format="json",
    )
    assert replaced.status_code == 200
    assert replaced.json()["name"] == "renamed"
    assert replaced.json()["active"] is False
    patched = api_client.patch(url, {"events": ["maintenance.started"]}, format="json")
    assert patched.json()["events"] == ["maintenance.started"]
    assert patched.json()["name"] == "renamed"
    changed_kind = api_client.patch(url, {"kind": "email"}, format="json")
    assert changed_kind.status_code == 400
    assert "kind" in changed_kind.json()["error"]["details"]
    bad_target = api_client.patch(url, {"target": "nope"}, format="json")
    assert bad_target.status_code == 400
    assert "target" in bad_target.json()["error"]["details"]
    assert Channel.objects.get(pk=created["id"]).target == "https://other.example.com/y"


def test_it_deletes_a_channel_and_answers_404_after(api_client):
    created = create(api_client).json()
    url = f"{URL}/{created['id']}"

    assert api_client.delete(url).status_code == 204
    missing = api_client.get(url)
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == f"Channel with id '{created['id']}' not found"


def test_it_needs_a_key_and_a_writable_one_to_change_anything(anon_client, read_only_client):
    assert anon_client.get(URL).status_code == 401
    assert read_only_client.get(URL).status_code == 200
    assert create(read_only_client).status_code == 403


def test_the_test_route_sends_a_signed_test_and_reports_it(api_client, receiver, webhook):
    channel = webhook()

    response = api_client.post(f"{URL}/{channel.pk}/test")

    assert response.status_code == 200
    assert response.json() == {
        "deliveries": [{"channel_id": channel.pk, "status": "sent", "error": None}]
    }
    [request] = receiver.requests
    assert request.signature_ok is True
    assert request.headers["X-Event"] == "test"
    assert request.json["event"] == "test"
    assert "test notification" in request.json["data"]["message"]
    delivery = Delivery.objects.get(channel=channel)
    assert (delivery.event, delivery.status, delivery.attempts) == ("test", "sent", 1)


def test_the_test_route_reports_a_failure_without_retrying(api_client, receiver, webhook):
    channel = webhook()
    receiver.respond(500)

    response = api_client.post(f"{URL}/{channel.pk}/test")

    assert response.json()["deliveries"] == [
        {"channel_id": channel.pk, "status": "failed", "error": "Received status code 500"}
    ]
    assert Delivery.objects.get(channel=channel).status == "failed"
    shown = api_client.get(f"{URL}/{channel.pk}").json()
    assert shown["last_error"] == "Received status code 500"


def test_the_test_route_skips_an_inactive_channel_and_404s_an_unknown_one(
    api_client, receiver, webhook
):
    channel = webhook(active=False)

    skipped = api_client.post(f"{URL}/{channel.pk}/test").json()
    missing = api_client.post(f"{URL}/chan_nope/test")

    assert skipped["deliveries"] == [
        {"channel_id": channel.pk, "status": "skipped", "error": "the channel is inactive"}
    ]
    assert receiver.requests == []
    assert missing.status_code == 404
