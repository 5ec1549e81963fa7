from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The kernel every app shares: errors, ids, API plumbing, periodic jobs, API keys."""

    name = "core"
    verbose_name = "API access and scheduler"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        # Registers the OpenAPI descriptions of our authentication classes.
        from core.api import schema  # noqa: F401

        # Each app declares its periodic jobs in its tasks module; import them all now, so the
        # registry is complete in every process (web, `run_scheduler_tick`, tests), not only in
        # a Celery worker that autodiscovers tasks.
        autodiscover_modules("tasks")
        # Each app's gauges for /metrics and its prunable records, declared beside its models.
        autodiscover_modules("metrics", "retention")

        from core.context import install_celery_hooks

        install_celery_hooks()
