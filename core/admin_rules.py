"""The structured rule builder that plans and maintenance windows share in the admin.

A planner picks "every N units", the weekdays (weekly), the day of the month (monthly), the
time of day (local, in the object's zone) and an optional end (a count or a last day); the
builder writes the RFC 5545 RRULE that the services then validate and normalise as they do
for the API (their refusal lands on the form's fields with their message). A rule the
builder cannot express (BYSETPOS, numbered weekdays, several times a day, ...) opens in
"Advanced: raw RRULE" mode, which is always available.

`parse` and `compose` are pure (no Django) so the round trip is tested on its own; the
preview endpoint composes the builder's query with the same `compose`, so the live preview
and the save never disagree on what the builder means. Nothing here imports an app: the
import direction is apps → core.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time

from django import forms
from django.utils.translation import gettext_lazy as _

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# Builder unit → RRULE FREQ. The plan's own `every` + `unit` shorthand has day..year.
FREQ_OF_UNIT = {
    "minute": "MINUTELY",
    "hour": "HOURLY",
    "day": "DAILY",
    "week": "WEEKLY",
    "month": "MONTHLY",
    "year": "YEARLY",
}
UNIT_OF_FREQ = {freq: unit for unit, freq in FREQ_OF_UNIT.items()}
# Units with a time of day (a sub-daily rule runs at the start's minute, every N).
DAILY_OR_LONGER = ("day", "week", "month", "year")
LAST_DAY = -1

BUILDER = "builder"
ADVANCED = "advanced"
END_NEVER, END_COUNT, END_UNTIL = "never", "count", "until"


@dataclass(frozen=True)
class RuleParts:
    """What the builder shows: every `every` `unit`, on `weekdays` (weekly), on `monthday`
    (monthly; -1 is the last day), at `at` (local wall time), ending after `count`
    occurrences or on local day `until` (inclusive)."""

    every: int
    unit: str
    weekdays: tuple[str, ...] = ()
    monthday: int | None = None
    at: time | None = None
    count: int | None = None
    until: date | None = None

    @property
    def is_plain_interval(self) -> bool:
        """Only "every N day/week/month/year": a v1 plan keeps it as its every + unit."""
        return self.unit in DAILY_OR_LONGER and not (
            self.weekdays or self.monthday or self.at or self.count or self.until
        )


def compose(parts: RuleParts) -> str:
    """The RRULE of `parts`, parts in a fixed order (FREQ, INTERVAL, BYDAY, BYMONTHDAY,
    BYHOUR, BYMINUTE, COUNT or UNTIL). Fields that do not apply to the unit are ignored
    (the page hides them), so switching units never leaves a stale weekday in the rule."""
    rule = [f"FREQ={FREQ_OF_UNIT[parts.unit]}", f"INTERVAL={parts.every}"]
    if parts.unit == "week" and parts.weekdays:
        rule.append("BYDAY=" + ",".join(day for day in WEEKDAYS if day in parts.weekdays))
    if parts.unit == "month" and parts.monthday:
        rule.append(f"BYMONTHDAY={parts.monthday}")
    if parts.unit in DAILY_OR_LONGER and parts.at is not None:
        rule += [f"BYHOUR={parts.at.hour}", f"BYMINUTE={parts.at.minute}"]
    if parts.count:
        rule.append(f"COUNT={parts.count}")
    elif parts.until:
        # A whole local day (RFC 5545 DATE form): the last day on which an occurrence may
        # fall, in the rule's own zone, whatever the DST offset that day.
        rule.append(f"UNTIL={parts.until:%Y%m%d}")
    return ";".join(rule)


_NUMBER = re.compile(r"[0-9]{1,4}")


def parse(rrule: str | None) -> RuleParts | None:
    """The builder's view of a stored rule, or None when the builder cannot express it
    (the form then opens in advanced mode with the raw rule). Tolerant of case, part order
    and an "RRULE:" prefix; anything it does not know is "not expressible", never an error
    (the services judge validity)."""
    if not rrule:
        return None
    text = rrule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :]
    values: dict[str, str] = {}
    for piece in filter(None, (piece.strip() for piece in text.upper().split(";"))):
        name, sep, value = piece.partition("=")
        if not sep or name in values:
            return None
        values[name.strip()] = value.strip()
    unit = UNIT_OF_FREQ.get(values.pop("FREQ", ""))
    if unit is None:
        return None
    every = _number(values.pop("INTERVAL", "1"))
    if not every:
        return None
    # WKST=MO is the default; BYSECOND=0 is what a minute-floored start gives anyway.
    if values.pop("WKST", "MO") != "MO" or values.pop("BYSECOND", "0") != "0":
        return None
    weekdays: tuple[str, ...] = ()
    if "BYDAY" in values:
        days = values.pop("BYDAY").split(",")
        if unit != "week" or not set(days) <= set(WEEKDAYS) or len(set(days)) != len(days):
            return None
        weekdays = tuple(day for day in WEEKDAYS if day in days)
    monthday = None
    if "BYMONTHDAY" in values:
        raw = values.pop("BYMONTHDAY")
        monthday = LAST_DAY if raw == "-1" else _number(raw)
        if unit != "month" or not monthday or monthday > 31:
            return None
    at = None
    if "BYHOUR" in values or "BYMINUTE" in values:
        hour, minute = _number(values.pop("BYHOUR", "")), _number(values.pop("BYMINUTE", ""))
        if unit not in DAILY_OR_LONGER or hour is None or minute is None:
            return None
        if hour > 23 or minute > 59:
            return None
        at = time(hour, minute)
    count = until = None
    if "COUNT" in values:
        count = _number(values.pop("COUNT"))
        if not count:
            return None
    if "UNTIL" in values:
        raw = values.pop("UNTIL")
        if count is not None or not re.fullmatch(r"[0-9]{8}", raw):
            return None  # a UTC or local date-time UNTIL stays in advanced mode
        try:
            until = date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
        except ValueError:
            return None
    if values:  # BYSETPOS, BYMONTH, BYYEARDAY, ... : beyond the builder
        return None
    return RuleParts(every, unit, weekdays, monthday, at, count, until)


def _number(raw: str) -> int | None:
    return int(raw) if _NUMBER.fullmatch(raw) else None


# --- the form fields -----------------------------------------------------------------------

REQUIRED = _("This field is required.")
BUILDER_FIELDS = (
    "rule_mode",
    "every",
    "unit",
    "rule_weekdays",
    "rule_monthday",
    "rule_time",
    "rule_end",
    "rule_count",
    "rule_until",
)

# Where the builder sits in a fieldset, and the names the live preview reads
# (static/admin_ops/preview.js sends them; the preview composes with `compose`).
RULE_BUILDER_LAYOUT = (
    "rule_mode",
    ("every", "unit"),
    "rule_weekdays",
    "rule_monthday",
    "rule_time",
    "rule_end",
    "rule_count",
    "rule_until",
    "rrule",
)
RULE_PREVIEW_FIELDS = {
    "rrule": "rrule",
    "mode": "rule_mode",
    "every": "every",
    "unit": "unit",
    "weekdays": "rule_weekdays",
    "monthday": "rule_monthday",
    "time": "rule_time",
    "end": "rule_end",
    "count": "rule_count",
    "until": "rule_until",
}

_WEEKDAY_LABELS = (
    _("Mon"),
    _("Tue"),
    _("Wed"),
    _("Thu"),
    _("Fri"),
    _("Sat"),
    _("Sun"),
)
_UNIT_LABELS = {
    "minute": _("minutes"),
    "hour": _("hours"),
    "day": _("days"),
    "week": _("weeks"),
    "month": _("months"),
    "year": _("years"),
}


class RuleBuilderFields(forms.Form):
    """The builder's fields and the raw `rrule`, mixed into a plan's or a window's form.

    After `clean()`, `cleaned_data["rrule"]` holds the rule to hand to the service (composed
    by the builder, or typed in advanced mode); `rule_parts()` the builder's parts (None in
    advanced mode). A form lists its own units in `rule_units`.
    """

    rule_units: tuple[str, ...] = tuple(FREQ_OF_UNIT)

    rule_mode = forms.ChoiceField(
        label=_("Rule"),
        choices=[(BUILDER, _("Builder")), (ADVANCED, _("Advanced: raw RRULE"))],
        widget=forms.RadioSelect,
        required=False,
        initial=BUILDER,
    )
    every = forms.IntegerField(
        label=_("Every"), required=False, min_value=1, max_value=1000, initial=1
    )
    unit = forms.ChoiceField(label=_("Unit"), choices=(), required=False, initial="day")
    rule_weekdays = forms.MultipleChoiceField(
        label=_("On"),
        choices=list(zip(WEEKDAYS, _WEEKDAY_LABELS, strict=True)),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Weekly rules: the days of the week (none: the start's weekday)."),
    )
    rule_monthday = forms.TypedChoiceField(
        label=_("Day of the month"),
        choices=[
            ("", _("The start's day")),
            *[(str(day), str(day)) for day in range(1, 32)],
            (str(LAST_DAY), _("The last day")),
        ],
        coerce=int,
        empty_value=None,
        required=False,
        help_text=_("Monthly rules. A month without that day is skipped."),
    )
    rule_time = forms.TimeField(
        label=_("At (local time)"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_("In the timezone below; empty: the start's time."),
    )
    rule_end = forms.ChoiceField(
        label=_("Ends"),
        choices=[
            (END_NEVER, _("Never")),
            (END_COUNT, _("After a number of occurrences")),
            (END_UNTIL, _("On a day (local)")),
        ],
        widget=forms.RadioSelect,
        required=False,
        initial=END_NEVER,
    )
    rule_count = forms.IntegerField(
        label=_("Occurrences"), required=False, min_value=1, max_value=1000
    )
    rule_until = forms.DateField(
        label=_("Last day"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Inclusive, in the timezone below."),
    )
    rrule = forms.CharField(
        label=_("RRULE"),
        required=False,
        max_length=1000,
        widget=forms.TextInput(attrs={"size": 60}),
        help_text=_("RFC 5545, e.g. FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;BYHOUR=9;BYMINUTE=0."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [(unit, _UNIT_LABELS[unit]) for unit in self.rule_units]

    # -- what a stored object shows --------------------------------------------------------

    def stored_rule(self) -> tuple[str, RuleParts | None]:
        """The initial raw rule and its builder parts (a form whose object keeps a plain
        interval otherwise, like a plan's every + unit, overrides this)."""
        raw = self.initial.get("rrule") or ""
        return raw, parse(raw)

    def builder_initial(self) -> dict:
        raw, parts = self.stored_rule()
        if parts is None:
            return {"rule_mode": ADVANCED} if raw else {}
        return {
            "rule_mode": BUILDER,
            "every": parts.every,
            "unit": parts.unit,
            "rule_weekdays": list(parts.weekdays),
            "rule_monthday": "" if parts.monthday is None else str(parts.monthday),
            "rule_time": parts.at,
            "rule_end": END_COUNT if parts.count else END_UNTIL if parts.until else END_NEVER,
            "rule_count": parts.count,
            "rule_until": parts.until,
            "rrule": raw,
        }

    def get_initial_for_field(self, field, field_name):
        # The object's rule read into the builder when it is expressible there. Lazy: the
        # plan form fills its initial after the base __init__ has run.
        if field_name in BUILDER_FIELDS:
            value = self.builder_initial().get(field_name)
            if value is not None:
                return value
        return super().get_initial_for_field(field, field_name)

    # -- what a save sends -----------------------------------------------------------------

    def rule_wanted(self, cleaned: dict) -> bool:
        """Whether this save needs a rule (a counter plan's does not)."""
        return True

    def rule_mode_of(self, cleaned: dict) -> str:
        # A post without the choice (a script written for the old form) is advanced when it
        # carries a raw rule.
        return cleaned.get("rule_mode") or (ADVANCED if cleaned.get("rrule") else BUILDER)

    def clean(self):
        cleaned = super().clean()
        self._rule_parts = None
        if not self.rule_wanted(cleaned):
            return cleaned
        mode = cleaned["rule_mode"] = self.rule_mode_of(cleaned)
        if mode == ADVANCED:
            if not (cleaned.get("rrule") or "").strip() and "rrule" not in self.errors:
                self.add_error("rrule", REQUIRED)
            return cleaned
        parts = self._builder_parts(cleaned)
        if parts is None:
            return cleaned
        self._rule_parts = parts
        stored, stored_parts = self.stored_rule()
        # Saving an unchanged builder keeps the stored text (a window's schedule is "changed"
        # by any different rule text, which would regenerate its events).
        cleaned["rrule"] = stored if stored and stored_parts == parts else compose(parts)
        if self.is_bound:
            # A re-rendered page (a refusal) shows the rule the builder made, read-only in
            # builder mode, with the service's message on it.
            self.data = self.data.copy()
            self.data[self.add_prefix("rrule")] = cleaned["rrule"]
        return cleaned

    def rule_parts(self) -> RuleParts | None:
        return getattr(self, "_rule_parts", None)

    def _builder_parts(self, cleaned: dict) -> RuleParts | None:
        missing = [name for name in ("every", "unit") if cleaned.get(name) in (None, "")]
        end = cleaned.get("rule_end") or END_NEVER
        if end == END_COUNT and not cleaned.get("rule_count"):
            missing.append("rule_count")
        if end == END_UNTIL and not cleaned.get("rule_until"):
            missing.append("rule_until")
        for name in missing:
            if name not in self.errors:
                self.add_error(name, REQUIRED)
        if missing or any(name in self.errors for name in BUILDER_FIELDS):
            return None
        return RuleParts(
            every=cleaned["every"],
            unit=cleaned["unit"],
            weekdays=tuple(day for day in WEEKDAYS if day in (cleaned.get("rule_weekdays") or ())),
            monthday=cleaned.get("rule_monthday"),
            at=cleaned.get("rule_time"),
            count=cleaned.get("rule_count") if end == END_COUNT else None,
            until=cleaned.get("rule_until") if end == END_UNTIL else None,
        )

    class Media:
        js = ["admin_ops/rule_builder.js"]


def parts_from_query(params) -> RuleParts | None:
    """The builder's parts from the preview's query (the same field names as the form), or
    None when they do not make a rule yet; the preview composes them with `compose`."""
    form = _QueryBuilder(params)
    if not form.is_valid():
        return None
    return form.rule_parts()


class _QueryBuilder(RuleBuilderFields):
    def clean(self):
        self.cleaned_data["rule_mode"] = BUILDER
        return super().clean()


# --- a duration in minutes, hours or days ---------------------------------------------------

DURATION_UNITS = {"minutes": 60, "hours": 3600, "days": 86400}
_DURATION_LABELS = {"minutes": _("minutes"), "hours": _("hours"), "days": _("days")}


class DurationFields(forms.Form):
    """`duration` + `duration_unit`, giving `cleaned_data["duration_seconds"]` (the stored
    value); a stored duration shows in the largest unit that divides it. A form names the
    model field whose validators bound it in `duration_model_field`."""

    duration_model_field = None

    duration = forms.IntegerField(label=_("Duration"), min_value=1, max_value=10_000_000)
    duration_unit = forms.ChoiceField(
        label=_("Duration unit"),
        choices=list(_DURATION_LABELS.items()),
        initial="minutes",
    )

    def get_initial_for_field(self, field, field_name):
        if field_name in ("duration", "duration_unit"):
            seconds = self.initial.get("duration_seconds")
            if seconds:
                unit = next(
                    (u for u in ("days", "hours", "minutes") if seconds % DURATION_UNITS[u] == 0),
                    None,
                )
                if unit is not None:
                    return seconds // DURATION_UNITS[unit] if field_name == "duration" else unit
                # Whole minutes only here; the API may have stored any second count.
                if field_name == "duration":
                    return round(seconds / 60) or 1
                return "minutes"
        return super().get_initial_for_field(field, field_name)

    def clean(self):
        cleaned = super().clean()
        amount, unit = cleaned.get("duration"), cleaned.get("duration_unit")
        if amount is not None and unit in DURATION_UNITS:
            seconds = amount * DURATION_UNITS[unit]
            try:
                # The stored field's own limits (the API's serializer checks the same ones).
                if self.duration_model_field is not None:
                    self.duration_model_field.run_validators(seconds)
            except forms.ValidationError as exc:
                self.add_error("duration", exc)
            else:
                cleaned["duration_seconds"] = seconds
        return cleaned
