"""Form fields of the admin for values people type: lists, and IANA timezone names.

`TagListField` takes "pumps, electrical" (commas or new lines) and gives the service a list
of strings; its widget shows the stored list the same way, and static/admin_ops/tags.js turns
it into removable tags as one types (the plain text box still works without JavaScript).

`TimezoneField` is every admin form's timezone (windows, plans, holiday calendars, report
schedules) and the schedule page's: a name picked from the known zones, each shown with its
current UTC offset, without JavaScript.
"""

import contextlib
import functools
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, available_timezones

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy


class TagsInput(forms.TextInput):
    def __init__(self, attrs=None):
        super().__init__({"class": "ops-tags vTextField", "autocomplete": "off", **(attrs or {})})

    def format_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(str(item) for item in value)
        return super().format_value(value)

    class Media:
        css = {"all": ["admin_ops/ops.css"]}
        js = ["admin_ops/tags.js"]


class TagListField(forms.Field):
    """A list of short strings typed with commas between them; duplicates kept once."""

    widget = TagsInput
    default_error_messages = {
        "too_many": gettext_lazy("Ensure this field has no more than %(max)s elements."),
        "too_long": gettext_lazy("Ensure each item has no more than %(max)s characters: %(item)s"),
    }

    def __init__(self, *, max_items: int = 50, max_length: int = 100, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", gettext_lazy("Separate them with commas."))
        self.max_items, self.max_item_length = max_items, max_length
        super().__init__(**kwargs)

    def to_python(self, value) -> list[str]:
        if isinstance(value, str) and value.strip().startswith("["):
            # A JSON list pasted (or posted by a script written for the old JSON box).
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        if isinstance(value, list | tuple):
            parts = [str(item) for item in value]
        else:
            parts = (value or "").replace("\n", ",").split(",")
        return list(dict.fromkeys(part.strip() for part in parts if part.strip()))

    def validate(self, value) -> None:
        super().validate(value)
        if len(value) > self.max_items:
            raise forms.ValidationError(
                self.error_messages["too_many"], code="too_many", params={"max": self.max_items}
            )
        for item in value:
            if len(item) > self.max_item_length:
                raise forms.ValidationError(
                    self.error_messages["too_long"],
                    code="too_long",
                    params={"max": self.max_item_length, "item": item[:40]},
                )

    def has_changed(self, initial, data) -> bool:
        return list(initial or []) != self.to_python(data)


# -- IANA timezones --------------------------------------------------------------------------


@functools.cache
def _zones() -> tuple[ZoneInfo, ...]:
    # Held here: zoneinfo caches only a few zones strongly, and every page with a picker
    # reads all of them (reading ~600 files again per page would be the slow part).
    return tuple(ZoneInfo(name) for name in sorted(available_timezones() - {"localtime"}))


def known_zones() -> list[str]:
    """The zone names the server knows, sorted (`localtime` is the machine's, not a name)."""
    return [zone.key for zone in _zones()]


def utc_offset_text(zone: ZoneInfo | str, at: datetime) -> str:
    """``UTC+01:00``: the zone's offset at `at` (so in summer Europe/Madrid is UTC+02:00)."""
    zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    seconds = int(at.astimezone(zone).utcoffset().total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


class TimezoneInput(forms.TextInput):
    """A zone name typed, or picked from the browser's suggestions as one types: an
    ``<input list>`` and a ``<datalist>`` of every known zone labelled with its offset now,
    e.g. "Europe/Madrid (UTC+01:00)". No script (the admin's CSP), and what is posted is
    the name itself; any other text is left to the service, which names the field."""

    def __init__(self, attrs=None):
        super().__init__(
            {
                "class": "vTextField ops-zone",
                "autocomplete": "off",
                "spellcheck": "false",
                "maxlength": "64",
                **(attrs or {}),
            }
        )

    def render(self, name, value, attrs=None, renderer=None):
        attrs = {**(attrs or {})}
        list_id = f"{attrs.get('id') or self.attrs.get('id') or name}-zones"
        attrs["list"] = list_id
        input_html = super().render(name, value, attrs, renderer)
        options = _zone_options(datetime.now(UTC).replace(second=0, microsecond=0))
        return format_html('{}<datalist id="{}">{}</datalist>', input_html, list_id, options)


@functools.lru_cache(maxsize=2)
def _zone_options(minute: datetime) -> str:
    # Offsets change on a minute at the earliest: one list per minute serves every page.
    return format_html_join(
        "",
        '<option value="{}">{} ({})</option>',
        ((zone.key, zone.key, utc_offset_text(zone, minute)) for zone in _zones()),
    )


class TimezoneField(forms.CharField):
    """An IANA timezone name (stored as typed, e.g. ``Europe/Madrid``) with the picker above.
    The field does not check the name: the services do, with the API's message on it."""

    widget = TimezoneInput

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault(
            "help_text",
            gettext_lazy("An IANA timezone such as Europe/Madrid: type part of it to search."),
        )
        super().__init__(**kwargs)
