"""Auth on every v4 route: checked before anything else, so a bad caller learns nothing."""

import secrets

import pytest
from rest_framework.test import APIClient

from core.models import ApiKey
from tests.scheduling.conftest import body, create, error, events_of

pytestmark = pytest.mark.usefixtures("frozen")

# (method, path, body); {m}, {e}, {t} are an existing maintenance, event and monitor tag.
READS = [
    ("get", "/api/v4/maintenances", None),
    ("get", "/api/v4/maintenances/{m}", None),
    ("get", "/api/v4/maintenances/{m}/events", None),
    ("get", "/api/v4/maintenances/{m}/events/{e}", None),
    ("get", "/api/v4/maintenances/events", None),
    ("get", "/api/v4/monitors", None),
    ("get", "/api/v4/monitors/{t}", None),
    ("get", "/api/v4/monitors/{t}/maintenance", None),
]
WRITES = [
    ("post", "/api/v4/maintenances", body()),
    ("patch", "/api/v4/maintenances/{m}", {"title": "x"}),
    ("delete", "/api/v4/maintenances/{m}", None),
    ("patch", "/api/v4/maintenances/{m}/events/{e}", {"status": "CANCELLED"}),
    ("delete", "/api/v4/maintenances/{m}/events/{e}", None),
    ("post", "/api/v4/monitors", {"tag": "new"}),
    ("patch", "/api/v4/monitors/{t}", {"name": "x"}),
    ("delete", "/api/v4/monitors/{t}", None),
]
# A POST that saves nothing: a read-only key may call it (tests/security/test_permissions.py).
PREVIEW = [("post", "/api/v4/maintenances/preview", body())]
ROUTES = READS + WRITES + PREVIEW
ROUTE_IDS = [f"{method} {path}" for method, path, _ in ROUTES]


@pytest.fixture
def ids(api_client, monitors) -> dict[str, str]:
    maintenance = create(api_client)
    event = events_of(api_client, maintenance["id"])[0]
    return {"m": str(maintenance["id"]), "e": str(event["id"]), "t": "web"}


def call(client, method, path, payload, ids):
    return getattr(client, method)(path.format(**ids), payload, format="json")


@pytest.mark.parametrize(("method", "path", "payload"), ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Token abc", "Basic dXNlcjpwYXNz", "Bearer a b", "bearer abc"]
)
def test_it_refuses_a_missing_or_malformed_header(db, method, path, payload, header):
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)

    # Ids that exist nowhere: the answer is still 401, never 404.
    response = call(client, method, path, payload, {"m": "999", "e": "999", "t": "nope"})

    assert error(response, 401) == {
        "code": "UNAUTHORIZED",
        "message": "Missing or invalid authorization header",
    }


@pytest.mark.parametrize(("method", "path", "payload"), ROUTES, ids=ROUTE_IDS)
def test_it_refuses_an_unknown_key(db, method, path, payload):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-real-key")

    response = call(client, method, path, payload, {"m": "abc", "e": "1", "t": "nope"})

    assert error(response, 401) == {"code": "UNAUTHORIZED", "message": "Invalid API key"}


def test_it_refuses_a_revoked_key(db):
    key, raw = ApiKey.objects.create_key(name="old")
    key.revoked = True
    key.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert error(client.get("/api/v4/maintenances"), 401)["message"] == "Invalid API key"


@pytest.mark.parametrize(("method", "path", "payload"), WRITES, ids=[w[1] for w in WRITES])
def test_a_read_only_key_cannot_write(read_only_client, ids, method, path, payload):
    response = call(read_only_client, method, path, payload, ids)

    assert error(response, 403)["code"] == "FORBIDDEN"


@pytest.mark.parametrize(("method", "path", "payload"), READS, ids=[r[1] for r in READS])
def test_a_read_only_key_can_read(read_only_client, ids, method, path, payload):
    assert call(read_only_client, method, path, payload, ids).status_code == 200


@pytest.mark.parametrize(("method", "path", "payload"), READS, ids=[r[1] for r in READS])
def test_a_staff_session_can_read(staff_client, ids, method, path, payload):
    assert call(staff_client, method, path, payload, ids).status_code == 200


def test_a_staff_session_needs_the_csrf_token_to_write(staff_client, ids):
    without = staff_client.post("/api/v4/maintenances", body(), format="json")
    assert error(without, 403)["code"] == "FORBIDDEN"

    token = secrets.token_hex(16)
    staff_client.cookies["csrftoken"] = token
    with_token = staff_client.post(
        "/api/v4/maintenances", body(), format="json", HTTP_X_CSRFTOKEN=token
    )
    assert with_token.status_code == 201


def test_a_non_staff_session_is_not_authenticated(db, django_user_model):
    user = django_user_model.objects.create_user(username="viewer", password="x-pass-123456")
    client = APIClient()
    client.force_login(user)

    assert error(client.get("/api/v4/maintenances"), 401)["code"] == "UNAUTHORIZED"
