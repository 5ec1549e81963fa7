"""The email transport against a local SMTP server, and Apprise against the local receiver."""

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from notifications import services
from tests.notifications.conftest import T0, free_port, task_payload, window_payload


def record_task(channel):
    [delivery] = services.notify(
        event="task.created",
        object_key="task:task_abc",
        payload=task_payload(),
        channel_ids=[channel.pk],
        now=T0,
    )
    return delivery


def send(delivery, now=T0):
    return services.delivery_send(delivery_id=delivery.pk, now=now)


def email_channel(address="ada@example.com"):
    return services.channel_create(name="Ada", kind="email", target=address)


def test_it_emails_subject_text_and_html_with_times_in_the_plans_zone(db, smtp):
    delivery = record_task(email_channel())

    assert send(delivery).status == "sent"

    [mail] = smtp.messages
    assert smtp.envelopes[0].rcpt_tos == ["ada@example.com"]
    assert mail["From"] == "maintenance@example.com"
    assert mail["To"] == "ada@example.com"
    assert mail["X-Event"] == "task.created"
    assert mail["X-Delivery-Id"] == delivery.pk
    # 08:00 UTC in July is 10:00 in Berlin, summer time, and the zone is named.
    assert mail["Subject"] == (
        "[MAN-042] New task: Replace filters & check belts, "
        "due Thu 02 Jul 2026, 10:00 CEST (Europe/Berlin)"
    )
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "Deadline:  Fri 03 Jul 2026, 10:00 CEST (Europe/Berlin)" in text
    assert "Replace filters & check belts" in text  # plain text is not HTML-escaped
    assert "Use the <blue> filters." in text
    assert "Replace filters &amp; check belts" in html  # HTML is
    assert "Use the &lt;blue&gt; filters." in html
    assert "Assignee" in html and "Ada" in html


def test_it_shows_winter_time_in_winter(db, smtp):
    channel = email_channel()
    payload = task_payload()
    payload["task"]["due_at"] = "2026-12-01T08:00:00Z"
    [delivery] = services.notify(
        event="task.overdue", object_key="task:t", payload=payload, channel_ids=[channel.pk]
    )

    send(delivery, now=delivery.next_attempt_at)

    text = smtp.messages[0].get_body(("plain",)).get_content()
    assert "Due:       Tue 01 Dec 2026, 09:00 CET (Europe/Berlin)" in text
    assert smtp.messages[0]["Subject"] == "[MAN-042] Overdue: Replace filters & check belts"


def test_a_rejected_address_fails_at_once(db, smtp):
    delivery = record_task(email_channel("rejected@example.com"))

    failed = send(delivery)

    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.last_error == "Address rejected: 550 5.1.1 No such user here"
    assert smtp.messages == []


def test_a_mailbox_that_says_later_is_retried(db, smtp):
    delivery = record_task(email_channel("busy@example.com"))

    later = send(delivery)

    assert (later.status, later.attempts) == ("pending", 1)
    assert later.last_error.startswith("Address rejected: 451")


def test_an_smtp_server_that_is_down_is_retried(db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    delivery = record_task(email_channel())

    down = send(delivery)

    assert down.status == "pending"
    assert down.last_error.startswith("Cannot send email: ConnectionRefusedError")


REPO_ROOT = Path(__file__).resolve().parents[2]
PRINT_EMAIL_SETTINGS = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_HOST_USER, "
    "s.EMAIL_HOST_PASSWORD, s.EMAIL_USE_TLS, s.EMAIL_TIMEOUT)"
)


@pytest.mark.parametrize(
    ("email_url", "printed"),
    [
        (None, "django.core.mail.backends.console.EmailBackend localhost 25   False 10"),
        (
            "smtp+tls://alerts:s%40cret@mail.example.com:587",
            "django.core.mail.backends.smtp.EmailBackend "
            "mail.example.com 587 alerts s@cret True 10",
        ),
    ],
)
def test_email_goes_to_the_console_unless_email_url_names_a_server(tmp_path, email_url, printed):
    env = {"PATH": "/usr/bin:/bin", "VAR_DIR": str(tmp_path)}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    if email_url:
        env["EMAIL_URL"] = email_url
    result = subprocess.run(
        [sys.executable, "-c", PRINT_EMAIL_SETTINGS],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == printed, result.stderr


def test_a_bad_email_url_stops_the_process(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "VAR_DIR": str(tmp_path), "EMAIL_URL": "pigeon://coop"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "EMAIL_URL is not a valid email URL" in result.stderr


def apprise_channel(receiver, path="/apprise", **fields):
    return services.channel_create(
        name="chat", kind="apprise", target=f"json://127.0.0.1:{receiver.port}{path}", **fields
    )


def test_it_sends_through_apprise(db, receiver):
    delivery = record_task(apprise_channel(receiver))

    assert send(delivery).status == "sent"

    [request] = receiver.requests
    assert request.path == "/apprise"
    assert request.json["title"] == (
        "[MAN-042] New task: Replace filters & check belts, "
        "due Thu 02 Jul 2026, 10:00 CEST (Europe/Berlin)"
    )
    assert "Deadline:  Fri 03 Jul 2026, 10:00 CEST (Europe/Berlin)" in request.json["message"]


def test_it_sends_window_events_through_apprise_in_the_windows_zone(db, receiver):
    apprise_channel(receiver, monitor_tags=["api"])
    [delivery] = services.notify(
        event="maintenance.ready",
        object_key="event:42:READY",
        payload=window_payload(),
        monitor_tags=["api", "db"],
        now=T0,
    )

    send(delivery)

    message = receiver.requests[0].json
    assert message["title"] == (
        "Maintenance starting soon: Database upgrade at Wed 01 Jul 2026, 04:05 EDT "
        "(America/New_York)"
    )
    assert "Monitors:    api (MAINTENANCE)" in message["message"]


def test_apprise_failures_are_retried_then_succeed(db, receiver):
    delivery = record_task(apprise_channel(receiver))
    receiver.respond(500)

    failed = send(delivery)
    assert failed.status == "pending"
    assert failed.last_error.startswith("Apprise: ")
    assert "500" in failed.last_error

    assert send(delivery, now=failed.next_attempt_at).status == "sent"


def test_a_hung_apprise_receiver_times_out_and_is_retried(db, receiver):
    delivery = record_task(apprise_channel(receiver))
    receiver.respond("hang")

    started = time.monotonic()
    hung = send(delivery)

    assert time.monotonic() - started < 5
    assert hung.status == "pending"
    assert send(delivery, now=hung.next_attempt_at + timedelta(seconds=1)).status == "sent"
