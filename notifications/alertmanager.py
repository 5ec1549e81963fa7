"""Alertmanager channels: a maintenance occurrence silences its monitors' alerts.

The channel's target is the base URL of a Prometheus Alertmanager; its options say which
alert label carries the monitor tag (``label``, default ``monitor``) and when the silence
begins (``silence_at``: ``ONGOING``, the default, when the occurrence starts, or ``READY``,
when it is announced as starting soon). Through Alertmanager's API v2:

- the notice that puts the occurrence in force creates a silence (``POST /api/v2/silences``)
  whose matchers are ``<label>="tag"`` (one monitor) or ``<label>=~"tag1|tag2"`` (several,
  each regex-escaped), ending at the occurrence's end;
- a later notice that moves it, or changes its title or monitors (the update notice),
  posts the silence again with its id (Alertmanager updates it in place when it can, or
  replaces it and answers with the new id, which is kept);
- ``completed`` / ``cancelled`` expire it (``DELETE /api/v2/silence/{id}``).

Each of these is a delivery like any other: recorded once per channel, retried with backoff
on a temporary failure, failed on a 4xx. What the channel knows of each occurrence is a
`Silence` row. This module knows no domain app; it reads the documented shape of window
payloads (documented by the app that sends them): ``occurrence`` {``id``, ``start_at``, ``end_at``,
``status``}, ``maintenance`` {``id``, ``title``} and ``monitors`` [{``monitor_tag``}]; a
notification without an ``occurrence`` means nothing to it and is never recorded for it.
"""

import json
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from core.context import request_id_headers
from notifications import egress
from notifications.events import TEST
from notifications.messages import Message, json_default
from notifications.models import SENDING_LEASE, Channel, Silence
from notifications.transports import (
    Transport,
    TransportError,
    _http_error,
    _vet,
    guarded_request,
    register,
)

DEFAULT_LABEL = "monitor"
SILENCE_AT = ("ONGOING", "READY")
# The occurrence statuses in which the silence is in force, by the channel's `silence_at`.
IN_FORCE = {"ONGOING": {"ONGOING"}, "READY": {"READY", "ONGOING"}}
ENDED = {"COMPLETED", "CANCELLED"}
# Prometheus label names (a leading "__" is reserved for Prometheus's own labels).
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]{0,99}")
CREATED_BY = "maintenance-scheduler"
_HOST_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


@dataclass(frozen=True)
class _Notice:
    """What one window payload says about its occurrence."""

    key: str
    status: str
    start: datetime
    end: datetime
    tags: list[str]
    comment: str

    @classmethod
    def of(cls, payload: dict) -> "_Notice":
        occurrence, maintenance = payload["occurrence"], payload.get("maintenance") or {}
        title = maintenance.get("title") or "Maintenance"
        return cls(
            key=f"occurrence:{occurrence['id']}",
            status=occurrence["status"],
            start=datetime.fromisoformat(occurrence["start_at"]),
            end=datetime.fromisoformat(occurrence["end_at"]),
            tags=sorted({m["monitor_tag"] for m in payload.get("monitors") or ()}),
            comment=f"{title} (maintenance {maintenance.get('id')}, event {occurrence['id']})",
        )


def matchers(label: str, tags: list[str]) -> list[dict]:
    """The silence's matchers: none without a monitor (Alertmanager refuses such a silence,
    and silencing everything is never meant)."""
    if not tags:
        return []
    if len(tags) == 1:
        return [{"name": label, "value": tags[0], "isRegex": False, "isEqual": True}]
    # Alertmanager anchors the expression; RE2 reads Python's escapes of punctuation.
    value = "|".join(re.escape(tag) for tag in tags)
    return [{"name": label, "value": value, "isRegex": True, "isEqual": True}]


@register
class Alertmanager(Transport):
    kind = Channel.Kind.ALERTMANAGER
    _validator = URLValidator(schemes=["http", "https"])

    @classmethod
    def validate_target(cls, target: str) -> str:
        invalid = ValidationError(
            gettext(
                "'%(target)s' is not a valid http(s) URL of an Alertmanager "
                "(e.g. http://alertmanager:9093)."
            )
            % {"target": target}
        )
        try:
            cls._validator(target)
        except ValidationError:
            # Django's validator wants a dotted name; an Alertmanager is often reached by a
            # bare service name (http://alertmanager:9093), which is a host all the same.
            try:
                parts = urlsplit(target)
                parts.port  # noqa: B018 - raises ValueError for a bad port
            except ValueError:
                raise invalid from None
            if parts.scheme not in ("http", "https") or not _HOST_LABEL.fullmatch(
                parts.hostname or ""
            ):
                raise invalid from None
        parts = urlsplit(target)
        if parts.query or parts.fragment:
            raise ValidationError(
                gettext("An Alertmanager URL is its base URL: no query string or fragment.")
            )
        _vet(egress.vet_url, target)
        return target.rstrip("/")

    @classmethod
    def validate_options(cls, options: dict) -> dict:
        unknown = sorted(set(options) - {"label", "silence_at"})
        if unknown:
            raise ValidationError(
                gettext(
                    "options.%(option)s: unknown option; an alertmanager channel takes "
                    "label and silence_at."
                )
                % {"option": unknown[0]}
            )
        label = options.get("label", DEFAULT_LABEL)
        if not isinstance(label, str) or not _LABEL_NAME.fullmatch(label):
            raise ValidationError(
                gettext(
                    "options.label: %(label)s is not a Prometheus label name "
                    "(letters, digits and underscores, not starting with a digit; at most 100)."
                )
                % {"label": repr(label)}
            )
        if label.startswith("__"):
            raise ValidationError(gettext("options.label: names starting with __ are reserved."))
        silence_at = options.get("silence_at", "ONGOING")
        if silence_at not in SILENCE_AT:
            raise ValidationError(
                gettext("options.silence_at: %(value)s is not one of %(allowed)s.")
                % {"value": repr(silence_at), "allowed": ", ".join(SILENCE_AT)}
            )
        return {"label": label, "silence_at": silence_at}

    @classmethod
    def accepts(cls, payload: dict) -> bool:
        return isinstance(payload.get("occurrence"), dict)

    # --- sending ------------------------------------------------------------------------

    @property
    def options(self) -> dict:
        return self.validate_options(self.channel.options or {})

    def _url(self, path: str) -> str:
        return f"{self.channel.target.rstrip('/')}/api/v2/{path}"

    def _call(self, method: str, path: str, body: dict | None = None):
        headers = {"User-Agent": "maintenance-scheduler-notifications", **request_id_headers()}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body, separators=(",", ":")).encode()
        return guarded_request(
            method, self._url(path), data=data, headers=headers, redact=self.redact
        )

    def send(self, message: Message) -> None:
        if message.event == TEST:
            # A test asks whether Alertmanager answers; it silences nothing.
            response = self._call("GET", "status")
            if not 200 <= response.status_code < 300:
                raise _http_error(response.status_code)
            return
        notice = _Notice.of(message.delivery.payload)
        now = timezone.now()
        row = self._claim(notice.key, now)
        try:
            # The newest notice says what is wanted, whatever order they arrive in.
            if row.revision is None or message.delivery.created_at >= row.revision:
                row.status, row.starts_at, row.ends_at = notice.status, notice.start, notice.end
                row.matchers = matchers(self.options["label"], notice.tags)
                row.comment, row.revision = notice.comment, message.delivery.created_at
            self._reconcile(row, now)
        finally:
            row.lease_until = None
            row.save()

    def _claim(self, key: str, now: datetime) -> Silence:
        row, _ = Silence.objects.get_or_create(channel=self.channel, window_key=key)
        claimed = (
            Silence.objects.filter(pk=row.pk)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .update(lease_until=now + SENDING_LEASE)
        )
        if not claimed:
            # Temporary: retried with backoff once the other notice is through.
            raise TransportError(gettext("Another notice of this maintenance is being applied"))
        row.refresh_from_db()
        return row

    def _reconcile(self, row: Silence, now: datetime) -> None:
        """Bring Alertmanager to what ``row`` wants; the row records what it did."""
        State = Silence.State
        if row.state == State.EXPIRED:
            return  # the occurrence is over; nothing brings its silence back
        if row.status in ENDED or not row.matchers:
            if row.state == State.ACTIVE and row.silence_id:
                self._expire(row.silence_id)
            row.state = State.EXPIRED if row.status in ENDED else State.WAITING
            if row.state == State.WAITING:
                row.silence_id = ""
            return
        in_force = row.status in IN_FORCE[self.options["silence_at"]]
        if row.state != State.ACTIVE and not in_force:
            return  # not yet: the notice that puts it in force creates the silence
        if row.ends_at <= now:
            return  # over by now; Alertmanager refuses a silence that ends in the past
        starts = json_default(now if in_force else row.starts_at)
        if row.state == State.ACTIVE and in_force:
            posted = self._get(row.silence_id)
            if posted is not None and posted.get("status", {}).get("state") == "active":
                # Its own start, so that Alertmanager can update it in place (same id).
                starts = posted.get("startsAt") or starts
        body = {
            "matchers": row.matchers,
            "startsAt": starts,
            "endsAt": json_default(row.ends_at),
            "createdBy": CREATED_BY,
            "comment": row.comment,
        }
        row.silence_id = self._post(body, silence_id=row.silence_id or None)
        row.state = State.ACTIVE

    def _post(self, body: dict, *, silence_id: str | None) -> str:
        response = self._call(
            "POST", "silences", {**body, "id": silence_id} if silence_id else body
        )
        if response.status_code == 404 and silence_id:
            # Gone from Alertmanager (its storage was reset, say): a new one.
            response = self._call("POST", "silences", body)
        if not 200 <= response.status_code < 300:
            raise _http_error(response.status_code)
        try:
            return str(response.json()["silenceID"])
        except (ValueError, KeyError, TypeError):
            raise TransportError(gettext("Alertmanager answered without a silence id")) from None

    def _get(self, silence_id: str) -> dict | None:
        response = self._call("GET", f"silence/{quote(silence_id, safe='')}")
        if response.status_code == 404:
            return None
        if not 200 <= response.status_code < 300:
            raise _http_error(response.status_code)
        try:
            return response.json()
        except ValueError:
            return None

    def _expire(self, silence_id: str) -> None:
        response = self._call("DELETE", f"silence/{quote(silence_id, safe='')}")
        if 200 <= response.status_code < 300:
            return
        # Alertmanager answers 500 for a silence it does not know: one that is gone or
        # already expired is what we wanted.
        posted = self._get(silence_id)
        if posted is None or posted.get("status", {}).get("state") == "expired":
            return
        raise _http_error(response.status_code)
