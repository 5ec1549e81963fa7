"""Transports: how a message leaves for one kind of channel.

A small registry of classes with one contract, as healthchecks does it: ``send(message)``
returns on success and raises `TransportError` otherwise, flagged ``permanent`` when trying
again cannot help (the receiver said 4xx other than 408/429, the address was rejected, the
target cannot be parsed). Everything else (timeouts, refused connections, 5xx) is temporary
and retried with backoff by the delivery service.

Each transport also validates its channel's ``target`` (API and admin call
`validate_target`).
"""

import hashlib
import hmac
import smtplib
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import apprise
import requests
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email

from core.context import request_id_headers
from notifications.messages import Message
from notifications.models import Channel


class TransportError(Exception):
    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


class Transport:
    kind: ClassVar[str]

    def __init__(self, channel: Channel):
        self.channel = channel

    @classmethod
    def validate_target(cls, target: str) -> str:
        """The normalized target, or a ValidationError saying what is wrong with it."""
        raise NotImplementedError

    def send(self, message: Message) -> None:
        raise NotImplementedError


TRANSPORTS: dict[str, type[Transport]] = {}


def register(cls: type[Transport]) -> type[Transport]:
    TRANSPORTS[cls.kind] = cls
    return cls


def transport_for(channel: Channel) -> Transport:
    return TRANSPORTS[channel.kind](channel)


def validate_target(kind: str, target) -> str:
    if not isinstance(target, str) or not target.strip():
        raise ValidationError("This field may not be blank.")
    if kind not in TRANSPORTS:
        raise ValidationError(f"Unknown channel kind '{kind}'.")
    return TRANSPORTS[kind].validate_target(target.strip())


def _timeout() -> float:
    return float(settings.NOTIFICATIONS_HTTP_TIMEOUT)


def _http_error(status: int) -> TransportError:
    # 408 (timeout) and 429 (slow down) say "later"; any other 4xx says "never like this",
    # and so does a redirect, which we do not follow (a redirected POST loses its body).
    if 300 <= status < 400:
        return TransportError(
            f"Received status code {status} (redirects are not followed)", permanent=True
        )
    permanent = 400 <= status < 500 and status not in (408, 429)
    return TransportError(f"Received status code {status}", permanent=permanent)


@register
class Email(Transport):
    """Django's email backend: SMTP from ``EMAIL_URL`` in production, console by default."""

    kind = Channel.Kind.EMAIL

    @classmethod
    def validate_target(cls, target: str) -> str:
        try:
            validate_email(target)
        except ValidationError:
            raise ValidationError(f"'{target}' is not a valid email address.") from None
        return target

    def send(self, message: Message) -> None:
        email = mail.EmailMultiAlternatives(
            subject=message.subject,
            body=message.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[self.channel.target],
            headers={"X-Event": message.event, "X-Delivery-Id": message.delivery.id},
        )
        email.attach_alternative(message.html, "text/html")
        try:
            email.send()
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise TransportError(
                f"Address rejected: {code} {_decode(reply)}", permanent=code >= 500
            ) from exc
        except smtplib.SMTPResponseException as exc:
            # 5xx is the server's final answer (RFC 5321 §4.2.1); 4xx asks us to come back.
            raise TransportError(
                f"SMTP error {exc.smtp_code}: {_decode(exc.smtp_error)}",
                permanent=exc.smtp_code >= 500,
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:  # connection refused, timeout, TLS
            raise TransportError(f"Cannot send email: {exc.__class__.__name__}: {exc}") from exc


def _decode(reply) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


@register
class Webhook(Transport):
    """A JSON POST signed with the channel's secret.

    ``X-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` lets the receiver check that the
    body came from us, untouched; it must compute the HMAC over the bytes it received, before
    parsing them.
    """

    kind = Channel.Kind.WEBHOOK
    _validator = URLValidator(schemes=["http", "https"])

    @classmethod
    def validate_target(cls, target: str) -> str:
        try:
            cls._validator(target)
        except ValidationError:
            raise ValidationError(f"'{target}' is not a valid http(s) URL.") from None
        return target

    @staticmethod
    def signature(secret: str, body: bytes) -> str:
        return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()

    def send(self, message: Message) -> None:
        body = message.body
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "maintenance-scheduler-notifications",
            "X-Event": message.event,
            "X-Delivery-Id": message.delivery.id,
            "X-Signature": self.signature(self.channel.secret, body),
            **request_id_headers(),  # the request (or job) that caused it, for tracing
        }
        try:
            response = requests.post(
                self.channel.target,
                data=body,
                headers=headers,
                timeout=_timeout(),
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            raise TransportError(f"Timed out after {_timeout():g} s") from exc
        except requests.RequestException as exc:
            raise TransportError(f"Connection failed: {exc.__class__.__name__}") from exc
        if not 200 <= response.status_code < 300:
            raise _http_error(response.status_code)


@register
class Apprise(Transport):
    """Any Apprise URL (Slack, Teams, Discord, Telegram, ntfy, …): Apprise owns the protocols.

    Apprise reports success or failure per service, not why, so its failures are retried as
    temporary; only a URL it cannot load is permanent.
    """

    kind = Channel.Kind.APPRISE

    @classmethod
    def validate_target(cls, target: str) -> str:
        if apprise.Apprise.instantiate(target) is None:
            raise ValidationError(
                f"'{target}' is not a valid Apprise URL (see the Apprise wiki for the "
                "supported services and their URL formats)."
            )
        return target

    def send(self, message: Message) -> None:
        service = apprise.Apprise.instantiate(self.channel.target)
        if service is None:
            raise TransportError("Not a valid Apprise URL", permanent=True)
        # Our timeout applies unless the URL sets Apprise's own (cto=, rto=).
        options = parse_qs(urlsplit(self.channel.target).query)
        if "cto" not in options:
            service.socket_connect_timeout = _timeout()
        if "rto" not in options:
            service.socket_read_timeout = _timeout()
        sender = apprise.Apprise()
        sender.add(service)
        result = sender.notify(
            body=message.text,
            title=message.subject,
            body_format=apprise.NotifyFormat.TEXT,
            # A hard stop for the whole call, in case a plugin ignores its socket timeouts.
            timeout=4 * _timeout(),
        )
        if not result:
            logs = [entry.message for entry in result.logs() if entry.level != "DEBUG"]
            reason = logs[-1] if logs else result.status.name.lower()
            raise TransportError(f"Apprise: {reason}")
