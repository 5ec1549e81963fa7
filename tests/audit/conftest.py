"""Helpers of the audit-trail tests: read the records of one object, as the API names it."""

from datetime import UTC, datetime

import pytest
import time_machine

from core import audit
from core.models import AuditRecord

T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
V1 = "/api/v1/maintenance"
V4 = "/api/v4"
CHANNELS = "/api/v1/notifications/channels"


def records(object_type: str, object_id=None, action: str | None = None) -> list[AuditRecord]:
    """The records of one type (and object), newest first."""
    found = AuditRecord.objects.filter(content_type=audit.content_type_for(object_type))
    if object_id is not None:
        found = found.filter(object_pk=str(object_id))
    if action is not None:
        found = found.filter(action={"create": 0, "update": 1, "delete": 2}[action])
    return list(found.order_by("-timestamp", "-id"))


def one(object_type: str, object_id, action: str) -> AuditRecord:
    found = records(object_type, object_id, action)
    assert len(found) == 1, [(r.action, r.changes) for r in records(object_type, object_id)]
    return found[0]


@pytest.fixture
def clock(db):
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def superuser(db, django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456!")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client
