"""Every operation of /api/schema/ against the app itself, with schemathesis.

Generated requests (valid and invalid bodies, query and path values) go through the real
WSGI application with a read-write API key. Every answer must be documented: no server
error, a status code the operation lists, a body that matches the schema of that status,
and the content type the operation declares. Derandomized and bounded so that the run is
the same every time and takes about two minutes here.
"""

import json

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from core.models import ApiKey

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]


@pytest.fixture
def in_process_requests():
    """Requests served in the test's transaction: Django would close the connection (and so
    roll back the test's data) at the end of each request, as its own test client prevents."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def raw_key(db) -> str:
    _, key = ApiKey.objects.create_key(name="schemathesis")
    return key


def _served_schema() -> dict:
    """The document /api/schema/ serves (built in-process: it needs no database)."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document))


schema = schemathesis.openapi.from_dict(_served_schema())
schema.app = application


@schema.parametrize()
@settings(
    max_examples=10,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case, raw_key, in_process_requests):
    case.call_and_validate(headers={"Authorization": f"Bearer {raw_key}"}, checks=CHECKS)
