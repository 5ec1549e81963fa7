"""Transports: how a message leaves for one kind of channel.

A small registry of classes with one contract, as healthchecks does it: ``send(message)``
returns on success and raises `TransportError` otherwise, flagged ``permanent`` when trying
again cannot help (the receiver said 4xx other than 408/429, the address was rejected, the
target cannot be parsed). Everything else (timeouts, refused connections, 5xx) is temporary
and retried with backoff by the delivery service.

Each transport also validates its channel's ``target`` (API and admin call
`validate_target`).
"""

import base64
import hashlib
import hmac
import smtplib
import sys
import time
from collections.abc import Callable
from typing import ClassVar

import apprise
import requests
from apprise.utils.parse import parse_url
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.utils.translation import gettext, gettext_lazy

from core.context import request_id_headers
from notifications import egress
from notifications.masking import redact
from notifications.messages import Message
from notifications.models import Channel


class TransportError(Exception):
    """A send that failed; ``message`` is in the active language (a worker's is English, a
    send test's the language of its request), as it is recorded and shown."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


class Transport:
    kind: ClassVar[str]

    def __init__(self, channel: Channel):
        self.channel = channel

    def redact(self, text: str) -> str:
        """``text`` with this channel's credentials masked."""
        return redact(text, kind=self.channel.kind, target=self.channel.target)

    @classmethod
    def validate_target(cls, target: str) -> str:
        """The normalized target, or a ValidationError saying what is wrong with it."""
        raise NotImplementedError

    @classmethod
    def validate_options(cls, options: dict) -> dict:
        """The options as stored (defaults filled in), or a ValidationError naming the key."""
        if options:
            raise ValidationError(
                gettext("A %(kind)s channel takes no options.") % {"kind": cls.kind}
            )
        return {}

    @classmethod
    def accepts(cls, payload: dict) -> bool:
        """Whether a notification with this payload means anything to this kind of channel
        (`notify` records none for a channel that would have nothing to do with it)."""
        return True

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
        raise ValidationError(gettext("This field may not be blank."))
    if kind not in TRANSPORTS:
        raise ValidationError(gettext("Unknown channel kind '%(kind)s'.") % {"kind": kind})
    return TRANSPORTS[kind].validate_target(target.strip())


def validate_options(kind: str, options) -> dict:
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise ValidationError(gettext("Must be an object."))
    if kind not in TRANSPORTS:
        return options  # the kind's own error names `kind` (or `target`)
    return TRANSPORTS[kind].validate_options(options)


REFUSED_TARGET = gettext_lazy(
    "This target is not allowed: its host is a cloud metadata name or is (or resolves to) an "
    "address that is not globally routable (loopback, private, link-local, CGNAT, "
    "unique-local, multicast). For receivers on your own network, the operator can set "
    "NOTIFICATIONS_ALLOW_PRIVATE_TARGETS=true."
)


def _vet(check, *args) -> None:
    try:
        check(*args)
    except egress.TargetNotAllowed:
        raise ValidationError(str(REFUSED_TARGET)) from None


def _timeout() -> float:
    return float(settings.NOTIFICATIONS_HTTP_TIMEOUT)


def _http_error(status: int) -> TransportError:
    # 408 (timeout) and 429 (slow down) say "later"; any other 4xx says "never like this",
    # and so does a redirect, which we do not follow (a redirected POST loses its body).
    if 300 <= status < 400:
        return TransportError(
            gettext("Received status code %(status)s (redirects are not followed)")
            % {"status": status},
            permanent=True,
        )
    permanent = 400 <= status < 500 and status not in (408, 429)
    return TransportError(
        gettext("Received status code %(status)s") % {"status": status}, permanent=permanent
    )


def timed_out(seconds: float) -> TransportError:
    return TransportError(gettext("Timed out after %(seconds)s s") % {"seconds": f"{seconds:g}"})


def guarded_request(
    method: str,
    url: str,
    *,
    redact,
    data: bytes | None = None,
    headers: dict | None = None,
):
    """`egress.request` with its failures as `TransportError`s in a few words: what happened,
    never the library's text (it names hosts, ports, errnos)."""
    try:
        return egress.request(
            method, url, data=data, headers=headers, timeout=_timeout(), redact=redact
        )
    except egress.TargetNotAllowed as exc:
        raise TransportError(egress.shown(egress.NOT_ALLOWED), permanent=True) from exc
    except requests.Timeout as exc:
        raise timed_out(_timeout()) from exc
    except egress.ConnectionFailed as exc:
        raise TransportError(egress.shown(exc.outcome)) from exc
    except requests.RequestException as exc:
        raise TransportError(
            gettext("Connection failed (%(error)s)") % {"error": exc.__class__.__name__}
        ) from exc


@register
class Email(Transport):
    """Django's email backend: SMTP from ``EMAIL_URL`` in production, console by default."""

    kind = Channel.Kind.EMAIL

    @classmethod
    def validate_target(cls, target: str) -> str:
        try:
            validate_email(target)
        except ValidationError:
            raise ValidationError(
                gettext("'%(target)s' is not a valid email address.") % {"target": target}
            ) from None
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
        for filename, content, mimetype in email_attachments(message):
            email.attach(filename, content, mimetype)
        try:
            email.send()
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise TransportError(
                gettext("Address rejected: %(code)s %(reply)s")
                % {"code": code, "reply": _decode(reply)},
                permanent=code >= 500,
            ) from exc
        except smtplib.SMTPResponseException as exc:
            # 5xx is the server's final answer (RFC 5321 §4.2.1); 4xx asks us to come back.
            raise TransportError(
                gettext("SMTP error %(code)s: %(reply)s")
                % {"code": exc.smtp_code, "reply": _decode(exc.smtp_error)},
                permanent=exc.smtp_code >= 500,
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:  # connection refused, timeout, TLS
            raise TransportError(
                gettext("Cannot send email: %(error)s")
                % {"error": f"{exc.__class__.__name__}: {exc}"}
            ) from exc


# Files an event's emails carry, by event name: the owning app registers a function from the
# delivery's payload to (filename, content, mimetype) triples (a report attaches its files).
# Read at send time, so the payload names the files instead of holding their bytes.
EMAIL_ATTACHMENTS: dict[str, Callable[[dict], list[tuple[str, bytes, str]]]] = {}


def register_email_attachments(
    event: str, loader: Callable[[dict], list[tuple[str, bytes, str]]]
) -> None:
    """Attach ``loader(payload)``'s files to every email of ``event`` (for an app's ready())."""
    EMAIL_ATTACHMENTS[event] = loader


def email_attachments(message: Message) -> list[tuple[str, bytes, str]]:
    loader = EMAIL_ATTACHMENTS.get(message.event)
    return loader(message.delivery.payload) if loader is not None else []


def _decode(reply) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


@register
class Webhook(Transport):
    """A JSON POST signed with the channel's secret.

    Two signatures of the same bytes, both keyed with the UTF-8 bytes of the secret:

    - ``X-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` (the original one);
    - Standard Webhooks (standardwebhooks.com): ``webhook-id`` (the delivery id, the same on
      every retry of a delivery: the receiver's deduplication key), ``webhook-timestamp``
      (Unix seconds of this attempt) and ``webhook-signature: v1,<base64 HMAC-SHA256 of
      "id.timestamp.body">``, so a receiver can also refuse replays of old requests.

    The receiver must compute the HMAC over the bytes it received, before parsing them.
    """

    kind = Channel.Kind.WEBHOOK
    _validator = URLValidator(schemes=["http", "https"])

    @classmethod
    def validate_target(cls, target: str) -> str:
        try:
            cls._validator(target)
        except ValidationError:
            raise ValidationError(
                gettext("'%(target)s' is not a valid http(s) URL.") % {"target": target}
            ) from None
        _vet(egress.vet_url, target)
        return target

    @staticmethod
    def signature(secret: str, body: bytes) -> str:
        return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()

    @staticmethod
    def standard_signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
        signed = f"{webhook_id}.{timestamp}.".encode() + body
        digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
        return "v1," + base64.b64encode(digest).decode()

    def standard_headers(self, webhook_id: str, body: bytes) -> dict[str, str]:
        timestamp = int(time.time())
        return {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": self.standard_signature(
                self.channel.secret, webhook_id, timestamp, body
            ),
        }

    def send(self, message: Message) -> None:
        body = message.body
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "maintenance-scheduler-notifications",
            "X-Event": message.event,
            "X-Delivery-Id": message.delivery.id,
            "X-Signature": self.signature(self.channel.secret, body),
            **self.standard_headers(message.delivery.id, body),
            **request_id_headers(),  # the request (or job) that caused it, for tracing
        }
        response = guarded_request(
            "POST", self.channel.target, data=body, headers=headers, redact=self.redact
        )
        if not 200 <= response.status_code < 300:
            raise _http_error(response.status_code)


@register
class Apprise(Transport):
    """Any Apprise URL that talks HTTP(S) (Slack, Teams, Discord, Telegram, ntfy, json://, …):
    Apprise owns the protocols, `egress.guard` owns where they may connect.

    Refused as targets: services that do not talk HTTP (mailto://, mqtt://, xmpp://,
    syslog, desktop notifications, …: the guard covers HTTP only), and the parameters that
    turn a chat message into an arbitrary HTTP request (``method=``, ``+Header=``,
    ``-param=``, ``:payload=``). Apprise reports success or failure per service, not why, so
    the reason shown is what the guard saw (refused, timed out, status code); a failure is
    retried as temporary, except a URL it cannot load or an address the guard refused.
    """

    kind = Channel.Kind.APPRISE

    @classmethod
    def validate_target(cls, target: str) -> str:
        service = apprise.Apprise.instantiate(target)
        if service is None:
            raise ValidationError(
                gettext(
                    "'%(target)s' is not a valid Apprise URL (see the Apprise wiki for the "
                    "supported services and their URL formats)."
                )
                % {"target": target}
            )
        if not _talks_http(type(service)):
            raise ValidationError(
                gettext(
                    "Apprise's %(service)s service is not supported: only services that send "
                    "over HTTP(S) are."
                )
                % {"service": service.service_name}
            )
        parsed = parse_url(target, verify_host=False) or {}
        custom = [
            *(f"+{name}" for name in parsed.get("qsd+", {})),
            *(f"-{name}" for name in parsed.get("qsd-", {})),
            *(f":{name}" for name in parsed.get("qsd:", {})),
            *(["method"] if "method" in parsed.get("qsd", {}) else []),
        ]
        if custom:
            raise ValidationError(
                gettext(
                    "Apprise URL parameters that set the HTTP method, headers or payload are "
                    "not allowed: %(parameters)s."
                )
                % {"parameters": ", ".join(custom)}
            )
        # Services with a host of the user's choosing (json://, ntfy:// to your server, …)
        # name it in their URL templates; for the others the API host is Apprise's own.
        if "host" in getattr(service, "template_tokens", {}) and service.host:
            _vet(egress.vet_host, service.host, service.port or 0)
        return target

    def send(self, message: Message) -> None:
        service = apprise.Apprise.instantiate(self.channel.target)
        if service is None:
            raise TransportError(gettext("Not a valid Apprise URL"), permanent=True)
        # Our timeout is the most any attempt may take; the URL (cto=, rto=) may ask for less.
        asked = (parse_url(self.channel.target, verify_host=False) or {}).get("qsd", {})
        timeouts = (("cto", "socket_connect_timeout"), ("rto", "socket_read_timeout"))
        for option, attribute in timeouts:
            own = getattr(service, attribute, None) if option in asked else None
            setattr(service, attribute, min(own or _timeout(), _timeout()))
        sender = apprise.Apprise()
        sender.add(service)
        with egress.guard(redact=self.redact) as seen:
            result = sender.notify(
                body=message.text,
                title=message.subject,
                body_format=apprise.NotifyFormat.TEXT,
                # A hard stop for the whole call, in case a plugin ignores its socket timeouts.
                timeout=_timeout(),
            )
        if seen.outcome == egress.NOT_ALLOWED:
            raise TransportError(egress.shown(egress.NOT_ALLOWED), permanent=True)
        if not result:
            if seen.status is not None and 300 <= seen.status < 400:
                raise _http_error(seen.status)
            reason = seen.describe() or _apprise_reason(result)
            raise TransportError(gettext("Apprise: %(reason)s") % {"reason": reason})


def _talks_http(plugin: type) -> bool:
    # Apprise has no flag for it; the HTTP services are those whose class (or a base, like
    # Guilded's Discord) is written on requests, which the guard covers.
    return any("requests" in vars(sys.modules[base.__module__]) for base in plugin.__mro__[:-1])


def _apprise_reason(result) -> str:
    status = getattr(result, "status", None)
    name = getattr(status, "name", "") or "failed"
    if name.lower() == "timeout":
        return gettext("timed out")
    return gettext("the service did not accept it")


# Registered here, after the kinds above: it builds on this module's helpers.
from notifications import alertmanager  # noqa: E402, F401
