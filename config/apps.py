from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """The project package is also an app: it owns API keys, which both API versions accept."""

    name = "config"
    verbose_name = "API access"

    def ready(self) -> None:
        # Registers the OpenAPI descriptions of our authentication classes.
        from config.api import schema  # noqa: F401
