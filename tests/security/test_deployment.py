"""Deployment switches and headers: HTTPS=true, check --deploy, CSP, no-store, /healthz."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def manage(*args: str, **environment: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "maintenance.example.com",
        **environment,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_with_https_true_check_deploy_prints_no_warning():
    result = manage("check", "--deploy", "--fail-level", "WARNING", HTTPS="true")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_without_it_check_deploy_names_what_is_missing():
    result = manage("check", "--deploy", HTTPS="false")

    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr + result.stdout


def test_https_true_turns_on_every_transport_setting():
    script = (
        "from django.conf import settings as s;"
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE,"
        " s.CSRF_COOKIE_SECURE, s.SECURE_PROXY_SSL_HEADER)"
    )
    result = manage("shell", "-c", script, HTTPS="true")

    assert result.stdout.strip().splitlines()[-1] == (
        "True 31536000 True True ('HTTP_X_FORWARDED_PROTO', 'https')"
    )


@pytest.fixture
def behind_tls(settings):
    """The settings HTTPS=true makes (config/settings.py), for requests in this process."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True


def test_behind_tls_http_is_redirected_and_https_gets_hsts(api_client, behind_tls):
    plain = api_client.get("/api/v4/monitors")
    proxied = api_client.get("/api/v4/monitors", HTTP_X_FORWARDED_PROTO="https")

    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/api/v4/monitors"
    assert proxied.status_code == 200
    assert proxied["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert api_client.get("/healthz").status_code == 200  # load balancers probe over http


@pytest.mark.parametrize("path", ["/admin/login/", "/api/docs/", "/api/redoc/"])
def test_pages_carry_a_content_security_policy(client, db, path):
    header = client.get(path)["Content-Security-Policy"]
    # django-csp writes the directives in no fixed order: read them as a mapping.
    policy = {
        name: sources
        for name, *sources in (part.split() for part in header.split(";") if part.strip())
    }

    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no inline script, no eval
    assert policy["frame-ancestors"] == ["'none'"]


def test_the_docs_load_nothing_from_elsewhere(client, db):
    for path in ("/api/docs/", "/api/redoc/"):
        page = client.get(path).content.decode()
        assert "http://" not in page and "https://" not in page, path
        assert "/static/drf_spectacular_sidecar/" in page, path


@pytest.mark.parametrize(
    ("path", "status"),
    [("/api/v4/monitors", 200), ("/api/v1/notifications/channels", 200), ("/api/v4/nowhere", 404)],
)
def test_api_responses_are_never_stored(api_client, path, status):
    response = api_client.get(path)

    assert response.status_code == status
    assert "no-store" in response["Cache-Control"]


def test_an_error_without_a_key_is_not_stored_either(anon_client, db):
    assert "no-store" in anon_client.get("/api/v4/monitors")["Cache-Control"]


def test_healthz_names_the_failing_part_without_its_error_text(anon_client, db, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}

    response = anon_client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"], body["broker"]) == ("error", "ok", "error")
    assert body["failing"] == ["broker"]
    text = response.content.decode().lower()
    assert "refused" not in text and "127.0.0.1" not in text and "errno" not in text
