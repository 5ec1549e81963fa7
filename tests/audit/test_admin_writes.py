"""Admin writes, its actions included, are recorded as the session's user, and each object's
History page lists its audit records."""

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from core.models import ApiKey
from maintenance.models import Asset, Plan, Task, Technician
from notifications.models import Channel
from scheduling.models import Monitor
from tests.audit.conftest import T0, V1, one, records


def test_admin_create_change_delete_of_an_asset_are_recorded_as_the_user(admin_client):
    admin_client.post(reverse("admin:maintenance_asset_add"), {"code": "A-1", "name": "Pump"})
    asset = Asset.objects.get()
    change = reverse("admin:maintenance_asset_change", args=[quote(asset.pk)])
    admin_client.post(change, {"code": "A-1", "name": "Main pump"})
    delete = reverse("admin:maintenance_asset_delete", args=[quote(asset.pk)])
    admin_client.post(delete, {"post": "yes"})

    assert not Asset.objects.exists()
    assert one("asset", asset.pk, "create").actor_name == "user:root"
    assert one("asset", asset.pk, "update").changes == {"name": ["Pump", "Main pump"]}
    assert one("asset", asset.pk, "delete").actor_name == "user:root"


@pytest.mark.parametrize(
    "make, object_type, url_name",
    [
        (
            lambda: Technician.objects.create(name="Ana", email="ana@example.org"),
            "technician",
            "admin:maintenance_technician_delete",
        ),
        (
            lambda: Channel.objects.create(
                name="hook", kind="webhook", target="https://hooks.example.org/x"
            ),
            "channel",
            "admin:notifications_channel_delete",
        ),
    ],
)
def test_admin_deletes_of_technicians_and_channels_are_recorded(
    admin_client, make, object_type, url_name
):
    made = make()
    response = admin_client.post(reverse(url_name, args=[quote(made.pk)]), {"post": "yes"})

    assert response.status_code == 302
    assert not type(made).objects.filter(pk=made.pk).exists()
    record = one(object_type, made.pk, "delete")
    assert record.actor_name == "user:root"


def test_admin_bulk_delete_records_each_row(admin_client):
    for code in ("A", "B"):
        admin_client.post(
            reverse("admin:scheduling_monitor_add"),
            {"tag": code.lower(), "name": code, "description": ""},
        )
    ids = list(Monitor.objects.values_list("pk", flat=True))
    admin_client.post(
        reverse("admin:scheduling_monitor_changelist"),
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert not Monitor.objects.exists()
    assert {r.object_pk for r in records("monitor", action="delete")} == {str(i) for i in ids}


def test_admin_plan_actions_appear_on_the_plan_history_page(admin_client, api_client, clock):
    plan = api_client.post(
        f"{V1}/plans",
        {
            "name": "Grease",
            "trigger": "calendar",
            "task": {"title": "Grease"},
            "calendar": {"every": 1, "unit": "day", "start_at": "2026-03-02T08:00:00Z"},
        },
        format="json",
    ).json()

    def act(name):
        admin_client.post(reverse(f"admin:maintenance_plan_{name}", args=[quote(plan["id"])]))

    act("pause")
    act("resume")
    act("execute")
    task = Task.objects.get()
    queue = reverse("admin:maintenance_task_queue")
    admin_client.post(queue, {"action": "complete", "task": [task.pk]})

    updates = records("plan", plan["id"], "update")
    assert [r.actor_name for r in updates] == ["user:root"] * 3
    assert updates[-1].changes == {"status": ["active", "paused"]}
    assert updates[-2].changes == {"status": ["paused", "active"]}
    assert "last_executed_at" in updates[-3].changes
    assert one("task", task.pk, "create").actor_name == "user:root"
    assert one("task", task.pk, "update").changes["status"] == ["open", "done"]

    history = admin_client.get(reverse("admin:maintenance_plan_history", args=[quote(plan["id"])]))
    assert history.status_code == 200
    page = history.content.decode()
    rows = history.context["history_rows"]
    assert [row.action for row in rows] == ["update", "update", "update", "create"]
    assert rows[-1].actor == "key:tests"
    assert "user:root" in page and "key:tests" in page
    assert "paused" in page and "last_executed_at" in page
    task_history = admin_client.get(
        reverse("admin:maintenance_task_history", args=[quote(task.pk)])
    )
    assert "done" in task_history.content.decode()


def test_admin_api_key_create_and_revoke_are_recorded_without_the_hash(admin_client):
    admin_client.post(reverse("admin:core_apikey_add"), {"name": "ci"})
    key = ApiKey.objects.get(name="ci")
    admin_client.post(
        reverse("admin:core_apikey_change", args=[quote(key.pk)]),
        {"name": "ci", "revoked": "on"},
    )

    created = one("api_key", key.prefix, "create")
    assert created.actor_name == "user:root"
    assert created.changes["hashed_key"] == [None, "***"]
    assert created.changes["id"] == [None, "***"]
    assert one("api_key", key.prefix, "update").changes == {"revoked": [False, True]}
    history = admin_client.get(reverse("admin:core_apikey_history", args=[quote(key.pk)]))
    assert key.hashed_key not in history.content.decode()
    assert [row.action for row in history.context["history_rows"]] == ["update", "create"]


def test_the_history_page_needs_view_permission(
    client, django_user_model, admin_client, api_client
):
    api_client.post(f"{V1}/assets", {"code": "A-1", "name": "Pump"}, format="json")
    asset = Asset.objects.get()
    url = reverse("admin:maintenance_asset_history", args=[quote(asset.pk)])
    assert admin_client.get(url).status_code == 200
    staff = django_user_model.objects.create_user("nobody", password="pw-123456!", is_staff=True)
    client.force_login(staff)
    assert client.get(url).status_code == 403


def test_the_audit_records_list_in_the_admin(admin_client, api_client):
    api_client.post(f"{V1}/assets", {"code": "A-1", "name": "Pump"}, format="json")
    response = admin_client.get(reverse("admin:core_auditrecord_changelist"))
    assert response.status_code == 200
    assert "key:tests" in response.content.decode()
    assert Plan.objects.count() == 0


def test_a_windows_history_page_shows_who_generated_its_events(admin_client, api_client, clock):
    window = api_client.post(
        "/api/v4/maintenances",
        {
            "title": "Nightly",
            "start_date_time": int(T0.timestamp()) + 3600,
            "rrule": "FREQ=DAILY;COUNT=3",
            "duration_seconds": 3600,
        },
        format="json",
    ).json()["maintenance"]

    history = admin_client.get(
        reverse("admin:scheduling_maintenance_history", args=[quote(window["id"])])
    )
    assert history.status_code == 200
    rows = history.context["history_rows"]
    assert [(row.action, row.actor) for row in rows] == [
        ("update", "key:tests"),
        ("create", "key:tests"),
    ]
    (name, before, after) = rows[0].changes[0]
    assert (name, before, after["count"]) == ("events", None, 3)
    assert "events" in history.content.decode()
