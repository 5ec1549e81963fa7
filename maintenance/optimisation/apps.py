from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class OptimisationConfig(AppConfig):
    """Optimisation of v1 plans: failures, and drafts of suggestions applied through the plan
    services. Its tables keep their historical names (they were maintenance's)."""

    name = "maintenance.optimisation"
    label = "optimisation"
    verbose_name = gettext_lazy("Maintenance optimisation")
