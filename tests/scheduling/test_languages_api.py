"""API v4 messages in the caller's language: Spanish when asked (Accept-Language), otherwise
Kener's English byte for byte; field names, codes and enum values never change."""

import pytest

from tests.scheduling.conftest import body, create, error, events_of

MAINTENANCES = "/api/v4/maintenances"
SPANISH = {"HTTP_ACCEPT_LANGUAGE": "es-ES,es;q=0.9"}


def post(api_client, payload: dict, **headers):
    return api_client.post(MAINTENANCES, payload, format="json", **headers)


# (the bad part of a create, the field named, English, Spanish)
BAD_CREATES = [
    (
        {"duration_seconds": 0},
        "duration_seconds",
        "duration_seconds must be greater than 0",
        "duration_seconds debe ser mayor que 0",
    ),
    (
        {"title": 5},
        "title",
        "title must be a string",
        "title debe ser una cadena",
    ),
    (
        {"start_date_time": "tomorrow"},
        "start_date_time",
        "start_date_time must be an integer (Unix seconds)",
        "start_date_time debe ser un número entero (segundos Unix)",
    ),
    (
        {"status": "PAUSED"},
        "status",
        "Invalid status 'PAUSED'. Must be one of: ACTIVE, INACTIVE",
        "status no válido 'PAUSED'. Debe ser uno de: ACTIVE, INACTIVE",
    ),
    (
        {"colour": "red"},
        "colour",
        "Unknown field 'colour'",
        "Campo desconocido 'colour'",
    ),
    (
        {"exdates": "soon"},
        "exdates",
        "exdates must be an array of integers (Unix seconds)",
        "exdates debe ser un array de números enteros (segundos Unix)",
    ),
]


@pytest.mark.parametrize(("bad", "field", "english", "spanish"), BAD_CREATES)
def test_a_bad_field_is_named_in_spanish_when_the_caller_asks_for_it(
    api_client, bad, field, english, spanish
):
    response = post(api_client, body(**bad), **SPANISH)

    problem = error(response, 400)
    assert problem["code"] == "BAD_REQUEST"
    assert problem["message"] == spanish
    assert problem["details"] == {field: [spanish]}
    assert response["Content-Language"] == "es"


@pytest.mark.parametrize(("bad", "field", "english", "spanish"), BAD_CREATES)
def test_without_the_header_the_message_is_keners_english(api_client, bad, field, english, spanish):
    response = post(api_client, body(**bad))

    problem = error(response, 400)
    assert problem["message"] == english
    assert problem["details"] == {field: [english]}


def test_a_monitor_item_is_named_by_its_path_in_spanish(api_client, monitors):
    payload = body(monitors=[{"monitor_tag": "api"}, {"monitor_tag": "api", "impact": "DOWN"}])

    problem = error(post(api_client, payload, **SPANISH), 400)

    assert problem["details"] == {
        "monitors[1].monitor_tag": ["monitor_tag 'api' repetido en monitors"]
    }


def test_an_unknown_monitor_is_refused_in_spanish(api_client, monitors):
    problem = error(post(api_client, body(monitors=[{"monitor_tag": "nope"}]), **SPANISH), 400)

    assert problem["details"] == {
        "monitors[0].monitor_tag": ["Monitor con etiqueta 'nope' no encontrado"]
    }


@pytest.mark.parametrize(
    ("query", "field", "spanish"),
    [
        ("event_status=later", "event_status", "event_status no válido 'later'. Debe ser uno de: "),
        ("maintenance_id=0", "maintenance_id", "maintenance_id debe ser un número entero positivo"),
    ],
)
def test_a_bad_query_parameter_is_named_in_spanish(api_client, query, field, spanish):
    response = api_client.get(f"/api/v4/maintenances/events?{query}", **SPANISH)

    problem = error(response, 400)
    assert list(problem["details"]) == [field]
    assert problem["details"][field][0].startswith(spanish)


def test_the_same_query_parameter_stays_english_without_the_header(api_client):
    problem = error(api_client.get("/api/v4/maintenances/events?maintenance_id=0"), 400)

    assert problem["details"] == {"maintenance_id": ["maintenance_id must be a positive integer"]}


def test_a_history_range_is_refused_in_spanish(api_client, monitors):
    response = api_client.get("/api/v4/monitors/api/maintenance?from=100", **SPANISH)

    assert error(response, 400)["details"] == {"to": ["to es obligatorio junto con from"]}


def test_an_event_patch_is_refused_in_spanish(api_client, frozen):
    maintenance = create(api_client)
    event_id = events_of(api_client, maintenance["id"])[0]["id"]

    response = api_client.patch(
        f"{MAINTENANCES}/{maintenance['id']}/events/{event_id}",
        {},
        format="json",
        **SPANISH,
    )

    assert error(response, 400)["details"] == {
        "non_field_errors": ["Indique start_date_time y end_date_time, o status"]
    }


def test_a_delete_is_confirmed_in_spanish(api_client):
    maintenance = create(api_client)

    response = api_client.delete(f"{MAINTENANCES}/{maintenance['id']}", **SPANISH)

    assert response.status_code == 200
    assert response.json() == {
        "message": f"Ventana de mantenimiento con id '{maintenance['id']}' eliminada correctamente"
    }
