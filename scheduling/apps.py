from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    """API v4: maintenance windows, their events and the monitors they put under maintenance."""

    name = "scheduling"
    verbose_name = "Maintenance windows"

    def ready(self):
        from notifications.events import register_events
        from scheduling.events import EVENT_TYPES

        register_events(EVENT_TYPES)
