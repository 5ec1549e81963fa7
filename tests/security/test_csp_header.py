"""The Content-Security-Policy header, built once per policy (core.api.middleware)."""


def _directives(header: str) -> dict[str, list[str]]:
    # django-csp writes the directives in no fixed order: read them as a mapping.
    return {
        name: sources
        for name, *sources in (part.split() for part in header.split(";") if part.strip())
    }


def test_it_sends_the_policy_on_api_responses(api_client):
    policy = _directives(api_client.get("/api/v4/maintenances/events")["Content-Security-Policy"])

    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]


def test_it_follows_a_changed_policy_setting(api_client, settings):
    api_client.get("/api/v4/monitors")  # the header of the shipped policy is built
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"img-src": ["'self'"]}}

    response = api_client.get("/api/v4/monitors")

    assert _directives(response["Content-Security-Policy"])["default-src"] == ["'none'"]
    assert "script-src" not in _directives(response["Content-Security-Policy"])
    assert _directives(response["Content-Security-Policy-Report-Only"])["img-src"] == ["'self'"]


def test_it_keeps_a_views_own_additions(client, db):
    # The API docs add inline styles to the policy (config/urls.py, csp_update): that page
    # gets them, the other pages do not.
    docs = _directives(client.get("/api/docs/")["Content-Security-Policy"])
    login = _directives(client.get("/admin/login/")["Content-Security-Policy"])

    assert docs["style-src"] == ["'self'", "'unsafe-inline'"]
    assert login["style-src"] == ["'self'"]


def test_it_sends_no_policy_when_none_is_set(api_client, settings):
    settings.CONTENT_SECURITY_POLICY = None

    assert "Content-Security-Policy" not in api_client.get("/api/v4/monitors")
