"""Channel input and output. Types are checked here; what a target may be is the transport's
business (`notifications.transports.validate_target`), called by the service."""

from rest_framework import serializers

from notifications.models import Channel


class StrictCharField(serializers.CharField):
    """A JSON string only (DRF would turn 42 into "42")."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false only (DRF would accept "yes", 1, "on")."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StringListField(serializers.ListField):
    """A list of strings, judged whole: one error on the field rather than one per item."""

    child = serializers.CharField()

    def to_internal_value(self, data):
        if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
            raise serializers.ValidationError("Must be a list of strings.")
        return list(data)


class ChannelInput(serializers.Serializer):
    name = StrictCharField(max_length=255)
    kind = serializers.ChoiceField(choices=Channel.Kind.choices)
    target = StrictCharField(max_length=2048)
    events = StringListField(default=list, max_length=20)
    monitor_tags = StringListField(default=list, max_length=200)
    active = StrictBooleanField(default=True)

    # Read-only fields of the resource are accepted and dropped, so a GET body can be PUT back.
    IGNORED = frozenset({"id", "last_error", "created_at", "updated_at", "secret"})

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields) - self.IGNORED)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class ChannelOutput(serializers.ModelSerializer):
    class Meta:
        model = Channel
        fields = (
            "id",
            "name",
            "kind",
            "target",
            "events",
            "monitor_tags",
            "active",
            "last_error",
            "created_at",
            "updated_at",
        )


class ChannelCreated(ChannelOutput):
    """The create response: the only one that ever shows a webhook's secret."""

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
