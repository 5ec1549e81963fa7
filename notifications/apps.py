from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class NotificationsConfig(AppConfig):
    """Channels, transports and deliveries; knows nothing of plans or windows.

    The events it sends are registered by the apps that raise them (`notifications.events`);
    it registers only its own channel ``test``.
    """

    name = "notifications"
    verbose_name = gettext_lazy("Notifications")

    def ready(self):
        from django.core import checks

        from notifications import egress
        from notifications.events import CHANNEL_TEST, register_event
        from notifications.messages import check_event_templates

        egress.install()
        register_event(CHANNEL_TEST)
        checks.register(check_event_templates, checks.Tags.templates)
