"""Query parameters of the v4 lists. A bad value is a 400 naming the parameter, never ignored."""

from datetime import UTC, datetime

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from scheduling.api.serializers import MAX_UNIX_SECONDS, worded
from scheduling.models import EventStatus, Maintenance, MaintenanceEvent, MaintenanceMonitor
from scheduling.selectors import MAX_ID


class UpperChoiceField(forms.ChoiceField):
    """A choice matched case-insensitively (`ongoing` is ONGOING)."""

    def valid_value(self, value) -> bool:
        return super().valid_value(str(value).upper())

    def clean(self, value):
        return super().clean(value).upper()


# Built when the module loads, worded when a value is refused (`worded`): in the language of
# that request. Django fills in `%(value)s` itself.


def _choice_messages(name: str, choices) -> dict:
    allowed = ", ".join(value for value, _ in choices)
    message = worded(
        gettext_lazy("Invalid %(field)s '%(value)s'. Must be one of: %(allowed)s"),
        field=name,
        value="%(value)s",
        allowed=allowed,
    )
    return {"invalid_choice": message}


def _integer_messages(name: str, template) -> dict:
    message = worded(template, field=name)
    return {"invalid": message, "min_value": message, "max_value": message}


class UpperChoiceFilter(filters.ChoiceFilter):
    field_class = UpperChoiceField


@extend_schema_field(OpenApiTypes.INT)
class IntegerFilter(filters.Filter):
    field_class = forms.IntegerField


class MaintenanceFilter(filters.FilterSet):
    status = UpperChoiceFilter(
        choices=Maintenance.Status.choices,
        error_messages=_choice_messages("status", Maintenance.Status.choices),
    )
    monitor_tag = filters.CharFilter(method="filter_monitor_tag", help_text="A monitor's tag.")

    class Meta:
        model = Maintenance
        fields = ["status", "monitor_tag"]

    def filter_monitor_tag(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        links = MaintenanceMonitor.objects.filter(monitor__tag=value)
        return queryset.filter(pk__in=links.values("maintenance_id"))


class EventFilter(filters.FilterSet):
    """Filters of the global event list. Without `event_start_date_time` the view keeps the
    events that have not ended yet."""

    event_start_date_time = IntegerFilter(
        field_name="start_date_time",
        method="filter_start",
        min_value=0,
        max_value=MAX_UNIX_SECONDS,
        error_messages=_integer_messages(
            "event_start_date_time",
            gettext_lazy("%(field)s must be an integer (Unix seconds) before 2200"),
        ),
        help_text="Events starting at or after this instant (Unix seconds). Default: the "
        "events that have not ended yet.",
    )
    event_status = UpperChoiceFilter(
        field_name="live_status",
        choices=EventStatus.choices,
        error_messages=_choice_messages("event_status", EventStatus.choices),
        help_text="Status at the time of the request (case-insensitive).",
    )
    monitors = filters.CharFilter(
        method="filter_monitors", help_text="Comma-separated monitor tags; any may match."
    )
    maintenance_id = IntegerFilter(
        min_value=1,
        max_value=MAX_ID,
        error_messages=_integer_messages(
            "maintenance_id", gettext_lazy("%(field)s must be a positive integer")
        ),
    )

    class Meta:
        model = MaintenanceEvent
        fields = ["event_start_date_time", "event_status", "monitors", "maintenance_id"]

    def filter_start(self, queryset: QuerySet, name: str, value: int) -> QuerySet:
        return queryset.filter(start_date_time__gte=datetime.fromtimestamp(value, tz=UTC))

    def filter_monitors(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        tags = [tag.strip() for tag in value.split(",") if tag.strip()]
        if not tags:
            return queryset
        links = MaintenanceMonitor.objects.filter(monitor__tag__in=tags)
        return queryset.filter(maintenance_id__in=links.values("maintenance_id"))
