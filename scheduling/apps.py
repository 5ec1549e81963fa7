from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class SchedulingConfig(AppConfig):
    """API v4: maintenance windows, their events and the monitors they put under maintenance."""

    name = "scheduling"
    verbose_name = gettext_lazy("Maintenance windows")

    def ready(self):
        from notifications.events import register_events
        from scheduling.events import EVENT_TYPES

        register_events(EVENT_TYPES)
