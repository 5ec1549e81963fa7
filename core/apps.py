from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The kernel every app shares: errors, ids, API plumbing, periodic jobs, API keys."""

    name = "core"
    verbose_name = "API access and scheduler"

    def ready(self) -> None:
        # Registers the OpenAPI descriptions of our authentication classes.
        from core.api import schema  # noqa: F401
