"""Real endpoints for the notification tests: an HTTP receiver and an SMTP server, both local.

`receiver` is an in-process HTTP server on 127.0.0.1 that records every request, checks
webhook signatures and answers from a script (`receiver.respond(500, "hang", 200)`; 200 once
the script is used up). `smtp` is an aiosmtpd server that keeps the mails it accepted and
refuses recipients by name (`rejected@…` 550, `busy@…` 451).
"""

import email
import email.policy
import hashlib
import hmac
import json
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fast_notifications(settings):
    """Short timeouts and few attempts, so failure paths take a second, not an hour.

    The receivers here listen on 127.0.0.1, which production refuses (egress guard): these
    tests allow private targets; the SSRF tests turn that off again (`guarded` fixture).
    """
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = True
    settings.NOTIFICATIONS_HTTP_TIMEOUT = 1
    settings.EMAIL_TIMEOUT = 1
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 10
    settings.NOTIFICATIONS_RETRY_MAX_SECONDS = 60


@pytest.fixture
def guarded(settings):
    """The egress guard as production has it: private targets refused."""
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = False


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool | None
    method: str = "POST"
    standard_signature_ok: bool | None = None  # Standard Webhooks, checked with its library

    @property
    def json(self):
        return json.loads(self.body)


@dataclass
class Receiver:
    port: int = 0
    secrets: dict[str, str] = field(default_factory=dict)  # path -> webhook secret
    requests: list[Received] = field(default_factory=list)
    script: list = field(default_factory=list)
    scripts_by_path: dict[str, list] = field(default_factory=dict)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def respond(self, *answers) -> None:
        """The next answers, in order: a status code, "hang" (never answer) or a redirect
        ``(302, "http://…")``."""
        self.script.extend(answers)

    def respond_at(self, path: str, *answers) -> None:
        """The next answers to requests for ``path`` (for channels tested at the same time)."""
        self.scripts_by_path.setdefault(path, []).extend(answers)

    def next_answer(self, path: str = ""):
        with self.lock:
            if self.scripts_by_path.get(path):
                return self.scripts_by_path[path].pop(0)
            return self.script.pop(0) if self.script else 200


def _standard_signature_ok(secret: str, body: bytes, headers) -> bool:
    try:
        Webhook(secret.encode()).verify(body, dict(headers.items()))
    except WebhookVerificationError:
        return False
    return True


def _handler_for(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            signature_ok = standard_ok = None
            secret = receiver.secrets.get(self.path)
            if secret is not None:
                expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
                signature_ok = hmac.compare_digest(
                    self.headers.get("X-Signature", ""), f"sha256={expected}"
                )
                standard_ok = _standard_signature_ok(secret, body, self.headers)
            receiver.requests.append(
                Received(
                    self.path,
                    dict(self.headers.items()),
                    body,
                    signature_ok,
                    self.command,
                    standard_ok,
                )
            )
            answer = receiver.next_answer(self.path)
            if answer == "hang":
                receiver.release.wait(timeout=10)
                return
            location = None
            if isinstance(answer, tuple):
                answer, location = answer
            self.send_response(answer)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_PUT = do_DELETE = do_PATCH = do_POST

        def log_message(self, *args):
            pass

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that gave up on a hung answer is expected here


@contextmanager
def running_receiver(host: str = "127.0.0.1", port: int = 0):
    state = Receiver()
    server = _QuietServer((host, port), _handler_for(state))
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver():
    with running_receiver() as state:
        yield state


@pytest.fixture
def other_receiver():
    """A second receiver on another port: an internal service a redirect might point to."""
    with running_receiver() as state:
        yield state


@pytest.fixture
def hanging_port():
    """A port that accepts connections (the kernel completes the handshake) and never says a
    word: the worst receiver there is."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


class _MailHandler:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("rejected@"):
            return "550 5.1.1 No such user here"
        if address.startswith("busy@"):
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(settings):
    """A local SMTP server; Django's SMTP backend is pointed at it."""
    handler = _MailHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.DEFAULT_FROM_EMAIL = "maintenance@example.com"
    yield handler
    controller.stop()


def task_payload(**overrides) -> dict:
    """A task.created / task.overdue payload as the maintenance app will send it."""
    payload = {
        "timezone": "Europe/Berlin",
        "task": {
            "id": "task_abc",
            "code": "MAN-042",
            "title": "Replace filters & check belts",
            "description": "Use the <blue> filters.",
            "priority": "high",
            "status": "open",
            "due_at": datetime(2026, 7, 2, 8, 0, tzinfo=UTC),
            "deadline_at": datetime(2026, 7, 3, 8, 0, tzinfo=UTC),
            "asset_ids": ["asset_1"],
            "assignee_id": "tech_1",
        },
        "plan": {"id": "plan_1", "name": "Air handling units"},
        "assignee": {"id": "tech_1", "name": "Ada", "email": "ada@example.com"},
    }
    payload.update(overrides)
    return payload


def window_payload(status: str = "READY", **overrides) -> dict:
    """A maintenance.* payload as the scheduling app will send it."""
    payload = {
        "timezone": "America/New_York",
        "maintenance": {"id": 7, "title": "Database upgrade", "description": None},
        "occurrence": {
            "id": 42,
            "start_at": datetime(2026, 7, 1, 8, 5, tzinfo=UTC),
            "end_at": datetime(2026, 7, 1, 9, 5, tzinfo=UTC),
            "status": status,
        },
        "monitors": [{"monitor_tag": "api", "impact": "MAINTENANCE"}],
    }
    payload.update(overrides)
    return payload


@pytest.fixture
def webhook(db, receiver):
    """Makes webhook channels to the receiver, which checks each one's signature."""
    from notifications import services

    def make(name: str = "ops hook", path: str = "/hook", **fields):
        channel = services.channel_create(
            name=name, kind="webhook", target=receiver.url(path), **fields
        )
        receiver.secrets[path] = channel.secret
        return channel

    return make
