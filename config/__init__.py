"""Project wiring only: settings, URLs, the Celery app, WSGI and ASGI. No app imports it."""

from config.celery import app as celery_app

__all__ = ("celery_app",)
