"""Assets and technicians: CRUD, validation, and deletion refused while in use."""

import pytest

from tests.maintenance.conftest import BASE


def test_it_creates_reads_updates_and_deletes_an_asset(api_client, clock):
    body = {
        "code": "PMP-01",
        "name": "Feed pump",
        "location": "Hall 2",
        "latitude": 48.1374,
        "longitude": 11.5755,
        "installed_at": "2019-05-01T00:00:00+02:00",
    }
    response = api_client.post(f"{BASE}/assets", body, format="json")
    assert response.status_code == 201, response.json()
    asset = response.json()
    assert asset["id"].startswith("asset_")
    assert asset["installed_at"] == "2019-04-30T22:00:00Z"
    assert api_client.get(f"{BASE}/assets/{asset['id']}").json() == asset

    response = api_client.patch(
        f"{BASE}/assets/{asset['id']}", {"location": "Hall 3"}, format="json"
    )
    assert response.json()["location"] == "Hall 3"
    response = api_client.put(
        f"{BASE}/assets/{asset['id']}", {"code": "PMP-01", "name": "Pump"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["latitude"] is None  # a full update resets what it omits
    assert api_client.get(f"{BASE}/assets").json()["total"] == 1

    assert api_client.delete(f"{BASE}/assets/{asset['id']}").status_code == 204
    response = api_client.get(f"{BASE}/assets/{asset['id']}")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == f"Asset with id '{asset['id']}' not found"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x"}, "code"),
        ({"code": "A", "name": 5}, "name"),
        ({"code": "A", "name": "x", "latitude": 91, "longitude": 0}, "latitude"),
        ({"code": "A", "name": "x", "latitude": "48.1", "longitude": 11.5}, "latitude"),
        ({"code": "A", "name": "x", "latitude": 48.1}, "latitude"),
        ({"code": "A", "name": "x", "installed_at": "2019"}, "installed_at"),
        ({"code": "A", "name": "x", "serial": "123"}, "serial"),
    ],
)
def test_it_refuses_invalid_assets(api_client, body, field):
    response = api_client.post(f"{BASE}/assets", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_it_refuses_a_duplicate_asset_code(api_client, make_asset):
    make_asset(code="PMP-01")
    response = api_client.post(f"{BASE}/assets", {"code": "PMP-01", "name": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["code"] == [
        "An asset with code 'PMP-01' already exists."
    ]


def test_it_refuses_to_delete_an_asset_a_plan_maintains(api_client, make_asset, make_plan):
    asset = make_asset()
    plan = make_plan(asset_ids=[asset["id"]])
    response = api_client.delete(f"{BASE}/assets/{asset['id']}")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    api_client.delete(f"{BASE}/plans/{plan['id']}")
    assert api_client.delete(f"{BASE}/assets/{asset['id']}").status_code == 204


def test_it_creates_and_updates_a_technician(api_client):
    response = api_client.post(
        f"{BASE}/technicians",
        {"name": "Ada", "email": "ada@example.com", "skills": ["electrical", "hvac"]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    tech = response.json()
    assert tech["id"].startswith("tech_")
    assert tech["daily_capacity_minutes"] == 480
    assert tech["active"] is True
    response = api_client.patch(
        f"{BASE}/technicians/{tech['id']}", {"active": False}, format="json"
    )
    assert response.json()["active"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Ada", "email": "not-an-email"}, "email"),
        ({"name": "Ada", "skills": "hvac"}, "skills"),
        ({"name": "Ada", "skills": ["hvac", "hvac"]}, "skills"),
        ({"name": "Ada", "daily_capacity_minutes": "480"}, "daily_capacity_minutes"),
        ({"name": "Ada", "daily_capacity_minutes": 2000}, "daily_capacity_minutes"),
        ({"name": "Ada", "active": "yes"}, "active"),
    ],
)
def test_it_refuses_invalid_technicians(api_client, body, field):
    response = api_client.post(f"{BASE}/technicians", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_it_refuses_to_delete_an_assigned_technician(api_client, make_technician, make_plan):
    tech = make_technician()
    make_plan(assignee_id=tech["id"])
    response = api_client.delete(f"{BASE}/technicians/{tech['id']}")
    assert response.status_code == 409
    assert "active" in response.json()["error"]["message"]
    lone = make_technician()
    assert api_client.delete(f"{BASE}/technicians/{lone['id']}").status_code == 204
