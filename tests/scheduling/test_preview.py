"""POST /api/v4/maintenances/preview: RFC 5545's examples over HTTP, validation, bounded work."""

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from scheduling.models import Maintenance, MaintenanceEvent
from tests.scheduling.conftest import error, ts

EXAMPLES_FILE = Path(__file__).resolve().parents[1] / "data" / "rfc5545-examples.json"
EXAMPLES = json.loads(EXAMPLES_FILE.read_text())["examples"]
NEW_YORK = ZoneInfo("America/New_York")


def preview(client, **fields):
    payload = {
        "start_date_time": ts(2026, 1, 6, 2, 0),
        "rrule": "FREQ=DAILY",
        "duration_seconds": 3600,
    }
    return client.post("/api/v4/maintenances/preview", {**payload, **fields}, format="json")


def _expected_utc(example: dict) -> list[str]:
    corrected = example.get("expected_errata_corrected")
    if corrected is None:
        return example["expected_utc"]
    return [
        datetime.fromisoformat(local)
        .replace(tzinfo=NEW_YORK)
        .astimezone(UTC)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        for local in corrected
    ]


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["name"] for e in EXAMPLES])
def test_it_previews_every_rfc5545_example(api_client, example):
    assert example["tzid"] == "America/New_York"
    expected = _expected_utc(example)
    start = datetime.fromisoformat(example["dtstart"]).replace(tzinfo=NEW_YORK)
    limit = min(len(expected), 100)

    response = preview(
        api_client,
        start_date_time=int(start.timestamp()),
        rrule=example["rrule"],
        timezone="America/New_York",
        duration_seconds=1800,
        limit=limit,
    )

    assert response.status_code == 200, response.json()
    occurrences = response.json()["occurrences"]
    got = [
        datetime.fromtimestamp(o["start_date_time"], tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for o in occurrences
    ]
    assert got == expected[:limit]
    assert all(o["end_date_time"] - o["start_date_time"] == 1800 for o in occurrences)


def test_it_previews_the_first_ten_occurrences_by_default(api_client):
    response = preview(api_client, rrule="RRULE:FREQ=WEEKLY;BYDAY=TU,TH", duration_seconds=5400)

    assert response.status_code == 200
    result = response.json()
    assert set(result) == {"occurrences", "description", "exdates"}
    assert result["exdates"] == []
    assert len(result["occurrences"]) == 10
    assert result["occurrences"][0] == {
        "start_date_time": ts(2026, 1, 6, 2, 0),
        "end_date_time": ts(2026, 1, 6, 3, 30),
    }
    assert result["occurrences"][1]["start_date_time"] == ts(2026, 1, 8, 2, 0)
    assert isinstance(result["description"], str) and result["description"]


def test_it_previews_fewer_occurrences_when_the_rule_has_fewer(api_client):
    response = preview(api_client, rrule="FREQ=DAILY;COUNT=3", limit=100)

    assert len(response.json()["occurrences"]) == 3


def test_it_floors_the_start_to_the_minute(api_client):
    response = preview(api_client, start_date_time=ts(2026, 1, 6, 2, 0) + 42, limit=1)

    assert response.json()["occurrences"][0]["start_date_time"] == ts(2026, 1, 6, 2, 0)


def test_a_preview_writes_nothing(api_client):
    preview(api_client, limit=100)

    assert not Maintenance.objects.exists()
    assert not MaintenanceEvent.objects.exists()


def test_it_previews_local_wall_time_across_dst(api_client):
    response = preview(
        api_client,
        start_date_time=ts(2026, 3, 28, 2, 0, tz="Europe/Berlin"),
        rrule="FREQ=DAILY;BYHOUR=2;BYMINUTE=0",
        timezone="Europe/Berlin",
        limit=3,
    )

    assert [o["start_date_time"] for o in response.json()["occurrences"]] == [
        ts(2026, 3, 28, 1, 0),  # 02:00 CET
        ts(2026, 3, 29, 1, 0),  # 02:00 does not exist: 03:00 CEST
        ts(2026, 3, 30, 0, 0),  # 02:00 CEST
    ]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"limit": 0}, "limit", "limit must be at least 1"),
        ({"limit": 101}, "limit", "limit must be at most 100"),
        ({"limit": "5"}, "limit", "limit must be an integer"),
        (
            {"start_date_time": "now"},
            "start_date_time",
            "start_date_time must be an integer (Unix seconds)",
        ),
        ({"duration_seconds": 0}, "duration_seconds", "duration_seconds must be greater than 0"),
        ({"rrule": None}, "rrule", "rrule must be a string"),
        ({"timezone": None}, "timezone", "timezone must be a string"),
        ({"title": "x"}, "title", "Unknown field 'title'"),
    ],
)
def test_it_validates_previews_like_creates(api_client, change, field, message):
    problem = error(preview(api_client, **change), 400)

    assert problem["message"] == message
    assert problem["details"] == {field: [message]}


def test_it_requires_the_schedule_fields(api_client):
    response = api_client.post("/api/v4/maintenances/preview", {}, format="json")

    assert set(error(response, 400)["details"]) == {"start_date_time", "rrule", "duration_seconds"}


@pytest.mark.parametrize(
    "rrule",
    [
        "FREQ=SECONDLY",
        "FREQ=MINUTELY;INTERVAL=1",
        "FREQ=MINUTELY;INTERVAL=14",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31;BYDAY=MO",
        "FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=31",
        "FREQ=MINUTELY;INTERVAL=15;BYMONTH=2;BYMONTHDAY=30;BYHOUR=1,2,3,4,5,6,7,8,9,10,11,12",
        "FREQ=YEARLY;BYWEEKNO=53;BYMONTH=1;BYMONTHDAY=1;BYDAY=MO",
        "FREQ=DAILY;BYSETPOS=1",
        "FREQ=WEEKLY;BYDAY=1MO",
        "FREQ=MONTHLY;BYDAY=XX",
        "FREQ=MONTHLY;BYMONTHDAY=0",
        "FREQ=MONTHLY;BYMONTHDAY=32",
        "FREQ=YEARLY;BYMONTH=13",
        "FREQ=DAILY;BYHOUR=24",
        "FREQ=DAILY;COUNT=1001",
        "FREQ=DAILY;FREQ=DAILY",
        "FREQ=DAILY;X-NAME=1",
        "FREQ=DAILY;UNTIL=20200101T000000Z",
        "FREQ=DAILY;COUNT=" + "9" * 5000,
        "FREQ=DAILY;BYMONTHDAY=" + ",".join(["1"] * 10000),
        "FREQ=MINUTELY;INTERVAL=15;BYSECOND=" + ",".join(str(s) for s in range(60)),
        "x" * 100_000,
    ],
)
def test_adversarial_rules_are_a_quick_400(api_client, rrule):
    started = time.monotonic()

    problem = error(preview(api_client, rrule=rrule), 400)

    assert time.monotonic() - started < 5
    assert "rrule" in problem["details"]


def test_it_previews_the_rules_bysetpos_spaces_out(api_client):
    response = preview(
        api_client,
        start_date_time=ts(2026, 1, 5, 10, 0),
        rrule="FREQ=HOURLY;COUNT=3;BYMINUTE=15,45;BYSECOND=15,45;BYSETPOS=3,-3",
        duration_seconds=600,
    )

    assert response.status_code == 200
    starts = [o["start_date_time"] for o in response.json()["occurrences"]]
    # Occurrences are whole seconds; only the stored start is floored to the minute.
    assert starts == [
        ts(2026, 1, 5, 10, 15) + 45,
        ts(2026, 1, 5, 10, 45) + 15,
        ts(2026, 1, 5, 11, 15) + 45,
    ]


def test_the_schema_states_every_rule_limit(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    for component in ("MaintenanceWriteRequest", "MaintenancePreviewRequest", "Maintenance"):
        fields = schema["components"]["schemas"][component]["properties"]
        rrule, start = fields["rrule"]["description"], fields["start_date_time"]["description"]
        for limit in (
            "no FREQ=SECONDLY",
            "INTERVAL >= 15",
            "at least 15 minutes apart",
            "after BYSETPOS",
            "COUNT <= 1000",
            "within 10 years",
        ):
            assert limit in rrule, (component, limit)
        assert "1970 to 2199" in start
        assert "floored to the minute" in start
