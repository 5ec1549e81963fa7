from django.apps import AppConfig


class OptimisationConfig(AppConfig):
    """Optimisation of v1 plans: failures, and drafts of suggestions applied through the plan
    services. Its tables keep their historical names (they were maintenance's)."""

    name = "maintenance.optimisation"
    label = "optimisation"
    verbose_name = "Maintenance optimisation"
