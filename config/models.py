from django.db import models
from rest_framework_api_key.models import AbstractAPIKey


class ApiKey(AbstractAPIKey):
    """A key for the REST API. Only a SHA-512 hash is stored; the key is shown once, at creation."""

    read_only = models.BooleanField(
        default=False, help_text="A read-only key may only GET; writes get 403."
    )

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        verbose_name_plural = "API keys"
