from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Channels, transports and deliveries; knows nothing of plans or windows."""

    name = "notifications"
    verbose_name = "Notifications"
