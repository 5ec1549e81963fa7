"""The admin of holiday calendars and the plan form's new fields (whichever-first, time
bounds, holiday calendar), all through the services."""

import pytest
from django.contrib.admin.utils import quote
from django.core.files.uploadedfile import SimpleUploadedFile

from core.audit import records_for
from maintenance.models import HolidayCalendar, Plan
from tests.maintenance.conftest import BASE
from tests.maintenance.test_admin_plans import ADD, _errors, _form
from tests.maintenance.test_holiday_calendars import ICS

pytestmark = pytest.mark.usefixtures("clock")

CALENDAR_ADD = "/admin/maintenance/holidaycalendar/add/"


def test_it_creates_a_calendar_with_dates_and_an_ics_import(admin_client):
    response = admin_client.post(
        CALENDAR_ADD,
        {
            "name": "Spain",
            "timezone": "Europe/Madrid",
            "weekends": "on",
            "dates_text": "2026-05-01 Labour day\n\n2026-08-15",
            "ics_file": SimpleUploadedFile("h.ics", ICS, "text/calendar"),
            "horizon_years": "2",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    calendar = HolidayCalendar.objects.get()
    days = {str(d): n for d, n in calendar.dates.values_list("date", "name")}
    assert days["2026-05-01"] == "Labour day"
    assert "2027-01-01" in days and "2028-01-01" not in days
    assert records_for(calendar).exists()
    page = admin_client.get(f"/admin/maintenance/holidaycalendar/{quote(calendar.pk)}/change/")
    assert "2026-05-01 Labour day" in page.content.decode()
    assert admin_client.get("/admin/maintenance/holidaycalendar/").status_code == 200


def test_it_shows_bad_dates_and_a_taken_name_on_their_fields(admin_client):
    HolidayCalendar.objects.create(name="Spain")
    response = admin_client.post(CALENDAR_ADD, {"name": "Spain", "dates_text": "2026-13-01"})
    errors = _errors(response)
    assert "dates_text" in errors
    assert "name" in errors


def test_the_plan_form_makes_a_whichever_first_plan_with_a_calendar(admin_client, api_client):
    calendar = HolidayCalendar.objects.create(name="Spain")
    response = admin_client.post(
        ADD,
        _form(
            trigger="whichever_first",
            every="1",
            unit="year",
            counter_unit="km",
            counter_interval="10000",
            holiday_calendar=calendar.pk,
        ),
    )
    assert response.status_code == 302, _errors(response)
    plan = Plan.objects.get()
    body = api_client.get(f"{BASE}/plans/{plan.pk}").json()
    assert body["trigger"] == "whichever_first"
    assert body["counter"]["interval"] == 10000
    assert body["holiday_calendar_id"] == calendar.pk
    page = admin_client.get(f"/admin/maintenance/plan/{quote(plan.pk)}/change/")
    assert page.status_code == 200


def test_the_plan_form_sets_counter_time_bounds(admin_client, api_client):
    response = admin_client.post(
        ADD,
        _form(
            trigger="counter",
            counter_unit="hours",
            counter_interval="500",
            max_interval_every="1",
            max_interval_unit="year",
            min_interval_every="2",
            min_interval_unit="year",
        ),
    )
    assert "min_interval_every" in _errors(response)
    response = admin_client.post(
        ADD,
        _form(
            trigger="counter",
            counter_unit="hours",
            counter_interval="500",
            max_interval_every="1",
            max_interval_unit="year",
        ),
    )
    assert response.status_code == 302, _errors(response)
    plan = Plan.objects.get()
    body = api_client.get(f"{BASE}/plans/{plan.pk}").json()
    assert body["counter"]["max_interval"] == {"every": 1, "unit": "year"}
    page = admin_client.get(f"/admin/maintenance/plan/{quote(plan.pk)}/change/").content.decode()
    assert 'name="max_interval_every" value="1"' in page
