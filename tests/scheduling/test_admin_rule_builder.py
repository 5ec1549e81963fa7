"""The window form with the rule builder, in-process: what it stores from the builder, a
duration in minutes/hours/days, the start as wall time in the window's zone (DST included),
the advanced fallback, and the preview composing the builder's fields as the save does."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from scheduling import services
from scheduling.models import Maintenance
from scheduling.specs import MaintenanceSpec

pytestmark = pytest.mark.usefixtures("frozen")  # 2026-01-05 12:00 UTC

ADD = "/admin/scheduling/maintenance/add/"


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser(username="root", password="root-pass-123")
    client.force_login(user)
    return client


def _builder_form(**overrides) -> dict:
    """Every 2 weeks on Monday and Wednesday at 09:00 Paris time, 90 minutes, from the
    builder, as the browser posts it."""
    return {
        "title": "Fortnightly patching",
        "description": "",
        "status": "ACTIVE",
        "timezone": "Europe/Paris",
        "start_date_time_0": "2026-01-12",
        "start_date_time_1": "09:00:00",
        "duration": "90",
        "duration_unit": "minutes",
        "rule_mode": "builder",
        "every": "2",
        "unit": "week",
        "rule_weekdays": ["MO", "WE"],
        "rule_monthday": "",
        "rule_time": "09:00",
        "rule_end": "never",
        "rule_count": "",
        "rule_until": "",
        "rrule": "",
        "monitor_links-TOTAL_FORMS": "0",
        "monitor_links-INITIAL_FORMS": "0",
        **overrides,
    }


def _errors(response) -> dict:
    assert response.status_code == 200, "expected the form back with errors"
    return {k: list(v) for k, v in response.context["adminform"].form.errors.items()}


def _window(rrule: str, **fields) -> Maintenance:
    spec = {
        "title": "Stored",
        "start_date_time": datetime(2026, 1, 12, 8, 0, tzinfo=UTC),
        "rrule": rrule,
        "duration_seconds": 5400,
        "timezone": "Europe/Paris",
        **fields,
    }
    return services.maintenance_create(spec=MaintenanceSpec(**spec))


def test_the_builder_stores_the_rule_the_duration_and_the_start_in_utc(admin_client):
    response = admin_client.post(ADD, _builder_form())
    assert response.status_code == 302, _errors(response)
    window = Maintenance.objects.get()
    assert window.rrule == "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;BYHOUR=9;BYMINUTE=0"
    assert window.duration_seconds == 90 * 60
    assert window.start_date_time == datetime(2026, 1, 12, 8, 0, tzinfo=UTC)  # 09:00 CET
    first = window.events.order_by("start_date_time")[:3]
    assert [e.start_date_time.day for e in first] == [12, 14, 26]


@pytest.mark.parametrize(
    ("amount", "unit", "seconds"),
    [("45", "minutes", 2700), ("2", "hours", 7200), ("1", "days", 86400)],
)
def test_the_duration_is_typed_in_minutes_hours_or_days(admin_client, amount, unit, seconds):
    response = admin_client.post(ADD, _builder_form(duration=amount, duration_unit=unit))
    assert response.status_code == 302, _errors(response)
    assert Maintenance.objects.get().duration_seconds == seconds


def test_a_bad_duration_is_an_error_on_the_duration_field(admin_client):
    assert "duration" in _errors(admin_client.post(ADD, _builder_form(duration="0")))
    assert "duration" in _errors(admin_client.post(ADD, _builder_form(duration="soon")))
    # Longer than the service allows: its message, on the field the operator typed.
    errors = _errors(admin_client.post(ADD, _builder_form(duration="400", duration_unit="days")))
    assert list(errors) == ["duration"]
    assert not Maintenance.objects.exists()


def test_a_start_the_clocks_skip_is_refused_on_the_start_field(admin_client):
    # 2026-03-29: Paris goes from 02:00 straight to 03:00.
    response = admin_client.post(
        ADD,
        _builder_form(start_date_time_0="2026-03-29", start_date_time_1="02:30:00", rule_time=""),
    )
    errors = _errors(response)
    assert errors["start_date_time"] == [
        "2026-03-29 02:30 does not exist in Europe/Paris: the clocks go forward that night. "
        "Choose another time."
    ]
    assert not Maintenance.objects.exists()


def test_a_start_that_happens_twice_is_its_first_occurrence(admin_client):
    # 2026-10-25: Paris goes from 03:00 back to 02:00; 02:30 CEST is 00:30 UTC.
    response = admin_client.post(
        ADD,
        _builder_form(start_date_time_0="2026-10-25", start_date_time_1="02:30:00", rule_time=""),
    )
    assert response.status_code == 302, _errors(response)
    window = Maintenance.objects.get()
    assert window.start_date_time == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    page = admin_client.get(reverse("admin:scheduling_maintenance_change", args=[window.pk]))
    assert "= 2026-10-25 00:30 UTC" in page.content.decode()


def test_the_builders_rule_refused_by_the_service_shows_its_message(admin_client):
    errors = _errors(admin_client.post(ADD, _builder_form(every="5", unit="minute")))
    assert errors == {
        "rrule": ["Invalid rrule: FREQ=MINUTELY needs INTERVAL of at least 15 (got 5)"]
    }
    assert not Maintenance.objects.exists()


def test_a_missing_count_is_an_error_on_its_field(admin_client):
    errors = _errors(admin_client.post(ADD, _builder_form(rule_end="count")))
    assert errors == {"rule_count": ["This field is required."]}


def test_advanced_mode_sends_the_raw_rule(admin_client):
    response = admin_client.post(
        ADD, _builder_form(rule_mode="advanced", rrule="rrule:freq=monthly;byday=1mo")
    )
    assert response.status_code == 302, _errors(response)
    assert Maintenance.objects.get().rrule == "FREQ=MONTHLY;BYDAY=1MO"
    assert "rrule" in _errors(admin_client.post(ADD, _builder_form(rule_mode="advanced")))


def _initial(admin_client, window: Maintenance) -> dict:
    page = admin_client.get(reverse("admin:scheduling_maintenance_change", args=[window.pk]))
    form = page.context["adminform"].form
    return {name: form[name].value() for name in form.fields}


def test_a_stored_rule_opens_in_the_builder_or_in_advanced_mode(admin_client):
    built = _initial(
        admin_client, _window("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;BYHOUR=9;BYMINUTE=0")
    )
    assert built["rule_mode"] == "builder"
    assert (built["every"], built["unit"], built["rule_weekdays"]) == (2, "week", ["MO", "WE"])
    assert str(built["rule_time"]) == "09:00:00"
    # The start in the window's zone; the duration in the largest whole unit.
    assert built["start_date_time"] == datetime(2026, 1, 12, 9, 0)
    assert (built["duration"], built["duration_unit"]) == (90, "minutes")

    raw = _initial(admin_client, _window("FREQ=MONTHLY;BYDAY=-1FR", duration_seconds=7200))
    assert raw["rule_mode"] == "advanced"
    assert raw["rrule"] == "FREQ=MONTHLY;BYDAY=-1FR"
    assert (raw["duration"], raw["duration_unit"]) == (2, "hours")


def test_saving_an_unchanged_builder_keeps_the_stored_rule_and_its_events(admin_client):
    window = _window("FREQ=WEEKLY;BYDAY=MO")  # stored without INTERVAL: still the builder's
    events = list(window.events.values_list("pk", flat=True))
    form = _builder_form(
        title="Renamed",
        every="1",
        rule_weekdays=["MO"],
        rule_time="",
        start_date_time_0="2026-01-12",
        start_date_time_1="09:00:00",
    )
    url = reverse("admin:scheduling_maintenance_change", args=[window.pk])
    response = admin_client.post(url, form)
    assert response.status_code == 302, _errors(response)
    window.refresh_from_db()
    assert (window.title, window.rrule) == ("Renamed", "FREQ=WEEKLY;BYDAY=MO")
    assert list(window.events.values_list("pk", flat=True)) == events


def test_the_preview_composes_the_builder_and_shows_paris_time(admin_client):
    query = {
        "start": "2026-01-12T09:00",
        "local": "1",
        "timezone": "Europe/Paris",
        "rule_mode": "builder",
        "every": "2",
        "unit": "week",
        "rule_weekdays": ["MO", "WE"],
        "rule_time": "09:00",
        "rule_end": "never",
        "duration": "90",
        "duration_unit": "minutes",
    }
    body = admin_client.get(reverse("admin_schedule_preview"), query).json()
    assert body["rule"] == "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;BYHOUR=9;BYMINUTE=0"
    assert body["description"] == "Every 2 weeks on Monday and Wednesday at 09:00 (Europe/Paris)"
    assert body["occurrences"][0] == {
        "start": "2026-01-12T08:00:00Z",
        "end": "2026-01-12T09:30:00Z",
        "shown": "2026-01-12 09:00 Europe/Paris (08:00 UTC)",
        "end_shown": "2026-01-12 10:30 Europe/Paris (09:30 UTC)",
    }
    gap = admin_client.get(
        reverse("admin_schedule_preview"), {**query, "start": "2026-03-29T02:30"}
    )
    assert gap.status_code == 400
    assert "does not exist in Europe/Paris" in gap.json()["error"]["details"]["start"][0]
