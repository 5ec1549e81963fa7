from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    """API v4: maintenance windows, their events and the monitors they put under maintenance."""

    name = "scheduling"
    verbose_name = "Maintenance windows"
