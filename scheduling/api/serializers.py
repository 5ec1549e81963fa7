"""API v4 input validation and output shapes.

Input is strict: every field checks its JSON type itself (DRF would turn `5` into `"5"` for a
string field, `"5"` or `5.0` into `5` for an integer one), every message names its field,
and fields a request schema does not list are a 400 (Kener's request schemas say
`additionalProperties: false`). The read-only fields a client may echo back from a GET
(`id`, `created_at`, `updated_at`) are ignored instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from core.api.fields import (
    LONG_TEXT_MAX_LENGTH,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
    shown,
)
from core.api.serializers import V4StrictSerializer
from core.errors import InvalidInput
from core.i18n import localized
from scheduling.models import (
    MAX_DURATION_SECONDS,
    EventStatus,
    Impact,
    Maintenance,
    MaintenanceEvent,
    Monitor,
)
from scheduling.recurrence import RecurrenceError, parse_timezone
from scheduling.specs import MaintenanceChanges, MaintenanceSpec, MonitorLink

# 1970 < t < 2200: a real date, and far from what datetime or the database cannot hold.
MIN_UNIX_SECONDS = 1
MAX_UNIX_SECONDS = int(datetime(2200, 1, 1, tzinfo=UTC).timestamp()) - 1
MAX_MONITORS = 1000


# The limits of a rule, stated where clients read them (the OpenAPI schema); the README's
# "RRULE limits" says the same.
RRULE_HELP = (
    "RFC 5545 RRULE value; a leading 'RRULE:' is stripped (no DTSTART, TZID, EXDATE or RDATE "
    "inside). Expanded in the window's timezone from start_date_time. Limits: no "
    "FREQ=SECONDLY; FREQ=MINUTELY needs INTERVAL >= 15; occurrences (after BYSETPOS, and "
    "across period boundaries) at least 15 minutes apart; with BYSETPOS at most 1440 "
    "candidate times a day (60 an hour for HOURLY); COUNT <= 1000 and not with UNTIL; a "
    "first occurrence within 10 years of the start; BYWEEKNO weeks belong wholly to the "
    "year their week 1 counts from."
)
START_HELP = (
    "First occurrence (DTSTART): integer UTC Unix seconds, a date in the years 1970 to 2199, "
    "floored to the minute on write."
)


def unix_seconds(dt: datetime) -> int:
    return int(dt.timestamp())


def iso_millis(dt: datetime) -> str:
    """`2026-01-01T00:00:00.000Z`: ISO 8601 in UTC with milliseconds."""
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _evaluated(template, params: dict) -> str:
    return str(template) % params


def worded(template, **params):
    """`template % params` worded when it is shown, in the language of the request then: for
    messages built before any request (a field's error messages, a FilterSet's)."""
    return lazy(_evaluated, str)(template, params)


def _enum(name: str, values: list[str]):
    """Document a choice field as one named enum component (the same choices under several
    field names, and other apps' `status` fields, would otherwise collide in the schema)."""
    return extend_schema_field({"type": "string", "enum": list(values)}, component_name=name)


# --- strict fields -------------------------------------------------------------------------------


class DurationSecondsField(StrictIntegerField):
    too_small = gettext_lazy("%(field)s must be greater than 0")
    too_large = gettext_lazy("%(field)s must be at most %(max_value)s (366 days)")

    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=MAX_DURATION_SECONDS, **kwargs)


class UnixSecondsField(StrictIntegerField):
    """Integer UTC Unix seconds on the wire, floored to the minute on write; a datetime inside."""

    type_message = gettext_lazy("%(field)s must be an integer (Unix seconds)")
    too_small = too_large = gettext_lazy(
        "%(field)s must be a date after 1970 and before 2200 (Unix seconds)"
    )

    def __init__(self, **kwargs):
        super().__init__(min_value=MIN_UNIX_SECONDS, max_value=MAX_UNIX_SECONDS, **kwargs)
        self.validators = []  # DRF's bound validators would compare the datetime with ints

    def to_internal_value(self, data):
        seconds = super().to_internal_value(data)
        return datetime.fromtimestamp(seconds - seconds % 60, tz=UTC)

    def to_representation(self, value: datetime) -> int:
        return unix_seconds(value)


@_enum("MaintenanceStatusEnum", Maintenance.Status.values)
class MaintenanceStatusField(StrictChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=Maintenance.Status.choices, **kwargs)


@_enum("EventTransitionStatusEnum", [EventStatus.COMPLETED, EventStatus.CANCELLED])
class EventTransitionField(StrictChoiceField):
    """COMPLETED or CANCELLED; another known status (ONGOING...) passes this check so that the
    service answers "Cannot transition event from X to Y" rather than "Invalid status"."""

    def __init__(self, **kwargs):
        super().__init__(
            choices=[EventStatus.COMPLETED, EventStatus.CANCELLED],
            accept=EventStatus.values,
            **kwargs,
        )


@_enum("ImpactEnum", Impact.values)
class ImpactField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=Impact.choices, **kwargs)


class TimezoneField(StrictCharField):
    """An IANA zone name; stored as given."""

    def __init__(self, **kwargs):
        super().__init__(max_length=64, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            parse_timezone(value)
        except RecurrenceError as exc:
            raise ValidationError(localized(exc)) from None
        return value


EXDATES_HELP = (
    "Occurrence starts to skip (like EXDATE), integer UTC Unix seconds; each must be an "
    "occurrence of the rule (to the second, not floored), at most 1000. Replaces the whole "
    "list on PATCH."
)


@extend_schema_field(
    {"type": "array", "items": {"type": "integer"}, "maxItems": 1000, "description": EXDATES_HELP}
)
class ExdatesField(serializers.Field):
    """`exdates`: an array of integer Unix seconds; returns aware UTC datetimes, in order.
    Whether each is an occurrence is the service's check (it needs the rule)."""

    def to_internal_value(self, data) -> list[datetime]:
        name = self.field_name
        if not isinstance(data, list):
            raise ValidationError(
                gettext("%(field)s must be an array of integers (Unix seconds)") % {"field": name}
            )
        if len(data) > 1000:
            raise ValidationError(
                gettext("%(field)s must have at most %(maximum)s items")
                % {"field": name, "maximum": 1000}
            )
        errors: list[list[str]] = []
        for index, item in enumerate(data):
            valid = (
                isinstance(item, int)
                and not isinstance(item, bool)
                and MIN_UNIX_SECONDS <= item <= MAX_UNIX_SECONDS
            )
            errors.append(
                []
                if valid
                else [
                    gettext(
                        "%(field)s[%(index)s] must be an integer date in 1970 to 2199 "
                        "(Unix seconds)"
                    )
                    % {"field": name, "index": index}
                ]
            )
        if any(errors):
            raise ValidationError(errors)
        return [datetime.fromtimestamp(item, tz=UTC) for item in data]

    def to_representation(self, value):  # pragma: no cover - input only
        return value


class IsoMillisField(serializers.DateTimeField):
    def to_representation(self, value: datetime) -> str:
        return iso_millis(value)


# --- monitors in a maintenance -------------------------------------------------------------------


class MonitorImpactSerializer(serializers.Serializer):
    """One `{monitor_tag, impact}` entry (output, and the shape of the input's items)."""

    monitor_tag = serializers.CharField(source="monitor.tag", max_length=100)  # as TagField
    impact = ImpactField(default=Impact.MAINTENANCE)


@extend_schema_field(MonitorImpactSerializer(many=True))
class MonitorsField(serializers.Field):
    """`monitors`: an array of `{monitor_tag, impact?}`; returns `[(tag, impact)]` in order.

    Tags are resolved to monitors by the serializer once every field is valid.
    """

    def bind(self, field_name, parent):
        super().bind(field_name, parent)
        # Lazy: worded when refused, in the language of that request.
        self.error_messages["null"] = worded(
            gettext_lazy("%(field)s must be an array"), field=field_name
        )

    def to_internal_value(self, data) -> list[tuple[str, str]]:
        name = self.field_name
        if not isinstance(data, list):
            raise ValidationError(
                gettext("%(field)s must be an array of {monitor_tag, impact} objects")
                % {"field": name}
            )
        if len(data) > MAX_MONITORS:
            raise ValidationError(
                gettext("%(field)s must have at most %(maximum)s items")
                % {"field": name, "maximum": MAX_MONITORS}
            )
        errors: list[dict | list] = []
        seen: set[str] = set()
        for item in data:
            if not isinstance(item, dict):
                errors.append(
                    [gettext("each item of %(field)s must be an object") % {"field": name}]
                )
                continue
            problems = {
                key: [gettext("Unknown field '%(key)s' in %(field)s") % {"key": key, "field": name}]
                for key in sorted(set(item) - {"monitor_tag", "impact"})
            }
            tag = item.get("monitor_tag")
            if "monitor_tag" not in item:
                problems["monitor_tag"] = [gettext("monitor_tag is required")]
            elif not isinstance(tag, str) or not tag.strip():
                problems["monitor_tag"] = [gettext("monitor_tag must be a non-empty string")]
            elif tag in seen:
                problems["monitor_tag"] = [
                    gettext("Duplicate monitor_tag '%(tag)s' in %(field)s")
                    % {"tag": tag, "field": name}
                ]
            seen.add(tag if isinstance(tag, str) else "")
            impact = item.get("impact", Impact.MAINTENANCE)
            if impact not in Impact.values:
                problems["impact"] = [
                    gettext("Invalid impact '%(value)s'. Must be one of: %(allowed)s")
                    % {"value": shown(impact), "allowed": ", ".join(Impact.values)}
                ]
            errors.append(problems)
        if any(errors):
            raise ValidationError(errors)
        return [(item["monitor_tag"], item.get("impact", Impact.MAINTENANCE)) for item in data]

    def to_representation(self, value):  # pragma: no cover - input only
        raise NotImplementedError


def resolve_monitors(pairs: list[tuple[str, str]], *, field: str = "monitors") -> list[MonitorLink]:
    """Turn `[(tag, impact)]` into links; an unknown tag is the spec's 400."""
    by_tag = Monitor.objects.in_bulk([tag for tag, _ in pairs], field_name="tag")
    for index, (tag, _) in enumerate(pairs):
        if tag not in by_tag:
            message = gettext("Monitor with tag '%(tag)s' not found") % {"tag": tag}
            raise InvalidInput(message, details={f"{field}[{index}].monitor_tag": [message]})
    return [MonitorLink(monitor=by_tag[tag], impact=impact) for tag, impact in pairs]


# --- strict request serializers -----------------------------------------------------------------


class MaintenanceWriteSerializer(V4StrictSerializer):
    """Body of POST (all required fields) and PATCH (`partial=True`) /api/v4/maintenances."""

    ignored_fields = frozenset({"id", "created_at", "updated_at"})

    title = StrictCharField(max_length=255)
    description = StrictCharField(
        allow_null=True,
        allow_blank=True,
        trim_whitespace=False,
        required=False,
        max_length=LONG_TEXT_MAX_LENGTH,
    )
    start_date_time = UnixSecondsField(help_text=START_HELP)
    rrule = StrictCharField(max_length=1000, help_text=RRULE_HELP)
    duration_seconds = DurationSecondsField()
    timezone = TimezoneField(required=False, help_text="IANA zone; default UTC.")
    status = MaintenanceStatusField(required=False)
    monitors = MonitorsField(required=False)
    exdates = ExdatesField(required=False)

    def validate(self, attrs):
        if "monitors" in attrs:
            attrs["monitors"] = resolve_monitors(attrs["monitors"])
        return attrs


def maintenance_spec(data: Mapping) -> MaintenanceSpec:
    """The service input of a validated POST body (`MaintenanceWriteSerializer`)."""
    return MaintenanceSpec(**data)


def maintenance_changes(data: Mapping) -> MaintenanceChanges:
    """The service input of a validated PATCH body: the fields it names change."""
    return MaintenanceChanges(**data)


class MaintenanceEventUpdateSerializer(V4StrictSerializer):
    """Body of PATCH of an event: `{start_date_time, end_date_time}` or `{status}`."""

    start_date_time = UnixSecondsField(required=False)
    end_date_time = UnixSecondsField(required=False)
    status = EventTransitionField(
        required=False,
        help_text="COMPLETED (an ONGOING event) or CANCELLED (SCHEDULED, READY or ONGOING).",
    )

    def validate(self, attrs):
        times = [name for name in ("start_date_time", "end_date_time") if name in attrs]
        if "status" in attrs and times:
            raise ValidationError(
                {
                    "status": [
                        gettext("status cannot be combined with start_date_time and end_date_time")
                    ]
                }
            )
        if "status" in attrs:
            return attrs
        if not times:
            raise ValidationError(
                {
                    "non_field_errors": [
                        gettext("Provide either start_date_time and end_date_time, or status")
                    ]
                }
            )
        if times == ["end_date_time"]:
            return attrs  # an ONGOING event's new end; the service checks the event's status
        if "end_date_time" not in attrs:
            raise ValidationError(
                {"end_date_time": [gettext("end_date_time is required with start_date_time")]}
            )
        start, end = attrs["start_date_time"], attrs["end_date_time"]
        if end <= start:
            raise ValidationError(
                {"end_date_time": [gettext("end_date_time must be greater than start_date_time")]}
            )
        if (end - start).total_seconds() > MAX_DURATION_SECONDS:
            raise ValidationError(
                {
                    "end_date_time": [
                        gettext("end_date_time must be at most 366 days after start_date_time")
                    ]
                }
            )
        return attrs


class MaintenanceEventCreateSerializer(V4StrictSerializer):
    """Body of POST /api/v4/maintenances/{id}/events: a one-off extra event."""

    start_date_time = UnixSecondsField(
        help_text="Floored to the minute; at most 5 minutes in the past, not a start the rule "
        "or another event of the maintenance already has."
    )
    end_date_time = UnixSecondsField(
        help_text="After start_date_time, at most 366 days after it; floored to the minute."
    )


class MaintenancePreviewSerializer(V4StrictSerializer):
    """Body of POST /api/v4/maintenances/preview."""

    start_date_time = UnixSecondsField(help_text=START_HELP)
    rrule = StrictCharField(max_length=1000, help_text=RRULE_HELP)
    duration_seconds = DurationSecondsField()
    timezone = TimezoneField(required=False, default="UTC")
    limit = StrictIntegerField(required=False, default=10, min_value=1, max_value=100)
    exdates = ExdatesField(required=False, default=list)


SLUG = re.compile(r"^[A-Za-z0-9_-]+$")
# `monitors/maintenance` is the many-monitors route; a monitor of that tag could not be read.
RESERVED_TAGS = frozenset({"maintenance"})


class TagField(StrictCharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=100, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not SLUG.match(value):
            raise ValidationError(
                gettext("%(field)s must be a slug: letters, digits, '-' and '_' only")
                % {"field": self.field_name}
            )
        if value in RESERVED_TAGS:
            raise ValidationError(
                gettext("%(field)s '%(value)s' is reserved")
                % {"field": self.field_name, "value": value}
            )
        return value


class MonitorWriteSerializer(V4StrictSerializer):
    """Body of POST (tag required) and PATCH (`partial=True`) /api/v4/monitors."""

    ignored_fields = frozenset({"created_at", "updated_at"})

    tag = TagField()
    name = StrictCharField(max_length=255, required=False, help_text="Defaults to the tag.")
    description = StrictCharField(
        allow_blank=True, trim_whitespace=False, required=False, max_length=LONG_TEXT_MAX_LENGTH
    )


# --- output ------------------------------------------------------------------------------------


class UnixSecondsOutputField(serializers.IntegerField):
    def to_representation(self, value: datetime) -> int:
        return unix_seconds(value)


@_enum("EventStatusEnum", EventStatus.values)
class LiveStatusField(serializers.ChoiceField):
    """The event's status at the time of the response (`live_status` when annotated)."""

    def __init__(self, **kwargs):
        super().__init__(choices=EventStatus.choices, source="*", read_only=True, **kwargs)

    def to_representation(self, event: MaintenanceEvent) -> str:
        live = getattr(event, "live_status", None)
        return live if live is not None else event.status_at(self.context["now"])


class MaintenanceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField(allow_null=True)
    start_date_time = UnixSecondsOutputField(help_text=START_HELP)
    rrule = serializers.CharField(help_text=RRULE_HELP)
    duration_seconds = serializers.IntegerField()
    timezone = serializers.CharField()
    status = MaintenanceStatusField()
    monitors = MonitorImpactSerializer(source="monitor_links.all", many=True)
    exdates = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Skipped occurrence starts (UTC Unix seconds), ascending.",
    )
    created_at = IsoMillisField()
    updated_at = IsoMillisField()


def maintenance_body(maintenance: Maintenance, monitors: Iterable[tuple[str, str]]) -> dict:
    """`MaintenanceSerializer(maintenance).data` (which documents the shape), from the row in
    hand and its `(monitor tag, impact)` pairs in the client's order, without a serializer
    built field by field: what a create answers (`tests/scheduling/test_plain_sql_paths.py`
    holds the two equal)."""
    return {
        "id": maintenance.pk,
        "title": maintenance.title,
        "description": maintenance.description,
        "start_date_time": unix_seconds(maintenance.start_date_time),
        "rrule": maintenance.rrule,
        "duration_seconds": maintenance.duration_seconds,
        "timezone": maintenance.timezone,
        "status": str(maintenance.status),
        "monitors": [{"monitor_tag": tag, "impact": str(impact)} for tag, impact in monitors],
        "exdates": list(maintenance.exdates),
        "created_at": iso_millis(maintenance.created_at),
        "updated_at": iso_millis(maintenance.updated_at),
    }


class MaintenanceEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    maintenance_id = serializers.IntegerField()
    start_date_time = UnixSecondsOutputField()
    end_date_time = UnixSecondsOutputField()
    status = LiveStatusField()
    created_at = IsoMillisField()
    updated_at = IsoMillisField()


class MaintenanceEventRowSerializer(serializers.Serializer):
    """A row of the global event list: flat, as Kener sends it."""

    maintenance_id = serializers.IntegerField()
    event_id = serializers.IntegerField(source="id")
    event_start_date_time = UnixSecondsOutputField(source="start_date_time")
    event_end_date_time = UnixSecondsOutputField(source="end_date_time")
    event_status = LiveStatusField()
    maintenance_title = serializers.CharField(source="maintenance.title")
    maintenance_description = serializers.CharField(
        source="maintenance.description", allow_null=True
    )
    maintenance_status = MaintenanceStatusField(source="maintenance.status")
    maintenance_rrule = serializers.CharField(source="maintenance.rrule")
    maintenance_duration_seconds = serializers.IntegerField(source="maintenance.duration_seconds")
    maintenance_timezone = serializers.CharField(source="maintenance.timezone")
    monitors = MonitorImpactSerializer(source="maintenance.monitor_links.all", many=True)


# The keys of a row of the global event list, in the serializer's order (the wire's), and
# the `selectors.event_row_values` field each comes from (`monitors` from the links).
EVENT_ROW_KEYS = (
    ("maintenance_id", "maintenance_id"),
    ("event_id", "id"),
    ("event_start_date_time", "start_date_time"),
    ("event_end_date_time", "end_date_time"),
    ("event_status", "live_status"),
    ("maintenance_title", "maintenance__title"),
    ("maintenance_description", "maintenance__description"),
    ("maintenance_status", "maintenance__status"),
    ("maintenance_rrule", "maintenance__rrule"),
    ("maintenance_duration_seconds", "maintenance__duration_seconds"),
    ("maintenance_timezone", "maintenance__timezone"),
)
_ROW_KEYS = (*(key for key, _ in EVENT_ROW_KEYS), "monitors")


def event_row_dicts(
    rows: Iterable[Sequence], links: Mapping[int, list[tuple[str, str]]]
) -> list[dict]:
    """Rows of the global event list, exactly as `MaintenanceEventRowSerializer` renders them
    (which documents the shape), from tuples in the order of `EVENT_ROW_KEYS` with start and
    end as Unix seconds (`selectors.not_ended_event_rows`) and `selectors.monitor_links_of`:
    a plain loop instead of a serializer field by field."""
    return [
        dict(
            zip(
                _ROW_KEYS,
                (
                    *row,
                    [{"monitor_tag": tag, "impact": impact} for tag, impact in links[row[0]]],
                ),
                strict=True,
            )
        )
        for row in rows
    ]


_INSTANTS = frozenset({"start_date_time", "end_date_time"})


def event_rows(rows: Iterable[Mapping], links: Mapping[int, list[tuple[str, str]]]) -> list[dict]:
    """`event_row_dicts` of the rows of `selectors.event_row_values` (mappings, instants)."""
    return event_row_dicts(
        (
            tuple(
                unix_seconds(row[field]) if field in _INSTANTS else row[field]
                for _, field in EVENT_ROW_KEYS
            )
            for row in rows
        ),
        links,
    )


class MonitorSerializer(serializers.Serializer):
    tag = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    created_at = IsoMillisField()
    updated_at = IsoMillisField()


class MonitorMaintenanceSerializer(serializers.Serializer):
    monitor_tag = serializers.CharField()
    under_maintenance = serializers.BooleanField()
    impact = ImpactField(allow_null=True)
    events = MaintenanceEventSerializer(many=True)


class MaintenanceOccurrenceSerializer(serializers.Serializer):
    start_date_time = UnixSecondsOutputField()
    end_date_time = UnixSecondsOutputField()


# --- envelopes (documentation of the response bodies) -------------------------------------------


class MaintenanceEnvelopeSerializer(serializers.Serializer):
    maintenance = MaintenanceSerializer()


class MaintenanceListEnvelopeSerializer(serializers.Serializer):
    maintenances = MaintenanceSerializer(many=True)


class MaintenanceEventEnvelopeSerializer(serializers.Serializer):
    event = MaintenanceEventSerializer()


class MonitorEnvelopeSerializer(serializers.Serializer):
    monitor = MonitorSerializer()


class MonitorListEnvelopeSerializer(serializers.Serializer):
    monitors = MonitorSerializer(many=True)


class MaintenancePreviewResultSerializer(serializers.Serializer):
    occurrences = MaintenanceOccurrenceSerializer(many=True)
    description = serializers.CharField(help_text="The rule in words.")
    exdates = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="The skipped occurrence starts (UTC Unix seconds), ascending; the "
        "occurrences leave them out.",
    )


class MessageResponseSerializer(serializers.Serializer):
    message = serializers.CharField()
