"""Channels (where messages go) and deliveries (one message to one channel, an outbox row).

Nothing here knows plans or windows: a delivery names its cause by an opaque ``object_key``
("task:task_abc", "event:42:READY") that the domain app chose.
"""

import re
import secrets
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext, gettext_lazy

from core.ids import new_id
from notifications.events import NAME_MAX_LENGTH, event_choices, subscribable_events


# Module-level functions so migrations can reference them as field defaults.
def new_channel_id() -> str:
    return new_id("chan")


def new_delivery_id() -> str:
    return new_id("dlv")


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class Channel(models.Model):
    """A destination: an email address, a webhook URL or an Apprise URL.

    ``events`` and ``monitor_tags`` are subscriptions: an empty list means "all". A webhook's
    ``secret`` signs every body; it is shown once, in the response that created the channel,
    and kept here only so the worker can sign (never rendered by the API or the admin).
    """

    class Kind(models.TextChoices):
        EMAIL = "email", gettext_lazy("Email")
        WEBHOOK = "webhook", gettext_lazy("Webhook")
        APPRISE = "apprise", gettext_lazy("Apprise")
        ALERTMANAGER = "alertmanager", gettext_lazy("Alertmanager silences")

    id = models.CharField(primary_key=True, max_length=40, default=new_channel_id, editable=False)
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    target = models.CharField(
        max_length=2048,
        help_text=gettext_lazy(
            "Email address, http(s) URL for a webhook, an Apprise URL "
            "(slack://…, msteams://…, discord://…, tgram://…, ntfy://…), or the base URL of a "
            "Prometheus Alertmanager (http://alertmanager:9093)."
        ),
    )
    secret = models.CharField(max_length=128, blank=True, editable=False)
    events = models.JSONField(
        default=list,
        blank=True,
        help_text=gettext_lazy("Event names to send; empty means every event."),
    )
    monitor_tags = models.JSONField(
        default=list,
        blank=True,
        help_text=gettext_lazy(
            "Monitor tags whose maintenance windows to send; empty means every window."
        ),
    )
    reminders = models.JSONField(
        default=list,
        blank=True,
        help_text=gettext_lazy(
            'Lead times of maintenance reminders, e.g. ["72h", "24h", "1h"] (m, h, d).'
        ),
    )
    options = models.JSONField(
        default=dict,
        blank=True,
        help_text=gettext_lazy(
            "Settings of the channel's kind; alertmanager: "
            '{"label": "monitor", "silence_at": "ONGOING" or "READY"}. Other kinds take none.'
        ),
    )
    active = models.BooleanField(
        default=True, help_text=gettext_lazy("An inactive channel sends nothing.")
    )
    last_error = models.TextField(
        blank=True, help_text=gettext_lazy("The latest delivery's error, if any.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def clean(self) -> None:
        # The admin's forms come through here; the API validates with the same functions.
        from notifications.transports import validate_options, validate_target

        errors = {}
        try:
            self.target = validate_target(self.kind, self.target)
        except ValidationError as exc:
            errors["target"] = exc.messages
        try:
            self.options = validate_options(self.kind, self.options)
        except ValidationError as exc:
            errors["options"] = exc.messages
        try:
            self.events = validate_events(self.events)
        except ValidationError as exc:
            errors["events"] = exc.messages
        try:
            self.monitor_tags = validate_monitor_tags(self.monitor_tags)
        except ValidationError as exc:
            errors["monitor_tags"] = exc.messages
        try:
            self.reminders = validate_reminders(self.reminders)
        except ValidationError as exc:
            errors["reminders"] = exc.messages
        if errors:
            raise ValidationError(errors)

    def wants(self, event: str) -> bool:
        return not self.events or event in self.events

    def hears_window(self, monitor_tags: list[str]) -> bool:
        return not self.monitor_tags or bool(set(self.monitor_tags) & set(monitor_tags))


def validate_events(value) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(gettext("Must be a list of event names."))
    known = subscribable_events()  # whatever the apps registered
    unknown = [v for v in value if v not in known]
    if unknown:
        raise ValidationError(
            gettext("Unknown event '%(value)s'. Must be one of: %(known)s")
            % {"value": unknown[0], "known": ", ".join(known)}
        )
    return list(dict.fromkeys(value))


MAX_REMINDERS = 10
MAX_REMINDER_LEAD = timedelta(days=30)
_LEAD_RE = re.compile(r"([1-9][0-9]{0,5})([mhd])")
_LEAD_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def reminder_lead(text: str) -> timedelta:
    """ "72h" -> 72 hours ("30m", "7d" alike). ValueError for anything else."""
    match = _LEAD_RE.fullmatch(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(text)
    return timedelta(**{_LEAD_UNITS[match.group(2)]: int(match.group(1))})


def validate_reminders(value, *, field_name: str = "reminders") -> list[str]:
    """The lead times as given, or ValidationError naming ``reminders[i]`` (or
    ``<field_name>[i]``): each a whole number of minutes, hours or days ("30m", "24h", "7d"), at
    most 30 days, none repeated (also as another unit), at most 10."""
    if not isinstance(value, list):
        raise ValidationError(gettext('Must be a list of lead times like "24h", "30m" or "7d".'))
    if len(value) > MAX_REMINDERS:
        raise ValidationError(
            gettext("At most %(MAX_REMINDERS)s reminders.") % {"MAX_REMINDERS": MAX_REMINDERS}
        )
    seen: dict[timedelta, int] = {}
    for index, text in enumerate(value):
        field = f"{field_name}[{index}]"
        try:
            lead = reminder_lead(text)
        except ValueError:
            raise ValidationError(
                gettext(
                    "%(field)s: %(text)r is not a lead time; use minutes, hours or days like "
                    '"30m", "24h" or "7d"'
                )
                % {"field": field, "text": text}
            ) from None
        if lead > MAX_REMINDER_LEAD:
            raise ValidationError(
                gettext("%(field)s: %(text)s is longer than 30 days")
                % {"field": field, "text": text}
            )
        if lead in seen:
            raise ValidationError(
                gettext("%(field)s: %(text)s repeats %(field_name)s[%(value)s]")
                % {"field": field, "text": text, "field_name": field_name, "value": seen[lead]}
            )
        seen[lead] = index
    return list(value)


def validate_monitor_tags(value) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValidationError(gettext("Must be a list of monitor tags."))
    if any(len(v) > 100 for v in value):
        raise ValidationError(gettext("A monitor tag is at most 100 characters."))
    return list(dict.fromkeys(v.strip() for v in value))


class Delivery(models.Model):
    """One event sent (or to be sent) to one channel: the outbox row.

    Created in the transaction of the change that caused it, sent by a worker after commit.
    ``(event, object_key, channel)`` is unique, so a cause processed twice delivers once.
    ``next_attempt_at`` is when a pending delivery is due, and for one being sent when its
    worker's claim runs out (a worker that died mid-send is retried after that).
    """

    class Status(models.TextChoices):
        PENDING = "pending", gettext_lazy("Pending")
        SENDING = "sending", gettext_lazy("Sending")
        SENT = "sent", gettext_lazy("Sent")
        FAILED = "failed", gettext_lazy("Failed")
        SKIPPED = (
            "skipped",
            gettext_lazy("Skipped"),
        )  # recorded but never sent: stale when it was due
        CANCELLED = (
            "cancelled",
            gettext_lazy("Cancelled"),
        )  # the channel was disabled before it was sent

    id = models.CharField(primary_key=True, max_length=40, default=new_delivery_id, editable=False)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    # Choices from the registry, read when needed: the apps register their events after
    # this module is imported, and the migrations never list them.
    event = models.CharField(max_length=NAME_MAX_LENGTH, choices=event_choices)
    object_key = models.CharField(max_length=200)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    relevant_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text=gettext_lazy("Not sent after this instant (recorded as skipped)."),
    )
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "id")
        verbose_name_plural = gettext_lazy("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=("event", "object_key", "channel"), name="notifications_delivery_once"
            ),
        ]
        indexes = [
            # The sweep of due retries and of lost claims.
            models.Index(fields=("status", "next_attempt_at"), name="notif_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.channel_id} ({self.status})"

    def is_stale(self, now: datetime) -> bool:
        return self.relevant_until is not None and self.relevant_until < now


# How long a worker may hold a claimed delivery before the sweep gives it to another: far
# longer than a send can take (every transport has a timeout of NOTIFICATIONS_HTTP_TIMEOUT).
SENDING_LEASE = timedelta(minutes=5)


class Silence(models.Model):
    """The Alertmanager silence of one maintenance occurrence on one alertmanager channel.

    Every notice of the occurrence that reaches the channel is applied here, newest first:
    the notice recorded last (``revision``, its delivery's ``created_at``) sets the wanted
    window, whatever order retries deliver them in, so a late "started" never undoes an
    extension. ``silence_id`` is Alertmanager's id of the silence we posted (empty until
    then); ``lease_until`` lets one delivery at a time talk to Alertmanager about it, so two
    notices sent at once never create two silences.
    """

    class State(models.TextChoices):
        WAITING = "waiting", gettext_lazy("Waiting")  # heard of, not silenced yet
        ACTIVE = "active", gettext_lazy("Silenced")  # posted (in force, or pending until its start)
        EXPIRED = "expired", gettext_lazy("Expired")  # the occurrence ended or was cancelled: final

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="silences")
    window_key = models.CharField(
        max_length=200, help_text=gettext_lazy('The occurrence ("occurrence:42").')
    )
    silence_id = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.WAITING)
    status = models.CharField(
        max_length=16, blank=True, help_text=gettext_lazy("Per the newest notice.")
    )
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    matchers = models.JSONField(default=list, blank=True)
    comment = models.TextField(blank=True)
    revision = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "id")
        constraints = [
            models.UniqueConstraint(fields=("channel", "window_key"), name="notif_silence_once"),
        ]

    def __str__(self) -> str:
        return f"{self.window_key} on {self.channel_id} ({self.state})"
