"""A form field for choosing notification channels in the admin (plans, escalations,
report schedules): the channels listed by name and kind, inactive ones marked, in the admin's
own two-box picker (FilteredSelectMultiple, served from our origin, so the CSP allows it).

It cleans to a list of channel ids, as the services' specs take them. Whether each id names a
channel is the service's to say, in the API's words on the same field: the field offers a
stored id whose channel has gone (marked "not found") instead of dropping it silently."""

from django import forms
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from notifications.models import Channel

MAX_CHANNELS = 50  # as the API's channel-id lists


def channel_label(channel: Channel) -> str:
    label = f"{channel.name} ({channel.get_kind_display()})"
    if not channel.active:
        return gettext("%(channel)s — inactive") % {"channel": label}
    return label


def channel_choices() -> list[tuple[str, str]]:
    return [
        (channel.pk, channel_label(channel))
        for channel in Channel.objects.only("id", "name", "kind", "active").order_by("name", "id")
    ]


class ChannelsField(forms.MultipleChoiceField):
    """Channel ids picked from the existing channels (see the module's docstring)."""

    def __init__(self, *, label, help_text="", required=False, max_items=MAX_CHANNELS):
        self.max_items = max_items
        super().__init__(
            choices=channel_choices,
            required=required,
            label=label,
            help_text=help_text,
            widget=FilteredSelectMultiple(label, is_stacked=False),
        )

    def offer(self, ids) -> None:
        """Add options for these ids if they name no channel (a deleted one), so a form
        showing them keeps them until the operator removes them."""
        choices = list(self.choices)
        known = {value for value, _label in choices}
        missing = [i for i in dict.fromkeys(ids or ()) if i and i not in known]
        if missing:
            self.choices = choices + [
                (i, gettext("%(id)s (not found)") % {"id": i}) for i in missing
            ]

    def valid_value(self, value) -> bool:
        # The services check that each id exists and answer on this field.
        return True

    def validate(self, value) -> None:
        super().validate(value)
        if len(set(value)) != len(value):
            raise forms.ValidationError(_("Must not contain duplicates."), code="duplicates")
        if len(value) > self.max_items:
            raise forms.ValidationError(
                _("Choose at most %(count)d channels."),
                code="max_items",
                params={"count": self.max_items},
            )
