"""A typed client generated from /api/schema/ by openapi-python-client has every operation,
and drives a create, read, update and delete of both API versions against a live server.

The generator (pinned in requirements-dev.txt) runs offline on the document the server
serves; a body declared with another content type than JSON, or an operation the generator
cannot read, would leave an operation out of the client.
"""

import importlib
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from core.models import ApiKey

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "generated_api_client"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"


def _pinned_generator_version() -> str:
    requirements = (REPO_ROOT / "requirements-dev.txt").read_text()
    return re.search(r"^openapi-python-client==(\S+)$", requirements, re.MULTILINE).group(1)


def _module_name(operation_id: str) -> str:
    """The generator's module for an operationId: `createMaintenance` → `create_maintenance`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", operation_id).replace("-", "_").lower()


@pytest.fixture(scope="module")
def served_schema(live_server) -> dict:
    response = httpx.get(f"{live_server.url}/api/schema/?format=json", timeout=60)
    response.raise_for_status()
    return response.json()


@pytest.fixture(scope="module")
def generated(served_schema, tmp_path_factory):
    """The generated package, imported; removed from sys.modules after the module's tests."""
    workdir = tmp_path_factory.mktemp("client")
    document = workdir / "schema.json"
    document.write_text(httpx.Response(200, json=served_schema).text)
    config = workdir / "config.yaml"
    config.write_text("post_hooks: []\n")  # no formatter run on the generated code
    version = subprocess.run(
        [GENERATOR, "--version"], capture_output=True, text=True, check=True, timeout=60
    )
    assert _pinned_generator_version() in version.stdout
    subprocess.run(
        [
            GENERATOR,
            "generate",
            "--path",
            document,
            "--config",
            config,
            "--meta",
            "none",
            "--output-path",
            workdir / PACKAGE,
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    sys.path.insert(0, str(workdir))
    try:
        package = importlib.import_module(PACKAGE)
        yield package, workdir / PACKAGE
    finally:
        sys.path.remove(str(workdir))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def _endpoint(group: str, operation: str):
    return importlib.import_module(f"{PACKAGE}.api.{group}.{operation}")


def _model(name: str):
    return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


@pytest.fixture
def client(generated, live_server, transactional_db):
    package, _ = generated
    _, raw_key = ApiKey.objects.create_key(name="generated client")
    return package.AuthenticatedClient(
        base_url=live_server.url, token=raw_key, raise_on_unexpected_status=True
    )


def test_it_generates_a_module_for_every_operation(served_schema, generated):
    _, root = generated
    operation_ids = {
        operation["operationId"]
        for methods in served_schema["paths"].values()
        for operation in methods.values()
    }
    modules = {path.stem for path in (root / "api").glob("*/*.py") if path.stem != "__init__"}

    assert len(operation_ids) >= 62
    assert len(modules) == len(operation_ids)
    assert modules == {_module_name(operation_id) for operation_id in operation_ids}


def test_it_creates_reads_updates_and_deletes_a_v4_maintenance(client):
    maintenances = "maintenances"
    body = _model("MaintenanceWriteRequest").from_dict(
        {
            "title": "DB patching",
            "start_date_time": 1_893_456_000,
            "rrule": "FREQ=WEEKLY;BYDAY=TU",
            "duration_seconds": 3600,
        }
    )

    created = _endpoint(maintenances, "create_maintenance").sync_detailed(client=client, body=body)
    assert created.status_code == 201
    maintenance_id = created.parsed.maintenance.id
    read = _endpoint(maintenances, "get_maintenance").sync(
        maintenance_id=maintenance_id, client=client
    )
    assert read.maintenance.title == "DB patching"
    changes = _model("PatchedMaintenanceWriteRequest").from_dict({"title": "DB upgrade"})
    updated = _endpoint(maintenances, "update_maintenance").sync(
        maintenance_id=maintenance_id, client=client, body=changes
    )
    assert updated.maintenance.title == "DB upgrade"
    deleted = _endpoint(maintenances, "delete_maintenance").sync(
        maintenance_id=maintenance_id, client=client
    )
    assert deleted.message == f"Maintenance with id '{maintenance_id}' deleted successfully"
    gone = _endpoint(maintenances, "get_maintenance").sync_detailed(
        maintenance_id=maintenance_id, client=client
    )
    assert gone.status_code == 404
    assert gone.parsed.error.code == "NOT_FOUND"


def test_it_creates_reads_updates_and_deletes_a_v1_asset(client):
    body = _model("AssetRequest").from_dict({"code": "PUMP-1", "name": "Feed pump"})

    created = _endpoint("v1", "v1_maintenance_assets_create").sync_detailed(
        client=client, body=body
    )
    assert created.status_code == 201
    asset_id = created.parsed.id
    read = _endpoint("v1", "v1_maintenance_assets_retrieve").sync(id=asset_id, client=client)
    assert (read.code, read.name) == ("PUMP-1", "Feed pump")
    replacement = _model("AssetRequest").from_dict(
        {"code": "PUMP-1", "name": "Feed pump B", "location": "Hall 2"}
    )
    updated = _endpoint("v1", "v1_maintenance_assets_update").sync(
        id=asset_id, client=client, body=replacement
    )
    assert (updated.name, updated.location) == ("Feed pump B", "Hall 2")
    deleted = _endpoint("v1", "v1_maintenance_assets_destroy").sync_detailed(
        id=asset_id, client=client
    )
    assert deleted.status_code == 204
    gone = _endpoint("v1", "v1_maintenance_assets_retrieve").sync_detailed(
        id=asset_id, client=client
    )
    assert gone.status_code == 404
    assert gone.parsed.error.message == f"Asset with id '{asset_id}' not found"
