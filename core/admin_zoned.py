"""Times typed in the admin as wall time in the object's own timezone, stored as UTC.

A window's start, a plan's start and end, an event's start and end are entered as the clock
reads in the object's zone (the zone field of the same form, so a new object uses the zone
typed on it), and shown with UTC beside them (static/admin_ops/rule_builder.js updates it as
one types; the page renders it for the stored value).

DST: a wall time that does not exist (02:30 on the spring-forward night in Europe/Paris) is
refused on its field; an ambiguous one (02:30 on the autumn night, which happens twice) is
its first occurrence, the earlier instant, as the recurrence engine reads rule times
(zoneinfo's fold=0), and the UTC beside the field shows which instant that is. A zone that
is not known is read as UTC here and left to the service, which refuses it with the API's
message on the zone field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.contrib.admin.widgets import AdminSplitDateTime
from django.utils.dateparse import parse_date, parse_time
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin import zoned_and_utc


class NonexistentTime(ValueError):
    """A wall time skipped by a DST change in the zone."""


def zone_or_utc(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_ambiguous(wall: datetime, zone: ZoneInfo) -> bool:
    first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    return first.utcoffset() != second.utcoffset() and not _is_gap(wall, zone)


def _is_gap(wall: datetime, zone: ZoneInfo) -> bool:
    back = wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    return back != wall


def wall_to_utc(wall: datetime, zone_name: str | None) -> datetime:
    """The UTC instant of a naive wall time in the zone (first occurrence when ambiguous).
    Raises NonexistentTime when the clocks skip it."""
    zone = zone_or_utc(zone_name)
    if _is_gap(wall, zone):
        raise NonexistentTime(
            _(
                "%(time)s does not exist in %(zone)s: the clocks go forward that night. "
                "Choose another time."
            )
            % {"time": f"{wall:%Y-%m-%d %H:%M}", "zone": zone.key}
        )
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def utc_to_wall(instant: datetime, zone_name: str | None) -> datetime:
    return instant.astimezone(zone_or_utc(zone_name)).replace(tzinfo=None)


AMBIGUOUS_HELP = gettext_lazy(
    "Wall time in the object's timezone. A time that happens twice (clocks going back) is "
    "its first occurrence; one that does not exist (clocks going forward) is refused."
)


class ZonedSplitDateTime(AdminSplitDateTime):
    """The admin's date + time inputs, then the same instant in UTC (`zone` is given by the
    form at render time; `zone_field` names the form's zone input for the live update)."""

    zone: str | None = None
    zone_field: str = ""

    def render(self, name, value, attrs=None, renderer=None):
        html = super().render(name, value, attrs, renderer)
        return html + format_html(
            ' <span class="ops-utc" data-for="{}" data-zone-field="{}" data-zone="{}" '
            'aria-live="polite">{}</span>',
            name,
            self.zone_field,
            self.zone or "",
            self._utc_text(value),
        )

    def _utc_text(self, value) -> str:
        wall = value if isinstance(value, datetime) else None
        if isinstance(value, list | tuple) and len(value) == 2:
            day, clock = (parse_date(value[0] or ""), parse_time(value[1] or ""))
            wall = datetime.combine(day, clock) if day and clock else None
        if wall is None or wall.tzinfo is not None:
            return ""
        try:
            return "= " + zoned_and_utc(wall_to_utc(wall, self.zone), "UTC")
        except NonexistentTime:
            return ""


class ZonedDateTimeField(forms.SplitDateTimeField):
    """A date and a time read as a naive wall time; the form converts it with its zone."""

    widget = ZonedSplitDateTime

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", AMBIGUOUS_HELP)
        super().__init__(**kwargs)

    def compress(self, data_list):
        aware = super().compress(data_list)
        # Django made it aware in the current zone (UTC); the form's zone decides instead.
        return aware.replace(tzinfo=None) if aware is not None else None


class ZonedTimesMixin:
    """For a form whose `zoned_fields` are wall times in a zone: the form's `zone_field`
    (a field of the same form) or, when it has none, `object_zone()`. Stored (aware)
    values show as wall time there; after `clean()` the values are aware UTC."""

    zoned_fields: tuple[str, ...] = ()
    zone_field: str | None = "timezone"

    def object_zone(self) -> str | None:
        """The zone of the stored object (or None for a new one)."""
        return getattr(self.instance, self.zone_field, None) if self.zone_field else None

    def initial_zone(self) -> str | None:
        if self.zone_field and self.initial.get(self.zone_field):
            return self.initial[self.zone_field]
        return self.object_zone()

    def typed_zone(self) -> str | None:
        """The zone the form's values are read in: the one typed, else the stored one."""
        if self.is_bound and self.zone_field:
            typed = (self.data.get(self.add_prefix(self.zone_field)) or "").strip()
            if typed:
                return typed
        return self.initial_zone() or "UTC"

    def get_initial_for_field(self, field, field_name):
        value = super().get_initial_for_field(field, field_name)
        if field_name in self.zoned_fields and isinstance(value, datetime) and value.tzinfo:
            return utc_to_wall(value, self.initial_zone())
        return value

    def __getitem__(self, name):
        bound = super().__getitem__(name)
        if name in self.zoned_fields:
            widget = bound.field.widget
            widget.zone = self.typed_zone()
            widget.zone_field = self.add_prefix(self.zone_field) if self.zone_field else ""
        return bound

    def clean(self):
        cleaned = super().clean()
        zone = self.typed_zone()
        for name in self.zoned_fields:
            wall = cleaned.get(name)
            if isinstance(wall, datetime) and wall.tzinfo is None:
                try:
                    cleaned[name] = wall_to_utc(wall, zone)
                except NonexistentTime as exc:
                    self.add_error(name, str(exc))
        return cleaned
