"""The API key lookup in plain SQL (`core.api.authentication._live_key`) finds exactly what the
library's `get_from_key` finds, reads the key on every request (a revocation applies to the
next one), and refuses wrong secrets, revoked and expired keys like before."""

from datetime import timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from rest_framework.test import APIClient

from core.api.authentication import _live_key
from core.models import ApiKey

pytestmark = pytest.mark.django_db


def _client(raw_key: str, address: str = "127.0.0.1") -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def _values(api_key: ApiKey) -> dict:
    return {f.attname: getattr(api_key, f.attname) for f in ApiKey._meta.concrete_fields}


def test_it_finds_what_the_library_finds():
    expiry = timezone.now() + timedelta(days=3)
    _api_key, raw = ApiKey.objects.create_key(name="ci", read_only=True, expiry_date=expiry)

    found = _live_key(raw)
    assert _values(found) == _values(ApiKey.objects.get_from_key(raw))
    assert found.read_only is True and found.expiry_date == expiry
    assert not found._state.adding


def test_a_wrong_secret_for_a_known_prefix_is_refused():
    api_key, _raw = ApiKey.objects.create_key(name="ci")
    forged = f"{api_key.prefix}.{'x' * 32}"

    with pytest.raises(ApiKey.DoesNotExist):
        _live_key(forged)
    assert _client(forged).get("/api/v4/maintenances").status_code == 401


def test_a_revocation_applies_to_the_very_next_request():
    api_key, raw = ApiKey.objects.create_key(name="ci")
    client = _client(raw)
    assert client.get("/api/v4/maintenances").status_code == 200

    ApiKey.objects.filter(pk=api_key.pk).update(revoked=True)  # behind the services' back

    assert client.get("/api/v4/maintenances").status_code == 401


def test_an_expired_key_is_refused_and_counted(settings):
    settings.AUTH_FAILURE_RATE = "2/min"
    _, raw = ApiKey.objects.create_key(name="old", expiry_date=timezone.now() - timedelta(1))
    client = _client(raw, address="203.0.113.9")  # counted apart from the other tests

    statuses = [client.get("/api/v4/maintenances").status_code for _ in range(3)]

    assert statuses == [401, 401, 429]


def test_a_key_hashed_the_old_way_is_accepted_and_rehashed():
    api_key, raw = ApiKey.objects.create_key(name="legacy")
    old_hash = make_password(raw)  # the library's hashes before its SHA-512 one
    ApiKey.objects.filter(pk=api_key.pk).update(hashed_key=old_hash)

    assert _client(raw).get("/api/v4/maintenances").status_code == 200
    assert ApiKey.objects.get(pk=api_key.pk).hashed_key.startswith("sha512$$")
