"""Who is calling: an API key in `Authorization: Bearer <key>`, or a logged-in staff session."""

from dataclasses import dataclass

from django.utils import timezone
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


class BearerApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0] != self.keyword or len(header) != 2:
            # No usable header: leave it to the permission check, which answers 401
            # "Missing or invalid authorization header" unless a staff session is present.
            return None
        return self.authenticate_key(request, header[1])

    def authenticate_key(self, request, raw_key: str):
        """The caller behind `raw_key` (wherever the request carried it); 401 if it names
        no live key, counted against the caller's address."""
        api_key = None
        try:
            if "\x00" not in raw_key:  # PostgreSQL refuses NUL in a query parameter
                api_key = ApiKey.objects.get_from_key(raw_key)
        except ApiKey.DoesNotExist:
            pass
        if api_key is None or (
            api_key.expiry_date is not None and api_key.expiry_date < timezone.now()
        ):
            # Counted per address; past AUTH_FAILURE_RATE this raises 429 instead.
            count_failed_authentication(request)
            raise exceptions.AuthenticationFailed(gettext("Invalid API key"))
        principal = ApiKeyPrincipal(
            key_id=api_key.pk, name=api_key.name, read_only=api_key.read_only
        )
        return principal, api_key

    def authenticate_header(self, request) -> str:
        return self.keyword


class StaffSessionAuthentication(authentication.SessionAuthentication):
    """Django admin users may call the API from their browser session (CSRF enforced)."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None or not result[0].is_staff:
            return None
        return result
