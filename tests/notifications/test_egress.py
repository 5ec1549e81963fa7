"""The SSRF guard: a channel may not reach the internal network, at creation, at update and
when it sends (the address connected to is the one vetted, and no redirect is followed)."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from notifications import services
from notifications.models import Channel, Delivery
from tests.notifications.conftest import T0, running_receiver, task_payload

URL = "/api/v1/notifications/channels"
NOT_ALLOWED = "target address not allowed"

# (kind, target): hosts that are, or resolve to, addresses that are not globally routable,
# every spelling of loopback the resolver accepts, and the cloud metadata endpoints.
INTERNAL_TARGETS = [
    ("webhook", "http://127.0.0.1/hook"),
    ("webhook", "http://127.0.0.1:6379/"),
    ("webhook", "http://127.8.9.10:8000/hook"),
    ("webhook", "http://localhost:8000/hook"),
    ("webhook", "http://LocalHost/hook"),
    ("webhook", "http://[::1]/hook"),
    ("webhook", "http://0.0.0.0/hook"),
    ("webhook", "http://[::]/hook"),
    ("webhook", "http://[::ffff:127.0.0.1]/hook"),
    ("webhook", "http://[::ffff:10.0.0.1]/hook"),
    ("webhook", "http://[64:ff9b::7f00:1]/hook"),
    ("webhook", "http://[2002:a9fe:a9fe::]/hook"),
    ("webhook", "http://169.254.169.254/latest/meta-data/"),
    ("webhook", "http://[fd00:ec2::254]/latest/meta-data/"),
    ("webhook", "http://metadata.google.internal/computeMetadata/v1/"),
    ("webhook", "https://metadata.goog/"),
    ("webhook", "http://instance-data.ec2.internal/"),
    ("webhook", "http://100.100.100.200/latest/meta-data/"),
    ("webhook", "http://10.0.0.1/hook"),
    ("webhook", "http://10.255.255.254:8443/hook"),
    ("webhook", "http://172.16.0.1/hook"),
    ("webhook", "http://172.31.255.254/hook"),
    ("webhook", "http://192.168.1.1/hook"),
    ("webhook", "http://100.64.0.1/hook"),
    ("webhook", "http://169.254.1.1/hook"),
    ("webhook", "http://[fd00::1]/hook"),
    ("webhook", "http://[fe80::1]/hook"),
    ("webhook", "http://224.0.0.1/hook"),
    ("webhook", "http://[ff02::1]/hook"),
    ("apprise", "json://127.0.0.1:8080/hook"),
    ("apprise", "jsons://localhost/hook"),
    ("apprise", "xml://10.0.0.1/hook"),
    ("apprise", "xmls://[::1]:8443/hook"),
    ("apprise", "form://192.168.0.10/hook"),
    ("apprise", "json://169.254.169.254/latest/meta-data/"),
    ("apprise", "json://metadata.google.internal/computeMetadata/v1/"),
    ("apprise", "ntfy://127.0.0.1/maintenance"),
    ("apprise", "gotify://10.1.2.3/AbCdEfGhIjKlMnO"),
    ("apprise", "apprise://localhost/abc"),
]


def create(client, kind="webhook", target="https://hooks.example.com/x"):
    return client.post(URL, {"name": "ops", "kind": kind, "target": target}, format="json")


def assert_refused(response):
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert list(error["details"]) == ["target"]
    assert "not allowed" in error["details"]["target"][0]
    assert "NOTIFICATIONS_ALLOW_PRIVATE_TARGETS" in error["details"]["target"][0]


@pytest.mark.parametrize(("kind", "target"), INTERNAL_TARGETS)
def test_an_internal_target_is_refused_at_creation(guarded, api_client, kind, target):
    assert_refused(create(api_client, kind, target))
    assert not Channel.objects.exists()


@pytest.mark.parametrize(("kind", "target"), INTERNAL_TARGETS)
def test_an_internal_target_is_refused_at_update(guarded, api_client, kind, target):
    public = "json://hooks.example.com/x" if kind == "apprise" else "https://hooks.example.com/x"
    created = create(api_client, kind, public).json()

    patched = api_client.patch(f"{URL}/{created['id']}", {"target": target}, format="json")
    put = api_client.put(
        f"{URL}/{created['id']}", {"name": "ops", "kind": kind, "target": target}, format="json"
    )

    assert_refused(patched)
    assert_refused(put)
    assert Channel.objects.get().target == public


@pytest.mark.parametrize(
    "target",
    [
        "http://2130706433/hook",  # 127.0.0.1 as one number
        "http://0x7f000001/hook",
        "http://0177.0.0.1/hook",
        "http://127.1/hook",
    ],
)
def test_numeric_spellings_of_loopback_never_get_in(guarded, api_client, target):
    response = create(api_client, "webhook", target)

    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["target"]


@pytest.mark.parametrize(
    ("target", "complaint"),
    [
        ("json://hooks.example.com/x?method=DELETE", "method"),
        ("json://hooks.example.com/x?+Authorization=Bearer%20stolen", "+authorization"),
        ("json://hooks.example.com/x?-token=abc", "-token"),
        ("json://hooks.example.com/x?:message=overridden", ":message"),
        ("form://hooks.example.com/x?+X-Forwarded-For=1.2.3.4", "+x-forwarded-for"),
    ],
)
def test_apprise_parameters_that_set_method_headers_or_payload_are_refused(
    guarded, api_client, target, complaint
):
    response = create(api_client, "apprise", target)

    assert response.status_code == 400
    [message] = response.json()["error"]["details"]["target"]
    assert "method, headers or payload" in message
    assert complaint in message.lower()


@pytest.mark.parametrize(
    "target",
    [
        "mailto://user:pass@example.com",
        "irc://nick@irc.example.com/#ops",
        "rsyslog://logs.example.com",
        "syslog://",
    ],
)
def test_apprise_services_that_do_not_talk_http_are_refused(guarded, api_client, target):
    response = create(api_client, "apprise", target)

    assert response.status_code == 400
    assert "only services that send over HTTP(S)" in str(response.json()["error"]["details"])


@pytest.mark.parametrize(
    ("kind", "target"),
    [
        ("webhook", "https://hooks.example.com/x"),
        ("webhook", "https://8.8.8.8/hook"),
        ("webhook", "https://[2001:4860:4860::8888]/hook"),
        ("apprise", "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"),
        ("apprise", "json://hooks.example.com/x"),
        ("apprise", "ntfy://ntfy.example.com/maintenance"),
    ],
)
def test_public_targets_are_accepted(guarded, api_client, kind, target):
    assert create(api_client, kind, target).status_code == 201


def test_allowing_private_targets_lets_the_network_in_but_never_metadata(settings, api_client):
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = True

    assert create(api_client, "webhook", "http://10.0.0.1/hook").status_code == 201
    assert create(api_client, "apprise", "json://localhost:8080/hook").status_code == 201
    assert_refused(create(api_client, "webhook", "http://169.254.169.254/latest/"))
    assert_refused(create(api_client, "webhook", "http://metadata.google.internal/"))
    assert_refused(create(api_client, "apprise", "json://[::ffff:169.254.169.254]/"))


def loopback_targets(port: int) -> list[tuple[str, str]]:
    return [
        ("webhook", f"http://127.0.0.1:{port}/hook"),
        ("webhook", f"http://localhost:{port}/hook"),  # a real name that resolves to loopback
        ("webhook", f"http://[::ffff:7f00:1]:{port}/hook"),
        ("webhook", f"http://[::ffff:127.0.0.1]:{port}/hook"),
        ("apprise", f"json://127.0.0.1:{port}/hook"),
        ("apprise", f"json://localhost:{port}/hook"),
        ("apprise", f"xml://127.0.0.1:{port}/hook"),
        ("apprise", f"form://localhost:{port}/hook"),
    ]


@pytest.mark.parametrize("index", range(8))
def test_a_test_notification_to_loopback_never_connects(
    settings, api_client, receiver, webhook, index
):
    # Stored while private targets were allowed (or before the guard existed; DNS may also
    # have changed since): the send checks again.
    kind, target = loopback_targets(receiver.port)[index]
    channel = services.channel_create(name="x", kind=kind, target=target)
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = False

    response = api_client.post(f"{URL}/{channel.pk}/test")

    assert response.status_code == 200
    assert response.json()["deliveries"] == [
        {"channel_id": channel.pk, "status": "failed", "error": NOT_ALLOWED}
    ]
    assert receiver.requests == []
    assert api_client.get(f"{URL}/{channel.pk}").json()["last_error"] == NOT_ALLOWED


@pytest.mark.parametrize("kind", ["webhook", "apprise"])
def test_a_worker_refuses_an_internal_target_at_once_without_retrying(db, settings, receiver, kind):
    scheme = "http" if kind == "webhook" else "json"
    channel = services.channel_create(
        name="x", kind=kind, target=f"{scheme}://localhost:{receiver.port}/hook"
    )
    [delivery] = services.notify(
        event="task.created",
        object_key="task:t",
        payload=task_payload(),
        channel_ids=[channel.pk],
        now=T0,
    )
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = False

    sent = services.delivery_send(delivery_id=delivery.pk, now=T0)

    assert (sent.status, sent.attempts, sent.last_error) == ("failed", 1, NOT_ALLOWED)
    assert receiver.requests == []


def test_the_connection_goes_to_the_address_that_was_vetted(db, receiver, monkeypatch):
    """DNS rebinding: the name answers one address to the check and another afterwards. The
    guard looks the name up once per connection and connects to that very address."""
    with running_receiver("127.0.0.2", receiver.port) as elsewhere:
        channel = services.channel_create(
            name="x", kind="webhook", target=f"http://rebind.test:{receiver.port}/hook"
        )
        answers = iter(["127.0.0.1", "127.0.0.2", "127.0.0.2"])
        lookups = []
        real_getaddrinfo = socket.getaddrinfo

        def rebinding_dns(host, port, *args, **kwargs):
            if host != "rebind.test":
                return real_getaddrinfo(host, port, *args, **kwargs)
            lookups.append(host)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

        monkeypatch.setattr(socket, "getaddrinfo", rebinding_dns)

        [result] = services.send_test(channel_ids=[channel.pk], now=T0)

        assert result.status == "sent"
        assert len(receiver.requests) == 1
        assert receiver.requests[0].headers["Host"] == f"rebind.test:{receiver.port}"
        assert elsewhere.requests == []
        assert lookups == ["rebind.test"]


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_webhook_redirect_to_another_internal_port_is_not_followed(
    receiver, other_receiver, webhook, code
):
    channel = webhook()
    receiver.respond((code, other_receiver.url("/internal")))

    [result] = services.send_test(channel_ids=[channel.pk], now=T0)

    assert (result.status, result.error) == (
        "failed",
        f"Received status code {code} (redirects are not followed)",
    )
    assert len(receiver.requests) == 1
    assert other_receiver.requests == []


@pytest.mark.parametrize("code", [302, 303, 307])
def test_an_apprise_redirect_to_another_internal_port_is_not_followed(
    db, receiver, other_receiver, code
):
    channel = services.channel_create(
        name="chat", kind="apprise", target=f"json://127.0.0.1:{receiver.port}/apprise"
    )
    receiver.respond((code, other_receiver.url("/internal")))

    [result] = services.send_test(channel_ids=[channel.pk], now=T0)

    assert result.status == "failed"
    assert str(code) in result.error
    assert len(receiver.requests) == 1
    assert other_receiver.requests == []


def test_send_results_say_what_happened_without_socket_details(db, receiver):
    closed_port = socket.socket()
    closed_port.bind(("127.0.0.1", 0))
    port = closed_port.getsockname()[1]
    closed_port.close()  # nobody listens there now
    refused = services.channel_create(
        name="refused", kind="webhook", target=f"http://127.0.0.1:{port}/hook"
    )
    apprise_refused = services.channel_create(
        name="refused too", kind="apprise", target=f"json://127.0.0.1:{port}/hook"
    )
    unknown = services.channel_create(
        name="nowhere", kind="webhook", target="http://no-such-host.invalid/hook"
    )
    receiver.respond_at("/busy", 503)
    busy = services.channel_create(name="busy", kind="webhook", target=receiver.url("/busy"))

    results = services.send_test(
        channel_ids=[refused.pk, apprise_refused.pk, unknown.pk, busy.pk], now=T0
    )

    assert [(r.status, r.error) for r in results] == [
        ("failed", "Connection refused"),
        ("failed", "Apprise: Connection refused"),
        ("failed", "Cannot resolve the host"),
        ("failed", "Received status code 503"),
    ]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"failed"}


REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("value", "printed"), [(None, "False"), ("true", "True")])
def test_private_targets_are_refused_unless_the_operator_allows_them(tmp_path, value, printed):
    env = {"PATH": "/usr/bin:/bin", "VAR_DIR": str(tmp_path)}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    if value is not None:
        env["NOTIFICATIONS_ALLOW_PRIVATE_TARGETS"] = value
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == printed, result.stderr
