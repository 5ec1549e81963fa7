import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from core.api.exceptions import flatten_details
from core.errors import summary_message
from core.models import ApiKey

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_it_reports_health_without_authentication(anon_client, db):
    response = anon_client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    assert response.json()["broker"] == "ok"


def test_it_serves_the_openapi_schema_and_docs(anon_client, db):
    schema = anon_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    docs = anon_client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


def test_it_answers_unknown_api_routes_with_the_json_envelope(api_client):
    response = api_client.get("/api/v4/no-such-route")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_it_creates_an_api_key_printed_alone_on_the_last_line(db, capsys):
    call_command("create_api_key", "ci-bot", "--read-only")
    raw_key = capsys.readouterr().out.strip().splitlines()[-1]
    stored = ApiKey.objects.get(name="ci-bot")
    assert stored.read_only is True
    assert raw_key not in stored.hashed_key  # only the hash is kept
    assert ApiKey.objects.get_from_key(raw_key) == stored


@pytest.mark.parametrize(
    ("variable", "value", "complaint"),
    [
        ("DEBUG", "maybe", "DEBUG must be true or false"),
        ("DATABASE_URL", "mysql://root@localhost/x", "DATABASE_URL must be sqlite"),
        ("CELERY_BROKER_URL", "amqp://guest@localhost//", "CELERY_BROKER_URL must be"),
        ("MAINTENANCE_EVENT_HORIZON_DAYS", "ninety", "must be an integer"),
    ],
)
def test_it_refuses_to_start_with_a_bad_setting(variable, value, complaint, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "VAR_DIR": str(tmp_path), variable: value}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert complaint in result.stderr


def test_it_generates_the_secret_key_into_var_once(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "VAR_DIR": str(tmp_path)}
    command = [sys.executable, "-c", "import django;django.setup()"]
    for _ in range(2):
        subprocess.run(
            command,
            cwd=REPO_ROOT,
            env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
            check=True,
            timeout=60,
        )
    secret = (tmp_path / "secret_key").read_text()
    assert len(secret) >= 50
    assert secret not in (REPO_ROOT / "config" / "settings.py").read_text()


def test_it_names_the_nested_field_in_validation_messages():
    details = flatten_details({"monitors": [{}, {"impact": ["Invalid impact 'X'."]}]})
    assert details == {"monitors[1].impact": ["Invalid impact 'X'."]}
    assert summary_message(details) == "Invalid impact 'X'."
    assert summary_message({"title": ["This field is required."]}) == (
        "title: This field is required."
    )
