from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class MaintenanceConfig(AppConfig):
    """API v1: preventive-maintenance plans on assets, the tasks they generate, and compliance."""

    name = "maintenance"
    verbose_name = gettext_lazy("Preventive maintenance")

    def ready(self):
        from maintenance.events import EVENT_TYPES
        from notifications.events import register_events

        register_events(EVENT_TYPES)

        from maintenance.events import REPORT_READY
        from maintenance.reports import email_attachments
        from notifications.transports import register_email_attachments

        register_email_attachments(REPORT_READY, email_attachments)
        import maintenance.admin_calendars  # noqa: F401 - registers HolidayCalendarAdmin
