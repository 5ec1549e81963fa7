"""Fixtures every test module shares: API clients for each kind of caller."""

from datetime import UTC, datetime

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from config.celery import app as celery_app
from core.models import ApiKey


def at(text: str) -> datetime:
    """`at("2026-03-02 08:00")` → an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _client_with_key(*, read_only: bool) -> APIClient:
    _, raw_key = ApiKey.objects.create_key(
        name="read-only tests" if read_only else "tests", read_only=read_only
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.fixture
def api_client(db) -> APIClient:
    """A client with a read-write API key (its actor name is `key:tests`)."""
    return _client_with_key(read_only=False)


@pytest.fixture
def read_only_client(db) -> APIClient:
    return _client_with_key(read_only=True)


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


# The apps whose models the API serves; a staff session needs their model permissions.
PROJECT_APP_LABELS = ["core", "notifications", "maintenance", "optimisation", "scheduling"]


@pytest.fixture
def staff_user(db, django_user_model):
    """A staff user (not a superuser) granted every model permission of the project's apps."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user(
        username="planner", password="planner-pass-123", is_staff=True
    )
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=PROJECT_APP_LABELS)
    )
    return user


@pytest.fixture
def staff_client(staff_user) -> APIClient:
    """A logged-in staff session; CSRF is enforced as in a browser."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff_user)
    return client


@pytest.fixture
def eager_celery():
    """Tasks sent with `delay`/`apply_async` run inline, as a worker would run them."""
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield celery_app
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


@pytest.fixture(autouse=True)
def _default_language_after_each_test():
    """A request asking for Spanish leaves Spanish active in the thread (the next request's
    LocaleMiddleware sets its own); a later test calling a service directly expects English."""
    yield
    translation.deactivate()
