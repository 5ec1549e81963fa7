"""Reading iCalendar feeds back in tests, and the RFC 5545 rules every feed must keep."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from icalendar import Calendar

TZID_PARAMETER = re.compile(r"^[A-Z-]+;(?:[^:]*;)?TZID=([^;:]+)[;:]", re.MULTILINE)


def unfolded(content: bytes) -> str:
    """The feed's text with folded lines joined again (RFC 5545 §3.1)."""
    return re.sub(r"\r\n[ \t]", "", content.decode("utf-8"))


def check_rfc5545(content: bytes) -> Calendar:
    """Parse a feed with `icalendar` and assert the RFC 5545 rules a subscriber relies on;
    return the calendar."""
    assert content.endswith(b"\r\n"), "a content line ends with CRLF"
    lines = content.split(b"\r\n")[:-1]
    for line in lines:
        assert b"\n" not in line and b"\r" not in line, f"bare line break in {line!r}"
        assert len(line) <= 75, f"line longer than 75 octets, not folded: {line!r}"
        line.decode("utf-8")  # folding never splits a UTF-8 sequence

    calendar = Calendar.from_ical(content)
    assert calendar.name == "VCALENDAR"
    assert calendar.get("VERSION") == "2.0"
    assert calendar.get("PRODID")

    timezones = {str(tz["TZID"]): tz for tz in calendar.walk("VTIMEZONE")}
    for tz in timezones.values():
        observances = tz.walk("STANDARD") + tz.walk("DAYLIGHT")
        assert observances, "a VTIMEZONE has at least one STANDARD or DAYLIGHT"
        for observance in observances:
            for required in ("DTSTART", "TZOFFSETFROM", "TZOFFSETTO"):
                assert required in observance
    for tzid in TZID_PARAMETER.findall(unfolded(content)):
        assert tzid in timezones, f"TZID={tzid} has no VTIMEZONE"

    events = calendar.walk("VEVENT")
    uids = [str(event["UID"]) for event in events]
    assert len(uids) == len(set(uids)), "UIDs are unique"
    for event in events:
        for required in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "SEQUENCE", "STATUS"):
            assert required in event, f"{required} missing in {event['UID']}"
        for utc_only in ("DTSTAMP", "LAST-MODIFIED", "CREATED"):
            assert event.decoded(utc_only).utcoffset().total_seconds() == 0
        assert event.decoded("DTEND") > event.decoded("DTSTART")
        assert str(event["STATUS"]) in {"CONFIRMED", "CANCELLED", "TENTATIVE"}
    return calendar


def vevents(content: bytes) -> dict[str, dict]:
    """The feed's VEVENTs by UID, each as {start, end (UTC), sequence, status, summary,
    description, tzid}."""
    found = {}
    for event in check_rfc5545(content).walk("VEVENT"):
        start = event.decoded("DTSTART")
        found[str(event["UID"])] = {
            "start": start.astimezone(UTC),
            "end": event.decoded("DTEND").astimezone(UTC),
            "sequence": int(event["SEQUENCE"]),
            "status": str(event["STATUS"]),
            "summary": str(event["SUMMARY"]),
            "description": str(event.get("DESCRIPTION", "")),
            "tzid": event["DTSTART"].params.get("TZID"),
            "wall": start.replace(tzinfo=None),
        }
    return found


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)
