from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class CoreConfig(AppConfig):
    """The kernel every app shares: errors, ids, API plumbing, periodic jobs, API keys."""

    name = "core"
    verbose_name = gettext_lazy("API access and scheduler")

    def __init__(self, app_name, app_module):
        super().__init__(app_name, app_module)
        # Before any app's models load (Django creates every app config first): our models'
        # made-up names become translatable as each class is made (core/i18n.py).
        from core import i18n

        i18n.connect()

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

        # The admin (first in INSTALLED_APPS) has loaded every admin module by now.
        from django.contrib import admin

        from core import i18n

        i18n.translate_admin_form_labels(admin.site)

        from core.context import install_celery_hooks

        install_celery_hooks()
