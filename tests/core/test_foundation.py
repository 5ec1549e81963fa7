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


# --- the strict fields and serializers both API versions share ------------------------------


def _refusal(serializer_class, body) -> dict:
    serializer = serializer_class(data=body)
    assert not serializer.is_valid()
    return flatten_details(serializer.errors)


def _bodies(wording_base):
    from core.api import fields as f

    class Body(wording_base):
        ignored_fields = ("id",)
        name = f.StrictCharField(max_length=5)
        count = f.StrictIntegerField(min_value=1, max_value=10, required=False)
        ratio = f.StrictFloatField(min_value=0, max_value=1, required=False)
        flag = f.StrictBooleanField(required=False)
        amount = f.StrictDecimalField(required=False)
        at = f.StrictDateTimeField(required=False)
        kind = f.StrictChoiceField(choices=["A", "B"], required=False)
        email = f.StrictEmailField(required=False)

    return Body


V1_REFUSALS = [
    ({}, {"name": ["This field is required."]}),
    ({"name": None}, {"name": ["This field may not be null."]}),
    ({"name": 5}, {"name": ["Not a valid string."]}),
    ({"name": " "}, {"name": ["This field may not be blank."]}),
    ({"name": "toolong"}, {"name": ["Ensure this field has no more than 5 characters."]}),
    ({"name": "a", "count": "5"}, {"count": ["A valid integer is required."]}),
    ({"name": "a", "count": True}, {"count": ["A valid integer is required."]}),
    ({"name": "a", "count": 0}, {"count": ["Ensure this value is greater than or equal to 1."]}),
    ({"name": "a", "ratio": "0.5"}, {"ratio": ["A valid number is required."]}),
    ({"name": "a", "ratio": 2}, {"ratio": ["Ensure this value is less than or equal to 1."]}),
    ({"name": "a", "flag": "yes"}, {"flag": ["Must be a valid boolean."]}),
    ({"name": "a", "amount": "1.5"}, {"amount": ["A valid number is required."]}),
    (
        {"name": "a", "at": 5},
        {
            "at": [
                "Datetime has wrong format. Use one of these formats instead: "
                "ISO 8601, e.g. 2026-04-24T10:00:00Z."
            ]
        },
    ),
    ({"name": "a", "at": "1900-01-01T00:00:00Z"}, {"at": ["Must be between 1970 and 2200."]}),
    ({"name": "a", "kind": "C"}, {"kind": ['"C" is not a valid choice.']}),
    ({"name": "a", "email": "nobody"}, {"email": ["Enter a valid email address."]}),
    ({"name": "a", "colour": 1, "id": "x"}, {"colour": ["Unknown field."]}),
    (
        {"zeta": 1, "name": 5, "alpha": 1},
        {"name": ["Not a valid string."], "zeta": ["Unknown field."], "alpha": ["Unknown field."]},
    ),
    ([], {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
]

V4_REFUSALS = [
    ({}, {"name": ["name is required"]}),
    ({"name": None}, {"name": ["name must be a string"]}),
    ({"name": 5}, {"name": ["name must be a string"]}),
    ({"name": " "}, {"name": ["name must not be empty"]}),
    ({"name": "toolong"}, {"name": ["name must be at most 5 characters"]}),
    ({"name": "a", "count": "5"}, {"count": ["count must be an integer"]}),
    ({"name": "a", "count": 0}, {"count": ["count must be at least 1"]}),
    ({"name": "a", "count": 11}, {"count": ["count must be at most 10"]}),
    ({"name": "a", "ratio": True}, {"ratio": ["ratio must be a number"]}),
    ({"name": "a", "flag": 1}, {"flag": ["flag must be a boolean"]}),
    ({"name": "a", "kind": "a"}, {"kind": ["Invalid kind 'a'. Must be one of: A, B"]}),
    ({"name": "a", "kind": 5}, {"kind": ["Invalid kind '5'. Must be one of: A, B"]}),
    ({"name": "a", "kind": None}, {"kind": ["Invalid kind 'null'. Must be one of: A, B"]}),
    (
        {"zeta": 1, "name": 5, "alpha": 1, "id": 1},
        {
            "name": ["name must be a string"],
            "alpha": ["Unknown field 'alpha'"],
            "zeta": ["Unknown field 'zeta'"],
        },
    ),
    ([], {"non_field_errors": ["Request body must be a JSON object"]}),
    (None, {"non_field_errors": ["Request body must be a JSON object"]}),
]


@pytest.mark.parametrize(("body", "details"), V1_REFUSALS)
def test_the_strict_fields_keep_drfs_messages_in_v1(body, details):
    from core.api.serializers import StrictSerializer

    refused = _refusal(_bodies(StrictSerializer), body)
    assert refused == details
    assert list(refused) == list(details)


@pytest.mark.parametrize(("body", "details"), V4_REFUSALS)
def test_the_strict_fields_name_the_field_in_v4(body, details):
    from core.api.serializers import V4StrictSerializer

    refused = _refusal(_bodies(V4StrictSerializer), body)
    assert refused == details
    assert list(refused) == list(details)


def test_the_strict_fields_accept_exact_json_types():
    from core.api.serializers import StrictSerializer, V4StrictSerializer

    body = {"name": " a ", "count": 3, "ratio": 1, "flag": False, "amount": 0.1, "kind": "B"}
    for base in (StrictSerializer, V4StrictSerializer):
        serializer = _bodies(base)(data={**body, "id": "echoed"})
        assert serializer.is_valid(), serializer.errors
        data = serializer.validated_data
        assert (data["name"], data["count"], data["flag"], data["kind"]) == ("a", 3, False, "B")
        assert str(data["amount"]) == "0.1000"
        assert "id" not in data
