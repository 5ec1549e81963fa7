"""The admin's rule builder (core.admin_rules) and zoned times (core.admin_zoned), alone:
parse/compose round trips, the advanced fallback, and wall times across DST."""

from datetime import UTC, date, datetime, time

import pytest
from django.http import QueryDict

from core.admin_rules import RuleParts, compose, parse, parts_from_query
from core.admin_zoned import NonexistentTime, is_ambiguous, wall_to_utc, zone_or_utc
from scheduling.recurrence import normalize_rrule

# Rules the builder expresses, in the form it writes them (RFC 5545 3.3.10 parts).
ROUND_TRIPS = [
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;BYHOUR=9;BYMINUTE=0",
    "FREQ=DAILY;INTERVAL=1",
    "FREQ=DAILY;INTERVAL=3;BYHOUR=22;BYMINUTE=30",
    "FREQ=MINUTELY;INTERVAL=15",
    "FREQ=HOURLY;INTERVAL=6;COUNT=4",
    "FREQ=WEEKLY;INTERVAL=1;BYDAY=SA,SU;UNTIL=20271231",
    "FREQ=MONTHLY;INTERVAL=1;BYMONTHDAY=15;BYHOUR=2;BYMINUTE=0",
    "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=-1",
    "FREQ=YEARLY;INTERVAL=1;BYHOUR=0;BYMINUTE=0;COUNT=10",
]


@pytest.mark.parametrize("rule", ROUND_TRIPS)
def test_a_rule_the_builder_writes_reads_back_the_same(rule):
    parts = parse(rule)
    assert parts is not None
    assert compose(parts) == rule
    assert normalize_rrule(rule) == rule  # what the services store, unchanged


def test_the_issues_example_reads_into_the_builders_fields():
    parts = parse("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;BYHOUR=9;BYMINUTE=0")
    assert parts == RuleParts(every=2, unit="week", weekdays=("MO", "WE"), at=time(9, 0))
    assert not parts.is_plain_interval


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        # Case, order, a prefix, the default interval and WKST, a zero BYSECOND.
        ("RRULE:freq=weekly;byday=we,mo", "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,WE"),
        ("BYMINUTE=5;BYHOUR=7;FREQ=DAILY;WKST=MO", "FREQ=DAILY;INTERVAL=1;BYHOUR=7;BYMINUTE=5"),
        ("FREQ=DAILY;BYHOUR=7;BYMINUTE=0;BYSECOND=0", "FREQ=DAILY;INTERVAL=1;BYHOUR=7;BYMINUTE=0"),
        ("FREQ=MONTHLY;COUNT=2;", "FREQ=MONTHLY;INTERVAL=1;COUNT=2"),
    ],
)
def test_equivalent_spellings_are_read_into_the_builder(typed, written):
    assert compose(parse(typed)) == written


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=MONTHLY;BYDAY=1MO",  # numbered weekday
        "FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=-1",
        "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1",
        "FREQ=DAILY;BYHOUR=9,17;BYMINUTE=0",  # twice a day
        "FREQ=DAILY;BYHOUR=9",  # the minute would be the start's
        "FREQ=WEEKLY;WKST=SU;INTERVAL=2;BYDAY=SU,MO",
        "FREQ=DAILY;UNTIL=20271231T230000Z",  # a UTC instant, not a local day
        "FREQ=MONTHLY;BYMONTHDAY=1,15",
        "FREQ=DAILY;BYDAY=MO",  # BYDAY on a daily rule
        "FREQ=WEEKLY;BYMONTHDAY=3",
        "FREQ=HOURLY;BYHOUR=3;BYMINUTE=0",  # a time of day on a sub-daily rule
        "FREQ=SECONDLY",
        "FREQ=DAILY;FREQ=WEEKLY",
        "FREQ=DAILY;INTERVAL=0",
        "not a rule",
        "",
        None,
    ],
)
def test_a_rule_beyond_the_builder_opens_in_advanced_mode(rule):
    assert parse(rule) is None


def test_fields_that_do_not_apply_to_the_unit_are_left_out():
    parts = RuleParts(every=1, unit="day", weekdays=("MO",), monthday=3, at=time(8, 15))
    assert compose(parts) == "FREQ=DAILY;INTERVAL=1;BYHOUR=8;BYMINUTE=15"
    hourly = RuleParts(every=2, unit="hour", at=time(8, 15), until=date(2027, 1, 31))
    assert compose(hourly) == "FREQ=HOURLY;INTERVAL=2;UNTIL=20270131"


def test_only_every_n_days_to_years_is_a_plain_interval():
    assert RuleParts(every=3, unit="day").is_plain_interval
    assert RuleParts(every=1, unit="year").is_plain_interval
    assert not RuleParts(every=6, unit="hour").is_plain_interval
    assert not RuleParts(every=1, unit="week", weekdays=("MO",)).is_plain_interval
    assert not RuleParts(every=1, unit="day", count=3).is_plain_interval


def test_the_preview_reads_the_builder_from_its_query_as_the_form_does():
    query = QueryDict(mutable=True)
    query.update({"every": "2", "unit": "week", "rule_time": "09:00", "rule_end": "never"})
    query.setlist("rule_weekdays", ["WE", "MO"])
    assert compose(parts_from_query(query)) == (
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;BYHOUR=9;BYMINUTE=0"
    )
    assert parts_from_query(QueryDict("every=2")) is None  # no unit yet
    assert parts_from_query(QueryDict("every=2&unit=day&rule_end=count")) is None


# --- wall times in a zone ------------------------------------------------------------------


def test_a_wall_time_becomes_its_utc_instant():
    assert wall_to_utc(datetime(2027, 1, 4, 9, 0), "Europe/Paris") == datetime(
        2027, 1, 4, 8, 0, tzinfo=UTC
    )
    assert wall_to_utc(datetime(2027, 7, 5, 9, 0), "Europe/Paris") == datetime(
        2027, 7, 5, 7, 0, tzinfo=UTC
    )


def test_a_time_the_clocks_skip_is_refused_with_a_clear_message():
    # 2027-03-28: Paris goes from 02:00 to 03:00.
    with pytest.raises(NonexistentTime, match="2027-03-28 02:30 does not exist in Europe/Paris"):
        wall_to_utc(datetime(2027, 3, 28, 2, 30), "Europe/Paris")
    assert wall_to_utc(datetime(2027, 3, 28, 3, 0), "Europe/Paris") == datetime(
        2027, 3, 28, 1, 0, tzinfo=UTC
    )


def test_a_time_that_happens_twice_is_its_first_occurrence():
    # 2027-10-31: Paris goes from 03:00 back to 02:00; 02:30 happens at 00:30 and 01:30 UTC.
    wall = datetime(2027, 10, 31, 2, 30)
    assert is_ambiguous(wall, zone_or_utc("Europe/Paris"))
    assert wall_to_utc(wall, "Europe/Paris") == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    assert not is_ambiguous(datetime(2027, 10, 31, 4, 0), zone_or_utc("Europe/Paris"))


def test_an_unknown_zone_is_read_as_utc_and_left_to_the_service():
    assert wall_to_utc(datetime(2027, 1, 4, 9, 0), "Mars/Olympus") == datetime(
        2027, 1, 4, 9, 0, tzinfo=UTC
    )
