"""A staff session on the API is bound by the user's Django model permissions, like the admin."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from core.api.permissions import guarded_model
from notifications.models import Channel

CHANNELS = "/api/v1/notifications/channels"
CHANNEL = {"name": "ops", "kind": "email", "target": "ops@example.com"}
PLAN = {
    "name": "Lubricate pump bearings",
    "trigger": "calendar",
    "task": {"title": "Lubricate bearings"},
    "calendar": {"every": 1, "unit": "day", "start_at": "2026-03-02T08:00:00Z"},
}
PREVIEW = {
    "start_date_time": 1767664800,
    "rrule": "FREQ=DAILY;COUNT=3",
    "duration_seconds": 3600,
}


def session_of(user) -> APIClient:
    client = APIClient()  # CSRF is the auth tests' subject; here only permissions count
    client.force_login(user)
    return client


@pytest.fixture
def make_staff(db, django_user_model):
    def make(*codenames: str, **fields):
        user = django_user_model.objects.create_user(
            username=f"staff{django_user_model.objects.count()}", is_staff=True, **fields
        )
        for name in codenames:
            app_label, codename = name.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        return session_of(user)

    return make


def error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    return response.json()["error"]


def test_a_staff_user_without_permissions_cannot_create_a_channel(make_staff):
    client = make_staff()

    response = client.post(CHANNELS, CHANNEL, format="json")

    assert error(response, 403) == {
        "code": "FORBIDDEN",
        "message": "You need the permission notifications.add_channel",
    }
    assert not Channel.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        CHANNELS,
        "/api/v1/maintenance/plans",
        "/api/v1/maintenance/tasks",
        "/api/v1/maintenance/assets",
        "/api/v4/maintenances",
        "/api/v4/maintenances/events",
        "/api/v4/monitors",
        "/api/v1/maintenance/compliance?start_date=2026-01-01&end_date=2026-02-01",
    ],
)
def test_a_staff_user_without_permissions_cannot_list(make_staff, path):
    assert error(make_staff().get(path), 403)["code"] == "FORBIDDEN"


def test_the_view_permission_reads_but_does_not_write(make_staff):
    client = make_staff("notifications.view_channel")

    assert client.get(CHANNELS).status_code == 200
    assert error(client.post(CHANNELS, CHANNEL, format="json"), 403)["message"] == (
        "You need the permission notifications.add_channel"
    )


def test_each_write_needs_its_own_permission(make_staff, api_client):
    channel_id = api_client.post(CHANNELS, CHANNEL, format="json").json()["id"]
    adder = make_staff("notifications.add_channel")
    changer = make_staff("notifications.change_channel")
    deleter = make_staff("notifications.delete_channel")
    detail = f"{CHANNELS}/{channel_id}"

    assert adder.post(CHANNELS, {**CHANNEL, "name": "two"}, format="json").status_code == 201
    assert error(adder.patch(detail, {"name": "x"}, format="json"), 403)["message"].endswith(
        "change_channel"
    )
    assert changer.patch(detail, {"name": "renamed"}, format="json").status_code == 200
    assert error(changer.delete(detail), 403)["message"].endswith("delete_channel")
    assert deleter.delete(detail).status_code == 204


def test_an_action_on_an_object_needs_the_change_permission(make_staff, api_client):
    plan = api_client.post("/api/v1/maintenance/plans", PLAN, format="json").json()
    reader = make_staff("maintenance.view_plan")
    operator = make_staff("maintenance.view_plan", "maintenance.change_plan")

    execute = f"/api/v1/maintenance/plans/{plan['id']}/execute"
    assert error(reader.post(execute), 403)["message"] == (
        "You need the permission maintenance.change_plan"
    )
    assert operator.post(execute).status_code == 200
    assert reader.get(f"/api/v1/maintenance/plans/{plan['id']}/preview").status_code == 200


def test_a_superuser_keeps_everything(make_staff):
    client = make_staff(is_superuser=True)

    assert client.post(CHANNELS, CHANNEL, format="json").status_code == 201
    assert client.get("/api/v4/maintenances").status_code == 200


def test_the_preview_needs_only_the_view_permission(make_staff):
    assert make_staff().post("/api/v4/maintenances/preview", PREVIEW).status_code == 403
    viewer = make_staff("scheduling.view_maintenance")
    assert viewer.post("/api/v4/maintenances/preview", PREVIEW, format="json").status_code == 200


def test_a_read_only_key_may_preview_but_not_create(read_only_client):
    preview = read_only_client.post("/api/v4/maintenances/preview", PREVIEW, format="json")
    create = read_only_client.post(
        "/api/v4/maintenances", {**PREVIEW, "title": "Upgrade"}, format="json"
    )

    assert preview.status_code == 200
    assert len(preview.json()["occurrences"]) == 3
    assert error(create, 403)["message"] == "This API key is read-only"


def _api_views(patterns=None, prefix=""):
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _api_views(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "cls"):
            path = prefix + str(pattern.pattern)
            if path.startswith("api/v"):
                yield path, pattern.callback.cls


def test_every_api_route_names_the_model_its_permissions_come_from():
    """A route that names no model is refused to staff users (fail closed); none does so."""
    unguarded = [path for path, cls in _api_views() if guarded_model(cls()) is None]

    assert unguarded == []
