"""What a client may send: bounded sizes, depths, texts and dates, and throttled failures."""

import io
import json
import time

import pytest
import time_machine
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.security.test_permissions import PREVIEW

MAINTENANCES = "/api/v4/maintenances"
CHANNELS = "/api/v1/notifications/channels"


@pytest.fixture(autouse=True)
def empty_cache(db):
    cache.clear()
    yield
    cache.clear()


def error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()["error"]


def raw_post(client, path: str, payload: bytes, **extra):
    return client.generic("POST", path, payload, content_type="application/json", **extra)


# --- body size ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [MAINTENANCES, CHANNELS, "/admin/login/", "/healthz", "/nowhere"])
def test_a_body_over_max_request_bytes_is_a_413_in_the_envelope(api_client, settings, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    payload = json.dumps({"title": "x" * 3000}).encode()

    assert error(raw_post(api_client, path, payload), 413) == {
        "code": "PAYLOAD_TOO_LARGE",
        "message": "Request body must be at most 2048 bytes",
    }


@pytest.mark.parametrize(
    ("chooser", "path"),
    [
        ({"HTTP_ACCEPT_LANGUAGE": "es-ES,es;q=0.9"}, MAINTENANCES),
        ({"HTTP_ACCEPT_LANGUAGE": "es"}, "/admin/login/"),
        ({"HTTP_COOKIE": "django_language=es"}, CHANNELS),  # the admin's language choice
    ],
)
def test_a_413_speaks_the_language_of_the_request(api_client, settings, chooser, path):
    """The limit is checked before Django's LocaleMiddleware runs: the refusal picks the
    language itself, as that middleware would."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    payload = json.dumps({"title": "x" * 3000}).encode()

    response = raw_post(api_client, path, payload, **chooser)

    assert error(response, 413) == {
        "code": "PAYLOAD_TOO_LARGE",
        "message": "El cuerpo de la petición debe tener como máximo 2048 bytes",
    }
    assert response["Content-Language"] == "es"


def test_a_nul_in_a_query_parameter_is_named_in_spanish(api_client):
    body = error(api_client.get(f"{CHANNELS}?kind=email%00", HTTP_ACCEPT_LANGUAGE="es"), 400)

    assert body["details"] == {"kind": ["kind no debe contener caracteres NUL"]}


def test_the_default_limit_is_one_mebibyte(api_client):
    payload = json.dumps({"title": "x" * (1024 * 1024)}).encode()

    assert error(raw_post(api_client, MAINTENANCES, payload), 413)["code"] == "PAYLOAD_TOO_LARGE"


def test_a_chunked_body_is_measured_by_what_arrives(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048

    # As gunicorn hands over a chunked body: decoded, without CONTENT_LENGTH.
    def chunked(payload: bytes) -> dict:
        return {
            "HTTP_TRANSFER_ENCODING": "chunked",
            "CONTENT_LENGTH": "",
            "wsgi.input": io.BytesIO(payload),
        }

    big = json.dumps({"title": "x" * 3000}).encode()
    small = json.dumps(PREVIEW).encode()

    assert error(raw_post(api_client, MAINTENANCES, big, **chunked(big)), 413)["code"] == (
        "PAYLOAD_TOO_LARGE"
    )
    preview = raw_post(api_client, "/api/v4/maintenances/preview", small, **chunked(small))
    assert preview.status_code == 200, preview.content
    assert len(preview.json()["occurrences"]) == 3


# --- nesting, NUL, surrogates -------------------------------------------------------------------


@pytest.mark.parametrize("depth", [65, 1_000, 100_000])
def test_a_body_nested_too_deep_is_a_400(api_client, depth):
    payload = ("[" * depth + "]" * depth).encode()

    assert error(raw_post(api_client, MAINTENANCES, payload), 400) == {
        "code": "BAD_REQUEST",
        "message": "Request body is nested too deeply (at most 64 levels)",
    }


def test_a_lone_surrogate_in_a_choice_field_is_a_400_naming_it(api_client):
    payload = b'{"title": "x", "status": "\\ud800"}'

    body = error(raw_post(api_client, MAINTENANCES, payload), 400)

    assert body["message"] == "status must be valid Unicode text (it contains a lone surrogate)"
    assert list(body["details"]) == ["status"]


def test_a_lone_surrogate_deep_in_a_body_is_named_by_its_path(api_client):
    payload = b'{"title": "x", "monitors": [{"monitor_tag": "web", "impact": "\\udfff"}]}'

    body = error(raw_post(api_client, MAINTENANCES, payload), 400)

    assert list(body["details"]) == ["monitors[0].impact"]


def test_a_nul_in_a_body_string_is_a_400_naming_the_field(api_client):
    payload = json.dumps({**PREVIEW, "rrule": "FREQ=DAILY\x00"}).encode()

    body = error(raw_post(api_client, "/api/v4/maintenances/preview", payload), 400)

    assert body["message"] == "rrule must not contain NUL characters"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v4/maintenances/1%00",
        "/api/v4/monitors/web%00",
        "/api/v4/monitors/web%00/maintenance",
        "/api/v1/maintenance/plans/pln%00x",
        "/api/v1/maintenance/tasks/tsk%00",
        "/api/v1/maintenance/assets/ast%00",
        "/api/v1/maintenance/plans/pln%00/history",
        "/api/v1/maintenance/suggestions/sug%00",
        "/api/v1/notifications/channels/chan%00",
    ],
)
def test_a_nul_in_a_path_id_is_a_404(api_client, path):
    assert error(api_client.get(path), 404)["code"] == "NOT_FOUND"


def test_a_nul_in_a_query_parameter_is_a_400_naming_it(api_client):
    body = error(api_client.get(f"{CHANNELS}?kind=email%00"), 400)

    assert body["details"] == {"kind": ["kind must not contain NUL characters"]}


# --- dates and lengths ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start_date=2026-01-01&end_date=9999-12-31", "end_date"),
        ("start_date=0001-01-01&end_date=2026-01-01", "start_date"),
    ],
)
def test_a_date_out_of_range_is_a_400_naming_the_parameter(api_client, query, field):
    body = error(api_client.get(f"/api/v1/maintenance/compliance?{query}"), 400)

    assert body["details"] == {field: [f"{field} must be between 1970 and 2200"]}


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00"])
def test_a_datetime_at_the_edge_of_the_calendar_is_a_400(api_client, value):
    plan = {
        "name": "Edge",
        "trigger": "calendar",
        "task": {"title": "t"},
        "calendar": {"every": 1, "unit": "day", "start_at": value},
    }

    body = error(api_client.post("/api/v1/maintenance/plans", plan, format="json"), 400)

    assert list(body["details"]) == ["calendar.start_at"]


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        (MAINTENANCES, {**PREVIEW, "title": "t", "description": "x" * 10_001}, "description"),
        ("/api/v4/monitors", {"tag": "web", "description": "x" * 10_001}, "description"),
        (
            "/api/v1/maintenance/plans",
            {
                "name": "n",
                "trigger": "calendar",
                "description": "x" * 10_001,
                "calendar": {"every": 1, "unit": "day", "start_at": "2026-03-02T08:00:00Z"},
            },
            "description",
        ),
    ],
)
def test_free_text_is_at_most_ten_thousand_characters(api_client, path, payload, field):
    body = error(api_client.post(path, payload, format="json"), 400)

    assert field in body["details"]
    assert "10000" in body["message"]


def test_the_schema_shows_every_maximum(api_client):
    schema = api_client.get("/api/schema/?format=json").json()["components"]["schemas"]

    assert schema["MaintenanceWriteRequest"]["properties"]["description"]["maxLength"] == 10_000
    for name, component in schema.items():
        if not name.endswith("Request"):
            continue
        for field, prop in component.get("properties", {}).items():
            if prop.get("type") == "string" and not {"enum", "format", "pattern"} & set(prop):
                assert "maxLength" in prop, f"{name}.{field} has no maximum length"


# --- throttles ----------------------------------------------------------------------------------


@pytest.fixture
def one_window():
    """The clock stopped: the throttles count in fixed windows of the wall clock (a minute
    for "/min"), so requests that happened to straddle a minute's end were counted in two
    windows and the expected 429 came late (seen once under load)."""
    with time_machine.travel(time.time(), tick=False):
        yield


def test_failed_authentications_are_throttled_per_address(db, settings, api_client, one_window):
    settings.AUTH_FAILURE_RATE = "5/min"
    guesser = APIClient(REMOTE_ADDR="203.0.113.7")
    guesser.credentials(HTTP_AUTHORIZATION="Bearer not.a-key")
    neighbour = APIClient(REMOTE_ADDR="203.0.113.7")
    neighbour.credentials(**api_client._credentials)

    statuses = [guesser.get(MAINTENANCES).status_code for _ in range(7)]
    refused = guesser.get(MAINTENANCES)

    assert statuses == [401] * 5 + [429] * 2
    assert error(refused, 429)["code"] == "TOO_MANY_REQUESTS"
    assert 1 <= int(refused["Retry-After"]) <= 60
    # A valid key from the same address is not slowed, and another address is not counted.
    assert all(neighbour.get(MAINTENANCES).status_code == 200 for _ in range(10))
    other = APIClient(REMOTE_ADDR="198.51.100.1")
    other.credentials(HTTP_AUTHORIZATION="Bearer not.a-key")
    assert other.get(MAINTENANCES).status_code == 401


def test_the_default_failure_rate_is_twenty_a_minute(db, one_window):
    guesser = APIClient()
    guesser.credentials(HTTP_AUTHORIZATION="Bearer wrong.key")

    statuses = [guesser.get(MAINTENANCES).status_code for _ in range(21)]

    assert statuses == [401] * 20 + [429]


def test_api_key_rate_is_off_by_default(api_client):
    assert all(api_client.get("/api/v4/monitors").status_code == 200 for _ in range(50))


def test_api_key_rate_limits_each_key(settings, api_client, read_only_client, one_window):
    settings.API_KEY_RATE = "3/min"

    statuses = [api_client.get("/api/v4/monitors").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    assert api_client.get("/api/v4/monitors").has_header("Retry-After")
    assert read_only_client.get("/api/v4/monitors").status_code == 200  # its own budget


def test_a_throttled_key_is_told_so_in_spanish(settings, api_client, one_window):
    settings.API_KEY_RATE = "2/min"
    for _ in range(2):
        api_client.get("/api/v4/monitors")

    english = api_client.get("/api/v4/monitors")
    spanish = api_client.get("/api/v4/monitors", HTTP_ACCEPT_LANGUAGE="es")

    wait = english["Retry-After"]
    assert error(english, 429) == {
        "code": "TOO_MANY_REQUESTS",
        "message": f"Request was throttled. Expected available in {wait} seconds.",
    }
    assert error(spanish, 429)["message"] == (
        f"Demasiadas peticiones con esta clave de API. Se espera que esté disponible en {wait} "
        "segundos."
    )


def test_failed_authentications_are_throttled_in_spanish(db, settings, one_window):
    settings.AUTH_FAILURE_RATE = "1/min"
    guesser = APIClient(HTTP_ACCEPT_LANGUAGE="es")
    guesser.credentials(HTTP_AUTHORIZATION="Bearer not.a-key")
    guesser.get(MAINTENANCES)

    refused = guesser.get(MAINTENANCES)

    assert error(refused, 429)["message"].startswith("Demasiadas autenticaciones fallidas.")


# --- admin lockout --------------------------------------------------------------------------------


def test_the_admin_locks_a_user_out_after_repeated_failures(db, client, django_user_model):
    django_user_model.objects.create_superuser("root", password="right-pass-123")

    def log_in(password: str):
        return client.post("/admin/login/?next=/admin/", {"username": "root", "password": password})

    failures = [log_in("wrong").status_code for _ in range(5)]
    locked = log_in("right-pass-123")

    # The form again with its error, until the fifth failure locks the pair out.
    assert failures == [200] * 4 + [429]
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    ("chooser", "words"),
    [
        ({}, "Account locked: too many login attempts. Please try again later."),
        (
            {"HTTP_ACCEPT_LANGUAGE": "es"},
            "Cuenta bloqueada: demasiados intentos de inicio de sesión. Inténtelo de nuevo "
            "más tarde.",
        ),
    ],
)
def test_a_locked_out_login_is_told_so_in_its_language(
    db, client, django_user_model, chooser, words
):
    django_user_model.objects.create_superuser("root", password="right-pass-123")
    form = {"username": "root", "password": "wrong"}
    for _ in range(4):
        client.post("/admin/login/", form, **chooser)

    locked = client.post("/admin/login/", form, **chooser)

    assert locked.status_code == 429
    assert locked.content.decode() == words


def test_a_successful_login_before_the_limit_resets_the_count(db, client, django_user_model):
    django_user_model.objects.create_superuser("root", password="right-pass-123")
    form = {"username": "root", "password": "wrong"}
    for _ in range(4):
        client.post("/admin/login/", form)

    assert client.post("/admin/login/", {**form, "password": "right-pass-123"}).status_code == 302


def test_the_admin_forms_keep_the_same_maximum(admin_client):
    """The admin writes through the same services: its forms refuse what the API refuses."""
    from scheduling.models import Monitor

    page = admin_client.post(
        "/admin/scheduling/monitor/add/",
        {"tag": "api", "name": "API", "description": "x" * 10_001},
    )

    assert page.status_code == 200  # the form again, with the error on the field
    assert "at most 10000 characters" in page.content.decode()
    assert not Monitor.objects.exists()
    page = admin_client.post(
        "/admin/scheduling/monitor/add/",
        {"tag": "api", "name": "API", "description": "x" * 10_000},
    )
    assert page.status_code == 302
    assert len(Monitor.objects.get(tag="api").description) == 10_000
