"""`core.admin.ServiceModelAdmin` through real admins: a service's refusal comes back on the
form or as a message, and nothing it refused is written."""

import re

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.messages import get_messages
from django.urls import reverse

from core.errors import Conflict
from core.models import ApiKey
from scheduling import services
from scheduling.models import Monitor
from scheduling.specs import MaintenanceSpec, MonitorLink
from tests.scheduling.conftest import NOW

pytestmark = pytest.mark.django_db


def _window(*monitors: Monitor):
    return services.maintenance_create(
        spec=MaintenanceSpec(
            title="Patching",
            start_date_time=NOW,
            rrule="FREQ=DAILY;COUNT=1",
            duration_seconds=3600,
            monitors=[MonitorLink(monitor=monitor) for monitor in monitors],
        ),
        now=NOW,
    )


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_a_refused_create_shows_the_services_message_on_its_field(admin_client):
    Monitor.objects.create(tag="api", name="API")

    response = admin_client.post(
        reverse("admin:scheduling_monitor_add"), {"tag": "api", "name": "Other", "description": ""}
    )

    assert response.status_code == 200  # the form again
    form = response.context["adminform"].form
    assert form.errors == {"tag": ["Monitor with tag 'api' already exists"]}
    assert form.data["name"] == "Other"  # what the operator typed is kept
    assert list(Monitor.objects.values_list("name", flat=True)) == ["API"]
    assert not LogEntry.objects.exists()


def test_a_refusal_rolls_back_what_the_service_wrote_before_it(admin_client, monkeypatch):
    def create_then_refuse(**fields):
        Monitor.objects.create(**fields)
        raise Conflict("Refused after writing", details={"name": ["Not this name"]})

    monkeypatch.setattr(services, "monitor_create", create_then_refuse)

    response = admin_client.post(
        reverse("admin:scheduling_monitor_add"), {"tag": "api", "name": "API", "description": ""}
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"name": ["Not this name"]}
    assert not Monitor.objects.exists()


def test_a_refused_change_keeps_the_row_as_it_was(admin_client):
    Monitor.objects.create(tag="api", name="API")
    web = Monitor.objects.create(tag="web", name="Web")

    response = admin_client.post(
        reverse("admin:scheduling_monitor_change", args=[web.pk]),
        {"tag": "api", "name": "Renamed", "description": ""},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["tag"] == [
        "Monitor with tag 'api' already exists"
    ]
    web.refresh_from_db()
    assert (web.tag, web.name) == ("web", "Web")


def test_a_refused_delete_shows_the_services_message_and_keeps_the_row(admin_client):
    monitor = Monitor.objects.create(tag="api", name="API")
    window = _window(monitor)

    response = admin_client.post(
        reverse("admin:scheduling_monitor_delete", args=[monitor.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:scheduling_monitor_change", args=[monitor.pk])
    assert _messages(response) == [
        f"Monitor with tag 'api' is used by maintenances {window.pk}; remove it from them first"
    ]
    assert Monitor.objects.filter(pk=monitor.pk).exists()


def test_the_bulk_delete_reports_each_refusal_and_deletes_the_rest(admin_client):
    api, db, spare = (Monitor.objects.create(tag=tag, name=tag) for tag in ("api", "db", "spare"))
    window = _window(api, db)

    response = admin_client.post(
        reverse("admin:scheduling_monitor_changelist"),
        {"action": "delete_selected", "_selected_action": [api.pk, db.pk, spare.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert _messages(response) == [
        f"api: Monitor with tag 'api' is used by maintenances {window.pk}; "
        "remove it from them first",
        f"db: Monitor with tag 'db' is used by maintenances {window.pk}; remove it from them first",
        "Deleted 1 of 3.",
    ]
    assert sorted(Monitor.objects.values_list("tag", flat=True)) == ["api", "db"]
    deletions = LogEntry.objects.filter(action_flag=DELETION)
    assert list(deletions.values_list("object_repr", flat=True)) == ["spare"]


def test_an_api_key_created_in_the_admin_shows_its_key_once(admin_client):
    response = admin_client.post(
        reverse("admin:core_apikey_add"), {"name": "ci", "read_only": "on"}, follow=True
    )

    shown_once = [str(m) for m in response.context["messages"] if "store it" in str(m)]
    assert len(shown_once) == 1
    raw_key = re.search(r"The API key for ci is: (\S+)\.", shown_once[0]).group(1)
    assert raw_key in response.content.decode()
    api_key = ApiKey.objects.get_from_key(raw_key)
    assert (api_key.name, api_key.read_only) == ("ci", True)
    for page in (
        reverse("admin:core_apikey_change", args=[api_key.pk]),
        reverse("admin:core_apikey_changelist"),
    ):
        shown = admin_client.get(page)
        assert shown.status_code == 200
        assert raw_key not in shown.content.decode()
