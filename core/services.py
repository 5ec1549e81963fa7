"""Writes of the kernel's own models: API keys."""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from core import audit
from core.errors import InvalidInput
from core.models import ApiKey

NAME_MAX = 50


@dataclass(frozen=True)
class ApiKeySpec:
    """What an operator sets on a key. The key itself is generated, never chosen."""

    name: str
    read_only: bool = False
    expiry_date: datetime | None = None


def _checked_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise InvalidInput(f"name must be 1 to {NAME_MAX} characters", field="name")
    return name


@transaction.atomic
def api_key_create(*, spec: ApiKeySpec) -> tuple[ApiKey, str]:
    """Create a key; returns it with the raw key, which is shown once and never stored."""
    api_key, raw_key = ApiKey.objects.create_key(
        name=_checked_name(spec.name), read_only=spec.read_only, expiry_date=spec.expiry_date
    )
    audit.record_created(api_key)
    return api_key, raw_key


@transaction.atomic
def api_key_update(*, key_id: str, spec: ApiKeySpec, revoked: bool) -> ApiKey:
    """Rename a key, change its access or expiry, or revoke it. A revoked key stays revoked."""
    api_key = ApiKey.objects.select_for_update().get(pk=key_id)
    if api_key.revoked:
        raise InvalidInput("A revoked API key cannot be changed.", field="revoked")
    before = audit.snapshot(api_key)
    api_key.name = _checked_name(spec.name)
    api_key.read_only = spec.read_only
    api_key.expiry_date = spec.expiry_date
    api_key.revoked = revoked
    api_key.save()
    audit.record_updated(api_key, before=before)
    return api_key


def api_key_delete(*, key_id: str) -> None:
    audit.delete(ApiKey.objects.filter(pk=key_id))
