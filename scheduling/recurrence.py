"""The RRULE engine that plans (API v1) and maintenance windows (API v4) share.

A recurrence is an RFC 5545 RRULE value, a start instant and an IANA timezone. The rule is
expanded by dateutil in the zone's local wall time (so "02:00" stays 02:00 across DST) and
every wall time is converted to a UTC instant: a wall time inside a spring gap is read with
the offset before the gap, i.e. shifted forward by the gap (RFC 5545 3.3.5), an ambiguous
one in an autumn overlap is the first instance (zoneinfo's fold=0 does both), and two wall
times that land on the same instant count once.

Every public call does bounded work whatever the rule says; see `_BoundedRRule` for why
that needs more than passing a window to dateutil. Nothing here touches Django.
"""

from __future__ import annotations

import calendar
import dataclasses
import itertools
import math
import re
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property, lru_cache
from typing import Any, Literal

from dateutil import rrule as du
from dateutil.relativedelta import relativedelta

__all__ = [
    "MAX_COUNT",
    "MAX_OCCURRENCES",
    "MIN_MINUTELY_INTERVAL",
    "Message",
    "Recurrence",
    "RecurrenceError",
    "Words",
    "build_recurrence",
    "every_to_rrule",
    "normalize_rrule",
    "parse_timezone",
    "stored_recurrence",
]


def gettext_noop(message: str) -> str:
    """Mark `message` for translation without translating it (this module has no Django).

    Django's `makemessages` collects the strings passed to a function of this name into the
    catalogue; the Django side translates them when it shows them (`core.i18n.localized`).
    """
    return message


def pgettext_noop(context: str, message: str) -> str:
    """`gettext_noop` with a context, for a word whose translation depends on where it stands
    (a weekday after "on" is "el lunes" in Spanish, "lunes" elsewhere). The project's
    `makemessages` collects this keyword too."""
    return message


@dataclass(frozen=True)
class Message:
    """A user-facing text as a template with named `%(name)s` placeholders and its values.

    A value may itself be a Message (translated in turn) or a tuple of them (joined with
    ", "); `render()` gives the English, `render(translate)` the text in whatever language
    `translate(template, context)` speaks.
    """

    template: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    context: str | None = None

    def render(self, translate: Translate | None = None) -> str:
        text = translate(self.template, self.context) if translate else self.template
        if not self.params:
            return text
        return text % {name: _render(value, translate) for name, value in self.params.items()}

    def __str__(self) -> str:
        return self.render()


Translate = Callable[[str, "str | None"], str]


def _render(value: Any, translate: Translate | None) -> Any:
    if isinstance(value, (Message, Words)):
        return value.render(translate)
    if isinstance(value, tuple):
        return ", ".join(str(_render(item, translate)) for item in value)
    return value


class RecurrenceError(ValueError):
    """Invalid rule or timezone.

    `field` is the API field at fault ("rrule", "timezone", "start_date_time", or "every" /
    "unit" for the v1 shorthand); `template` and `params` the sentence naming the problem
    (see Message), `message` and `str()` that sentence in English, `render(translate)` in
    another language.
    """

    def __init__(
        self, template: str, params: Mapping[str, Any] | None = None, *, field: str = "rrule"
    ) -> None:
        self.template = template
        self.params = dict(params or {})
        self.field = field
        self.message = self.render()
        super().__init__(self.message)

    def render(self, translate: Translate | None = None) -> str:
        return Message(self.template, self.params).render(translate)


MAX_COUNT = 1000  # COUNT above this is rejected
MIN_MINUTELY_INTERVAL = 15  # FREQ=MINUTELY needs INTERVAL >= 15
MAX_OCCURRENCES = 1000  # hard cap on any expansion call

# A rule must have an occurrence this soon after its start, or it is rejected.
_EXISTENCE_YEARS = 10
# How far first(), next_after(), a long occurrences_between() window and a COUNT rule
# reach, in years (for YEARLY and MONTHLY at least two intervals). Walking a stretch with
# no occurrence costs dateutil about 40 us a year for YEARLY, and per month 7 us (MONTHLY),
# 20 us (WEEKLY), 70 us (DAILY), 160 us (HOURLY) and up to 400 us (MINUTELY, one step per
# grid point when BYMINUTE skips most of them): these spans keep it around 50 ms at worst.
_SEARCH_YEARS = {
    "YEARLY": 1000,
    "MONTHLY": 200,
    "WEEKLY": 50,
    "DAILY": 50,
    "HOURLY": 20,
    "MINUTELY": _EXISTENCE_YEARS,
}
# Wall time and UTC differ by at most 26 hours (UTC-12 to UTC+14), so an instant's wall
# time is within this of any wall time that maps to it, gaps and overlaps included.
_ZONE_MARGIN = timedelta(days=2)
# The finest step of an instant: "at or after t" is "strictly after t less this".
_MICROSECOND = timedelta(microseconds=1)
# The times one period (day, hour, minute) produces must be this far apart, as FREQ=MINUTELY
# steps must: BYHOUR/BYMINUTE/BYSECOND lists would otherwise bring back minute-by-minute
# windows (and up to 31 million candidates a year for dateutil to produce).
_MIN_SPACING_SECONDS = MIN_MINUTELY_INTERVAL * 60
# The seconds in one "slot" (see _closest_gap): the period for the sub-daily frequencies,
# a day otherwise.
_SLOT_SECONDS = {"DAILY": 86400, "HOURLY": 3600, "MINUTELY": 60}
_SLOT_NAMES = {
    "YEARLY": "day",
    "MONTHLY": "day",
    "WEEKLY": "day",
    "DAILY": "day",
    "HOURLY": "hour",
    "MINUTELY": "minute",
}
# With BYSETPOS the times of a slot may be closer than the spacing rule (BYSETPOS then
# picks some of them), but dateutil lists every candidate time of each HOURLY or MINUTELY
# period afresh: at most one per minute of a day, or per second of an hour / a minute.
_MAX_SLOT_TIMES = {
    "YEARLY": 1440,
    "MONTHLY": 1440,
    "WEEKLY": 1440,
    "DAILY": 1440,
    "HOURLY": 60,
    "MINUTELY": 60,
}
_MAX_RULE_LENGTH = 1000
# dateutil walks a long sub-monthly INTERVAL month by month on every step; capping one step
# at ~10 years (the existence horizon) keeps each step cheap.
_MAX_STEP_DAYS = 3653
_MAX_INTERVAL = 999_999_999
_STEP_MINUTES = {"WEEKLY": 7 * 1440, "DAILY": 1440, "HOURLY": 60, "MINUTELY": 1}
# Keep wall-time arithmetic (margins, horizons, zone offsets) inside datetime's range.
_MIN_WALL = datetime(1, 1, 4)
_MAX_WALL = datetime(9999, 12, 28)
_START_YEARS = range(1900, 9000)

_FREQUENCIES = {
    "YEARLY": du.YEARLY,
    "MONTHLY": du.MONTHLY,
    "WEEKLY": du.WEEKLY,
    "DAILY": du.DAILY,
    "HOURLY": du.HOURLY,
    "MINUTELY": du.MINUTELY,
}
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_PARTS = (
    "FREQ",
    "UNTIL",
    "COUNT",
    "INTERVAL",
    "BYSECOND",
    "BYMINUTE",
    "BYHOUR",
    "BYDAY",
    "BYMONTHDAY",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYMONTH",
    "BYSETPOS",
    "WKST",
)
# Properties of a whole iCalendar component; this API carries them in its own fields.
_SINGLE_RULE_ONLY = gettext_noop(
    "Invalid rrule: %(name)s is not allowed in the rule; only a single RRULE value is accepted"
)
_FOREIGN_PROPERTIES = {
    "DTSTART": gettext_noop(
        "Invalid rrule: %(name)s is not allowed in the rule; send the start as start_date_time"
    ),
    "TZID": gettext_noop(
        "Invalid rrule: %(name)s is not allowed in the rule; send the zone as timezone"
    ),
    "EXDATE": _SINGLE_RULE_ONLY,
    "RDATE": _SINGLE_RULE_ONLY,
    "EXRULE": _SINGLE_RULE_ONLY,
}
# part: (lowest, highest, may be negative) as RFC 5545 3.3.10 bounds them. BYSECOND=60 (a
# leap second) is valid RFC but cannot be a Python datetime, so it is rejected separately.
_NUMBER_RANGES = {
    "BYSECOND": (0, 60, False),
    "BYMINUTE": (0, 59, False),
    "BYHOUR": (0, 23, False),
    "BYMONTHDAY": (1, 31, True),
    "BYYEARDAY": (1, 366, True),
    "BYWEEKNO": (1, 53, True),
    "BYMONTH": (1, 12, False),
    "BYSETPOS": (1, 366, True),
}
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_BYDAY_RE = re.compile(r"([+-]?[0-9]{1,3})?([A-Z]{2})")
_UNTIL_RE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})(?:T([0-9]{2})([0-9]{2})([0-9]{2})(Z?))?")
_RRULE_PREFIX_RE = re.compile(r"RRULE\s*:", re.IGNORECASE)
_UNREACHABLE = gettext_noop(
    "Invalid rrule: with INTERVAL=%(interval)s from the start time, "
    "the BYHOUR/BYMINUTE values are never reached"
)

# One sentence per period, so a translation can agree with the period's noun.
_TOO_MANY_CANDIDATES = {
    "day": gettext_noop(
        "Invalid rrule: %(parts)s give %(count)s candidate times per day for BYSETPOS to pick "
        "from; at most %(maximum)s"
    ),
    "hour": gettext_noop(
        "Invalid rrule: %(parts)s give %(count)s candidate times per hour for BYSETPOS to pick "
        "from; at most %(maximum)s"
    ),
    "minute": gettext_noop(
        "Invalid rrule: %(parts)s give %(count)s candidate times per minute for BYSETPOS to "
        "pick from; at most %(maximum)s"
    ),
}
_NEVER_MATCHES = {
    "YEARLY": gettext_noop(
        "Invalid rrule: BYSETPOS=%(positions)s never matches; "
        "each year has at most %(maximum)s candidate(s)"
    ),
    "MONTHLY": gettext_noop(
        "Invalid rrule: BYSETPOS=%(positions)s never matches; "
        "each month has at most %(maximum)s candidate(s)"
    ),
    "WEEKLY": gettext_noop(
        "Invalid rrule: BYSETPOS=%(positions)s never matches; "
        "each week has at most %(maximum)s candidate(s)"
    ),
    "DAILY": gettext_noop(
        "Invalid rrule: BYSETPOS=%(positions)s never matches; "
        "each day has at most %(maximum)s candidate(s)"
    ),
    "HOURLY": gettext_noop(
        "Invalid rrule: BYSETPOS=%(positions)s never matches; "
        "each hour has at most %(maximum)s candidate(s)"
    ),
    "MINUTELY": gettext_noop(
        "Invalid rrule: BYSETPOS=%(positions)s never matches; "
        "each minute has at most %(maximum)s candidate(s)"
    ),
}


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    # "localtime" is the host's zone under an alias, not an IANA name.
    return frozenset(zoneinfo.available_timezones() - {"localtime"})


def parse_timezone(name: str) -> zoneinfo.ZoneInfo:
    """Return the IANA zone called `name` ("UTC" included).

    Raises RecurrenceError(field="timezone") for anything that is not a known zone name.
    """
    if not isinstance(name, str) or name not in _zone_names():
        raise RecurrenceError(
            gettext_noop("Unknown timezone %(name)s"), {"name": repr(name)}, field="timezone"
        )
    return zoneinfo.ZoneInfo(name)


def normalize_rrule(value: str) -> str:
    """Return the RRULE value in its stored form: no "RRULE:" prefix, no surrounding
    whitespace, part names and values upper-cased, parts in the order given.

    Raises RecurrenceError on syntax problems: not a single RRULE value, DTSTART/TZID/EXDATE/
    RDATE content, a part that is not NAME=VALUE, an unknown or repeated part. The values
    themselves are checked by build_recurrence.
    """
    if not isinstance(value, str):
        raise RecurrenceError(gettext_noop("Invalid rrule: must be a string"))
    text = value.strip()
    if not text:
        raise RecurrenceError(gettext_noop("Invalid rrule: must not be empty"))
    if len(text) > _MAX_RULE_LENGTH:
        raise RecurrenceError(
            gettext_noop("Invalid rrule: longer than %(maximum)s characters"),
            {"maximum": _MAX_RULE_LENGTH},
        )
    upper = text.upper()
    for name, template in _FOREIGN_PROPERTIES.items():
        if name in upper:
            raise RecurrenceError(template, {"name": name})
    if "\n" in text or "\r" in text:
        raise RecurrenceError(
            gettext_noop("Invalid rrule: must be a single line holding one RRULE value")
        )
    prefix = _RRULE_PREFIX_RE.match(text)
    if prefix:
        text = text[prefix.end() :]
    if ":" in text:
        raise RecurrenceError(
            gettext_noop("Invalid rrule: unexpected ':'; only one RRULE value is accepted")
        )
    pieces = [piece.strip() for piece in text.split(";")]
    if pieces and not pieces[-1]:
        pieces.pop()  # a trailing ";" is harmless
    if not pieces:
        raise RecurrenceError(gettext_noop("Invalid rrule: must not be empty"))
    parts: list[str] = []
    seen: set[str] = set()
    for piece in pieces:
        if not piece:
            raise RecurrenceError(gettext_noop("Invalid rrule: empty part between ';'"))
        name, sep, raw = piece.partition("=")
        name = name.strip().upper()
        if not sep or not name:
            raise RecurrenceError(
                gettext_noop("Invalid rrule: part %(part)s is not NAME=VALUE"),
                {"part": repr(piece)},
            )
        if name not in _PARTS:
            raise RecurrenceError(
                gettext_noop("Invalid rrule: unknown part %(name)s"), {"name": repr(name)}
            )
        if name in seen:
            raise RecurrenceError(
                gettext_noop("Invalid rrule: part %(name)s is repeated"), {"name": name}
            )
        seen.add(name)
        items = [item.strip().upper() for item in raw.split(",")]
        if not all(items):
            raise RecurrenceError(
                gettext_noop("Invalid rrule: %(name)s has an empty value"), {"name": name}
            )
        parts.append(f"{name}={','.join(items)}")
    return ";".join(parts)


@dataclass(frozen=True)
class _Until:
    """UNTIL: a UTC instant ("Z"), a wall time in the rule's zone, or a whole local day."""

    kind: Literal["utc", "local", "date"]
    value: datetime  # aware UTC for "utc", naive wall time otherwise (midnight for "date")
    text: str

    def admits(self, wall: datetime, zone: zoneinfo.ZoneInfo) -> bool:
        """Whether the occurrence at `wall` is on or before UNTIL (UNTIL is inclusive)."""
        if self.kind == "utc":
            return _to_utc(wall, zone) <= self.value
        if self.kind == "local":
            return wall <= self.value
        return wall.date() <= self.value.date()

    def wall_bound(self, zone: zoneinfo.ZoneInfo) -> datetime:
        """A wall time after which no occurrence can be admitted."""
        if self.kind == "utc":
            return _later(_to_wall(self.value, zone), _ZONE_MARGIN)
        if self.kind == "local":
            return self.value
        return datetime.combine(self.value.date(), time.max)


@dataclass(frozen=True)
class _Rule:
    """A parsed, statically valid RRULE (BY tuples are empty when the part is absent)."""

    freq: str
    interval: int
    count: int | None
    until: _Until | None
    wkst: int
    bysecond: tuple[int, ...]
    byminute: tuple[int, ...]
    byhour: tuple[int, ...]
    byday: tuple[tuple[int, int | None], ...]  # (weekday 0=Monday, ordinal or None)
    bymonthday: tuple[int, ...]
    byyearday: tuple[int, ...]
    byweekno: tuple[int, ...]
    bymonth: tuple[int, ...]
    bysetpos: tuple[int, ...]


def _parse_numbers(name: str, raw: str) -> tuple[int, ...]:
    low, high, signed = _NUMBER_RANGES[name]
    template = (
        gettext_noop(
            "Invalid rrule: %(name)s values must be %(low)s to %(high)s or -%(high)s to -1 "
            "(got %(value)s)"
        )
        if signed
        else gettext_noop(
            "Invalid rrule: %(name)s values must be %(low)s to %(high)s (got %(value)s)"
        )
    )
    pattern = r"[+-]?[0-9]{1,3}" if signed else r"[0-9]{1,3}"
    numbers = []
    for item in raw.split(","):
        number = int(item) if re.fullmatch(pattern, item) else None
        if number is None or not low <= abs(number) <= high:
            raise RecurrenceError(
                template, {"name": name, "low": low, "high": high, "value": repr(item)}
            )
        numbers.append(number)
    if name == "BYSECOND" and 60 in numbers:
        raise RecurrenceError(
            gettext_noop("Invalid rrule: BYSECOND=60 (a leap second) is not supported")
        )
    return tuple(numbers)


def _parse_byday(raw: str) -> tuple[tuple[int, int | None], ...]:
    days = []
    for item in raw.split(","):
        match = _BYDAY_RE.fullmatch(item)
        if not match or match.group(2) not in _WEEKDAYS:
            raise RecurrenceError(
                gettext_noop(
                    "Invalid rrule: BYDAY value %(value)s is not a weekday "
                    "(MO, TU, WE, TH, FR, SA, SU, optionally numbered like 1MO or -1FR)"
                ),
                {"value": repr(item)},
            )
        ordinal = int(match.group(1)) if match.group(1) else None
        if ordinal is not None and not 1 <= abs(ordinal) <= 53:
            raise RecurrenceError(
                gettext_noop(
                    "Invalid rrule: BYDAY ordinal must be 1 to 53 or -53 to -1 (got %(value)s)"
                ),
                {"value": repr(item)},
            )
        days.append((_WEEKDAYS.index(match.group(2)), ordinal))
    return tuple(days)


def _parse_until(raw: str) -> _Until:
    match = _UNTIL_RE.fullmatch(raw)
    error = RecurrenceError(
        gettext_noop(
            "Invalid rrule: UNTIL must be a date (YYYYMMDD) or a date-time (YYYYMMDDTHHMMSS, "
            "with Z for UTC) (got %(value)s)"
        ),
        {"value": repr(raw)},
    )
    if not match:
        raise error
    year, month, day, hour, minute, second, utc = match.groups()
    try:
        value = datetime(*(int(field or 0) for field in (year, month, day, hour, minute, second)))
    except ValueError:
        raise error from None
    if hour is None:
        return _Until("date", value, raw)
    if utc:
        return _Until("utc", value.replace(tzinfo=UTC), raw)
    return _Until("local", value, raw)


def _parse_interval(raw: str) -> int:
    if not re.fullmatch(r"[0-9]+", raw) or not 1 <= int(raw) <= _MAX_INTERVAL:
        raise RecurrenceError(
            gettext_noop(
                "Invalid rrule: INTERVAL must be a positive integer up to %(maximum)s "
                "(got %(value)s)"
            ),
            {"maximum": _MAX_INTERVAL, "value": repr(raw)},
        )
    return int(raw)


def _parse_rule(rule: str) -> _Rule:
    """Parse a normalized rule and apply every check that does not depend on the start."""
    parts = dict(part.split("=", 1) for part in normalize_rrule(rule).split(";"))
    freq = parts.get("FREQ")
    if freq is None:
        raise RecurrenceError(gettext_noop("Invalid rrule: FREQ is required"))
    if freq == "SECONDLY":
        raise RecurrenceError(
            gettext_noop(
                "Invalid rrule: FREQ=SECONDLY is not supported; "
                "the shortest period is FREQ=MINUTELY;INTERVAL=%(interval)s"
            ),
            {"interval": MIN_MINUTELY_INTERVAL},
        )
    if freq not in _FREQUENCIES:
        raise RecurrenceError(
            gettext_noop("Invalid rrule: FREQ must be one of %(values)s (got %(value)s)"),
            {"values": ", ".join(_FREQUENCIES), "value": repr(freq)},
        )
    interval = _parse_interval(parts["INTERVAL"]) if "INTERVAL" in parts else 1
    if freq == "MINUTELY" and interval < MIN_MINUTELY_INTERVAL:
        raise RecurrenceError(
            gettext_noop(
                "Invalid rrule: FREQ=MINUTELY needs INTERVAL of at least %(minimum)s "
                "(got %(value)s)"
            ),
            {"minimum": MIN_MINUTELY_INTERVAL, "value": interval},
        )
    if interval * _STEP_MINUTES.get(freq, 0) > _MAX_STEP_DAYS * 1440:
        raise RecurrenceError(
            gettext_noop(
                "Invalid rrule: INTERVAL=%(interval)s makes one FREQ=%(freq)s step longer than "
                "%(years)s years; use FREQ=MONTHLY or FREQ=YEARLY"
            ),
            {"interval": interval, "freq": freq, "years": _EXISTENCE_YEARS},
        )
    count = None
    if "COUNT" in parts:
        raw = parts["COUNT"]
        if not re.fullmatch(r"[0-9]+", raw) or not 1 <= int(raw) <= MAX_COUNT:
            raise RecurrenceError(
                gettext_noop(
                    "Invalid rrule: COUNT must be between 1 and %(maximum)s (got %(value)s)"
                ),
                {"maximum": MAX_COUNT, "value": repr(raw)},
            )
        count = int(raw)
    until = _parse_until(parts["UNTIL"]) if "UNTIL" in parts else None
    if count is not None and until is not None:
        raise RecurrenceError(
            gettext_noop("Invalid rrule: COUNT and UNTIL cannot be used together")
        )
    wkst = 0
    if "WKST" in parts:
        if parts["WKST"] not in _WEEKDAYS:
            raise RecurrenceError(
                gettext_noop("Invalid rrule: WKST must be one of %(values)s (got %(value)s)"),
                {"values": ", ".join(_WEEKDAYS), "value": repr(parts["WKST"])},
            )
        wkst = _WEEKDAYS.index(parts["WKST"])
    numbers = {
        name: _parse_numbers(name, parts[name]) if name in parts else () for name in _NUMBER_RANGES
    }
    byday = _parse_byday(parts["BYDAY"]) if "BYDAY" in parts else ()
    parsed = _Rule(
        freq=freq,
        interval=interval,
        count=count,
        until=until,
        wkst=wkst,
        bysecond=numbers["BYSECOND"],
        byminute=numbers["BYMINUTE"],
        byhour=numbers["BYHOUR"],
        byday=byday,
        bymonthday=numbers["BYMONTHDAY"],
        byyearday=numbers["BYYEARDAY"],
        byweekno=numbers["BYWEEKNO"],
        bymonth=numbers["BYMONTH"],
        bysetpos=numbers["BYSETPOS"],
    )
    _check_combinations(parsed)
    return parsed


def _check_combinations(rule: _Rule) -> None:
    """Reject BY parts that RFC 5545 3.3.10 does not define for the frequency, and ones that
    can never match whatever the start."""
    freq = rule.freq
    if rule.byweekno and freq != "YEARLY":
        raise RecurrenceError(
            gettext_noop("Invalid rrule: BYWEEKNO can only be used with FREQ=YEARLY")
        )
    if rule.byyearday and freq in ("MONTHLY", "WEEKLY", "DAILY"):
        raise RecurrenceError(
            gettext_noop("Invalid rrule: BYYEARDAY cannot be used with FREQ=%(freq)s"),
            {"freq": freq},
        )
    if rule.bymonthday and freq == "WEEKLY":
        raise RecurrenceError(
            gettext_noop("Invalid rrule: BYMONTHDAY cannot be used with FREQ=WEEKLY")
        )
    numbered = [(day, n) for day, n in rule.byday if n is not None]
    if numbered:
        label = f"{numbered[0][1]}{_WEEKDAYS[numbered[0][0]]}"
        if freq not in ("MONTHLY", "YEARLY"):
            raise RecurrenceError(
                gettext_noop(
                    "Invalid rrule: numbered BYDAY (%(value)s) cannot be used with "
                    "FREQ=%(freq)s; only with FREQ=MONTHLY or FREQ=YEARLY"
                ),
                {"value": label, "freq": freq},
            )
        if rule.byweekno:
            raise RecurrenceError(
                gettext_noop(
                    "Invalid rrule: numbered BYDAY (%(value)s) cannot be combined with BYWEEKNO"
                ),
                {"value": label},
            )
        # Within a month (MONTHLY, or YEARLY with BYMONTH) the ordinal counts in the month.
        if freq == "MONTHLY" or rule.bymonth:
            for day, n in numbered:
                if n is not None and abs(n) > 5:
                    raise RecurrenceError(
                        gettext_noop(
                            "Invalid rrule: BYDAY %(value)s never occurs; "
                            "a month has at most 5 of each weekday"
                        ),
                        {"value": f"{n}{_WEEKDAYS[day]}"},
                    )
    other_by_parts = (
        rule.bysecond,
        rule.byminute,
        rule.byhour,
        rule.byday,
        rule.bymonthday,
        rule.byyearday,
        rule.byweekno,
        rule.bymonth,
    )
    if rule.bysetpos and not any(other_by_parts):
        raise RecurrenceError(
            gettext_noop(
                "Invalid rrule: BYSETPOS needs another BY part (BYDAY, BYMONTHDAY, ...) "
                "to select from"
            )
        )


def _expansion_kwargs(rule: _Rule, start: datetime) -> dict[str, Any]:
    """dateutil keyword arguments with dateutil's start-derived defaults made explicit.

    dateutil fills missing BY parts from DTSTART (YEARLY: its month and day, MONTHLY: its day,
    WEEKLY: its weekday, and the time of day). Making them explicit here lets the expansion
    pass a later, period-aligned DTSTART without changing the rule's meaning.
    """
    freq = _FREQUENCIES[rule.freq]
    bymonth = rule.bymonth
    bymonthday = rule.bymonthday
    byday: tuple[tuple[int, int | None], ...] = rule.byday
    if not (rule.byweekno or rule.byyearday or rule.bymonthday or rule.byday):
        if freq == du.YEARLY:
            bymonth = bymonth or (start.month,)
            bymonthday = (start.day,)
        elif freq == du.MONTHLY:
            bymonthday = (start.day,)
        elif freq == du.WEEKLY:
            byday = ((start.weekday(), None),)
    byhour = rule.byhour or ((start.hour,) if freq < du.HOURLY else ())
    if freq == du.MINUTELY:
        # Applied by _walk instead: on a day its other BY parts reject, dateutil searches
        # the next day grid point by grid point for a BYHOUR match before it looks at the
        # date again (~100 steps a day). For MINUTELY, BYHOUR only limits, and one period
        # (a minute) lies in one hour, so filtering what dateutil yields is the same rule.
        byhour = ()
    byminute = rule.byminute or ((start.minute,) if freq < du.MINUTELY else ())
    bysecond = rule.bysecond or (start.second,)
    return {
        "freq": freq,
        "interval": rule.interval,
        "wkst": rule.wkst,
        "bysetpos": rule.bysetpos or None,
        "bymonth": bymonth or None,
        "byweekno": rule.byweekno or None,
        "byyearday": rule.byyearday or None,
        "bymonthday": bymonthday or None,
        "byweekday": [du.weekday(day, n) for day, n in byday] or None,
        "byhour": byhour or None,
        "byminute": byminute or None,
        "bysecond": bysecond,
        "cache": False,
    }


def _check_against_start(rule: _Rule, kwargs: dict[str, Any], start: datetime) -> None:
    """Static checks that need the start-derived defaults (see _expansion_kwargs)."""
    months = kwargs["bymonth"] or range(1, 13)
    monthdays = kwargs["bymonthday"]
    if monthdays and not any(abs(d) <= _DAYS_IN_MONTH[m - 1] for m in months for d in monthdays):
        template = (
            gettext_noop("Invalid rrule: BYMONTHDAY=%(days)s never occurs in BYMONTH=%(months)s")
            if rule.bymonthday
            else gettext_noop(
                "Invalid rrule: the start's day of month (%(days)s) never occurs in "
                "BYMONTH=%(months)s"
            )
        )
        raise RecurrenceError(
            template,
            {"days": ",".join(map(str, monthdays)), "months": ",".join(map(str, months))},
        )
    times = _period_times(kwargs)
    given = [name for name in ("BYHOUR", "BYMINUTE", "BYSECOND") if getattr(rule, name.lower())]
    most_times = _MAX_SLOT_TIMES[rule.freq]
    if rule.bysetpos and len(times) > most_times:
        # BYSETPOS picks from every candidate, and dateutil lists them all for each period.
        raise RecurrenceError(
            _TOO_MANY_CANDIDATES[_SLOT_NAMES[rule.freq]],
            {"parts": "/".join(given), "count": len(times), "maximum": most_times},
        )
    if _closest_gap(rule, kwargs, times, start) < _MIN_SPACING_SECONDS:
        setpos = "/BYSETPOS" if rule.bysetpos else ""
        raise RecurrenceError(
            gettext_noop(
                "Invalid rrule: %(parts)s put occurrences less than %(minutes)s minutes apart"
            ),
            {"parts": "/".join(given) + setpos, "minutes": MIN_MINUTELY_INTERVAL},
        )
    if rule.freq == "MINUTELY" and rule.byhour:
        # What dateutil would have checked had BYHOUR been left to it (_expansion_kwargs):
        # the minutes of the day the grid visits are those congruent to the start's.
        step = math.gcd(rule.interval, 1440)
        first = start.hour * 60 + start.minute
        minutes = rule.byminute or range(60)
        if not any((60 * h + m - first) % step == 0 for h in rule.byhour for m in minutes):
            raise RecurrenceError(_UNREACHABLE, {"interval": rule.interval})
    if rule.bysetpos:
        # Besides the clearer message, this keeps HOURLY/MINUTELY walks bounded: a BYSETPOS
        # that selects nothing makes dateutil step through every hour or minute unseen.
        most = _most_candidates(kwargs) * len(times)
        if all(abs(position) > most for position in rule.bysetpos):
            raise RecurrenceError(
                _NEVER_MATCHES[rule.freq],
                {"positions": ",".join(map(str, rule.bysetpos)), "maximum": most},
            )


def _closest_gap(rule: _Rule, kwargs: dict[str, Any], times: list[int], start: datetime) -> int:
    """A lower bound, in seconds of wall time, on the gap between two consecutive occurrences,
    judged on what BYSETPOS selects (not on every candidate) and across period boundaries.

    Candidates are laid out as BYSETPOS sees them: a "slot" (the period itself for DAILY,
    HOURLY and MINUTELY; each candidate day of a WEEKLY, MONTHLY or YEARLY period) holds
    every time of `times`. A period of the slower frequencies holds from 1 to
    varying number of days (see _day_counts), and each count is tried, as each makes
    BYSETPOS select other candidates.
    Candidate days k apart in a period are at least k calendar days apart; consecutive
    periods are taken to be adjacent (INTERVAL apart for the sub-daily ones, a day apart for
    the others when a period can hold several days), which is what most rules do.
    """
    if not times:
        return _MIN_SPACING_SECONDS
    freq = kwargs["freq"]
    per_slot = len(times)
    if freq >= du.DAILY:
        slot = _SLOT_SECONDS[rule.freq]
        day_counts: Iterable[int] = [1]
        next_period = rule.interval * slot  # from a period's first slot to the next one's
    else:
        slot = _SLOT_SECONDS["DAILY"]
        most = _most_candidates(kwargs)
        day_counts = _day_counts(kwargs, start, most) if rule.bysetpos else [1]
        next_period = None if most == 1 else 0  # 0: set per day count below
    closest = math.inf
    for days in day_counts:
        total = days * per_slot
        if rule.bysetpos:
            chosen = sorted(
                {p - 1 if p > 0 else total + p for p in rule.bysetpos if abs(p) <= total}
            )
        else:
            chosen = list(range(total))
        if not chosen:
            continue
        instants = [(i // per_slot) * slot + times[i % per_slot] for i in chosen]
        for a, b in itertools.pairwise(instants):
            closest = min(closest, b - a)
        if next_period is not None:
            period = next_period or days * slot
            closest = min(closest, period + instants[0] - instants[-1])
    return int(closest) if closest != math.inf else _MIN_SPACING_SECONDS


def _day_counts(kwargs: dict[str, Any], start: datetime, most: int) -> set[int] | range:
    """How many candidate days the WEEKLY, MONTHLY or YEARLY periods hold, as seen in the 28
    years from the start (the Gregorian calendar's weekday cycle, so every combination of
    month length, leap year and first weekday), or every count up to `most` for BYWEEKNO
    rules, whose weeks dateutil does not lay out as _week_year_walls does."""
    if kwargs["byweekno"]:
        return range(1, most + 1)
    freq = kwargs["freq"]
    origin = _period_start(freq, start, kwargs["wkst"])
    # Whole periods only: a period cut short would show a count the rule never has.
    until = _period_start(freq, _later(origin, relativedelta(years=28)), kwargs["wkst"])
    days = _BoundedRRule(
        max_steps=_walk_steps(freq, kwargs["interval"], origin, until),
        **{
            **kwargs,
            "dtstart": origin,
            "bysetpos": None,
            "byhour": 0,
            "byminute": 0,
            "bysecond": 0,
        },
    )
    counts: dict[datetime, int] = {}
    try:
        for day in days:
            if day >= until:
                break
            key = _period_start(freq, day, kwargs["wkst"])
            counts[key] = counts.get(key, 0) + 1
    except _WalkExhausted:
        pass
    return set(counts.values()) or range(1, most + 1)


def _period_times(kwargs: dict[str, Any]) -> list[int]:
    """Seconds into the period (day, hour or minute) of the times one period can produce."""
    freq = kwargs["freq"]
    hours = kwargs["byhour"] if freq < du.HOURLY else (0,)
    minutes = kwargs["byminute"] if freq < du.MINUTELY else (0,)
    return sorted(
        {h * 3600 + m * 60 + s for h in hours for m in minutes for s in kwargs["bysecond"]}
    )


def _most_candidates(kwargs: dict[str, Any]) -> int:
    """An upper bound on the days one period can select (each day then gets every time)."""
    freq = kwargs["freq"]
    if freq >= du.DAILY:
        return 1
    weekdays = kwargs["byweekday"] or []
    if freq == du.WEEKLY:
        return len({wd.weekday for wd in weekdays}) or 7
    listed_months = len(kwargs["bymonth"] or ())
    months = 1 if freq == du.MONTHLY else listed_months or 12
    bounds = [31 * months]
    if weekdays:
        # A plain weekday occurs at most 5 times a month, a numbered one once; without
        # BYMONTH a YEARLY rule counts weekdays in the year (53 at most).
        year_wide = freq == du.YEARLY and not listed_months
        plain, numbered = (53, 1) if year_wide else (5 * months, months)
        bounds.append(sum(plain if wd.n is None else numbered for wd in weekdays))
    if kwargs["bymonthday"]:
        bounds.append(len(kwargs["bymonthday"]) * months)
    if kwargs["byyearday"]:
        bounds.append(len(kwargs["byyearday"]))
    if kwargs["byweekno"]:
        bounds.append(7 * len(kwargs["byweekno"]))
    return min(bounds)


# Zones whose offset never changes (the fixed "Etc/GMT±N" ones and the names of UTC).
_FIXED_OFFSET_ZONE = re.compile(
    r"(Etc/)?(UTC|UCT|GMT([+-][0-9]{1,2})?|GMT0|Universal|Zulu|Greenwich)"
)


def _is_fixed_offset(zone: zoneinfo.ZoneInfo) -> bool:
    return _FIXED_OFFSET_ZONE.fullmatch(zone.key or "") is not None


def _to_wall(instant: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """The naive wall time of `instant` in `zone` (instants beyond the supported range are
    clamped, so callers may pass datetime.max and the like)."""
    low, high = _MIN_WALL.replace(tzinfo=UTC), _MAX_WALL.replace(tzinfo=UTC)
    return min(max(instant, low), high).astimezone(zone).replace(tzinfo=None)


def _to_utc(wall: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    # fold=0: a wall time in a spring gap is read with the offset before the gap, which lands
    # it the length of the gap later (RFC 5545 3.3.5); an ambiguous one is the first instance.
    return wall.replace(tzinfo=zone).astimezone(UTC)


def _clamp(wall: datetime) -> datetime:
    return min(max(wall, _MIN_WALL), _MAX_WALL)


def _later(wall: datetime, delta: timedelta | relativedelta) -> datetime:
    try:
        return _clamp(wall + delta)
    except (OverflowError, ValueError):  # past year 9999
        return _MAX_WALL


def _earlier(wall: datetime, delta: timedelta) -> datetime:
    try:
        return _clamp(wall - delta)
    except OverflowError:  # before year 1
        return _MIN_WALL


def _require_aware(value: datetime, name: str) -> None:
    # A naive datetime here is a bug in the caller, not bad user input.
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise TypeError(f"{name} must be an aware datetime, got {value!r}")


def _require_limit(value: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_OCCURRENCES:
        raise ValueError(f"{name} must be an integer from 0 to {MAX_OCCURRENCES}, got {value!r}")


def _period_start(freq: int, wall: datetime, wkst: int) -> datetime:
    """The start of the FREQ period holding `wall` (for WEEKLY, the week begins on WKST)."""
    if freq == du.YEARLY:
        return datetime(wall.year, 1, 1)
    if freq == du.MONTHLY:
        return datetime(wall.year, wall.month, 1)
    if freq == du.WEEKLY:
        return datetime.combine(wall.date(), time()) - timedelta((wall.weekday() - wkst) % 7)
    if freq == du.DAILY:
        return datetime.combine(wall.date(), time())
    if freq == du.HOURLY:
        return wall.replace(minute=0, second=0, microsecond=0)
    return wall.replace(second=0, microsecond=0)


def _skip_periods(freq: int, interval: int, origin: datetime, target: datetime) -> datetime:
    """The latest `origin` + k * INTERVAL periods (k >= 0) that is not after `target`.

    Moving DTSTART by whole intervals of whole periods keeps the rule's grid (which periods
    count, WKST weeks included), so the walk can start near `target` instead of at the start.
    """
    if target <= origin:
        return origin
    if freq == du.YEARLY:
        return origin.replace(year=origin.year + (target.year - origin.year) // interval * interval)
    if freq == du.MONTHLY:
        months = (target.year - origin.year) * 12 + target.month - origin.month
        index = origin.year * 12 + origin.month - 1 + months // interval * interval
        return origin.replace(year=index // 12, month=index % 12 + 1)
    unit = {
        du.WEEKLY: timedelta(weeks=1),
        du.DAILY: timedelta(days=1),
        du.HOURLY: timedelta(hours=1),
    }
    step = unit.get(freq, timedelta(minutes=1)) * interval
    return origin + (target - origin) // step * step


def _walk_steps(freq: int, interval: int, origin: datetime, until: datetime) -> int:
    """How many `_BoundedRRule` steps a walk from `origin` needs to get past `until`."""
    years = until.year - origin.year
    months = years * 12 + until.month - origin.month
    if freq == du.YEARLY:
        steps = years // interval
    elif freq == du.MONTHLY:
        steps = months // interval
    else:
        steps = months
    return steps + 3  # the walk's first mask build and read, and one period of slack


def _week_one(year: int, wkst: int) -> date:
    """The first day of week 1 of `year`: the week (starting on WKST) holding January 4th,
    i.e. the first one with at least four days in the year (RFC 5545 3.3.10, BYWEEKNO)."""
    january_4th = date(year, 1, 4)
    return january_4th - timedelta((january_4th.weekday() - wkst) % 7)


def _week_year_walls(
    kwargs: dict[str, Any], origin: datetime, high: datetime
) -> Iterator[datetime]:
    """The wall times of a FREQ=YEARLY;BYWEEKNO rule from the year of `origin` (a January 1st
    on the rule's grid) to `high`, ascending.

    A week belongs to the year its week 1 counts from, so week 53 of 2020 (28 December 2020
    to 3 January 2021) is wholly part of the period 2020, its January days included, and no
    part of 2021's. dateutil, rrule.js and rust-rrule cut such a week at the year end (its
    days in 2020 come from the period 2020, those in 2021 from the period 2021), which with
    an INTERVAL above 1 returns half a week. BYSETPOS selects from the week-year's days.
    """
    wkst, interval = kwargs["wkst"], kwargs["interval"]
    weekdays = {wd.weekday for wd in kwargs["byweekday"] or ()}
    months = set(kwargs["bymonth"] or ())
    monthdays = set(kwargs["bymonthday"] or ())
    yeardays = set(kwargs["byyearday"] or ())
    times = sorted(
        time(h, m, sec)
        for h in kwargs["byhour"]
        for m in kwargs["byminute"]
        for sec in kwargs["bysecond"]
    )
    positions = kwargs["bysetpos"]

    def admitted(day: date) -> bool:
        if weekdays and day.weekday() not in weekdays:
            return False
        if months and day.month not in months:
            return False
        if monthdays:
            length = calendar.monthrange(day.year, day.month)[1]
            if day.day not in monthdays and day.day - length - 1 not in monthdays:
                return False
        if yeardays:
            number = day.timetuple().tm_yday
            length = 366 if calendar.isleap(day.year) else 365
            if number not in yeardays and number - length - 1 not in yeardays:
                return False
        return True

    year = origin.year
    while year <= _MAX_WALL.year - 1:
        first = _week_one(year, wkst)
        if datetime.combine(first, time()) > high:
            return
        weeks = (_week_one(year + 1, wkst) - first).days // 7
        days = sorted(
            {
                first + timedelta(weeks=number - 1, days=offset)
                for n in kwargs["byweekno"]
                for number in [n if n > 0 else weeks + 1 + n]
                if 1 <= number <= weeks
                for offset in range(7)
            }
        )
        walls = [datetime.combine(day, at) for day in days if admitted(day) for at in times]
        if positions:
            walls = sorted(
                {walls[p - 1 if p > 0 else p] for p in positions if abs(p) <= len(walls)}
            )
        yield from walls
        year += interval


class _WalkExhausted(Exception):
    """A `_BoundedRRule` walked as far as it was allowed to."""


class _BoundedRRule(du.rrule):
    """A dateutil rrule that stops walking the calendar after `max_steps` steps.

    dateutil's generator only hands back control when it yields. Between two occurrences it
    walks the calendar inside one `next()` call, and a rule whose filters reject period
    after period (FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO, or any rule after its last
    match) walks on to year 9999 that way: millions of steps no caller can interrupt, and
    UNTIL does not help since dateutil only compares it with occurrences. While walking,
    dateutil rebuilds its calendar masks on entering each new month (each new period for
    MONTHLY and YEARLY) and reads `_byeaster` every time; this engine never uses BYEASTER,
    so counting those reads bounds the walk by calendar months. Pinned to python-dateutil
    2.9; the tests time adversarial rules so a change in dateutil cannot go unnoticed.
    """

    def __init__(self, *, max_steps: int, **kwargs: Any) -> None:
        self._steps_left = max_steps
        super().__init__(**kwargs)

    @property
    def _byeaster(self) -> None:
        self._steps_left -= 1
        if self._steps_left < 0:
            raise _WalkExhausted
        return None

    @_byeaster.setter
    def _byeaster(self, value: None) -> None:
        # rrule.__init__ stores None here (no BYEASTER); the getter above answers instead.
        pass


@dataclass(frozen=True)
class Recurrence:
    """An RRULE anchored at a start instant and expanded in the wall time of a timezone.

    Create it with build_recurrence(), which validates the rule against the start; the
    methods trust that validation. Returned instants are aware UTC datetimes. A COUNT rule's
    occurrences are those within the search span after its start (see first()).
    """

    rule: str  # normalized, never has "RRULE:"
    start: datetime  # aware, UTC (the DTSTART instant)
    timezone: zoneinfo.ZoneInfo  # expansion zone

    def __post_init__(self) -> None:
        _require_aware(self.start, "start")

    @cached_property
    def _rule(self) -> _Rule:
        return _parse_rule(self.rule)

    @cached_property
    def _start_wall(self) -> datetime:
        # DTSTART is this wall time in the zone, like DTSTART;TZID=...: a start in the second
        # half of an autumn overlap is therefore read (and first occurs) as the first half.
        return _to_wall(self.start, self.timezone).replace(microsecond=0)

    @cached_property
    def _kwargs(self) -> dict[str, Any]:
        return _expansion_kwargs(self._rule, self._start_wall)

    @cached_property
    def _search_span(self) -> relativedelta:
        """How far first(), next_after() and a COUNT rule look ahead (see _SEARCH_YEARS)."""
        rule = self._rule
        interval_years = {"YEARLY": rule.interval, "MONTHLY": -(-rule.interval // 12)}
        years = max(_SEARCH_YEARS[rule.freq], 2 * interval_years.get(rule.freq, 0))
        return relativedelta(years=years)

    def occurrences_between(
        self, after: datetime, before: datetime, *, limit: int = MAX_OCCURRENCES
    ) -> list[datetime]:
        """Occurrences t with after <= t < before, ascending, each instant once, at most
        `limit` (the earliest ones). A window longer than the search span (see first()) is
        cut to that span after `after` or the start, whichever is later."""
        _require_aware(after, "after")
        _require_aware(before, "before")
        _require_limit(limit, "limit")
        if limit == 0 or before <= after:
            return []
        low = _earlier(_to_wall(after, self.timezone), _ZONE_MARGIN)
        high = _later(_to_wall(before, self.timezone), _ZONE_MARGIN)
        span_end = _later(max(low, self._start_wall), self._search_span)
        return self._collect(
            low, min(high, span_end), lambda instant: after <= instant < before, limit
        )

    def occurrences_and_next(
        self, after: datetime, before: datetime, *, limit: int = MAX_OCCURRENCES
    ) -> tuple[list[datetime], datetime | None]:
        """`occurrences_between(after, before, limit=limit)` and the first occurrence at or
        after `before` (`next_after` of the instant just before it), from one walk of the
        rule instead of two: what a horizon pass needs of each window. The second is looked
        for only when fewer than `limit` occurrences were found (None otherwise), and is
        None too when there is none within the search span (see next_after())."""
        _require_aware(after, "after")
        _require_aware(before, "before")
        _require_limit(limit, "limit")
        if limit == 0 or before <= after:
            return [], None if limit == 0 else self.next_after(before - _MICROSECOND)
        zone, start = self.timezone, self._start_wall
        low = _earlier(_to_wall(after, zone), _ZONE_MARGIN)
        # The bounds each of the two calls would walk to.
        between_high = min(
            _later(_to_wall(before, zone), _ZONE_MARGIN),
            _later(max(low, start), self._search_span),
        )
        next_high = _later(max(_to_wall(before - _MICROSECOND, zone), start), self._search_span)
        # In a zone without transitions wall order is UTC order: the answer is settled by
        # the wall that completes it, without walking (for YEARLY: a year) past it.
        margin = timedelta(0) if _is_fixed_offset(zone) else _ZONE_MARGIN
        found: set[datetime] = set()
        settled_after: datetime | None = None  # as in _collect: the limit is reached
        following: datetime | None = None
        following_settled: datetime | None = None
        for wall in self._walk(low, max(between_high, next_high)):
            # Wall-time order is UTC order except within a zone transition: once the answer
            # is known, walls more than the margin later cannot change it.
            if settled_after is not None and wall > settled_after:
                break
            if following_settled is not None and wall > following_settled:
                break
            instant = _to_utc(wall, zone)
            if after <= instant < before:
                if wall <= between_high:
                    found.add(instant)
                    if settled_after is None and len(found) >= limit:
                        settled_after = wall + margin
                        if not margin:
                            break
            elif instant >= before and wall <= next_high:
                if following is None or instant < following:
                    following = instant
                if following_settled is None:
                    following_settled = wall + margin
                    if not margin:
                        break
        starts = sorted(found)[:limit]
        return starts, (None if len(starts) >= limit else following)

    def first(self, n: int) -> list[datetime]:
        """The first `n` occurrences from the start (n <= MAX_OCCURRENCES) within the search
        span: 1000 years for YEARLY, 200 MONTHLY, 50 WEEKLY and DAILY, 20 HOURLY, 10
        MINUTELY, at least two intervals. Only sparse rules ever reach that far."""
        _require_limit(n, "n")
        if n == 0:
            return []
        start = self._start_wall
        return self._collect(start, _later(start, self._search_span), lambda _: True, n)

    def next_after(self, instant: datetime) -> datetime | None:
        """The first occurrence strictly after `instant`, or None if there is none within the
        search span after it or the start, whichever is later (see first())."""
        _require_aware(instant, "instant")
        wall = _to_wall(instant, self.timezone)
        found = self._collect(
            _earlier(wall, _ZONE_MARGIN),
            _later(max(wall, self._start_wall), self._search_span),
            lambda occurrence: occurrence > instant,
            1,
        )
        return found[0] if found else None

    def describe(self) -> str:
        """The rule in English, e.g. "Every week on Monday and Friday at 02:00
        (Europe/Berlin), 10 times". Always names the timezone."""
        return self.description().render()

    def description(self) -> Message:
        """describe() as a Message whose pieces (weekday and month names, ordinals, "every N
        weeks", ...) are each a template marked for translation: `render(translate)` gives
        it in another language."""
        rule, kwargs = self._rule, self._kwargs
        words: list[Message] = [_every(rule.freq, rule.interval)]
        if kwargs["bymonth"]:
            months = [_MONTH_NAMES[m - 1] for m in kwargs["bymonth"]]
            words.append(Message(gettext_noop("in %(months)s"), {"months": _join(months)}))
        if rule.byweekno:
            weeks = _numbered(
                rule.byweekno,
                gettext_noop("week %(number)s"),
                gettext_noop("the %(position)s week"),
                _OF_WEEK,
            )
            words.append(Message(gettext_noop("in %(weeks)s"), {"weeks": _join(weeks)}))
        if rule.byyearday:
            days = _numbered(
                rule.byyearday,
                gettext_noop("day %(number)s"),
                gettext_noop("the %(position)s day"),
                _OF_DAY,
            )
            words.append(Message(gettext_noop("on %(days)s of the year"), {"days": _join(days)}))
        weekdays = kwargs["byweekday"] or []
        plain = sorted({wd.weekday for wd in weekdays if wd.n is None})
        numbered = [
            Message(
                gettext_noop("the %(position)s %(weekday)s"),
                {"position": _position(wd.n, _OF_DAY), "weekday": _DAY_NAMES[wd.weekday]},
            )
            for wd in weekdays
            if wd.n is not None
        ]
        if kwargs["bymonthday"]:
            days = [_monthday(n) for n in kwargs["bymonthday"]]
            if plain:
                words.append(
                    Message(
                        gettext_noop("on the %(days)s when it is a %(weekdays)s"),
                        {
                            "days": _join(days),
                            "weekdays": _join([_DAY_NAMES[d] for d in plain], "or"),
                        },
                    )
                )
                plain = []
            else:
                words.append(Message(gettext_noop("on the %(days)s"), {"days": _join(days)}))
        if plain or numbered:
            days_on = _join([_ON_DAY_NAMES[d] for d in plain] + numbered)
            if numbered and rule.freq == "YEARLY" and not kwargs["bymonth"]:
                template = gettext_noop("on %(weekdays)s of the year")
            else:
                template = gettext_noop("on %(weekdays)s")
            words.append(Message(template, {"weekdays": days_on}))
        clock = _describe_clock(rule, kwargs)
        if clock is not None:
            words.append(clock)
        text = Message(
            gettext_noop("%(rule)s (%(timezone)s)"),
            {"rule": Words(tuple(words)), "timezone": self.timezone.key},
        )
        if rule.bysetpos:
            template = (
                gettext_noop("%(rule)s, only the %(positions)s match in each %(unit)s")
                if len(rule.bysetpos) == 1
                else gettext_noop("%(rule)s, only the %(positions)s matches in each %(unit)s")
            )
            positions = _join([_position(n, _OF_MATCH) for n in rule.bysetpos])
            text = Message(
                template, {"rule": text, "positions": positions, "unit": _UNIT_NAMES[rule.freq]}
            )
        if rule.count is not None:
            if rule.count == 1:
                text = Message(gettext_noop("%(rule)s, once"), {"rule": text})
            else:
                text = Message(
                    gettext_noop("%(rule)s, %(count)s times"), {"rule": text, "count": rule.count}
                )
        if rule.until is not None:
            text = Message(
                gettext_noop("%(rule)s, until %(until)s"),
                {"rule": text, "until": _describe_until(rule.until)},
            )
        return text

    def _walk(
        self, low: datetime, high: datetime, *, honour_until: bool = True
    ) -> Iterator[datetime]:
        """Yield the rule's wall times from max(low, start) to `high` in wall-time order,
        COUNT counted from the start, UNTIL applied if `honour_until`. Bounded work: the
        dateutil walk may not go further than the month after `high`."""
        rule, start, zone = self._rule, self._start_wall, self.timezone
        until = rule.until if honour_until else None
        if until is not None:
            high = min(high, until.wall_bound(zone))
        if rule.count is not None:
            # COUNT is counted from the start, so this walk cannot skip ahead; a sparse rule
            # (COUNT=1000 of February 29ths that are Mondays) would walk for millennia.
            high = min(high, _later(start, self._search_span))
        low = max(low, start)
        if low > high:
            return
        freq = self._kwargs["freq"]
        # DTSTART is moved to the start of its period, with the defaults it implied made
        # explicit: BYSETPOS then always selects from whole periods, like RFC 5545 says
        # (dateutil would select from the days of the first WEEKLY period from DTSTART on).
        origin = _period_start(freq, start, rule.wkst)
        if rule.count is None:
            origin = _skip_periods(freq, rule.interval, origin, low)
        expansion: Iterable[datetime]
        if rule.byweekno:
            expansion = _week_year_walls(self._kwargs, origin, high)
        else:
            expansion = _BoundedRRule(
                max_steps=_walk_steps(freq, rule.interval, origin, high),
                dtstart=origin,
                **self._kwargs,
            )
        hours = rule.byhour if rule.freq == "MINUTELY" else ()  # see _expansion_kwargs
        counted = 0
        try:
            for wall in expansion:
                if wall > high:
                    return
                if wall < start or (hours and wall.hour not in hours):
                    continue
                counted += 1
                if rule.count is not None and counted > rule.count:
                    return
                # A "Z" UNTIL is compared as an instant, and instants are not in wall order
                # around a gap: keep going until wall_bound() rather than stopping here.
                if until is not None and not until.admits(wall, zone):
                    continue
                if wall >= low:
                    yield wall
        except _WalkExhausted:
            return

    def _collect(
        self, low: datetime, high: datetime, accept: Callable[[datetime], bool], limit: int
    ) -> list[datetime]:
        """The earliest `limit` distinct UTC instants of the walk from `low` to `high` that
        `accept` lets through."""
        found: set[datetime] = set()
        settled_after: datetime | None = None
        for wall in self._walk(low, high):
            # Wall-time order is UTC order except within a zone transition, so once `limit`
            # instants are found, walls more than the margin later cannot come earlier.
            if settled_after is not None and wall > settled_after:
                break
            instant = _to_utc(wall, self.timezone)
            if accept(instant):
                found.add(instant)
                if settled_after is None and len(found) >= limit:
                    settled_after = wall + _ZONE_MARGIN
        return sorted(found)[:limit]


def build_recurrence(rrule: str, *, start: datetime, timezone: str = "UTC") -> Recurrence:
    """Validate an RRULE value against its start and zone and return the Recurrence.

    Raises RecurrenceError (naming the field) for an unknown timezone, a start out of range,
    and every invalid rule: see the module's checks, RFC 5545 3.3.10 and the v4 spec. A rule
    whose occurrences are all in the past is valid; one without any occurrence in the first
    10 years after its start is not. Raises TypeError if `start` is naive.
    """
    _require_aware(start, "start")
    zone = parse_timezone(timezone)
    rule = _parse_rule(rrule)
    start_utc = start.astimezone(UTC).replace(microsecond=0)
    if start_utc.year not in _START_YEARS:
        raise RecurrenceError(
            gettext_noop("start_date_time must be in the years %(first)s to %(last)s"),
            {"first": _START_YEARS[0], "last": _START_YEARS[-1]},
            field="start_date_time",
        )
    recurrence = Recurrence(rule=normalize_rrule(rrule), start=start_utc, timezone=zone)
    start_wall = recurrence._start_wall
    _check_against_start(rule, recurrence._kwargs, start_wall)
    until = rule.until
    if until is not None:
        if until.kind == "utc":
            starts_later = until.value < start_utc
        elif until.kind == "local":
            starts_later = until.value < start_wall
        else:
            starts_later = until.value.date() < start_wall.date()
        if starts_later:
            raise RecurrenceError(
                gettext_noop("Invalid rrule: UNTIL=%(until)s is before the start (%(start)s)"),
                {"until": until.text, "start": f"{start_utc:%Y-%m-%dT%H:%M:%SZ}"},
            )
    horizon = _later(start_wall, relativedelta(years=_EXISTENCE_YEARS))
    try:
        first = next(recurrence._walk(start_wall, horizon, honour_until=False), None)
    except ValueError as exc:
        # dateutil's own check: with this INTERVAL, the grid never reaches a BYHOUR (HOURLY)
        # or BYMINUTE (MINUTELY) value from the start time.
        raise RecurrenceError(_UNREACHABLE, {"interval": rule.interval}) from exc
    if first is None:
        raise RecurrenceError(
            gettext_noop(
                "Invalid rrule: the rule has no occurrence within %(years)s years of the start"
            ),
            {"years": _EXISTENCE_YEARS},
        )
    if until is not None and not until.admits(first, zone):
        raise RecurrenceError(
            gettext_noop(
                "Invalid rrule: the rule has no occurrence between the start and UNTIL=%(until)s"
            ),
            {"until": until.text},
        )
    return recurrence


def stored_recurrence(rrule: str, *, start: datetime, timezone: str = "UTC") -> Recurrence:
    """The Recurrence of a rule `build_recurrence` accepted when it was stored (normalized):
    parsed again, so a rule or zone this engine no longer knows still raises RecurrenceError,
    but not checked against its start, which walks the rule. The horizon pass builds one for
    every window it extends, and that walk was a third of the rule's cost there."""
    _require_aware(start, "start")
    recurrence = Recurrence(
        rule=rrule,
        start=start.astimezone(UTC).replace(microsecond=0),
        timezone=parse_timezone(timezone),
    )
    recurrence._kwargs  # noqa: B018 - parses the rule now: its errors belong to the build
    return recurrence


# unit: (FREQ, largest `every` the rule checks accept)
_EVERY_UNITS = {
    "day": ("DAILY", _MAX_STEP_DAYS),
    "week": ("WEEKLY", _MAX_STEP_DAYS // 7),
    "month": ("MONTHLY", _MAX_INTERVAL),
    "year": ("YEARLY", _MAX_INTERVAL),
}


def every_to_rrule(every: int, unit: str) -> str:
    """The RRULE for the v1 shorthand "every `every` `unit`", e.g. (3, "day") ->
    "FREQ=DAILY;INTERVAL=3". Raises RecurrenceError(field="every" or "unit")."""
    if unit not in _EVERY_UNITS:
        raise RecurrenceError(
            gettext_noop("Invalid unit %(unit)s. Must be one of: %(values)s"),
            {"unit": repr(unit), "values": ", ".join(_EVERY_UNITS)},
            field="unit",
        )
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise RecurrenceError(
            gettext_noop("every must be a positive integer (got %(value)s)"),
            {"value": repr(every)},
            field="every",
        )
    freq, most = _EVERY_UNITS[unit]
    if every > most:
        raise RecurrenceError(
            gettext_noop("every must be at most %(maximum)s for unit '%(unit)s'"),
            {"maximum": most, "unit": unit},
            field="every",
        )
    return f"FREQ={freq};INTERVAL={every}"


# "Every N units": one sentence for 1 and one for more, so each language can agree.
_EVERY = {
    "YEARLY": (gettext_noop("Every year"), gettext_noop("Every %(count)s years")),
    "MONTHLY": (gettext_noop("Every month"), gettext_noop("Every %(count)s months")),
    "WEEKLY": (gettext_noop("Every week"), gettext_noop("Every %(count)s weeks")),
    "DAILY": (gettext_noop("Every day"), gettext_noop("Every %(count)s days")),
    "HOURLY": (gettext_noop("Every hour"), gettext_noop("Every %(count)s hours")),
    "MINUTELY": (gettext_noop("Every minute"), gettext_noop("Every %(count)s minutes")),
}
# The period one BYSETPOS selects in ("in each month").
_UNIT_NAMES = {
    "YEARLY": Message(pgettext_noop("a period, as in 'in each year'", "year")),
    "MONTHLY": Message(pgettext_noop("a period, as in 'in each year'", "month")),
    "WEEKLY": Message(pgettext_noop("a period, as in 'in each year'", "week")),
    "DAILY": Message(pgettext_noop("a period, as in 'in each year'", "day")),
    "HOURLY": Message(pgettext_noop("a period, as in 'in each year'", "hour")),
    "MINUTELY": Message(pgettext_noop("a period, as in 'in each year'", "minute")),
}
_DAY_NAMES = tuple(
    Message(name)
    for name in (
        gettext_noop("Monday"),
        gettext_noop("Tuesday"),
        gettext_noop("Wednesday"),
        gettext_noop("Thursday"),
        gettext_noop("Friday"),
        gettext_noop("Saturday"),
        gettext_noop("Sunday"),
    )
)
_MONTH_NAMES = tuple(
    Message(name)
    for name in (
        gettext_noop("January"),
        gettext_noop("February"),
        gettext_noop("March"),
        gettext_noop("April"),
        gettext_noop("May"),
        gettext_noop("June"),
        gettext_noop("July"),
        gettext_noop("August"),
        gettext_noop("September"),
        gettext_noop("October"),
        gettext_noop("November"),
        gettext_noop("December"),
    )
)
# A weekday the rule happens on ("on Monday and Friday"): Spanish gives it an article.
# (Each context is written out in full: makemessages reads only literal arguments.)
_ON_DAY = "a weekday after 'on', as in 'on Monday and Friday'"
_ON_DAY_NAMES = tuple(
    Message(name, context=_ON_DAY)
    for name in (
        pgettext_noop("a weekday after 'on', as in 'on Monday and Friday'", "Monday"),
        pgettext_noop("a weekday after 'on', as in 'on Monday and Friday'", "Tuesday"),
        pgettext_noop("a weekday after 'on', as in 'on Monday and Friday'", "Wednesday"),
        pgettext_noop("a weekday after 'on', as in 'on Monday and Friday'", "Thursday"),
        pgettext_noop("a weekday after 'on', as in 'on Monday and Friday'", "Friday"),
        pgettext_noop("a weekday after 'on', as in 'on Monday and Friday'", "Saturday"),
        pgettext_noop("a weekday after 'on', as in 'on Monday and Friday'", "Sunday"),
    )
)
# An ordinal agrees with its noun in many languages: one context per kind of noun.
_OF_DAY = "ordinal of a weekday or a day, as in 'the first Monday'"
_OF_WEEK = "ordinal of a week, as in 'the last week'"


def _numbered(numbers: Iterable[int], counted: str, from_end: str, of: str) -> list[Message]:
    """Week or year-day numbers as words: a positive one by its number (`counted`), a
    negative one by its position from the end (`from_end`, with the ordinals of `of`)."""
    return [
        Message(counted, {"number": n})
        if n > 0
        else Message(from_end, {"position": _position(n, of)})
        for n in numbers
    ]


_OF_MATCH = "ordinal of a match, as in 'only the last match in each month'"
_OF_MONTHDAY = "a day of the month, as in 'on the 1st'"
_POSITION_KEYS = (1, 2, 3, 4, 5, -1, -2, -3)
_POSITIONS = {
    _OF_DAY: dict(
        zip(
            _POSITION_KEYS,
            (
                pgettext_noop("ordinal of a weekday or a day, as in 'the first Monday'", "first"),
                pgettext_noop("ordinal of a weekday or a day, as in 'the first Monday'", "second"),
                pgettext_noop("ordinal of a weekday or a day, as in 'the first Monday'", "third"),
                pgettext_noop("ordinal of a weekday or a day, as in 'the first Monday'", "fourth"),
                pgettext_noop("ordinal of a weekday or a day, as in 'the first Monday'", "fifth"),
                pgettext_noop("ordinal of a weekday or a day, as in 'the first Monday'", "last"),
                pgettext_noop(
                    "ordinal of a weekday or a day, as in 'the first Monday'", "second-to-last"
                ),
                pgettext_noop(
                    "ordinal of a weekday or a day, as in 'the first Monday'", "third-to-last"
                ),
            ),
            strict=True,
        )
    ),
    _OF_WEEK: dict(
        zip(
            _POSITION_KEYS,
            (
                pgettext_noop("ordinal of a week, as in 'the last week'", "first"),
                pgettext_noop("ordinal of a week, as in 'the last week'", "second"),
                pgettext_noop("ordinal of a week, as in 'the last week'", "third"),
                pgettext_noop("ordinal of a week, as in 'the last week'", "fourth"),
                pgettext_noop("ordinal of a week, as in 'the last week'", "fifth"),
                pgettext_noop("ordinal of a week, as in 'the last week'", "last"),
                pgettext_noop("ordinal of a week, as in 'the last week'", "second-to-last"),
                pgettext_noop("ordinal of a week, as in 'the last week'", "third-to-last"),
            ),
            strict=True,
        )
    ),
    _OF_MATCH: dict(
        zip(
            _POSITION_KEYS,
            (
                pgettext_noop(
                    "ordinal of a match, as in 'only the last match in each month'", "first"
                ),
                pgettext_noop(
                    "ordinal of a match, as in 'only the last match in each month'", "second"
                ),
                pgettext_noop(
                    "ordinal of a match, as in 'only the last match in each month'", "third"
                ),
                pgettext_noop(
                    "ordinal of a match, as in 'only the last match in each month'", "fourth"
                ),
                pgettext_noop(
                    "ordinal of a match, as in 'only the last match in each month'", "fifth"
                ),
                pgettext_noop(
                    "ordinal of a match, as in 'only the last match in each month'", "last"
                ),
                pgettext_noop(
                    "ordinal of a match, as in 'only the last match in each month'",
                    "second-to-last",
                ),
                pgettext_noop(
                    "ordinal of a match, as in 'only the last match in each month'", "third-to-last"
                ),
            ),
            strict=True,
        )
    ),
}
_TO_LAST = {
    _OF_DAY: pgettext_noop(
        "ordinal of a weekday or a day, as in 'the first Monday'", "%(position)s-to-last"
    ),
    _OF_WEEK: pgettext_noop("ordinal of a week, as in 'the last week'", "%(position)s-to-last"),
    _OF_MATCH: pgettext_noop(
        "ordinal of a match, as in 'only the last match in each month'", "%(position)s-to-last"
    ),
}
# English ordinal suffixes: "st", "nd", "rd", "th".
_SUFFIXES = {
    _OF_DAY: (
        pgettext_noop("ordinal of a weekday or a day, as in 'the first Monday'", "%(number)sst"),
        pgettext_noop("ordinal of a weekday or a day, as in 'the first Monday'", "%(number)snd"),
        pgettext_noop("ordinal of a weekday or a day, as in 'the first Monday'", "%(number)srd"),
        pgettext_noop("ordinal of a weekday or a day, as in 'the first Monday'", "%(number)sth"),
    ),
    _OF_WEEK: (
        pgettext_noop("ordinal of a week, as in 'the last week'", "%(number)sst"),
        pgettext_noop("ordinal of a week, as in 'the last week'", "%(number)snd"),
        pgettext_noop("ordinal of a week, as in 'the last week'", "%(number)srd"),
        pgettext_noop("ordinal of a week, as in 'the last week'", "%(number)sth"),
    ),
    _OF_MATCH: (
        pgettext_noop(
            "ordinal of a match, as in 'only the last match in each month'", "%(number)sst"
        ),
        pgettext_noop(
            "ordinal of a match, as in 'only the last match in each month'", "%(number)snd"
        ),
        pgettext_noop(
            "ordinal of a match, as in 'only the last match in each month'", "%(number)srd"
        ),
        pgettext_noop(
            "ordinal of a match, as in 'only the last match in each month'", "%(number)sth"
        ),
    ),
    _OF_MONTHDAY: (
        pgettext_noop("a day of the month, as in 'on the 1st'", "%(number)sst"),
        pgettext_noop("a day of the month, as in 'on the 1st'", "%(number)snd"),
        pgettext_noop("a day of the month, as in 'on the 1st'", "%(number)srd"),
        pgettext_noop("a day of the month, as in 'on the 1st'", "%(number)sth"),
    ),
}


@dataclass(frozen=True)
class Words:
    """Messages written one after the other with a space between them (a description's
    phrases: "Every week", "on Monday", "at 09:00")."""

    items: tuple[Message | Words, ...]

    def render(self, translate: Translate | None = None) -> str:
        return " ".join(item.render(translate) for item in self.items)


def _every(freq: str, interval: int) -> Message:
    one, many = _EVERY[freq]
    return Message(one) if interval == 1 else Message(many, {"count": interval})


def _join(items: list[Any], conjunction: str = "and") -> Any:
    if len(items) < 2:
        return items[0] if items else ""
    template = (
        gettext_noop("%(items)s and %(last)s")
        if conjunction == "and"
        else gettext_noop("%(items)s or %(last)s")
    )
    return Message(template, {"items": tuple(items[:-1]), "last": items[-1]})


def _ordinal(n: int, context: str) -> Message:
    """20 -> "20th", in the context of the noun it numbers."""
    suffix = 3 if 10 <= n % 100 <= 20 else {1: 0, 2: 1, 3: 2}.get(n % 10, 3)
    return Message(_SUFFIXES[context][suffix], {"number": n}, context)


def _position(n: int, context: str) -> Message:
    """1 -> "first", 20 -> "20th", -1 -> "last", -2 -> "second-to-last"."""
    if n in _POSITIONS[context]:
        return Message(_POSITIONS[context][n], context=context)
    if n < 0:
        return Message(_TO_LAST[context], {"position": _position(-n, context)}, context)
    return _ordinal(n, context)


def _monthday(n: int) -> Message:
    """A BYMONTHDAY value: 1 -> "1st", -1 -> "last day"."""
    if n > 0:
        return _ordinal(n, _OF_MONTHDAY)
    return Message(gettext_noop("%(position)s day"), {"position": _position(n, _OF_DAY)})


def _clock(hour: int, minute: int, second: int) -> str:
    return f"{hour:02}:{minute:02}" + (f":{second:02}" if second else "")


def _describe_clock(rule: _Rule, kwargs: dict[str, Any]) -> Message | Words | None:
    """The time-of-day part of describe(): "at 02:00", "during 09:00-16:59", "at :30"."""
    freq = kwargs["freq"]
    if freq < du.HOURLY:
        times = sorted(
            (h, m, s)
            for h in kwargs["byhour"]
            for m in kwargs["byminute"]
            for s in kwargs["bysecond"]
        )
        labels = [_clock(*t) for t in times]
        if len(labels) > 6:
            return Message(
                gettext_noop("at %(count)s times from %(first)s to %(last)s"),
                {"count": len(labels), "first": labels[0], "last": labels[-1]},
            )
        return Message(gettext_noop("at %(times)s"), {"times": _join(labels)})
    phrases: list[Message] = []
    if rule.byhour:
        ranges: list[list[int]] = []
        for hour in sorted(set(rule.byhour)):
            if ranges and hour == ranges[-1][1] + 1:
                ranges[-1][1] = hour
            else:
                ranges.append([hour, hour])
        hours = _join([f"{a:02}:00-{b:02}:59" for a, b in ranges])
        phrases.append(Message(gettext_noop("during %(hours)s"), {"hours": hours}))
    if freq == du.HOURLY:
        marks = [
            f":{m:02}" + (f":{s:02}" if s else "")
            for m in kwargs["byminute"]
            for s in kwargs["bysecond"]
        ]
        phrases.append(Message(gettext_noop("at %(marks)s"), {"marks": _join(sorted(marks))}))
    else:
        if rule.byminute:
            minutes = _join([str(m) for m in sorted(set(rule.byminute))])
            phrases.append(Message(gettext_noop("at minute %(minutes)s"), {"minutes": minutes}))
        if rule.bysecond:
            seconds = _join([str(s) for s in rule.bysecond])
            phrases.append(Message(gettext_noop("at second %(seconds)s"), {"seconds": seconds}))
    if not phrases:
        return None
    return phrases[0] if len(phrases) == 1 else Words(tuple(phrases))


def _describe_until(until: _Until) -> Message:
    value = until.value
    day = Message(
        # Translators: a day, e.g. "31 December 2026".
        gettext_noop("%(day)s %(month)s %(year)s"),
        {"day": value.day, "month": _MONTH_NAMES[value.month - 1], "year": value.year},
    )
    if until.kind == "date":
        return day
    clock = _clock(value.hour, value.minute, value.second)
    if until.kind == "utc":
        # Translators: a day and a time of day in UTC, e.g. "31 December 2026 00:00 UTC".
        return Message(gettext_noop("%(day)s %(time)s UTC"), {"day": day, "time": clock})
    # Translators: a day and a time of day, e.g. "31 December 2026 00:00".
    return Message(gettext_noop("%(day)s %(time)s"), {"day": day, "time": clock})
