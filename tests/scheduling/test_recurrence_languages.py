"""The recurrence engine's texts in the user's language: its refusals and rule descriptions
are templates (scheduling.recurrence has no Django) that `core.i18n.localized` translates
where they reach a user: the v4 API and the admin's live preview (the v1 API's are in
tests/maintenance/test_languages_api.py)."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import translation

from core.i18n import localized
from scheduling.recurrence import RecurrenceError, build_recurrence, parse_timezone
from tests.scheduling.conftest import body, error, ts

pytestmark = pytest.mark.usefixtures("frozen")  # 2026-01-05 12:00 UTC

START = datetime(2026, 1, 5, 8, tzinfo=UTC)  # 09:00 in Madrid


# --- the engine: templates, English unchanged ------------------------------------------------


def test_an_error_keeps_its_english_text_and_carries_its_template():
    with pytest.raises(RecurrenceError) as caught:
        parse_timezone("Mars/Olympus_Mons")
    exc = caught.value
    assert str(exc) == exc.message == "Unknown timezone 'Mars/Olympus_Mons'"
    assert exc.template == "Unknown timezone %(name)s"
    assert exc.params == {"name": "'Mars/Olympus_Mons'"}
    assert exc.field == "timezone"


@pytest.mark.parametrize(
    ("rule", "spanish"),
    [
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR;BYHOUR=9;BYMINUTE=0",
            "Cada 2 semanas el lunes y el viernes a las 09:00 (Europe/Madrid)",
        ),
        (
            "FREQ=WEEKLY;BYDAY=MO;COUNT=1",
            "Cada semana el lunes a las 09:00 (Europe/Madrid), una vez",
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=1,-1;COUNT=10",
            "Cada mes el día 1 y el último día a las 09:00 (Europe/Madrid), 10 veces",
        ),
        ("FREQ=MONTHLY;BYDAY=-1FR", "Cada mes el último viernes a las 09:00 (Europe/Madrid)"),
        (
            "FREQ=MONTHLY;INTERVAL=2;BYDAY=1SU,-2SU",
            "Cada 2 meses el primer domingo y el penúltimo domingo a las 09:00 (Europe/Madrid)",
        ),
        (
            "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13",
            "Cada mes el día 13 si es viernes a las 09:00 (Europe/Madrid)",
        ),
        (
            "FREQ=YEARLY;BYMONTH=1,7;BYMONTHDAY=1",
            "Cada año en enero y julio el día 1 a las 09:00 (Europe/Madrid)",
        ),
        (
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            "Cada mes el lunes, el martes, el miércoles, el jueves y el viernes a las 09:00 "
            "(Europe/Madrid), solo la última coincidencia de cada mes",
        ),
        (
            "FREQ=DAILY;UNTIL=20261231T000000Z",
            "Cada día a las 09:00 (Europe/Madrid), "
            "hasta el 31 de diciembre de 2026 a las 00:00 UTC",
        ),
        (
            "FREQ=HOURLY;INTERVAL=2;BYMINUTE=0,30",
            "Cada 2 horas en los minutos :00 y :30 (Europe/Madrid)",
        ),
    ],
)
def test_a_description_reads_as_spanish(rule, spanish):
    recurrence = build_recurrence(rule, start=START, timezone="Europe/Madrid")
    with translation.override("es"):
        assert localized(recurrence.description()) == spanish
    assert localized(recurrence.description()) == recurrence.describe()  # English by default


# --- API v4 -------------------------------------------------------------------------------------


def test_the_v4_preview_describes_the_rule_in_spanish(api_client):
    response = api_client.post(
        "/api/v4/maintenances/preview",
        {
            "start_date_time": ts(2026, 1, 12, 9, 0, tz="Europe/Paris"),
            "rrule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE",
            "timezone": "Europe/Paris",
            "duration_seconds": 3600,
        },
        format="json",
        HTTP_ACCEPT_LANGUAGE="es",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["description"] == (
        "Cada 2 semanas el lunes y el miércoles a las 09:00 (Europe/Paris)"
    )


def test_the_v4_preview_stays_english_without_the_header(api_client):
    response = api_client.post(
        "/api/v4/maintenances/preview",
        {"start_date_time": ts(2026, 1, 6, 2, 0), "rrule": "FREQ=DAILY", "duration_seconds": 60},
        format="json",
    )
    assert response.json()["description"] == "Every day at 02:00 (UTC)"


def test_a_v4_create_refuses_a_bad_rrule_in_spanish(api_client):
    response = api_client.post(
        "/api/v4/maintenances",
        body(rrule="FREQ=MINUTELY;INTERVAL=5"),
        format="json",
        HTTP_ACCEPT_LANGUAGE="es",
    )
    spanish = "rrule no válida: FREQ=MINUTELY necesita un INTERVAL de al menos 15 (se recibió 5)"
    assert error(response, 400)["details"] == {"rrule": [spanish]}


def test_a_v4_create_refuses_an_unknown_timezone_in_spanish(api_client):
    response = api_client.post(
        "/api/v4/maintenances",
        body(timezone="Mars/Olympus_Mons"),
        format="json",
        HTTP_ACCEPT_LANGUAGE="es",
    )
    assert error(response, 400)["details"] == {
        "timezone": ["Zona horaria desconocida 'Mars/Olympus_Mons'"]
    }


# --- the admin's live preview -------------------------------------------------------------------


@pytest.fixture
def spanish_admin(client, django_user_model):
    """A staff user whose admin speaks Spanish (the language switch's cookie)."""
    user = django_user_model.objects.create_superuser(username="root", password="root-pass-123")
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": "es", "next": "/admin/"})
    return client


BUILDER_QUERY = {
    "start": "2026-01-12T09:00",
    "local": "1",
    "timezone": "Europe/Paris",
    "rule_mode": "builder",
    "every": "2",
    "unit": "week",
    "rule_weekdays": ["MO", "FR"],
    "rule_time": "09:00",
    "rule_end": "count",
    "rule_count": "6",
}


def test_the_admin_preview_describes_the_builder_rule_in_spanish(spanish_admin):
    response = spanish_admin.get(reverse("admin_schedule_preview"), BUILDER_QUERY)
    assert response.status_code == 200
    assert response.json()["description"] == (
        "Cada 2 semanas el lunes y el viernes a las 09:00 (Europe/Paris), 6 veces"
    )


def test_the_admin_preview_refuses_a_raw_rule_in_spanish(spanish_admin):
    query = {"start": "2026-01-12T09:00", "rule_mode": "advanced", "rrule": "FREQ=DAILY;COUNT=0"}
    response = spanish_admin.get(reverse("admin_schedule_preview"), query)
    assert response.status_code == 400
    spanish = "rrule no válida: COUNT debe estar entre 1 y 1000 (se recibió '0')"
    assert response.json()["error"] == {"message": spanish, "details": {"rrule": [spanish]}}


def test_the_admin_preview_refuses_a_bad_shorthand_in_spanish(spanish_admin):
    query = {"start": "2026-01-12T09:00", "every": "2", "unit": "fortnight"}
    response = spanish_admin.get(reverse("admin_schedule_preview"), query)
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "unit": ["Unidad no válida 'fortnight'. Debe ser una de: day, week, month, year"]
    }


def test_the_window_form_shows_the_engines_refusal_in_spanish(spanish_admin):
    form = {
        "title": "Parches",
        "description": "",
        "status": "ACTIVE",
        "timezone": "Europe/Paris",
        "start_date_time_0": "2026-01-12",
        "start_date_time_1": "09:00:00",
        "duration": "90",
        "duration_unit": "minutes",
        "rule_mode": "advanced",
        "rrule": "FREQ=DAILY;BYHOUR=24",
        "monitor_links-TOTAL_FORMS": "0",
        "monitor_links-INITIAL_FORMS": "0",
    }
    response = spanish_admin.post("/admin/scheduling/maintenance/add/", form)
    assert response.status_code == 200, "expected the form back with errors"
    errors = response.context["adminform"].form.errors
    assert list(errors["rrule"]) == [
        "rrule no válida: los valores de BYHOUR deben ir de 0 a 23 (se recibió '24')"
    ]
