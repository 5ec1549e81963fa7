"""Who is calling: an API key in `Authorization: Bearer <key>`, or a logged-in staff session."""

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext
from rest_framework import authentication, exceptions

from core.api.throttling import count_failed_authentication
from core.models import ApiKey


@dataclass(frozen=True)
class ApiKeyPrincipal:
    """The caller behind an API key; stands in for `request.user`."""

    key_id: str
    name: str
    read_only: bool
    is_authenticated = True
    is_staff = False

    @property
    def actor(self) -> str:
        """How executions and audit rows name this caller."""
        return f"key:{self.name}"


# Every column, in the model's field order as `Model.from_db` takes them (the library's
# `__init__` reads `revoked`: a deferred field would cost a query of its own).
_KEY_FIELDS = tuple(field.attname for field in ApiKey._meta.concrete_fields)
_KEY_SQL = (
    f"SELECT {', '.join(_KEY_FIELDS)} FROM {ApiKey._meta.db_table} "
    "WHERE prefix = %s AND revoked = %s"
)
_KEY_CONVERTED = {
    index: field
    for index, field in enumerate(ApiKey._meta.concrete_fields)
    if field.get_internal_type() in ("DateTimeField", "BooleanField")
}


_HASHED_KEY = _KEY_FIELDS.index("hashed_key")
_EXPIRY, _NAME, _READ_ONLY, _PK = (
    _KEY_FIELDS.index(name) for name in ("expiry_date", "name", "read_only", "id")
)


def _instant(value):
    """An instant column's value as the ORM gives it (SQLite gives naive UTC, or text)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def _from_row(row) -> ApiKey:
    """The key as the ORM builds it from its row (SQLite gives instants as naive UTC, and
    may give booleans as 0/1; PostgreSQL gives aware instants and booleans)."""
    values = list(row)
    for index, field in _KEY_CONVERTED.items():
        value = values[index]
        if field.get_internal_type() == "BooleanField":
            values[index] = value if value is None else bool(value)
        else:
            values[index] = _instant(value)
    return ApiKey.from_db(connection.alias, _KEY_FIELDS, values)


def _live_key_row(raw_key: str) -> tuple | ApiKey:
    """The row of the unrevoked key of that prefix whose hash matches (`_KEY_FIELDS`), or the
    key itself when it was stored with an outdated hasher (the library re-hashes it);
    `DoesNotExist` otherwise."""
    generator = ApiKey.objects.key_generator
    prefix, _, _ = raw_key.partition(".")
    with connection.cursor() as cursor:
        cursor.execute(_KEY_SQL, [prefix, False])
        row = cursor.fetchone()
    if row is None:
        raise ApiKey.DoesNotExist
    hashed_key = row[_HASHED_KEY]
    if not generator.using_preferred_hasher(hashed_key):
        return ApiKey.objects.get_from_key(raw_key)
    if not generator.verify(raw_key, hashed_key):
        raise ApiKey.DoesNotExist
    return row


def _live_key(raw_key: str) -> ApiKey:
    """`ApiKey.objects.get_from_key(raw_key)` (the unrevoked key of that prefix whose hash
    matches; `DoesNotExist` otherwise), as one plain query: it runs on every API request, and
    the ORM spent ten times the query's own time building it. The key is read on every
    request, never remembered, so a revocation applies to the very next request. A key
    stored with an outdated hasher goes through the library, which re-hashes it."""
    found = _live_key_row(raw_key)
    return found if isinstance(found, ApiKey) else _from_row(found)


class BearerApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        # From the environ, as DRF's `get_authorization_header` reads it (WSGI gives it
        # latin-1 decoded); `request.headers` would build the mapping of every header.
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if isinstance(header, bytes):  # the test client may pass bytes through
            header = header.decode("latin-1")
        header = header.split()
        if not header or header[0] != self.keyword or len(header) != 2:
            # No usable header: leave it to the permission check, which answers 401
            # "Missing or invalid authorization header" unless a staff session is present.
            return None
        return self.authenticate_key(request, header[1])

    def authenticate_key(self, request, raw_key: str):
        """The caller behind `raw_key` (wherever the request carried it); 401 if it names
        no live key, counted against the caller's address."""
        found = None
        try:
            if "\x00" not in raw_key:  # PostgreSQL refuses NUL in a query parameter
                found = _live_key_row(raw_key)
        except ApiKey.DoesNotExist:
            pass
        if found is None:
            api_key = None
        elif isinstance(found, ApiKey):  # re-hashed by the library
            api_key = found
            key_id, name, read_only, expiry = (
                found.pk,
                found.name,
                found.read_only,
                found.expiry_date,
            )
        else:
            # The principal comes from the row; the model instance (`request.auth`, which
            # nothing of ours reads) is built only if something asks for it.
            api_key = SimpleLazyObject(partial(_from_row, found))
            key_id, name, read_only = found[_PK], found[_NAME], bool(found[_READ_ONLY])
            expiry = _instant(found[_EXPIRY])
        if api_key is None or (expiry is not None and expiry < timezone.now()):
            # Counted per address; past AUTH_FAILURE_RATE this raises 429 instead.
            count_failed_authentication(request)
            raise exceptions.AuthenticationFailed(gettext("Invalid API key"))
        return ApiKeyPrincipal(key_id=key_id, name=name, read_only=read_only), api_key

    def authenticate_header(self, request) -> str:
        return self.keyword


class StaffSessionAuthentication(authentication.SessionAuthentication):
    """Django admin users may call the API from their browser session (CSRF enforced)."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None or not result[0].is_staff:
            return None
        return result
