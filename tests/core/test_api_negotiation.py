"""What a client's Accept header gets from the API (core.api.views.ApiView): DRF's answers,
some of them short-cut."""

import pytest


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/*"])
def test_it_answers_json_to_a_client_that_accepts_it(api_client, accept):
    extra = {} if accept is None else {"HTTP_ACCEPT": accept}

    response = api_client.get("/api/v4/maintenances/events", **extra)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["events"] == []


def test_it_refuses_a_client_that_accepts_only_html(api_client):
    response = api_client.get("/api/v4/maintenances/events", HTTP_ACCEPT="text/html")

    assert response.status_code == 406
    assert response.json()["error"]["code"]


def test_it_refuses_a_format_it_does_not_render(api_client):
    assert api_client.get("/api/v4/maintenances/events?format=xml").status_code == 404
    assert api_client.get("/api/v4/maintenances/events?format=json").status_code == 200


def test_it_names_the_allowed_methods_of_each_route(api_client):
    assert api_client.get("/api/v4/maintenances/events")["Allow"] == "GET, HEAD, OPTIONS"
    assert api_client.get("/api/v4/maintenances")["Allow"] == "GET, POST, HEAD, OPTIONS"
