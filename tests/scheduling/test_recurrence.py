"""The RRULE engine (scheduling.recurrence): pure Python, no database.

The RFC 5545 examples come from tests/data/rfc5545-examples.json (see tests/data/README.md).
"""

import itertools
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dateutil import rrule as du

from scheduling.recurrence import (
    MAX_COUNT,
    MAX_OCCURRENCES,
    MIN_MINUTELY_INTERVAL,
    Recurrence,
    RecurrenceError,
    _BoundedRRule,
    _WalkExhausted,
    build_recurrence,
    every_to_rrule,
    normalize_rrule,
    parse_timezone,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
RFC_EXAMPLES = REPO_ROOT / "tests" / "data" / "rfc5545-examples.json"

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def local(zone: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone)


def _rfc_records() -> list[dict]:
    return json.loads(RFC_EXAMPLES.read_text())["examples"]


def _expected_instants(record: dict) -> list[datetime]:
    # The file's meta: the RFC's "every 3 hours" list is wrong (its UNTIL is 13:00 EDT), and
    # the corrected list is given as local wall times in the record's zone.
    if "expected_errata_corrected" in record:
        zone = ZoneInfo(record["tzid"])
        walls = record["expected_errata_corrected"]
        return [datetime.fromisoformat(w).replace(tzinfo=zone).astimezone(UTC) for w in walls]
    return [datetime.fromisoformat(instant) for instant in record["expected_utc"]]


# --- RFC 5545 examples -------------------------------------------------------------------------


def test_it_finds_every_rfc_example():
    assert len(_rfc_records()) == 42


@pytest.mark.parametrize("record", _rfc_records(), ids=lambda record: record["name"])
def test_it_expands_the_rfc_example(record):
    zone = ZoneInfo(record["tzid"])
    start = datetime.fromisoformat(record["dtstart"]).replace(tzinfo=zone)
    expected = _expected_instants(record)

    recurrence = build_recurrence(record["rrule"], start=start, timezone=record["tzid"])

    if record["bounded"]:
        # The whole set and nothing more.
        assert recurrence.first(MAX_OCCURRENCES) == expected
    else:
        assert recurrence.first(record["count_checked"]) == expected[: record["count_checked"]]


@pytest.mark.parametrize("record", _rfc_records(), ids=lambda record: record["name"])
def test_it_finds_the_rfc_example_in_windows_far_from_the_start(record):
    # The walk starts near the window, not at DTSTART; the grid must survive the jump.
    zone = ZoneInfo(record["tzid"])
    start = datetime.fromisoformat(record["dtstart"]).replace(tzinfo=zone)
    expected = _expected_instants(record)
    recurrence = build_recurrence(record["rrule"], start=start, timezone=record["tzid"])

    for after, before in itertools.pairwise(expected[::5]):
        window = [instant for instant in expected if after <= instant < before]
        assert recurrence.occurrences_between(after, before) == window
        assert recurrence.next_after(after) == window[1]


# The horizon pass takes both from one walk (`occurrences_and_next`); it must answer exactly
# what the two calls answer, across zone transitions, COUNT, UNTIL and the limit.
_ONE_WALK_RULES = [
    ("FREQ=DAILY", "UTC"),
    ("FREQ=DAILY;BYHOUR=2,3;BYMINUTE=30", "Europe/Berlin"),
    ("FREQ=HOURLY;INTERVAL=5", "America/New_York"),
    ("FREQ=MINUTELY;INTERVAL=15", "Australia/Lord_Howe"),
    ("FREQ=WEEKLY;BYDAY=MO,FR;COUNT=20", "Asia/Kolkata"),
    ("FREQ=MONTHLY;BYDAY=-1SU;BYHOUR=1", "Europe/London"),
    ("FREQ=YEARLY", "UTC"),
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "Pacific/Chatham"),
    ("FREQ=DAILY;UNTIL=20261101T060000Z", "America/New_York"),
    ("FREQ=HOURLY;INTERVAL=7;COUNT=300", "Etc/GMT-14"),
    ("FREQ=MONTHLY;BYMONTHDAY=31", "UTC"),
]


@pytest.mark.parametrize(("rule", "zone"), _ONE_WALK_RULES)
def test_one_walk_gives_what_occurrences_between_and_next_after_give(rule, zone):
    recurrence = build_recurrence(rule, start=utc(2026, 1, 1, 0, 30), timezone=zone)
    windows = [
        (utc(2025, 6, 1), utc(2026, 1, 2)),
        (utc(2026, 3, 27, 13), utc(2026, 3, 29, 1, 30, 0)),  # Europe's spring gap
        (utc(2026, 10, 24), utc(2026, 11, 1, 6, 30)),  # the autumn overlaps
        (utc(2026, 2, 1, 0, 0, 0), utc(2026, 5, 2, 0, 0, 1)),
        (utc(2027, 1, 1), utc(2029, 3, 1)),
        (utc(2040, 1, 1), utc(2040, 1, 1, 0, 0, 1)),
    ]
    for after, before in windows:
        for limit in (0, 1, 7, MAX_OCCURRENCES):
            starts = recurrence.occurrences_between(after, before, limit=limit)
            following = recurrence.next_after(before - timedelta(microseconds=1))
            expected = (starts, following if len(starts) < limit else None)
            assert recurrence.occurrences_and_next(after, before, limit=limit) == expected
    assert recurrence.occurrences_and_next(utc(2026, 5, 1), utc(2026, 4, 1)) == (
        [],
        recurrence.next_after(utc(2026, 4, 1) - timedelta(microseconds=1)),
    )


# --- time zones and DST ------------------------------------------------------------------------


def test_it_keeps_the_wall_time_in_summer_and_in_winter():
    recurrence = build_recurrence(
        "FREQ=DAILY;BYHOUR=2;BYMINUTE=0", start=utc(2026, 1, 1), timezone="Europe/Berlin"
    )

    summer = recurrence.occurrences_between(utc(2026, 7, 1), utc(2026, 7, 3))
    winter = recurrence.occurrences_between(utc(2026, 12, 1), utc(2026, 12, 3))
    assert summer == [utc(2026, 7, 1, 0), utc(2026, 7, 2, 0)]  # CEST, +02:00
    assert winter == [utc(2026, 12, 1, 1), utc(2026, 12, 2, 1)]  # CET, +01:00


def test_it_shifts_a_wall_time_in_the_spring_gap_forward_by_the_gap():
    recurrence = build_recurrence(
        "FREQ=DAILY;BYHOUR=2;BYMINUTE=0", start=utc(2026, 1, 1), timezone="Europe/Berlin"
    )

    # 2026-03-29 02:00 does not exist in Berlin: it is read as 03:00 CEST, i.e. 01:00Z.
    assert recurrence.occurrences_between(utc(2026, 3, 27), utc(2026, 3, 31)) == [
        utc(2026, 3, 27, 1),
        utc(2026, 3, 28, 1),
        utc(2026, 3, 29, 1),
        utc(2026, 3, 30, 0),
    ]


def test_it_takes_the_first_instance_of_an_ambiguous_wall_time():
    recurrence = build_recurrence(
        "FREQ=DAILY;BYHOUR=2;BYMINUTE=30", start=utc(2026, 1, 1), timezone="Europe/Berlin"
    )

    # 2026-10-25 02:30 happens twice in Berlin; the first (CEST, +02:00) is 00:30Z.
    assert recurrence.occurrences_between(utc(2026, 10, 24), utc(2026, 10, 27)) == [
        utc(2026, 10, 24, 0, 30),
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 26, 1, 30),
    ]


def test_it_handles_new_york_transitions_too():
    recurrence = build_recurrence(
        "FREQ=DAILY;BYHOUR=2;BYMINUTE=30", start=utc(2026, 1, 1), timezone="America/New_York"
    )

    # Spring 2026-03-08: 02:30 does not exist, read with EST (-05:00): 07:30Z = 03:30 EDT.
    assert recurrence.occurrences_between(utc(2026, 3, 7), utc(2026, 3, 10)) == [
        utc(2026, 3, 7, 7, 30),
        utc(2026, 3, 8, 7, 30),
        utc(2026, 3, 9, 6, 30),
    ]
    ambiguous = build_recurrence(
        "FREQ=DAILY;BYHOUR=1;BYMINUTE=30", start=utc(2026, 1, 1), timezone="America/New_York"
    )
    # Autumn 2026-11-01: 01:30 happens twice; the first is EDT (-04:00), 05:30Z.
    assert ambiguous.occurrences_between(utc(2026, 10, 31), utc(2026, 11, 3)) == [
        utc(2026, 10, 31, 5, 30),
        utc(2026, 11, 1, 5, 30),
        utc(2026, 11, 2, 6, 30),
    ]


def test_it_has_no_duplicate_instants_when_hourly_crosses_the_spring_gap():
    recurrence = build_recurrence("FREQ=HOURLY", start=utc(2026, 3, 1), timezone="Europe/Berlin")

    # Wall times 02:00 and 03:00 on 2026-03-29 are both 01:00Z; it is there once.
    assert recurrence.occurrences_between(utc(2026, 3, 28, 22), utc(2026, 3, 29, 4)) == [
        utc(2026, 3, 28, 22),
        utc(2026, 3, 28, 23),
        utc(2026, 3, 29, 0),
        utc(2026, 3, 29, 1),
        utc(2026, 3, 29, 2),
        utc(2026, 3, 29, 3),
    ]


def test_it_orders_and_deduplicates_quarter_hours_across_the_spring_gap():
    recurrence = build_recurrence(
        "FREQ=MINUTELY;INTERVAL=15", start=utc(2026, 3, 1), timezone="America/New_York"
    )

    got = recurrence.occurrences_between(utc(2026, 3, 8, 6), utc(2026, 3, 8, 9))
    assert got == [utc(2026, 3, 8, 6) + timedelta(minutes=15 * i) for i in range(12)]


def test_it_repeats_a_wall_hour_once_in_the_autumn_overlap():
    recurrence = build_recurrence("FREQ=HOURLY", start=utc(2026, 10, 1), timezone="Europe/Berlin")

    # Wall-time expansion has one 02:00 (the first); the repeated hour is not an occurrence.
    assert recurrence.occurrences_between(utc(2026, 10, 24, 23), utc(2026, 10, 25, 3)) == [
        utc(2026, 10, 24, 23),
        utc(2026, 10, 25, 0),
        utc(2026, 10, 25, 2),
    ]


def test_it_counts_wall_times_for_count_and_merges_the_instants_they_share():
    # RFC 5545: COUNT counts the rule's instances; two that are one instant are one event.
    recurrence = build_recurrence(
        "FREQ=HOURLY;COUNT=4", start=local(BERLIN, 2026, 3, 29, 1), timezone="Europe/Berlin"
    )

    assert recurrence.first(10) == [utc(2026, 3, 29, 0), utc(2026, 3, 29, 1), utc(2026, 3, 29, 2)]


def test_it_keeps_a_start_in_the_autumn_overlap_as_its_wall_time():
    # Like DTSTART;TZID=..., the start is a wall time: 01:30 EST (second instance) reads as
    # the first 01:30, an hour earlier; COUNT=1 still yields exactly one occurrence.
    second = local(NEW_YORK, 2026, 11, 1, 1, 30).replace(fold=1)
    recurrence = build_recurrence("FREQ=DAILY;COUNT=1", start=second, timezone="America/New_York")

    assert recurrence.first(5) == [utc(2026, 11, 1, 5, 30)]


def test_it_expands_in_zones_with_half_hour_shifts():
    recurrence = build_recurrence(
        "FREQ=DAILY;BYHOUR=2;BYMINUTE=15", start=utc(2026, 9, 1), timezone="Australia/Lord_Howe"
    )

    # Lord Howe moves from +10:30 to +11:00 on 2026-10-04 at 02:00; 02:15 is in the gap.
    assert recurrence.occurrences_between(utc(2026, 10, 2), utc(2026, 10, 5)) == [
        utc(2026, 10, 2, 15, 45),
        utc(2026, 10, 3, 15, 45),
        utc(2026, 10, 4, 15, 15),
    ]


# --- UNTIL, COUNT, start -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("until", "includes_fifth"),
    [
        ("20260105T080000Z", True),  # 09:00 in Berlin, an instant
        ("20260105T075959Z", False),
        ("20260105T090000", True),  # no Z: Berlin wall time
        ("20260105T085959", False),
        ("20260105", True),  # a date: the whole Berlin day
        ("20260104", False),
    ],
)
def test_it_reads_until_as_an_instant_or_in_the_rules_zone(until, includes_fifth):
    recurrence = build_recurrence(
        f"FREQ=DAILY;UNTIL={until}", start=local(BERLIN, 2026, 1, 1, 9), timezone="Europe/Berlin"
    )

    assert len(recurrence.first(100)) == (5 if includes_fifth else 4)


def test_it_includes_the_whole_local_day_of_a_date_until():
    recurrence = build_recurrence(
        "FREQ=DAILY;BYHOUR=23;BYMINUTE=30;UNTIL=20260103",
        start=local(BERLIN, 2026, 1, 1, 23, 30),
        timezone="Europe/Berlin",
    )

    assert recurrence.first(10)[-1] == utc(2026, 1, 3, 22, 30)


def test_it_accepts_a_rule_whose_occurrences_are_all_in_the_past():
    recurrence = build_recurrence("FREQ=WEEKLY;UNTIL=20010101T000000Z", start=utc(2000, 1, 3))

    assert recurrence.next_after(utc(2026, 1, 1)) is None
    assert recurrence.occurrences_between(utc(2026, 1, 1), utc(2027, 1, 1)) == []
    assert len(recurrence.first(100)) == 53


def test_it_stops_after_count():
    recurrence = build_recurrence("FREQ=DAILY;COUNT=3", start=utc(2026, 1, 1, 9))

    assert recurrence.first(10) == [utc(2026, 1, 1, 9), utc(2026, 1, 2, 9), utc(2026, 1, 3, 9)]
    assert recurrence.next_after(utc(2026, 1, 3, 9)) is None
    assert recurrence.occurrences_between(utc(2026, 1, 2), utc(2027, 1, 1)) == [
        utc(2026, 1, 2, 9),
        utc(2026, 1, 3, 9),
    ]


def test_it_stores_the_start_in_utc_to_the_second():
    recurrence = build_recurrence(
        "RRULE:FREQ=DAILY",
        start=local(BERLIN, 2026, 6, 1, 9, 0, 0, 500_000),
        timezone="Europe/Berlin",
    )

    assert recurrence.start == utc(2026, 6, 1, 7)
    assert recurrence.start.tzinfo is UTC
    assert recurrence.rule == "FREQ=DAILY"
    assert recurrence.timezone == BERLIN
    assert recurrence.first(1) == [utc(2026, 6, 1, 7)]


def test_it_rejects_a_naive_start_as_a_programming_error():
    with pytest.raises(TypeError):
        build_recurrence("FREQ=DAILY", start=datetime(2026, 1, 1))


@pytest.mark.parametrize("start", [utc(1899, 12, 31, 23), utc(9000, 1, 1)])
def test_it_rejects_a_start_out_of_range(start):
    with pytest.raises(RecurrenceError) as excinfo:
        build_recurrence("FREQ=DAILY", start=start)

    assert excinfo.value.field == "start_date_time"
    assert "1900 to 8999" in excinfo.value.message


def test_it_selects_bysetpos_from_the_whole_first_week():
    # RFC 5545: BYSETPOS picks from the period's set, then instances before DTSTART drop.
    # The week of Wednesday 2026-01-07 holds Monday 5th and Friday 9th: position 1 is the
    # Monday, before the start. (dateutil alone would pick from Wednesday on: the Friday.)
    recurrence = build_recurrence("FREQ=WEEKLY;BYDAY=MO,FR;BYSETPOS=1", start=utc(2026, 1, 7, 9))

    assert recurrence.first(2) == [utc(2026, 1, 12, 9), utc(2026, 1, 19, 9)]


# --- expansion calls ---------------------------------------------------------------------------


@pytest.fixture
def daily_at_nine() -> Recurrence:
    return build_recurrence("FREQ=DAILY", start=utc(2026, 1, 1, 9))


def test_it_includes_after_and_excludes_before(daily_at_nine):
    assert daily_at_nine.occurrences_between(utc(2026, 1, 2, 9), utc(2026, 1, 4, 9)) == [
        utc(2026, 1, 2, 9),
        utc(2026, 1, 3, 9),
    ]


def test_it_returns_the_earliest_occurrences_up_to_the_limit(daily_at_nine):
    assert daily_at_nine.occurrences_between(utc(2026, 1, 1), utc(2027, 1, 1), limit=2) == [
        utc(2026, 1, 1, 9),
        utc(2026, 1, 2, 9),
    ]
    assert daily_at_nine.occurrences_between(utc(2026, 1, 1), utc(2027, 1, 1), limit=0) == []
    assert len(daily_at_nine.occurrences_between(utc(2026, 1, 1), utc(2036, 1, 1))) == 1000


def test_it_returns_nothing_for_an_empty_window_or_one_before_the_start(daily_at_nine):
    assert daily_at_nine.occurrences_between(utc(2026, 2, 1), utc(2026, 2, 1)) == []
    assert daily_at_nine.occurrences_between(utc(2026, 2, 2), utc(2026, 2, 1)) == []
    assert daily_at_nine.occurrences_between(utc(2025, 1, 1), utc(2026, 1, 1, 9)) == []


@pytest.mark.parametrize("limit", [-1, MAX_OCCURRENCES + 1, 1.5, True])
def test_it_refuses_a_limit_beyond_the_hard_cap(daily_at_nine, limit):
    with pytest.raises(ValueError, match="limit"):
        daily_at_nine.occurrences_between(utc(2026, 1, 1), utc(2027, 1, 1), limit=limit)
    with pytest.raises(ValueError, match="n must"):
        daily_at_nine.first(limit)


def test_it_refuses_naive_instants(daily_at_nine):
    with pytest.raises(TypeError):
        daily_at_nine.occurrences_between(datetime(2026, 1, 1), utc(2026, 2, 1))
    with pytest.raises(TypeError):
        daily_at_nine.next_after(datetime(2026, 1, 1))


def test_it_finds_the_next_occurrence_strictly_after(daily_at_nine):
    assert daily_at_nine.next_after(utc(2026, 3, 1, 9)) == utc(2026, 3, 2, 9)
    assert daily_at_nine.next_after(utc(2026, 3, 1, 8, 59, 59)) == utc(2026, 3, 1, 9)
    assert daily_at_nine.next_after(utc(1990, 1, 1)) == utc(2026, 1, 1, 9)
    assert daily_at_nine.next_after(local(BERLIN, 2026, 3, 1, 10)) == utc(2026, 3, 2, 9)


def test_it_lists_the_first_occurrences_from_the_start(daily_at_nine):
    assert daily_at_nine.first(0) == []
    assert daily_at_nine.first(3) == [utc(2026, 1, 1, 9), utc(2026, 1, 2, 9), utc(2026, 1, 3, 9)]
    assert len(daily_at_nine.first(MAX_OCCURRENCES)) == MAX_OCCURRENCES


def test_it_skips_a_start_that_does_not_match_the_rule():
    recurrence = build_recurrence("FREQ=WEEKLY;BYDAY=MO", start=utc(2026, 1, 7, 9))  # Wed

    assert recurrence.first(2) == [utc(2026, 1, 12, 9), utc(2026, 1, 19, 9)]


def test_it_finds_sparse_occurrences():
    recurrence = build_recurrence("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", start=utc(2026, 1, 1))

    assert recurrence.first(3) == [utc(2028, 2, 29), utc(2032, 2, 29), utc(2036, 2, 29)]
    assert recurrence.next_after(utc(2096, 3, 1)) == utc(2104, 2, 29)  # 2100 is no leap year


def test_it_survives_instants_at_the_ends_of_time(daily_at_nine):
    assert daily_at_nine.next_after(datetime.max.replace(tzinfo=UTC)) is None
    everything = daily_at_nine.occurrences_between(
        datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC), limit=2
    )
    assert everything == [utc(2026, 1, 1, 9), utc(2026, 1, 2, 9)]


def test_it_finds_occurrences_far_from_an_early_start_without_walking_there():
    recurrence = build_recurrence(
        "FREQ=MINUTELY;INTERVAL=15", start=utc(1971, 1, 1), timezone="Europe/Berlin"
    )

    began = time.perf_counter()
    day = recurrence.occurrences_between(utc(2030, 6, 1), utc(2030, 6, 2))
    assert time.perf_counter() - began < 1
    assert day == [utc(2030, 6, 1) + timedelta(minutes=15 * i) for i in range(96)]


# Rules whose expansion by plain dateutil (DTSTART = the start's wall time) the engine must
# reproduce exactly in windows anywhere, though it starts its walks elsewhere.
MATCHES_DATEUTIL = [
    ("FREQ=DAILY;INTERVAL=3;BYHOUR=8,20", "Europe/Berlin"),
    ("FREQ=WEEKLY;INTERVAL=3;BYDAY=SU,WE;WKST=TH", "America/New_York"),
    ("FREQ=WEEKLY;INTERVAL=2", "Asia/Kathmandu"),
    ("FREQ=MONTHLY;INTERVAL=5;BYMONTHDAY=31,-10", "Europe/Berlin"),
    ("FREQ=MONTHLY;BYDAY=-1FR,2MO;BYSETPOS=-1", "UTC"),
    ("FREQ=YEARLY;INTERVAL=3;BYWEEKNO=20,-20;BYDAY=MO,SU", "Pacific/Apia"),
    # Every year: each week is whole whichever year dateutil takes its days from.
    ("FREQ=YEARLY;BYWEEKNO=1,52,53;BYDAY=MO,TH,SU", "Europe/Berlin"),
    ("FREQ=YEARLY", "Australia/Lord_Howe"),
    ("FREQ=HOURLY;INTERVAL=7;BYHOUR=1,9,17;BYMINUTE=0,30", "America/New_York"),
    ("FREQ=HOURLY;INTERVAL=5;BYDAY=MO,FR", "Europe/Berlin"),
    ("FREQ=MINUTELY;INTERVAL=45;BYHOUR=1,2,3,23", "Europe/Berlin"),
    ("FREQ=MINUTELY;INTERVAL=17;BYMINUTE=0,1,2,3,4,5;BYHOUR=5,6", "UTC"),
    ("FREQ=MINUTELY;INTERVAL=1439;BYHOUR=0", "America/New_York"),
    ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29", "UTC"),
]


@pytest.mark.parametrize(("rule", "zone_name"), MATCHES_DATEUTIL)
def test_it_matches_plain_dateutil_everywhere(rule, zone_name):
    zone = ZoneInfo(zone_name)
    start = utc(2026, 5, 13, 17, 45)
    wall = start.astimezone(zone).replace(tzinfo=None)
    reference = du.rrulestr(f"RRULE:{rule}", dtstart=wall, cache=False)
    end = wall + timedelta(days=3653)
    instants = set()
    for occurrence in reference:
        if occurrence > end:
            break
        instants.add(occurrence.replace(tzinfo=zone).astimezone(UTC))
    expected = sorted(instants)
    recurrence = build_recurrence(rule, start=start, timezone=zone_name)

    # The reference stops after 10 years; sparse rules go on beyond it.
    assert recurrence.first(50)[: len(expected)] == expected[:50]
    for offset in (3, 200, 1111, 3000):
        after = start + timedelta(days=offset, hours=offset % 24)
        before = after + timedelta(days=45)
        window = [instant for instant in expected if after <= instant < before]
        assert recurrence.occurrences_between(after, before) == window
        following = [instant for instant in expected if instant > after]
        if following:
            assert recurrence.next_after(after) == following[0]


# --- rejections --------------------------------------------------------------------------------

START = utc(2026, 1, 5, 10)  # a Monday

REJECTIONS = [
    # (rule, words the message must contain)
    ("DTSTART:20260105T100000Z\nRRULE:FREQ=DAILY", "DTSTART is not allowed"),
    ("FREQ=DAILY;DTSTART=20260105T100000Z", "DTSTART is not allowed"),
    ("DTSTART;TZID=Europe/Berlin:20260105T100000\nRRULE:FREQ=DAILY", "DTSTART is not allowed"),
    ("FREQ=DAILY;TZID=Europe/Berlin", "TZID is not allowed"),
    ("RRULE:FREQ=DAILY\nEXDATE:20260106T100000Z", "EXDATE is not allowed"),
    ("RRULE:FREQ=DAILY\nRDATE:20260106T100000Z", "RDATE is not allowed"),
    ("RRULE:FREQ=DAILY\nRRULE:FREQ=WEEKLY", "single line"),
    ("RRULE:RRULE:FREQ=DAILY", "unexpected ':'"),
    ("", "must not be empty"),
    ("   ", "must not be empty"),
    ("RRULE:", "must not be empty"),
    ("FREQ=DAILY;;COUNT=2", "empty part"),
    ("FREQ=DAILY;COUNT", "'COUNT' is not NAME=VALUE"),
    ("FREQ=DAILY;BYEASTER=0", "unknown part 'BYEASTER'"),
    ("FREQ=DAILY;X-NAME=1", "unknown part 'X-NAME'"),
    ("FREQ=DAILY;FREQ=WEEKLY", "FREQ is repeated"),
    ("FREQ=DAILY;BYDAY=MO,,TU", "BYDAY has an empty value"),
    ("COUNT=3", "FREQ is required"),
    ("FREQ=SECONDLY", "FREQ=SECONDLY is not supported"),
    ("FREQ=FORTNIGHTLY", "FREQ must be one of"),
    ("FREQ=MINUTELY", "FREQ=MINUTELY needs INTERVAL of at least 15 (got 1)"),
    ("FREQ=MINUTELY;INTERVAL=14", "FREQ=MINUTELY needs INTERVAL of at least 15 (got 14)"),
    ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be a positive integer"),
    ("FREQ=DAILY;INTERVAL=-1", "INTERVAL must be a positive integer"),
    ("FREQ=DAILY;INTERVAL=1.5", "INTERVAL must be a positive integer"),
    ("FREQ=DAILY;INTERVAL=two", "INTERVAL must be a positive integer"),
    ("FREQ=YEARLY;INTERVAL=1000000000", "INTERVAL must be a positive integer up to"),
    ("FREQ=DAILY;INTERVAL=3654", "INTERVAL=3654 makes one FREQ=DAILY step longer than 10"),
    ("FREQ=WEEKLY;INTERVAL=522", "INTERVAL=522 makes one FREQ=WEEKLY step"),
    ("FREQ=DAILY;COUNT=3;UNTIL=20270101T000000Z", "COUNT and UNTIL cannot be used together"),
    ("FREQ=DAILY;COUNT=0", "COUNT must be between 1 and 1000 (got '0')"),
    ("FREQ=DAILY;COUNT=1001", "COUNT must be between 1 and 1000 (got '1001')"),
    ("FREQ=DAILY;COUNT=-5", "COUNT must be between 1 and 1000"),
    ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY values must be 1 to 31 or -31 to -1 (got '0')"),
    ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY values must be 1 to 31 or -31 to -1 (got '32')"),
    ("FREQ=MONTHLY;BYMONTHDAY=-32", "BYMONTHDAY values must be 1 to 31 or -31 to -1"),
    ("FREQ=YEARLY;BYMONTH=0", "BYMONTH values must be 1 to 12 (got '0')"),
    ("FREQ=YEARLY;BYMONTH=13", "BYMONTH values must be 1 to 12 (got '13')"),
    ("FREQ=WEEKLY;BYDAY=XX", "BYDAY value 'XX' is not a weekday"),
    ("FREQ=WEEKLY;BYDAY=MONDAY", "BYDAY value 'MONDAY' is not a weekday"),
    ("FREQ=MONTHLY;BYDAY=0MO", "BYDAY ordinal must be 1 to 53 or -53 to -1 (got '0MO')"),
    ("FREQ=YEARLY;BYDAY=54MO", "BYDAY ordinal must be 1 to 53 or -53 to -1 (got '54MO')"),
    ("FREQ=YEARLY;BYDAY=-54MO", "BYDAY ordinal must be 1 to 53 or -53 to -1 (got '-54MO')"),
    ("FREQ=MONTHLY;BYDAY=6MO", "BYDAY 6MO never occurs; a month has at most 5"),
    ("FREQ=YEARLY;BYMONTH=3;BYDAY=-6FR", "BYDAY -6FR never occurs"),
    ("FREQ=DAILY;BYHOUR=24", "BYHOUR values must be 0 to 23 (got '24')"),
    ("FREQ=DAILY;BYHOUR=-1", "BYHOUR values must be 0 to 23 (got '-1')"),
    ("FREQ=DAILY;BYMINUTE=60", "BYMINUTE values must be 0 to 59 (got '60')"),
    ("FREQ=DAILY;BYSECOND=61", "BYSECOND values must be 0 to 60 (got '61')"),
    ("FREQ=DAILY;BYSECOND=60", "BYSECOND=60 (a leap second) is not supported"),
    ("FREQ=YEARLY;BYYEARDAY=0", "BYYEARDAY values must be 1 to 366 or -366 to -1 (got '0')"),
    ("FREQ=YEARLY;BYYEARDAY=367", "BYYEARDAY values must be 1 to 366 or -366 to -1"),
    ("FREQ=YEARLY;BYYEARDAY=-367", "BYYEARDAY values must be 1 to 366 or -366 to -1"),
    ("FREQ=YEARLY;BYWEEKNO=0", "BYWEEKNO values must be 1 to 53 or -53 to -1 (got '0')"),
    ("FREQ=YEARLY;BYWEEKNO=54", "BYWEEKNO values must be 1 to 53 or -53 to -1 (got '54')"),
    ("FREQ=YEARLY;BYWEEKNO=-54", "BYWEEKNO values must be 1 to 53 or -53 to -1"),
    ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0", "BYSETPOS values must be 1 to 366 or -366 to -1"),
    ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=367", "BYSETPOS values must be 1 to 366 or -366 to -1"),
    ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=-367", "BYSETPOS values must be 1 to 366 or -366 to -1"),
    ("FREQ=WEEKLY;BYDAY=1MO", "numbered BYDAY (1MO) cannot be used with FREQ=WEEKLY"),
    ("FREQ=DAILY;BYDAY=-1FR", "numbered BYDAY (-1FR) cannot be used with FREQ=DAILY"),
    ("FREQ=YEARLY;BYWEEKNO=20;BYDAY=1MO", "numbered BYDAY (1MO) cannot be combined with BYWEEKNO"),
    ("FREQ=MONTHLY;BYWEEKNO=20", "BYWEEKNO can only be used with FREQ=YEARLY"),
    ("FREQ=MONTHLY;BYYEARDAY=100", "BYYEARDAY cannot be used with FREQ=MONTHLY"),
    ("FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY cannot be used with FREQ=WEEKLY"),
    ("FREQ=MONTHLY;BYSETPOS=1", "BYSETPOS needs another BY part"),
    ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6", "BYSETPOS=6 never matches; each month has at most 5"),
    (
        "FREQ=HOURLY;BYSETPOS=2,-2;BYMINUTE=0",
        "BYSETPOS=2,-2 never matches; each hour has at most 1",
    ),
    ("FREQ=DAILY;WKST=XX", "WKST must be one of MO, TU, WE, TH, FR, SA, SU (got 'XX')"),
    ("FREQ=DAILY;UNTIL=2026-12-31", "UNTIL must be a date (YYYYMMDD) or a date-time"),
    ("FREQ=DAILY;UNTIL=20260230", "(got '20260230')"),
    ("FREQ=DAILY;UNTIL=20261231T250000Z", "(got '20261231T250000Z')"),
    ("FREQ=DAILY;UNTIL=20261231T0000", "UNTIL must be a date"),
    ("FREQ=DAILY;UNTIL=20260101T000000Z", "UNTIL=20260101T000000Z is before the start"),
    ("FREQ=DAILY;UNTIL=20260105T095959Z", "UNTIL=20260105T095959Z is before the start"),
    ("FREQ=DAILY;UNTIL=20260104", "UNTIL=20260104 is before the start"),
    ("FREQ=DAILY;BYHOUR=9;UNTIL=20260105", "no occurrence between the start and UNTIL=20260105"),
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "BYMONTHDAY=30 never occurs in BYMONTH=2"),
    ("FREQ=MONTHLY;BYMONTH=4,6,9,11;BYMONTHDAY=31", "BYMONTHDAY=31 never occurs in BYMONTH=4,6"),
    ("FREQ=MINUTELY;INTERVAL=15;BYMONTH=2;BYMONTHDAY=30", "BYMONTHDAY=30 never occurs"),
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO", "no occurrence within 10 years of the start"),
    ("FREQ=DAILY;INTERVAL=7;BYDAY=TU", "no occurrence within 10 years of the start"),
    ("FREQ=MONTHLY;INTERVAL=12;BYMONTH=6", "no occurrence within 10 years of the start"),
    ("FREQ=YEARLY;BYYEARDAY=1;BYMONTH=2", "no occurrence within 10 years of the start"),
    ("FREQ=DAILY;BYMINUTE=0,10", "BYMINUTE put occurrences less than 15 minutes apart"),
    ("FREQ=MONTHLY;BYHOUR=1,2;BYMINUTE=0,50", "BYHOUR/BYMINUTE put occurrences less than 15"),
    ("FREQ=MINUTELY;INTERVAL=15;BYSECOND=0,30", "BYSECOND put occurrences less than 15 minutes"),
    ("FREQ=HOURLY;INTERVAL=2;BYHOUR=1", "with INTERVAL=2 from the start time, the BYHOUR"),
    ("FREQ=MINUTELY;INTERVAL=120;BYHOUR=1", "with INTERVAL=120 from the start time"),
    ("FREQ=MINUTELY;INTERVAL=20;BYMINUTE=5", "with INTERVAL=20 from the start time"),
    ("FREQ=DAILY;BYDAY=" + ",".join(["MO"] * 400), "longer than 1000 characters"),
]


@pytest.mark.parametrize(("rule", "words"), REJECTIONS)
def test_it_rejects_the_invalid_rule_and_says_why(rule, words):
    with pytest.raises(RecurrenceError) as excinfo:
        build_recurrence(rule, start=START)

    assert excinfo.value.field == "rrule"
    assert excinfo.value.message.startswith("Invalid rrule: ")
    assert words in excinfo.value.message
    assert str(excinfo.value) == excinfo.value.message


def test_it_names_the_start_day_when_a_default_day_never_occurs():
    # YEARLY with only BYMONTH takes the start's day of month, and there is no 30 February.
    with pytest.raises(RecurrenceError, match=r"the start's day of month \(30\) never occurs"):
        build_recurrence("FREQ=YEARLY;BYMONTH=2", start=utc(2026, 1, 30))


def test_it_rejects_a_rule_that_is_not_a_string():
    with pytest.raises(RecurrenceError, match="must be a string"):
        build_recurrence(None, start=START)  # type: ignore[arg-type]


def test_it_accepts_the_rfc_sub_hour_examples():
    for rule in (
        "FREQ=MINUTELY;INTERVAL=15",
        "FREQ=MINUTELY;INTERVAL=20",
        "FREQ=MINUTELY;INTERVAL=90",
    ):
        assert build_recurrence(rule, start=START).rule == rule
    assert MIN_MINUTELY_INTERVAL == 15
    assert MAX_COUNT == 1000


def test_it_accepts_the_limits_themselves():
    build_recurrence("FREQ=DAILY;COUNT=1000", start=START)
    build_recurrence("FREQ=DAILY;INTERVAL=3653", start=START)
    build_recurrence("FREQ=MONTHLY;BYDAY=5MO", start=START)
    build_recurrence("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=-1,7", start=START)  # -1 can match
    build_recurrence("FREQ=DAILY;BYHOUR=0,23;BYMINUTE=0,15,30,45", start=START)
    build_recurrence("FREQ=DAILY;UNTIL=20260105T100000Z", start=START)  # UNTIL == start


# --- spacing judged on what BYSETPOS selects --------------------------------------------------


def test_it_judges_the_spacing_on_the_minutes_bysetpos_selects():
    # Each hour has 10:15:15, 10:15:45, 10:45:15, 10:45:45 (30 s apart); positions 3 and -3
    # are 10:45:15 and 10:15:45, 29.5 minutes apart, and 30.5 minutes from the next hour's.
    recurrence = build_recurrence(
        "FREQ=HOURLY;COUNT=3;BYMINUTE=15,45;BYSECOND=15,45;BYSETPOS=3,-3", start=START
    )

    assert recurrence.first(10) == [
        utc(2026, 1, 5, 10, 15, 45),
        utc(2026, 1, 5, 10, 45, 15),
        utc(2026, 1, 5, 11, 15, 45),
    ]


def test_it_judges_the_spacing_of_a_daily_rule_after_bysetpos():
    # 10:00 to 10:50 every 10 minutes (the start's hour); the 3rd is 10:20, the 2nd to last
    # 10:40: 20 minutes apart, every 5th day.
    recurrence = build_recurrence(
        "FREQ=DAILY;BYMINUTE=0,10,20,30,40,50;BYSETPOS=-2,3;INTERVAL=5;COUNT=5", start=START
    )

    assert recurrence.first(10) == [
        utc(2026, 1, 5, 10, 20),
        utc(2026, 1, 5, 10, 40),
        utc(2026, 1, 10, 10, 20),
        utc(2026, 1, 10, 10, 40),
        utc(2026, 1, 15, 10, 20),
    ]


def test_it_judges_a_monthly_bysetpos_on_the_days_its_months_really_have():
    # 09:00 and 09:10 on every weekday; the first candidate of a month is 09:00 on its first
    # weekday, the last 09:10 on its last one: weeks apart, though 10 minutes apart in a
    # period of one day. January 1st 2026 (a Thursday) is before the start.
    recurrence = build_recurrence(
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9;BYMINUTE=0,10;BYSETPOS=1,-1", start=START
    )

    assert recurrence.first(4) == [
        utc(2026, 1, 30, 9, 10),  # Friday, January's last weekday
        utc(2026, 2, 2, 9),  # Monday, February's first (the 1st is a Sunday)
        utc(2026, 2, 27, 9, 10),  # Friday (the 28th is a Saturday)
        utc(2026, 3, 2, 9),
    ]


@pytest.mark.parametrize(
    "rule",
    [
        # BYSETPOS selects neighbours: 10:00 and 10:10.
        "FREQ=HOURLY;BYMINUTE=0,10,20;BYSETPOS=1,2",
        # One day a week, so its first and last candidates are 10 minutes apart.
        "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0,10;BYSETPOS=1,-1",
        # Across the period boundary: hh:50 and the next hour's hh:00.
        "FREQ=HOURLY;BYMINUTE=0,50",
        "FREQ=DAILY;BYHOUR=0,23;BYMINUTE=0,55",
        "FREQ=WEEKLY;BYDAY=MO,TU;BYHOUR=0,23;BYMINUTE=0,55",
    ],
)
def test_it_refuses_occurrences_closer_than_fifteen_minutes(rule):
    with pytest.raises(RecurrenceError) as excinfo:
        build_recurrence(rule, start=START)

    assert "put occurrences less than 15 minutes apart" in excinfo.value.message


def test_it_accepts_close_times_a_single_day_a_month_never_brings_together():
    # 23:55 on the 1st and 00:00 on the next month's 1st are a month apart.
    recurrence = build_recurrence(
        "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=0,23;BYMINUTE=0,55", start=START
    )

    assert recurrence.first(5)[-2:] == [utc(2026, 2, 1, 23, 55), utc(2026, 3, 1)]


def test_it_bounds_the_candidates_bysetpos_picks_from():
    seconds = ",".join(map(str, range(0, 60, 30)))
    minutes = ",".join(map(str, range(60)))
    with pytest.raises(RecurrenceError) as excinfo:
        build_recurrence(
            f"FREQ=HOURLY;BYMINUTE={minutes};BYSECOND={seconds};BYSETPOS=1", start=START
        )

    assert excinfo.value.message == (
        "Invalid rrule: BYMINUTE/BYSECOND give 120 candidate times per hour for BYSETPOS "
        "to pick from; at most 60"
    )


# --- BYWEEKNO: a week belongs to one year ------------------------------------------------------


def test_it_keeps_a_week_53_that_straddles_the_year_end_whole():
    # Every 6th year from 2014; of those, 2020, 2026, 2032 and 2116 have a week 53 (ISO, weeks
    # start on Monday). Week 53 of 2020 runs from Monday 28 December 2020 to Sunday
    # 3 January 2021: its Tuesday and its Saturday both belong to the period 2020. 2038 and
    # 2044 have no week 53, and the days of 2037's and 2043's week 53 in January 2038/2044
    # are not theirs.
    recurrence = build_recurrence(
        "FREQ=YEARLY;BYWEEKNO=53;BYDAY=TU,SA;INTERVAL=6", start=utc(2014, 1, 1, 10)
    )

    assert recurrence.first(8) == [
        utc(2020, 12, 29, 10),
        utc(2021, 1, 2, 10),
        utc(2026, 12, 29, 10),
        utc(2027, 1, 2, 10),
        utc(2032, 12, 28, 10),
        utc(2033, 1, 1, 10),
        utc(2116, 12, 29, 10),
        utc(2117, 1, 2, 10),
    ]


def test_it_takes_a_week_1_that_starts_in_december_as_the_next_years():
    # Every other year from 2018. Week 1 of 2020 starts on Monday 30 December 2019 and week 1
    # of 2026 on Monday 29 December 2025 (1 January 2026 is a Thursday).
    recurrence = build_recurrence(
        "FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO;INTERVAL=2", start=utc(2018, 1, 1, 9)
    )

    assert recurrence.first(5) == [
        utc(2018, 1, 1, 9),
        utc(2019, 12, 30, 9),
        utc(2022, 1, 3, 9),
        utc(2024, 1, 1, 9),
        utc(2025, 12, 29, 9),
    ]


def test_it_selects_bysetpos_from_the_whole_week_year():
    # The last day of the last week of each week-year: Sunday 3 January 2021 for 2020.
    recurrence = build_recurrence(
        "FREQ=YEARLY;BYWEEKNO=-1;BYSETPOS=-1;BYDAY=MO,TU,WE,TH,FR,SA,SU", start=utc(2020, 6, 1, 8)
    )

    assert recurrence.first(3) == [utc(2021, 1, 3, 8), utc(2022, 1, 2, 8), utc(2023, 1, 1, 8)]


# --- bounded work ------------------------------------------------------------------------------

# Rules built to make an expander walk for a long time without finding anything: impossible
# or rare date combinations under fast frequencies, BYSETPOS that selects nothing, huge
# intervals, the densest allowed rules.
ADVERSARIAL = [
    "FREQ=MINUTELY;INTERVAL=15;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30;BYDAY=MO",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO",
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO",
    "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;BYHOUR=23",
    "FREQ=MINUTELY;INTERVAL=15;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;BYHOUR=23",
    "FREQ=MINUTELY;INTERVAL=15;BYYEARDAY=-366;BYDAY=MO",
    "FREQ=MINUTELY;INTERVAL=15;BYSETPOS=2;BYSECOND=0",
    "FREQ=HOURLY;BYMINUTE=0;BYSETPOS=2",
    "FREQ=MONTHLY;BYDAY=MO;BYMONTHDAY=1,2,3,4,5,6,7;BYSETPOS=2",
    "FREQ=MONTHLY;BYDAY=5MO;BYMONTH=2",
    "FREQ=MONTHLY;INTERVAL=12;BYMONTH=6",
    "FREQ=WEEKLY;INTERVAL=521;BYMONTH=2;BYDAY=MO",
    "FREQ=YEARLY;BYWEEKNO=53;BYDAY=MO;BYMONTH=6",
    "FREQ=YEARLY;BYDAY=53MO",
    "FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29",
    "FREQ=DAILY;INTERVAL=3653;BYMONTH=2",
    "FREQ=HOURLY;INTERVAL=87648;BYMONTH=2",
    "FREQ=MINUTELY;INTERVAL=5258880",
    "FREQ=YEARLY;INTERVAL=999999999",
    "FREQ=MINUTELY;INTERVAL=17;BYMINUTE=0;BYHOUR=5",
    "FREQ=MINUTELY;INTERVAL=1439;BYHOUR=0;BYMONTH=1",
    "FREQ=DAILY;BYHOUR=" + ",".join(map(str, range(24))) + ";BYMINUTE=0,15,30,45",
    "FREQ=YEARLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYHOUR="
    + ",".join(map(str, range(24)))
    + ";BYMINUTE=0,15,30,45",
]


@pytest.mark.parametrize("rule", ADVERSARIAL)
@pytest.mark.parametrize("start", [START, utc(2016, 2, 29, 23, 45)], ids=["2026", "leap-monday"])
def test_it_validates_and_expands_adversarial_rules_quickly(rule, start):
    # The bounds come from construction (step budgets, search spans); the clock only guards
    # them loosely so a slow machine does not make this flaky.
    began = time.perf_counter()
    try:
        recurrence = build_recurrence(rule, start=start)
    except RecurrenceError:
        assert time.perf_counter() - began < 0.5
        return
    assert time.perf_counter() - began < 0.5

    began = time.perf_counter()
    recurrence.first(MAX_OCCURRENCES)
    recurrence.next_after(utc(2150, 3, 1))
    recurrence.occurrences_between(utc(2100, 1, 1), utc(2101, 1, 1))
    recurrence.occurrences_between(
        datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
    )
    assert time.perf_counter() - began < 2


def test_it_stops_dateutil_walking_after_its_step_budget():
    # No 30 February: plain dateutil would walk month by month to the year 9999.
    rule = _BoundedRRule(
        max_steps=12,
        freq=du.DAILY,
        dtstart=datetime(2026, 1, 1),
        bymonth=2,
        bymonthday=30,
        cache=False,
    )

    with pytest.raises(_WalkExhausted):
        next(iter(rule))


def test_it_bounds_a_sparse_count_rule_by_the_search_span():
    # COUNT=1000 of February 29ths that are Mondays would take 28,000 years.
    recurrence = build_recurrence(
        "FREQ=DAILY;COUNT=1000;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO", start=utc(2016, 2, 29, 8)
    )

    assert recurrence.first(MAX_OCCURRENCES) == [utc(2016, 2, 29, 8), utc(2044, 2, 29, 8)]
    assert recurrence.next_after(utc(2100, 1, 1)) is None


def test_it_builds_ordinary_rules_fast():
    began = time.perf_counter()
    for _ in range(100):
        build_recurrence(
            "FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=2", start=START, timezone="Europe/Berlin"
        )
    assert time.perf_counter() - began < 1


# --- normalize_rrule ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "normalized"),
    [
        ("FREQ=DAILY", "FREQ=DAILY"),
        ("RRULE:FREQ=DAILY;COUNT=3", "FREQ=DAILY;COUNT=3"),
        ("rrule:freq=weekly;byday=mo,fr", "FREQ=WEEKLY;BYDAY=MO,FR"),
        ("  RRULE: FREQ = WEEKLY ; BYDAY = mo , fr ;  ", "FREQ=WEEKLY;BYDAY=MO,FR"),
        ("COUNT=3;FREQ=DAILY", "COUNT=3;FREQ=DAILY"),
        ("FREQ=DAILY;UNTIL=20261231t000000z", "FREQ=DAILY;UNTIL=20261231T000000Z"),
    ],
)
def test_it_normalizes_the_stored_rule(value, normalized):
    assert normalize_rrule(value) == normalized


def test_it_stores_the_normalized_rule():
    recurrence = build_recurrence(" rrule:freq=weekly;byday=mo ", start=START)

    assert recurrence.rule == "FREQ=WEEKLY;BYDAY=MO"


# --- describe ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "start", "zone", "text"),
    [
        (
            "FREQ=WEEKLY;BYDAY=MO,FR;COUNT=10",
            local(BERLIN, 2026, 1, 5, 2),
            "Europe/Berlin",
            "Every week on Monday and Friday at 02:00 (Europe/Berlin), 10 times",
        ),
        (
            "FREQ=DAILY;BYHOUR=2;BYMINUTE=0",
            START,
            "Europe/Berlin",
            "Every day at 02:00 (Europe/Berlin)",
        ),
        (
            "FREQ=MONTHLY;BYDAY=-1FR",
            utc(2026, 1, 30, 22),
            "UTC",
            "Every month on the last Friday at 22:00 (UTC)",
        ),
        (
            "FREQ=MONTHLY;INTERVAL=2;BYDAY=1SU,-2SU;COUNT=1",
            utc(2026, 2, 1, 6, 30),
            "UTC",
            "Every 2 months on the first Sunday and the second-to-last Sunday at 06:30 (UTC), once",
        ),
        (
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            utc(2026, 1, 30, 18),
            "America/New_York",
            "Every month on Monday, Tuesday, Wednesday, Thursday and Friday at 13:00 "
            "(America/New_York), only the last match in each month",
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=1,-1",
            utc(2026, 1, 1, 9),
            "UTC",
            "Every month on the 1st and last day at 09:00 (UTC)",
        ),
        (
            "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13",
            utc(2026, 2, 13, 9),
            "UTC",
            "Every month on the 13th when it is a Friday at 09:00 (UTC)",
        ),
        (
            "FREQ=YEARLY;BYMONTH=1,7;BYMONTHDAY=1",
            utc(2026, 1, 1),
            "UTC",
            "Every year in January and July on the 1st at 00:00 (UTC)",
        ),
        (
            "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO",
            utc(2026, 5, 11, 9),
            "UTC",
            "Every year in week 20 on Monday at 09:00 (UTC)",
        ),
        (
            "FREQ=DAILY;INTERVAL=3;UNTIL=20261231T000000Z",
            utc(2026, 1, 1, 9, 30),
            "UTC",
            "Every 3 days at 09:30 (UTC), until 31 December 2026 00:00 UTC",
        ),
        (
            "FREQ=WEEKLY;UNTIL=20261231",
            utc(2026, 1, 1, 9, 30),
            "UTC",
            "Every week on Thursday at 09:30 (UTC), until 31 December 2026",
        ),
        ("FREQ=MINUTELY;INTERVAL=15", START, "UTC", "Every 15 minutes (UTC)"),
        (
            "FREQ=MINUTELY;INTERVAL=20;BYHOUR=9,10,11,12,13,14,15,16",
            START,
            "America/New_York",
            "Every 20 minutes during 09:00-16:59 (America/New_York)",
        ),
        (
            "FREQ=HOURLY;INTERVAL=2;BYMINUTE=0,30",
            START,
            "UTC",
            "Every 2 hours at :00 and :30 (UTC)",
        ),
        (
            "FREQ=DAILY;BYHOUR=9,10,11,12;BYMINUTE=0,20,40",
            START,
            "UTC",
            "Every day at 12 times from 09:00 to 12:40 (UTC)",
        ),
    ],
)
def test_it_describes_the_rule_in_english(rule, start, zone, text):
    assert build_recurrence(rule, start=start, timezone=zone).describe() == text


# --- every_to_rrule ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("every", "unit", "rule"),
    [
        (3, "day", "FREQ=DAILY;INTERVAL=3"),
        (1, "week", "FREQ=WEEKLY;INTERVAL=1"),
        (6, "month", "FREQ=MONTHLY;INTERVAL=6"),
        (20, "year", "FREQ=YEARLY;INTERVAL=20"),
    ],
)
def test_it_turns_the_v1_shorthand_into_a_valid_rule(every, unit, rule):
    assert every_to_rrule(every, unit) == rule
    assert build_recurrence(rule, start=START).rule == rule


@pytest.mark.parametrize(
    ("every", "unit", "field", "words"),
    [
        (0, "day", "every", "every must be a positive integer"),
        (-2, "week", "every", "every must be a positive integer"),
        (1.5, "day", "every", "every must be a positive integer"),
        (True, "day", "every", "every must be a positive integer"),
        ("3", "day", "every", "every must be a positive integer"),
        (3654, "day", "every", "every must be at most 3653 for unit 'day'"),
        (522, "week", "every", "every must be at most 521 for unit 'week'"),
        (1, "days", "unit", "Invalid unit 'days'. Must be one of: day, week, month, year"),
        (1, "hour", "unit", "Invalid unit 'hour'"),
        (1, "", "unit", "Invalid unit ''"),
        (1, None, "unit", "Invalid unit None"),
    ],
)
def test_it_rejects_a_bad_shorthand(every, unit, field, words):
    with pytest.raises(RecurrenceError) as excinfo:
        every_to_rrule(every, unit)

    assert excinfo.value.field == field
    assert words in excinfo.value.message


# --- parse_timezone ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kathmandu"])
def test_it_parses_iana_zone_names(name):
    assert parse_timezone(name) == ZoneInfo(name)


@pytest.mark.parametrize(
    "name",
    ["Mars/Olympus_Mons", "", "europe/berlin", "America", "localtime", "../etc/passwd", None, 5],
)
def test_it_rejects_unknown_zones(name):
    with pytest.raises(RecurrenceError) as excinfo:
        parse_timezone(name)

    assert excinfo.value.field == "timezone"
    assert excinfo.value.message == f"Unknown timezone {name!r}"


def test_it_reports_a_bad_zone_on_the_timezone_field():
    with pytest.raises(RecurrenceError) as excinfo:
        build_recurrence("FREQ=DAILY", start=START, timezone="Berlin")

    assert excinfo.value.field == "timezone"
