"""Query-parameter filters of the channel list; a bad value is a 400 naming the parameter."""

import django_filters

from notifications.models import Channel


class ChannelFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Channel.Kind.choices)
    # A choice, not a BooleanFilter: that one reads "maybe" as "no filter" instead of a 400.
    active = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")], method="filter_active"
    )

    class Meta:
        model = Channel
        fields = ("kind", "active")

    def filter_active(self, queryset, name, value):
        return queryset.filter(active=value == "true")
