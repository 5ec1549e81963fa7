"""GET /api/v1/audit: filters, paging, order, refusals, permissions and a constant query count."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from core import audit
from maintenance import services
from maintenance.specs import AssetSpec, TechnicianSpec
from tests.audit.conftest import V1

URL = "/api/v1/audit"


@pytest.fixture
def history(api_client, clock):
    """An asset created and renamed by the API key, a technician created by a job, a day apart."""
    asset = api_client.post(f"{V1}/assets", {"code": "A-1", "name": "Pump"}, format="json").json()
    clock.shift(timedelta(hours=1))
    api_client.put(f"{V1}/assets/{asset['id']}", {"code": "A-1", "name": "Main"}, format="json")
    clock.shift(timedelta(days=1))
    with audit.acting_as(audit.system_actor("nightly_import")):
        technician = services.technician_create(spec=TechnicianSpec(name="Ada"))
    return {"asset": asset["id"], "technician": technician.pk}


def get(client, expected=200, **params):
    response = client.get(URL, params)
    assert response.status_code == expected, response.content
    return response.json()


def test_it_lists_newest_first_with_before_and_after(api_client, history):
    body = get(api_client)
    assert body["total"] == 3 and body["skip"] == 0 and body["limit"] == 20
    first, second, third = body["items"]
    assert (first["object_type"], first["object_id"]) == ("technician", history["technician"])
    assert first["actor"] == "system:nightly-import"
    assert second == {
        "id": second["id"],
        "timestamp": "2026-03-01T01:00:00Z",
        "object_type": "asset",
        "object_id": history["asset"],
        "object_repr": "A-1 · Main",
        "action": "update",
        "actor": "key:tests",
        "remote_addr": "127.0.0.1",
        "changes": {"name": {"before": "Pump", "after": "Main"}},
    }
    assert third["action"] == "create"
    assert third["changes"]["code"] == {"before": None, "after": "A-1"}


def test_it_filters_by_object_actor_action_and_time(api_client, history):
    def ids(**params):
        return [(i["object_type"], i["action"]) for i in get(api_client, **params)["items"]]

    asset = history["asset"]
    assert ids(object_type="asset", object_id=asset) == [("asset", "update"), ("asset", "create")]
    assert ids(object_type="technician", object_id=asset) == []
    assert ids(actor="key:tests", action="create") == [("asset", "create")]
    assert ids(actor="system:nightly-import") == [("technician", "create")]
    assert ids(since="2026-03-01T01:00:00Z") == [("technician", "create"), ("asset", "update")]
    assert ids(until="2026-03-01T01:00:00Z") == [("asset", "create")]
    assert ids(since="2026-03-01T00:30:00+00:00", until="2026-03-02T00:00:00Z") == [
        ("asset", "update")
    ]


def test_it_pages_with_skip_and_limit(api_client, history):
    page = get(api_client, skip=1, limit=1)
    assert (page["total"], page["skip"], page["limit"], len(page["items"])) == (3, 1, 1, 1)
    assert page["items"][0]["action"] == "update"
    assert get(api_client, skip=10)["items"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"object_type": "planet"}, "object_type"),
        ({"action": "read"}, "action"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01T00:00:00Z"}, "until"),
        ({"since": "9999-12-31T23:59:59-14:00"}, "since"),
        ({"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"}, "until"),
        ({"object_id": "x" * 256}, "object_id"),
        ({"actor": "x" * 201}, "actor"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"skip": "-1"}, "skip"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(api_client, params, field):
    error = get(api_client, 400, **params)["error"]
    assert error["code"] == "BAD_REQUEST"
    assert field in error["details"], error
    assert field in error["message"]


def test_a_read_only_key_and_a_staff_user_without_permission_are_refused(
    read_only_client, staff_user, staff_client, anon_client, db
):
    staff_user.user_permissions.remove(Permission.objects.get(codename="view_auditrecord"))
    assert "read-only" in get(read_only_client, 403)["error"]["message"]
    assert get(staff_client, 403)["error"]["code"]
    assert get(anon_client, 401)["error"]["code"]


def test_a_staff_user_with_the_view_permission_reads_it(staff_user, history):
    staff_user.user_permissions.add(Permission.objects.get(codename="view_auditrecord"))
    client = APIClient()
    client.force_login(staff_user)
    assert get(client)["total"] == 3


def test_it_costs_the_same_queries_whatever_the_page_size(
    api_client, clock, django_assert_num_queries
):
    for index in range(30):
        services.asset_create(spec=AssetSpec(code=f"A-{index}", name="Pump"))
    services.technician_create(spec=TechnicianSpec(name="Ada"))
    get(api_client, limit=1)  # warms the content-type cache
    # key lookup, COUNT, page
    with django_assert_num_queries(3):
        assert len(get(api_client, limit=1)["items"]) == 1
    with django_assert_num_queries(3):
        items = get(api_client, limit=100)["items"]
    assert len(items) == 31
    assert {i["object_type"] for i in items} == {"asset", "technician"}


def test_it_is_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/audit"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {
        "object_type",
        "object_id",
        "actor",
        "action",
        "since",
        "until",
        "skip",
        "limit",
    } <= names
    assert {"200", "400", "401", "403"} <= set(operation["responses"])
    page = schema["components"]["schemas"]["AuditRecordPage"]
    assert page["properties"]["items"]["items"]["$ref"].endswith("/AuditRecord")
