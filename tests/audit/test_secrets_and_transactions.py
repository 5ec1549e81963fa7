"""No secret reaches a record, and a record commits or rolls back with its change."""

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from core import audit, retention
from core.models import ApiKey, AuditRecord
from maintenance import services as maintenance_services
from maintenance.specs import AssetSpec
from notifications import services as notification_services
from notifications.models import Channel
from tests.audit.conftest import CHANNELS, V1, one, records


def stored_text() -> str:
    return json.dumps(list(AuditRecord.objects.values("object_pk", "object_repr", "changes")))


def test_a_webhook_secret_and_target_credentials_are_masked(api_client):
    body = {
        "name": "ops",
        "kind": "webhook",
        "target": "https://bob:hunter2@hooks.example.com/services/T0/B0/XXSECRET?token=abc123",
    }
    created = api_client.post(CHANNELS, body, format="json").json()
    channel = Channel.objects.get(pk=created["id"])
    api_client.patch(
        f"{CHANNELS}/{channel.pk}",
        {"target": "https://hooks.example.com/services/T1/B1/OTHERSECRET"},
        format="json",
    )

    record = one("channel", channel.pk, "create")
    assert record.changes["secret"] == [None, "***"]
    assert record.changes["target"] == [None, "https://hooks.example.com/***"]
    # A changed credential shows that it changed, never what it was.
    assert one("channel", channel.pk, "update").changes == {
        "target": ["https://hooks.example.com/***", "https://hooks.example.com/***"]
    }
    text = stored_text()
    for secret in (channel.secret, "hunter2", "XXSECRET", "abc123", "OTHERSECRET", "bob"):
        assert secret not in text


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        ("tgram://123456:AAbbCCddEE/987654", "tgram://***"),
        ("slack://TOKENA/TOKENB/TOKENC/#general", "slack://***"),
        ("json://user:pw@receiver.example.com:8080/hook", "json://receiver.example.com:8080/***"),
        ("https://hooks.example.com", "https://hooks.example.com"),
        ("ops@example.com", "ops@example.com"),
    ],
)
def test_channel_targets_keep_only_scheme_and_host(target, shown):
    assert audit.mask_target(target) == shown


def test_an_api_key_is_named_by_its_prefix_and_its_hash_never_stored(db):
    from core import services

    key, raw = services.api_key_create(spec=services.ApiKeySpec(name="ci"))
    services.api_key_update(key_id=key.pk, spec=services.ApiKeySpec(name="ci-2"), revoked=False)
    services.api_key_delete(key_id=key.pk)

    assert [r.action for r in records("api_key", key.prefix)] == [2, 1, 0]
    assert one("api_key", key.prefix, "update").changes == {"name": ["ci", "ci-2"]}
    assert one("api_key", key.prefix, "delete").changes["hashed_key"] == ["***", None]
    text = stored_text()
    assert key.hashed_key not in text and raw not in text and key.pk not in text
    assert not ApiKey.objects.exists()


def test_a_write_rolled_back_after_it_was_recorded_leaves_no_record(db):
    with pytest.raises(RuntimeError), transaction.atomic():
        maintenance_services.asset_create(spec=AssetSpec(code="A-1", name="Pump"))
        assert len(records("asset")) == 1
        raise RuntimeError("the request failed later")
    assert records("asset") == []


def test_a_refused_delete_records_nothing(api_client):
    asset = api_client.post(f"{V1}/assets", {"code": "A-1", "name": "Pump"}, format="json").json()
    api_client.post(
        f"{V1}/plans",
        {
            "name": "Grease",
            "trigger": "calendar",
            "task": {"title": "Grease"},
            "calendar": {"every": 1, "unit": "day", "start_at": "2026-03-02T08:00:00Z"},
            "asset_ids": [asset["id"]],
        },
        format="json",
    )
    assert api_client.delete(f"{V1}/assets/{asset['id']}").status_code == 409
    assert records("asset", asset["id"], "delete") == []


def test_a_failed_channel_validation_records_nothing(db):
    with pytest.raises(Exception):  # noqa: B017 - the model's ValidationError
        notification_services.channel_create(name="x", kind="webhook", target="not a url")
    assert records("channel") == []


@pytest.mark.django_db(transaction=True)
def test_records_commit_with_the_change_outside_a_test_transaction():
    asset = maintenance_services.asset_create(spec=AssetSpec(code="A-1", name="Pump"))
    maintenance_services.asset_update(asset_id=asset.pk, spec=AssetSpec(code="A-1", name="Main"))
    assert [r.action for r in records("asset", asset.pk)] == [1, 0]


def test_old_records_are_pruned_in_batches_by_retention(db, clock, settings):
    for index in range(5):
        maintenance_services.asset_create(spec=AssetSpec(code=f"A-{index}", name="Pump"))
        clock.shift(timedelta(days=1))
    settings.RETENTION_AUDIT_DAYS = 2  # now is 5 days after the first: 3 records are older
    (audit_records,) = [item for item in retention.prunables() if item.name == "audit.records"]

    assert retention.prune(audit_records, now=timezone.now(), batch_size=2) == 3
    assert AuditRecord.objects.count() == 2
    assert retention.prune(audit_records, now=timezone.now()) == 0
    settings.RETENTION_AUDIT_DAYS = 0  # the default keeps them forever
    assert retention.prune(audit_records, now=timezone.now() + timedelta(days=999)) == 0
