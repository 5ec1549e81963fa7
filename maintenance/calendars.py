"""Holiday calendars: their writes (create, replace, delete, import from .ics) and the
working-day shift the scheduler applies to a plan's occurrences.

A plan that names a calendar keeps its occurrences where its rule puts them (the execution's
`due_at`, the key that makes each occurrence generate once); the task it generates is due on
the next working day at the same wall time, read in the calendar's timezone when it has one,
else in the plan's. So Saturday 09:00 Madrid becomes Monday 09:00 Madrid, whatever DST did
in between (a wall time the shift lands in a spring gap moves forward by the gap, as the
recurrence engine does).
"""

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import icalendar
from dateutil import rrule as du
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext

from core import audit
from core.errors import Conflict, InvalidInput, NotFound, summary_message
from core.i18n import localized
from maintenance.models import HolidayCalendar, HolidayDate
from scheduling.recurrence import RecurrenceError, parse_timezone

# Dates one calendar may hold (an import that would go beyond is refused).
MAX_DATES = 2000
# A yearly RRULE is expanded this many years ahead of the current one by default, at most
# IMPORT_MAX_HORIZON_YEARS.
IMPORT_HORIZON_YEARS = 5
IMPORT_MAX_HORIZON_YEARS = 20
IMPORT_MAX_BYTES = 1_000_000
# A calendar whose every day is a holiday would shift forever: the shift stops after this.
MAX_SHIFT_DAYS = 366
SATURDAY = 5


# --- the shift -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HolidayRules:
    dates: frozenset[date]
    weekends: bool
    timezone: str  # "" → the plan's

    def is_working_day(self, day: date) -> bool:
        return day not in self.dates and not (self.weekends and day.weekday() >= SATURDAY)


def rules_for(calendar_ids: Iterable[str | None]) -> dict[str, HolidayRules]:
    """The rules of the named calendars, in two queries whatever their number."""
    ids = {calendar_id for calendar_id in calendar_ids if calendar_id}
    if not ids:
        return {}
    dates: dict[str, set[date]] = {calendar_id: set() for calendar_id in ids}
    for calendar_id, day in HolidayDate.objects.filter(calendar_id__in=ids).values_list(
        "calendar_id", "date"
    ):
        dates[calendar_id].add(day)
    return {
        calendar_id: HolidayRules(frozenset(dates[calendar_id]), weekends, zone)
        for calendar_id, weekends, zone in HolidayCalendar.objects.filter(pk__in=ids).values_list(
            "id", "weekends", "timezone"
        )
    }


def next_working_instant(instant: datetime, rules: HolidayRules, *, timezone: str) -> datetime:
    """`instant`, or the same wall time on the next working day when its date is not one."""
    zone = zoneinfo.ZoneInfo(rules.timezone or timezone or "UTC")
    wall = instant.astimezone(zone).replace(tzinfo=None)
    if rules.is_working_day(wall.date()):
        return instant
    for _ in range(MAX_SHIFT_DAYS):
        wall += timedelta(days=1)
        if rules.is_working_day(wall.date()):
            # fold=0: the first instance of an ambiguous wall time; a gap moves forward.
            return wall.replace(tzinfo=zone).astimezone(UTC)
    return instant


# --- writes ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class HolidaySpec:
    day: date
    name: str = ""


@dataclass(frozen=True, kw_only=True)
class HolidayCalendarSpec:
    """A whole calendar (an update replaces its dates too)."""

    name: str
    timezone: str = ""
    weekends: bool = False
    dates: tuple[HolidaySpec, ...] = ()


def _check(spec: HolidayCalendarSpec, *, calendar_id: str | None) -> None:
    errors: dict[str, list[str]] = {}
    if spec.timezone:
        try:
            parse_timezone(spec.timezone)
        except RecurrenceError as exc:
            errors["timezone"] = [localized(exc)]
    others = HolidayCalendar.objects.filter(name=spec.name)
    if calendar_id is not None:
        others = others.exclude(pk=calendar_id)
    if others.exists():
        errors["name"] = [
            (gettext("A holiday calendar named '%(name)s' already exists.") % {"name": spec.name})
        ]
    days = [holiday.day for holiday in spec.dates]
    if len(set(days)) != len(days):
        errors["dates"] = [gettext("Each date may appear once.")]
    if len(days) > MAX_DATES:
        errors["dates"] = [
            (
                gettext("Ensure this field has no more than %(MAX_DATES)s elements.")
                % {"MAX_DATES": MAX_DATES}
            )
        ]
    if errors:
        raise InvalidInput(summary_message(errors), details=errors)


def _dates_of(calendar: HolidayCalendar) -> list[str]:
    return [
        f"{day.isoformat()} {name}".strip()
        for day, name in calendar.dates.order_by("date").values_list("date", "name")
    ]


def _write(calendar: HolidayCalendar, spec: HolidayCalendarSpec) -> HolidayCalendar:
    adding = calendar._state.adding
    before = None if adding else audit.snapshot(calendar, dates=_dates_of(calendar))
    calendar.name = spec.name
    calendar.timezone = spec.timezone
    calendar.weekends = spec.weekends
    try:
        with transaction.atomic():
            calendar.save()
            HolidayDate.objects.filter(calendar=calendar).delete()
            HolidayDate.objects.bulk_create(
                [HolidayDate(calendar=calendar, date=h.day, name=h.name) for h in spec.dates]
            )
            if before is None:
                audit.record_created(calendar, dates=_dates_of(calendar))
            else:
                audit.record_updated(calendar, before=before, dates=_dates_of(calendar))
    except IntegrityError:  # a concurrent write took the name after the check
        details = {
            "name": [
                (
                    gettext("A holiday calendar named '%(name)s' already exists.")
                    % {"name": spec.name}
                )
            ]
        }
        raise InvalidInput(summary_message(details), details=details) from None
    return calendar


def holiday_calendar_create(*, spec: HolidayCalendarSpec) -> HolidayCalendar:
    """Create a calendar with its dates (400 naming `name`, `timezone` or `dates`)."""
    _check(spec, calendar_id=None)
    return _write(HolidayCalendar(), spec)


def _lock(calendar_id: str) -> HolidayCalendar:
    calendar = HolidayCalendar.objects.select_for_update().filter(pk=calendar_id).first()
    if calendar is None:
        raise NotFound(
            gettext("Holiday calendar with id '%(calendar_id)s' not found")
            % {"calendar_id": calendar_id}
        )
    return calendar


def holiday_calendar_update(*, calendar_id: str, spec: HolidayCalendarSpec) -> HolidayCalendar:
    """Replace a calendar's fields and dates; plans that name it shift by the new dates from
    their next generated task on."""
    with transaction.atomic():
        calendar = _lock(calendar_id)
        _check(spec, calendar_id=calendar_id)
        return _write(calendar, spec)


def holiday_calendar_delete(*, calendar_id: str) -> None:
    """Delete a calendar; 409 while a plan names it."""
    with transaction.atomic():
        calendar = _lock(calendar_id)
        before = audit.snapshot(calendar, dates=_dates_of(calendar))
        try:
            with transaction.atomic():
                calendar.delete()
        except ProtectedError:
            raise Conflict(
                gettext(
                    "Holiday calendar '%(calendar_id)s' is used by plans; remove it from them first"
                )
                % {"calendar_id": calendar_id}
            ) from None
        audit.record_deleted(calendar, before=before)


def spec_of(calendar: HolidayCalendar) -> HolidayCalendarSpec:
    return HolidayCalendarSpec(
        name=calendar.name,
        timezone=calendar.timezone,
        weekends=calendar.weekends,
        dates=tuple(
            HolidaySpec(day=day, name=name)
            for day, name in calendar.dates.order_by("date").values_list("date", "name")
        ),
    )


# --- .ics import -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    calendar: HolidayCalendar
    imported: int  # dates added (dates already there are kept as they were)
    ignored: int  # events that are not all-day, or recur other than yearly


def _event_days(
    event, *, first: date, last: date
) -> tuple[list[tuple[date, str]], bool]:  # (days, usable)
    start = event.get("dtstart")
    if start is None or isinstance(start.dt, datetime) or not isinstance(start.dt, date):
        return [], False  # a timed event is not a holiday
    begin = start.dt
    name = str(event.get("summary", ""))[:255]
    end = event.get("dtend")
    length = 1
    if end is not None and isinstance(end.dt, date) and not isinstance(end.dt, datetime):
        length = max(1, min((end.dt - begin).days, 31))  # DTEND is exclusive
    rule = event.get("rrule")
    if rule is None:
        starts = [begin]
    else:
        text = rule.to_ical().decode()
        if rule.get("FREQ") != ["YEARLY"]:
            return [], False
        expanded = du.rrulestr(text, dtstart=datetime.combine(begin, time.min))
        window_start = datetime.combine(max(begin, first), time.min)
        window_end = datetime.combine(last, time.max)
        starts = [moment.date() for moment in expanded.between(window_start, window_end, inc=True)]
        excluded = set()
        for exdate in (
            event.get("exdate", [])
            if isinstance(event.get("exdate"), list)
            else [event.get("exdate")]
        ):
            if exdate is not None:
                excluded.update(
                    item.dt.date() if isinstance(item.dt, datetime) else item.dt
                    for item in exdate.dts
                )
        starts = [day for day in starts if day not in excluded]
    days = [(day + timedelta(days=offset), name) for day in starts for offset in range(length)]
    return days, True


def holiday_calendar_import(
    *, calendar_id: str, content: bytes, horizon_years: int, now: datetime
) -> ImportResult:
    """Add the all-day events of an .ics file to a calendar: each day of a (multi-day)
    event, and the occurrences of yearly RRULEs from this year through `horizon_years` - 1
    years ahead (EXDATEs left out). Timed events and other recurrences are counted as
    ignored. 400 naming `file` for something that is not iCalendar, `horizon_years` out of
    range, or more than MAX_DATES dates in all."""
    if not 1 <= horizon_years <= IMPORT_MAX_HORIZON_YEARS:
        raise InvalidInput(
            (
                gettext("Must be between 1 and %(IMPORT_MAX_HORIZON_YEARS)s.")
                % {"IMPORT_MAX_HORIZON_YEARS": IMPORT_MAX_HORIZON_YEARS}
            ),
            field="horizon_years",
        )
    if len(content) > IMPORT_MAX_BYTES:
        raise InvalidInput(
            (
                gettext("The file is larger than %(IMPORT_MAX_BYTES)s bytes.")
                % {"IMPORT_MAX_BYTES": IMPORT_MAX_BYTES}
            ),
            field="file",
        )
    try:
        parsed = icalendar.Calendar.from_ical(content)
        events = list(parsed.walk("VEVENT"))
    except (ValueError, KeyError, IndexError, TypeError, UnicodeDecodeError):
        raise InvalidInput(
            gettext("The file is not a valid iCalendar (.ics) file."), field="file"
        ) from None
    first = date(now.year, 1, 1)
    last = date(now.year + horizon_years - 1, 12, 31)
    found: dict[date, str] = {}
    ignored = 0
    for event in events:
        try:
            days, usable = _event_days(event, first=first, last=last)
        except (ValueError, TypeError, KeyError):
            days, usable = [], False
        if not usable:
            ignored += 1
        for day, name in days:
            found.setdefault(day, name)
            if len(found) > MAX_DATES:
                raise InvalidInput(
                    (
                        gettext(
                            "The file gives more than %(MAX_DATES)s dates; shorten horizon_years."
                        )
                        % {"MAX_DATES": MAX_DATES}
                    ),
                    field="file",
                )
    with transaction.atomic():
        calendar = _lock(calendar_id)
        spec = spec_of(calendar)
        known = {holiday.day for holiday in spec.dates}
        added = tuple(
            HolidaySpec(day=day, name=name)
            for day, name in sorted(found.items())
            if day not in known
        )
        if len(known) + len(added) > MAX_DATES:
            raise InvalidInput(
                (
                    gettext("The calendar would hold more than %(MAX_DATES)s dates.")
                    % {"MAX_DATES": MAX_DATES}
                ),
                field="file",
            )
        if added:
            _write(calendar, HolidayCalendarSpec(**{**spec.__dict__, "dates": spec.dates + added}))
    return ImportResult(calendar=calendar, imported=len(added), ignored=ignored)
