"""Channel input and output. Types are checked here; what a target may be is the transport's
business (`notifications.transports.validate_target`), called by the service."""

from django.utils.functional import lazy
from django.utils.translation import gettext
from rest_framework import serializers

from core.api.fields import StrictBooleanField, StrictCharField
from core.api.serializers import StrictSerializer
from notifications.events import subscribable_events
from notifications.masking import mask_target
from notifications.models import Channel


class StringListField(serializers.ListField):
    """A list of strings, judged whole: one error on the field rather than one per item."""

    child = serializers.CharField(max_length=255)

    def to_internal_value(self, data):
        if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
            raise serializers.ValidationError(gettext("Must be a list of strings."))
        return list(data)


def _events_help() -> str:
    # Read when the schema is built: the apps register their events after this import.
    return "Event names to send; empty means every event. One of: " + ", ".join(
        subscribable_events()
    )


_EVENTS_HELP = lazy(_events_help, str)()


class ChannelInput(StrictSerializer):
    """POST and PUT (PATCH: partial) body of a channel; any other key is a 400 naming it."""

    # Read-only fields of the resource are accepted and dropped, so a GET body can be PUT back.
    ignored_fields = ("id", "last_error", "created_at", "updated_at", "secret")

    name = StrictCharField(max_length=255)
    kind = serializers.ChoiceField(choices=Channel.Kind.choices)
    target = StrictCharField(max_length=2048)
    events = StringListField(default=list, max_length=20, help_text=_EVENTS_HELP)
    monitor_tags = StringListField(default=list, max_length=200)
    reminders = StringListField(
        default=list,
        help_text='Maintenance reminder lead times, e.g. ["72h", "24h", "1h"]: whole minutes, '
        "hours or days (30m, 24h, 7d), each at most 30 days, at most 10.",
    )
    options = serializers.DictField(
        default=dict,
        help_text="Settings of the channel's kind. alertmanager: "
        '{"label": "monitor", "silence_at": "ONGOING"} (the alert label that carries the '
        "monitor tag, default monitor; silence from ONGOING, the default, or from READY). "
        "The other kinds take none.",
    )
    active = StrictBooleanField(default=True)


class ChannelOutput(serializers.ModelSerializer):
    """A channel as every response after its creation shows it: credentials masked."""

    target = serializers.SerializerMethodField(
        help_text="The target with its credentials (URL user and password, tokens in the path, "
        "query values) masked as ****; send it back unchanged to keep them, or a new target."
    )

    class Meta:
        model = Channel
        fields = (
            "id",
            "name",
            "kind",
            "target",
            "events",
            "monitor_tags",
            "reminders",
            "options",
            "active",
            "last_error",
            "created_at",
            "updated_at",
        )

    def get_target(self, channel) -> str:
        return mask_target(channel.kind, channel.target)


class ChannelCreated(ChannelOutput):
    """The create response: the only one that ever shows a webhook's secret and the target in
    full, credentials included."""

    target = serializers.CharField(help_text="The target as sent, shown in full this once.")
    secret = serializers.SerializerMethodField()

    class Meta(ChannelOutput.Meta):
        fields = (*ChannelOutput.Meta.fields, "secret")

    def get_secret(self, channel) -> str | None:
        return channel.secret or None


class DeliveryResultOutput(serializers.Serializer):
    channel_id = serializers.CharField()
    status = serializers.CharField()
    error = serializers.CharField(allow_null=True)


class TestResultOutput(serializers.Serializer):
    deliveries = DeliveryResultOutput(many=True)
