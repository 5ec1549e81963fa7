"""Read queries other apps may use without knowing the notification models."""

from notifications.models import Channel


def unknown_channel_ids(channel_ids: list[str]) -> list[str]:
    """The ids among ``channel_ids`` that name no channel, in the order given.

    For validating a plan's ``notification_channel_ids`` (a 400 naming the field).
    """
    known = set(Channel.objects.filter(pk__in=channel_ids).values_list("pk", flat=True))
    return [channel_id for channel_id in dict.fromkeys(channel_ids) if channel_id not in known]
