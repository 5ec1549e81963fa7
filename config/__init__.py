"""Project package: settings, URL wiring, the Celery app and the API plumbing of both versions."""

from config.celery import app as celery_app

__all__ = ("celery_app",)
