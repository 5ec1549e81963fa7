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
import itertools
import math
import re
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
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
    "Recurrence",
    "RecurrenceError",
    "build_recurrence",
    "every_to_rrule",
    "normalize_rrule",
    "parse_timezone",
    "stored_recurrence",
]


class RecurrenceError(ValueError):
    """Invalid rule or timezone.

    `field` is the API field at fault ("rrule", "timezone", "start_date_time", or "every" /
    "unit" for the v1 shorthand) and `message` a sentence naming the problem.
    """

    def __init__(self, message: str, *, field: str = "rrule") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


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
_FOREIGN_PROPERTIES = {
    "DTSTART": "send the start as start_date_time",
    "TZID": "send the zone as timezone",
    "EXDATE": "only a single RRULE value is accepted",
    "RDATE": "only a single RRULE value is accepted",
    "EXRULE": "only a single RRULE value is accepted",
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
_UNREACHABLE = (
    "Invalid rrule: with INTERVAL={interval} from the start time, "
    "the BYHOUR/BYMINUTE values are never reached"
)


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    # "localtime" is the host's zone under an alias, not an IANA name.
    return frozenset(zoneinfo.available_timezones() - {"localtime"})


def parse_timezone(name: str) -> zoneinfo.ZoneInfo:
    """Return the IANA zone called `name` ("UTC" included).

    Raises RecurrenceError(field="timezone") for anything that is not a known zone name.
    """
    if not isinstance(name, str) or name not in _zone_names():
        raise RecurrenceError(f"Unknown timezone {name!r}", field="timezone")
    return zoneinfo.ZoneInfo(name)


def normalize_rrule(value: str) -> str:
    """Return the RRULE value in its stored form: no "RRULE:" prefix, no surrounding
    whitespace, part names and values upper-cased, parts in the order given.

    Raises RecurrenceError on syntax problems: not a single RRULE value, DTSTART/TZID/EXDATE/
    RDATE content, a part that is not NAME=VALUE, an unknown or repeated part. The values
    themselves are checked by build_recurrence.
    """
    if not isinstance(value, str):
        raise RecurrenceError("Invalid rrule: must be a string")
    text = value.strip()
    if not text:
        raise RecurrenceError("Invalid rrule: must not be empty")
    if len(text) > _MAX_RULE_LENGTH:
        raise RecurrenceError(f"Invalid rrule: longer than {_MAX_RULE_LENGTH} characters")
    upper = text.upper()
    for name, advice in _FOREIGN_PROPERTIES.items():
        if name in upper:
            raise RecurrenceError(f"Invalid rrule: {name} is not allowed in the rule; {advice}")
    if "\n" in text or "\r" in text:
        raise RecurrenceError("Invalid rrule: must be a single line holding one RRULE value")
    prefix = _RRULE_PREFIX_RE.match(text)
    if prefix:
        text = text[prefix.end() :]
    if ":" in text:
        raise RecurrenceError("Invalid rrule: unexpected ':'; only one RRULE value is accepted")
    pieces = [piece.strip() for piece in text.split(";")]
    if pieces and not pieces[-1]:
        pieces.pop()  # a trailing ";" is harmless
    if not pieces:
        raise RecurrenceError("Invalid rrule: must not be empty")
    parts: list[str] = []
    seen: set[str] = set()
    for piece in pieces:
        if not piece:
            raise RecurrenceError("Invalid rrule: empty part between ';'")
        name, sep, raw = piece.partition("=")
        name = name.strip().upper()
        if not sep or not name:
            raise RecurrenceError(f"Invalid rrule: part {piece!r} is not NAME=VALUE")
        if name not in _PARTS:
            raise RecurrenceError(f"Invalid rrule: unknown part {name!r}")
        if name in seen:
            raise RecurrenceError(f"Invalid rrule: part {name} is repeated")
        seen.add(name)
        items = [item.strip().upper() for item in raw.split(",")]
        if not all(items):
            raise RecurrenceError(f"Invalid rrule: {name} has an empty value")
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
    allowed = f"{low} to {high}" + (f" or -{high} to -1" if signed else "")
    pattern = r"[+-]?[0-9]{1,3}" if signed else r"[0-9]{1,3}"
    numbers = []
    for item in raw.split(","):
        number = int(item) if re.fullmatch(pattern, item) else None
        if number is None or not low <= abs(number) <= high:
            raise RecurrenceError(f"Invalid rrule: {name} values must be {allowed} (got {item!r})")
        numbers.append(number)
    if name == "BYSECOND" and 60 in numbers:
        raise RecurrenceError("Invalid rrule: BYSECOND=60 (a leap second) is not supported")
    return tuple(numbers)


def _parse_byday(raw: str) -> tuple[tuple[int, int | None], ...]:
    days = []
    for item in raw.split(","):
        match = _BYDAY_RE.fullmatch(item)
        if not match or match.group(2) not in _WEEKDAYS:
            raise RecurrenceError(
                f"Invalid rrule: BYDAY value {item!r} is not a weekday "
                "(MO, TU, WE, TH, FR, SA, SU, optionally numbered like 1MO or -1FR)"
            )
        ordinal = int(match.group(1)) if match.group(1) else None
        if ordinal is not None and not 1 <= abs(ordinal) <= 53:
            raise RecurrenceError(
                f"Invalid rrule: BYDAY ordinal must be 1 to 53 or -53 to -1 (got {item!r})"
            )
        days.append((_WEEKDAYS.index(match.group(2)), ordinal))
    return tuple(days)


def _parse_until(raw: str) -> _Until:
    match = _UNTIL_RE.fullmatch(raw)
    error = RecurrenceError(
        "Invalid rrule: UNTIL must be a date (YYYYMMDD) or a date-time (YYYYMMDDTHHMMSS, "
        f"with Z for UTC) (got {raw!r})"
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
            f"Invalid rrule: INTERVAL must be a positive integer up to {_MAX_INTERVAL} "
            f"(got {raw!r})"
        )
    return int(raw)


def _parse_rule(rule: str) -> _Rule:
    """Parse a normalized rule and apply every check that does not depend on the start."""
    parts = dict(part.split("=", 1) for part in normalize_rrule(rule).split(";"))
    freq = parts.get("FREQ")
    if freq is None:
        raise RecurrenceError("Invalid rrule: FREQ is required")
    if freq == "SECONDLY":
        raise RecurrenceError(
            "Invalid rrule: FREQ=SECONDLY is not supported; "
            f"the shortest period is FREQ=MINUTELY;INTERVAL={MIN_MINUTELY_INTERVAL}"
        )
    if freq not in _FREQUENCIES:
        raise RecurrenceError(
            f"Invalid rrule: FREQ must be one of {', '.join(_FREQUENCIES)} (got {freq!r})"
        )
    interval = _parse_interval(parts["INTERVAL"]) if "INTERVAL" in parts else 1
    if freq == "MINUTELY" and interval < MIN_MINUTELY_INTERVAL:
        raise RecurrenceError(
            f"Invalid rrule: FREQ=MINUTELY needs INTERVAL of at least {MIN_MINUTELY_INTERVAL} "
            f"(got {interval})"
        )
    if interval * _STEP_MINUTES.get(freq, 0) > _MAX_STEP_DAYS * 1440:
        raise RecurrenceError(
            f"Invalid rrule: INTERVAL={interval} makes one FREQ={freq} step longer than "
            f"{_EXISTENCE_YEARS} years; use FREQ=MONTHLY or FREQ=YEARLY"
        )
    count = None
    if "COUNT" in parts:
        raw = parts["COUNT"]
        if not re.fullmatch(r"[0-9]+", raw) or not 1 <= int(raw) <= MAX_COUNT:
            raise RecurrenceError(
                f"Invalid rrule: COUNT must be between 1 and {MAX_COUNT} (got {raw!r})"
            )
        count = int(raw)
    until = _parse_until(parts["UNTIL"]) if "UNTIL" in parts else None
    if count is not None and until is not None:
        raise RecurrenceError("Invalid rrule: COUNT and UNTIL cannot be used together")
    wkst = 0
    if "WKST" in parts:
        if parts["WKST"] not in _WEEKDAYS:
            raise RecurrenceError(
                f"Invalid rrule: WKST must be one of {', '.join(_WEEKDAYS)} (got {parts['WKST']!r})"
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
        raise RecurrenceError("Invalid rrule: BYWEEKNO can only be used with FREQ=YEARLY")
    if rule.byyearday and freq in ("MONTHLY", "WEEKLY", "DAILY"):
        raise RecurrenceError(f"Invalid rrule: BYYEARDAY cannot be used with FREQ={freq}")
    if rule.bymonthday and freq == "WEEKLY":
        raise RecurrenceError("Invalid rrule: BYMONTHDAY cannot be used with FREQ=WEEKLY")
    numbered = [(day, n) for day, n in rule.byday if n is not None]
    if numbered:
        label = f"{numbered[0][1]}{_WEEKDAYS[numbered[0][0]]}"
        if freq not in ("MONTHLY", "YEARLY"):
            raise RecurrenceError(
                f"Invalid rrule: numbered BYDAY ({label}) cannot be used with FREQ={freq}; "
                "only with FREQ=MONTHLY or FREQ=YEARLY"
            )
        if rule.byweekno:
            raise RecurrenceError(
                f"Invalid rrule: numbered BYDAY ({label}) cannot be combined with BYWEEKNO"
            )
        # Within a month (MONTHLY, or YEARLY with BYMONTH) the ordinal counts in the month.
        if freq == "MONTHLY" or rule.bymonth:
            for day, n in numbered:
                if n is not None and abs(n) > 5:
                    raise RecurrenceError(
                        f"Invalid rrule: BYDAY {n}{_WEEKDAYS[day]} never occurs; "
                        "a month has at most 5 of each weekday"
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
            "Invalid rrule: BYSETPOS needs another BY part (BYDAY, BYMONTHDAY, ...) to select from"
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
        days = ",".join(map(str, monthdays))
        source = f"BYMONTHDAY={days}" if rule.bymonthday else f"the start's day of month ({days})"
        raise RecurrenceError(
            f"Invalid rrule: {source} never occurs in BYMONTH={','.join(map(str, months))}"
        )
    times = _period_times(kwargs)
    given = [name for name in ("BYHOUR", "BYMINUTE", "BYSECOND") if getattr(rule, name.lower())]
    most_times = _MAX_SLOT_TIMES[rule.freq]
    if rule.bysetpos and len(times) > most_times:
        # BYSETPOS picks from every candidate, and dateutil lists them all for each period.
        raise RecurrenceError(
            f"Invalid rrule: {'/'.join(given)} give {len(times)} candidate times per "
            f"{_SLOT_NAMES[rule.freq]} for BYSETPOS to pick from; at most {most_times}"
        )
    if _closest_gap(rule, kwargs, times, start) < _MIN_SPACING_SECONDS:
        setpos = "/BYSETPOS" if rule.bysetpos else ""
        raise RecurrenceError(
            f"Invalid rrule: {'/'.join(given)}{setpos} put occurrences less than "
            f"{MIN_MINUTELY_INTERVAL} minutes apart"
        )
    if rule.freq == "MINUTELY" and rule.byhour:
        # What dateutil would have checked had BYHOUR been left to it (_expansion_kwargs):
        # the minutes of the day the grid visits are those congruent to the start's.
        step = math.gcd(rule.interval, 1440)
        first = start.hour * 60 + start.minute
        minutes = rule.byminute or range(60)
        if not any((60 * h + m - first) % step == 0 for h in rule.byhour for m in minutes):
            raise RecurrenceError(_UNREACHABLE.format(interval=rule.interval))
    if rule.bysetpos:
        # Besides the clearer message, this keeps HOURLY/MINUTELY walks bounded: a BYSETPOS
        # that selects nothing makes dateutil step through every hour or minute unseen.
        most = _most_candidates(kwargs) * len(times)
        if all(abs(position) > most for position in rule.bysetpos):
            raise RecurrenceError(
                f"Invalid rrule: BYSETPOS={','.join(map(str, rule.bysetpos))} never matches; "
                f"each {_UNITS[rule.freq][0]} has at most {most} candidate(s)"
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
        rule, kwargs = self._rule, self._kwargs
        unit, units = _UNITS[rule.freq]
        words = [f"Every {unit}" if rule.interval == 1 else f"Every {rule.interval} {units}"]
        if kwargs["bymonth"]:
            words.append("in " + _join([calendar.month_name[m] for m in kwargs["bymonth"]]))
        if rule.byweekno:
            weeks = [f"week {n}" if n > 0 else f"the {_position(n)} week" for n in rule.byweekno]
            words.append("in " + _join(weeks))
        if rule.byyearday:
            days = [f"day {n}" if n > 0 else f"the {_position(n)} day" for n in rule.byyearday]
            words.append(f"on {_join(days)} of the year")
        weekdays = kwargs["byweekday"] or []
        plain = [_DAY_NAMES[d] for d in sorted({wd.weekday for wd in weekdays if wd.n is None})]
        numbered = [
            f"the {_position(wd.n)} {_DAY_NAMES[wd.weekday]}" for wd in weekdays if wd.n is not None
        ]
        if kwargs["bymonthday"]:
            days = [_ordinal(n) if n > 0 else f"{_position(n)} day" for n in kwargs["bymonthday"]]
            phrase = f"on the {_join(days)}"
            if plain:
                phrase += f" when it is a {_join(plain, 'or')}"
                plain = []
            words.append(phrase)
        if plain or numbered:
            phrase = f"on {_join(plain + numbered)}"
            if numbered and rule.freq == "YEARLY" and not kwargs["bymonth"]:
                phrase += " of the year"
            words.append(phrase)
        clock = _describe_clock(rule, kwargs)
        text = " ".join([*words, clock] if clock else words) + f" ({self.timezone.key})"
        if rule.bysetpos:
            matches = "match" if len(rule.bysetpos) == 1 else "matches"
            positions = _join([_position(n) for n in rule.bysetpos])
            text += f", only the {positions} {matches} in each {unit}"
        if rule.count is not None:
            text += ", once" if rule.count == 1 else f", {rule.count} times"
        if rule.until is not None:
            text += f", until {_describe_until(rule.until)}"
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
            f"start_date_time must be in the years {_START_YEARS[0]} to {_START_YEARS[-1]}",
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
                f"Invalid rrule: UNTIL={until.text} is before the start "
                f"({start_utc:%Y-%m-%dT%H:%M:%SZ})"
            )
    horizon = _later(start_wall, relativedelta(years=_EXISTENCE_YEARS))
    try:
        first = next(recurrence._walk(start_wall, horizon, honour_until=False), None)
    except ValueError as exc:
        # dateutil's own check: with this INTERVAL, the grid never reaches a BYHOUR (HOURLY)
        # or BYMINUTE (MINUTELY) value from the start time.
        raise RecurrenceError(_UNREACHABLE.format(interval=rule.interval)) from exc
    if first is None:
        raise RecurrenceError(
            f"Invalid rrule: the rule has no occurrence within {_EXISTENCE_YEARS} years "
            "of the start"
        )
    if until is not None and not until.admits(first, zone):
        raise RecurrenceError(
            f"Invalid rrule: the rule has no occurrence between the start and UNTIL={until.text}"
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
            f"Invalid unit {unit!r}. Must be one of: {', '.join(_EVERY_UNITS)}", field="unit"
        )
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise RecurrenceError(f"every must be a positive integer (got {every!r})", field="every")
    freq, most = _EVERY_UNITS[unit]
    if every > most:
        raise RecurrenceError(f"every must be at most {most} for unit '{unit}'", field="every")
    return f"FREQ={freq};INTERVAL={every}"


_UNITS = {
    "YEARLY": ("year", "years"),
    "MONTHLY": ("month", "months"),
    "WEEKLY": ("week", "weeks"),
    "DAILY": ("day", "days"),
    "HOURLY": ("hour", "hours"),
    "MINUTELY": ("minute", "minutes"),
}
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_POSITIONS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last"}


def _join(items: list[str], conjunction: str = "and") -> str:
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _position(n: int) -> str:
    """1 -> "first", 20 -> "20th", -1 -> "last", -2 -> "second-to-last"."""
    if n in _POSITIONS:
        return _POSITIONS[n]
    if n < 0:
        return f"{_position(-n)}-to-last"
    return _ordinal(n)


def _clock(hour: int, minute: int, second: int) -> str:
    return f"{hour:02}:{minute:02}" + (f":{second:02}" if second else "")


def _describe_clock(rule: _Rule, kwargs: dict[str, Any]) -> str:
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
            return f"at {len(labels)} times from {labels[0]} to {labels[-1]}"
        return f"at {_join(labels)}"
    phrases = []
    if rule.byhour:
        ranges: list[list[int]] = []
        for hour in sorted(set(rule.byhour)):
            if ranges and hour == ranges[-1][1] + 1:
                ranges[-1][1] = hour
            else:
                ranges.append([hour, hour])
        phrases.append("during " + _join([f"{a:02}:00-{b:02}:59" for a, b in ranges]))
    if freq == du.HOURLY:
        marks = [
            f":{m:02}" + (f":{s:02}" if s else "")
            for m in kwargs["byminute"]
            for s in kwargs["bysecond"]
        ]
        phrases.append(f"at {_join(sorted(marks))}")
    else:
        if rule.byminute:
            phrases.append(f"at minute {_join([str(m) for m in sorted(set(rule.byminute))])}")
        if rule.bysecond:
            phrases.append(f"at second {_join([str(s) for s in rule.bysecond])}")
    return " ".join(phrases)


def _describe_until(until: _Until) -> str:
    value = until.value
    day = f"{value.day} {calendar.month_name[value.month]} {value.year}"
    if until.kind == "date":
        return day
    return f"{day} {_clock(value.hour, value.minute, value.second)}" + (
        " UTC" if until.kind == "utc" else ""
    )
