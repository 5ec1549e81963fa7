"""API v1 messages in the caller's language: Spanish when asked (Accept-Language), English
otherwise; field names, error codes and enum values stay as the client parses them."""

import pytest

from tests.maintenance.conftest import BASE, CALENDAR_PLAN, _merge


def _bad_asset(api_client, **headers):
    body = {"code": "PMP-01", "name": "Pump", "latitude": 48.1}  # no longitude
    return api_client.post(f"{BASE}/assets", body, format="json", **headers)


def test_a_bad_field_is_named_in_spanish_when_the_caller_asks_for_it(api_client):
    response = _bad_asset(api_client, HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BAD_REQUEST"  # codes and field names are not translated
    assert error["details"] == {"latitude": ["latitude y longitude deben indicarse juntas."]}
    assert error["message"] == "latitude y longitude deben indicarse juntas."
    assert response["Content-Language"] == "es"


def test_without_the_header_it_stays_english(api_client):
    response = _bad_asset(api_client)
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "latitude": ["latitude and longitude must be given together."]
    }
    assert response["Content-Language"] == "en"


def test_a_language_it_does_not_speak_falls_back_to_english(api_client):
    response = _bad_asset(api_client, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert response.json()["error"]["details"] == {
        "latitude": ["latitude and longitude must be given together."]
    }


@pytest.mark.parametrize(
    ("path", "spanish"),
    [
        (f"{BASE}/plans/plan_nothing", "Plan con id 'plan_nothing': no existe"),
        (f"{BASE}/tasks/task_nothing", "Tarea con id 'task_nothing': no existe"),
    ],
)
def test_a_missing_object_is_reported_in_spanish(api_client, path, spanish):
    response = api_client.get(path, HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9")
    assert response.status_code == 404
    assert response.json()["error"] == {"code": "NOT_FOUND", "message": spanish}


def test_a_conflict_keeps_its_code_and_speaks_spanish(api_client, make_plan):
    plan = make_plan()
    assert api_client.post(f"{BASE}/plans/{plan['id']}/pause").status_code == 200
    response = api_client.post(f"{BASE}/plans/{plan['id']}/pause", HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "CONFLICT",
        "message": f"El plan '{plan['id']}' ya está pausado",
    }


def test_a_plan_service_message_names_the_field_in_spanish(api_client):
    body = _merge(CALENDAR_PLAN, {"calendar": {"every": 1, "unit": None, "rrule": None}})
    response = api_client.post(f"{BASE}/plans", body, format="json", HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "calendar.unit": ["unit es obligatorio con every."]
    }


def test_drf_own_messages_come_from_its_spanish_catalogue(api_client):
    body = _merge(CALENDAR_PLAN, {"grace_hours": -1})
    response = api_client.post(f"{BASE}/plans", body, format="json", HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "grace_hours": ["Asegúrese de que este valor es mayor o igual a 0."]
    }


def test_a_missing_key_is_refused_in_spanish(anon_client):
    response = anon_client.get(f"{BASE}/plans", HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert response.json()["error"]["message"] == (
        "Falta la cabecera de autorización o no es válida"
    )


# --- the recurrence engine's refusals (scheduling.recurrence, translated by the caller) ---------


def _plan_with(api_client, calendar: dict, **headers):
    body = _merge(CALENDAR_PLAN, {"calendar": calendar})
    return api_client.post(f"{BASE}/plans", body, format="json", **headers)


def test_a_bad_rrule_is_refused_in_spanish_naming_the_field(api_client):
    rule = {"every": None, "unit": None, "rrule": "FREQ=DAILY;BYHOUR=24"}
    response = _plan_with(api_client, rule, HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 400
    error = response.json()["error"]
    spanish = "rrule no válida: los valores de BYHOUR deben ir de 0 a 23 (se recibió '24')"
    assert error["details"] == {"calendar.rrule": [spanish]}
    assert error["message"] == spanish  # names its field (rrule) already


def test_a_bad_rrule_without_the_header_keeps_the_english_text(api_client):
    rule = {"every": None, "unit": None, "rrule": "FREQ=DAILY;BYHOUR=24"}
    response = _plan_with(api_client, rule)
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "calendar.rrule": ["Invalid rrule: BYHOUR values must be 0 to 23 (got '24')"]
    }


def test_an_unknown_timezone_is_refused_in_spanish(api_client):
    response = _plan_with(api_client, {"timezone": "Mars/Olympus_Mons"}, HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["details"] == {
        "calendar.timezone": ["Zona horaria desconocida 'Mars/Olympus_Mons'"]
    }
    assert error["message"] == "calendar.timezone: Zona horaria desconocida 'Mars/Olympus_Mons'"


def test_a_bad_every_shorthand_is_refused_in_spanish(api_client):
    response = _plan_with(api_client, {"every": 600, "unit": "week"}, HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "calendar.every": ["every debe ser como máximo 521 para la unidad 'week'"]
    }


def test_a_limit_refused_in_english_is_still_refused_in_spanish_next(api_client):
    # DRF words a limit's message once and keeps it; each request's fields must have their own.
    body = _merge(CALENDAR_PLAN, {"grace_hours": -1})
    english = api_client.post(f"{BASE}/plans", body, format="json")
    spanish = api_client.post(f"{BASE}/plans", body, format="json", HTTP_ACCEPT_LANGUAGE="es")
    assert english.json()["error"]["details"] == {
        "grace_hours": ["Ensure this value is greater than or equal to 0."]
    }
    assert spanish.json()["error"]["details"] == {
        "grace_hours": ["Asegúrese de que este valor es mayor o igual a 0."]
    }


def test_the_task_services_refuse_a_bad_time_spent_in_the_callers_language(api_client, make_plan):
    # The admin's task page reaches the service without the API's serializer in front.
    from django.utils import timezone, translation

    from core.errors import InvalidInput
    from maintenance import services

    plan = make_plan()
    task_id = api_client.post(f"{BASE}/plans/{plan['id']}/execute").json()["task_id"]
    for value, english, spanish in (
        (-1, "Must be between 0 and 100000 minutes.", "Debe estar entre 0 y 100000 minutos."),
        ("45", "Must be a whole number of minutes.", "Debe ser un número entero de minutos."),
    ):
        for language, expected in (("en", english), ("es", spanish)):
            with translation.override(language), pytest.raises(InvalidInput) as refused:
                services.task_update(
                    task_id=task_id,
                    changes={"time_spent_minutes": value},
                    by="test",
                    now=timezone.now(),
                )
            assert str(refused.value) == f"time_spent_minutes: {expected}"
