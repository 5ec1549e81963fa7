"""The admin's one timezone picker (core.admin_fields.TimezoneField): every known zone
offered with its offset now, no script, the name stored as picked, and an unknown name
refused by the service on the zone field, on every admin page that asks for a zone."""

import re

import pytest
import time_machine
from django.urls import reverse

from core.admin_fields import TimezoneInput, known_zones
from scheduling.models import Maintenance
from tests.conftest import at


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser(username="root", password="root-pass-123")
    client.force_login(user)
    return client


def _options(html: str) -> dict[str, str]:
    return dict(re.findall(r'<option value="([^"]+)">([^<]+)</option>', html))


def _picker(html: str, input_id: str) -> dict[str, str]:
    """The zones the page's input `input_id` suggests, by name."""
    tag = re.search(rf'<input[^>]*id="{input_id}"[^>]*>', html)
    assert tag, f"no input #{input_id}"
    (list_id,) = re.findall(r'list="([^"]+)"', tag.group(0))
    datalist = re.search(rf'<datalist id="{list_id}">(.*?)</datalist>', html, re.S)
    assert datalist, f"no datalist #{list_id}"
    return _options(datalist.group(1))


def test_it_offers_every_zone_with_its_offset_on_the_day():
    with time_machine.travel(at("2026-01-15 12:00"), tick=False):
        winter = _options(TimezoneInput().render("timezone", "UTC"))
    with time_machine.travel(at("2026-07-15 12:00"), tick=False):
        summer = _options(TimezoneInput().render("timezone", "UTC"))

    assert list(winter) == known_zones() and "localtime" not in winter
    assert winter["Europe/Madrid"] == "Europe/Madrid (UTC+01:00)"
    assert summer["Europe/Madrid"] == "Europe/Madrid (UTC+02:00)"
    assert winter["Asia/Kolkata"] == "Asia/Kolkata (UTC+05:30)"
    assert winter["America/St_Johns"] == "America/St_Johns (UTC-03:30)"
    assert summer["Australia/Sydney"] == "Australia/Sydney (UTC+10:00)"
    assert winter["UTC"] == "UTC (UTC+00:00)"


def test_every_admin_form_with_a_zone_uses_the_picker(admin_client, db):
    pages = {
        reverse("admin:scheduling_maintenance_add"): "id_timezone",
        reverse("admin:maintenance_plan_add"): "id_timezone",
        reverse("admin:maintenance_holidaycalendar_add"): "id_timezone",
        reverse("admin:maintenance_reportschedule_add"): "id_timezone",
        "/admin/schedule/?tz=Europe/Madrid": "schedule-tz",
    }
    for url, input_id in pages.items():
        response = admin_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        zones = _picker(html, input_id)
        assert zones["Europe/Madrid"].startswith("Europe/Madrid (UTC+0"), url
        assert len(zones) == len(known_zones()), url
        assert "<script>" not in html, url  # nothing inline: the admin's CSP refuses it


WINDOW = {
    "title": "Patching",
    "description": "",
    "status": "ACTIVE",
    "start_date_time_0": "2026-03-02",
    "start_date_time_1": "09:00:00",
    "rrule": "FREQ=WEEKLY;COUNT=3",
    "duration": "60",
    "duration_unit": "minutes",
    "monitor_links-TOTAL_FORMS": "0",
    "monitor_links-INITIAL_FORMS": "0",
    "monitor_links-MIN_NUM_FORMS": "0",
    "monitor_links-MAX_NUM_FORMS": "1000",
}


@time_machine.travel(at("2026-02-20 12:00"), tick=False)
def test_a_window_keeps_the_zone_picked_and_reads_its_start_there(admin_client, db):
    response = admin_client.post(
        reverse("admin:scheduling_maintenance_add"), {**WINDOW, "timezone": "Europe/Madrid"}
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    window = Maintenance.objects.get()
    assert window.timezone == "Europe/Madrid"
    assert window.start_date_time == at("2026-03-02 08:00")  # 09:00 in Madrid (UTC+1)

    page = admin_client.get(reverse("admin:scheduling_maintenance_change", args=[window.pk]))
    html = page.content.decode()
    assert re.search(r'<input[^>]*name="timezone"[^>]*value="Europe/Madrid"', html)
    assert 'value="09:00:00"' in html  # the start, as the clock reads in Madrid
    assert "= 2026-03-02 08:00 UTC" in html


@time_machine.travel(at("2026-02-20 12:00"), tick=False)
def test_an_unknown_zone_is_refused_on_its_field_and_kept_to_correct(admin_client, db):
    response = admin_client.post(
        reverse("admin:scheduling_maintenance_add"), {**WINDOW, "timezone": "Europe/Madird"}
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["timezone"] == ["Unknown timezone 'Europe/Madird'"]
    assert set(form.errors) == {"timezone"}
    assert re.search(
        r'<input[^>]*name="timezone"[^>]*value="Europe/Madird"', response.content.decode()
    )
    assert not Maintenance.objects.exists()


@time_machine.travel(at("2026-02-20 12:00"), tick=False)
def test_a_holiday_calendar_refuses_an_unknown_zone_on_its_field(admin_client, db):
    response = admin_client.post(
        reverse("admin:maintenance_holidaycalendar_add"),
        {"name": "Spain", "timezone": "Spain/Madrid", "dates_text": "", "horizon_years": "2"},
    )
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["timezone"]
