"""The admin calls the same services as the API."""

import pytest
from django.urls import reverse

from scheduling.models import (
    DeletedOccurrence,
    Maintenance,
    MaintenanceEvent,
    MaintenanceMonitor,
    Monitor,
)
from tests.scheduling.conftest import create, events_of

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser(username="root", password="root-pass-123")
    client.force_login(user)
    return client


def _form(**overrides) -> dict:
    return {
        "title": "From the admin",
        "description": "",
        "status": "ACTIVE",
        "start_date_time_0": "2026-01-06",
        "start_date_time_1": "02:00:30",
        "rrule": "RRULE:freq=daily;count=3",
        "duration": "60",
        "duration_unit": "minutes",
        "timezone": "UTC",
        "monitor_links-TOTAL_FORMS": "1",
        "monitor_links-INITIAL_FORMS": "0",
        "monitor_links-MIN_NUM_FORMS": "0",
        "monitor_links-MAX_NUM_FORMS": "1000",
        "monitor_links-0-monitor": "",
        "monitor_links-0-impact": "MAINTENANCE",
        **overrides,
    }


def test_the_admin_pages_load(admin_client, api_client, monitors):
    maintenance = create(api_client, monitors=[{"monitor_tag": "api"}])
    event = events_of(api_client, maintenance["id"])[0]
    api_client.delete(f"/api/v4/maintenances/{maintenance['id']}/events/{event['id']}")
    pages = [
        reverse("admin:scheduling_maintenance_changelist"),
        reverse("admin:scheduling_maintenance_add"),
        reverse("admin:scheduling_maintenance_change", args=[maintenance["id"]]),
        reverse("admin:scheduling_maintenanceevent_changelist"),
        reverse("admin:scheduling_maintenanceevent_change", args=[event["id"] + 1]),
        reverse("admin:scheduling_monitor_changelist"),
        reverse("admin:scheduling_monitor_change", args=[monitors["api"].pk]),
        reverse("admin:scheduling_deletedoccurrence_changelist"),
        reverse("admin:scheduling_maintenance_changelist") + "?q=api&status__exact=ACTIVE",
    ]
    for page in pages:
        assert admin_client.get(page).status_code == 200, page


def test_adding_a_maintenance_in_the_admin_normalises_it_and_generates_events(
    admin_client, monitors
):
    response = admin_client.post(
        reverse("admin:scheduling_maintenance_add"),
        _form(**{"monitor_links-0-monitor": str(monitors["db"].pk)}),
    )

    assert response.status_code == 302, response.context["adminform"].errors
    maintenance = Maintenance.objects.get()
    assert maintenance.rrule == "FREQ=DAILY;COUNT=3"
    assert maintenance.start_date_time.second == 0
    assert maintenance.events.count() == 3
    assert list(maintenance.monitors.all()) == [monitors["db"]]


def test_the_admin_refuses_an_invalid_rule_on_the_field(admin_client):
    response = admin_client.post(
        reverse("admin:scheduling_maintenance_add"), _form(rrule="FREQ=SECONDLY")
    )

    assert response.status_code == 200
    assert "rrule" in response.context["adminform"].form.errors
    assert not Maintenance.objects.exists()


def test_changing_the_schedule_in_the_admin_regenerates_events(admin_client, api_client):
    maintenance = create(api_client)
    before = set(MaintenanceEvent.objects.values_list("pk", flat=True))

    response = admin_client.post(
        reverse("admin:scheduling_maintenance_change", args=[maintenance["id"]]),
        _form(rrule="FREQ=DAILY;COUNT=5"),
    )

    assert response.status_code == 302
    after = set(MaintenanceEvent.objects.values_list("pk", flat=True))
    assert len(after) == 5
    assert not before & after


def test_deleting_events_in_the_admin_remembers_their_occurrences(admin_client, api_client):
    maintenance = create(api_client)
    event_ids = [e["id"] for e in events_of(api_client, maintenance["id"])]

    response = admin_client.post(
        reverse("admin:scheduling_maintenanceevent_changelist"),
        {"action": "delete_events", "_selected_action": event_ids[:2]},
    )

    assert response.status_code == 302
    assert DeletedOccurrence.objects.count() == 2
    assert MaintenanceEvent.objects.count() == 1


def test_cancelling_events_in_the_admin_uses_the_transition_rules(admin_client, api_client):
    maintenance = create(api_client)
    event_ids = [e["id"] for e in events_of(api_client, maintenance["id"])]

    admin_client.post(
        reverse("admin:scheduling_maintenanceevent_changelist"),
        {"action": "cancel_events", "_selected_action": event_ids},
    )

    assert set(MaintenanceEvent.objects.values_list("status", flat=True)) == {"CANCELLED"}


def test_a_monitor_in_use_cannot_be_deleted_in_the_admin(admin_client, api_client, monitors):
    create(api_client, monitors=[{"monitor_tag": "api"}])

    admin_client.post(
        reverse("admin:scheduling_monitor_delete", args=[monitors["api"].pk]), {"post": "yes"}
    )

    assert Monitor.objects.filter(tag="api").exists()


def _links(maintenance_id) -> list[tuple[str, str]]:
    return list(
        MaintenanceMonitor.objects.filter(maintenance_id=maintenance_id)
        .order_by("id")
        .values_list("monitor__tag", "impact")
    )


def test_the_monitor_rows_replace_the_windows_list_through_the_service(
    admin_client, api_client, monitors
):
    maintenance = create(
        api_client, monitors=[{"monitor_tag": "api"}, {"monitor_tag": "db", "impact": "DOWN"}]
    )
    api_link, db_link = MaintenanceMonitor.objects.filter(maintenance_id=maintenance["id"])
    form = _form(
        **{
            "rrule": maintenance["rrule"],
            "start_date_time_0": "2026-01-06",
            "start_date_time_1": "02:00:00",
            "title": maintenance["title"],
            "monitor_links-TOTAL_FORMS": "3",
            "monitor_links-INITIAL_FORMS": "2",
            "monitor_links-0-id": str(api_link.pk),
            "monitor_links-0-maintenance": str(maintenance["id"]),
            "monitor_links-0-monitor": str(monitors["api"].pk),
            "monitor_links-0-impact": "DEGRADED",
            "monitor_links-1-id": str(db_link.pk),
            "monitor_links-1-maintenance": str(maintenance["id"]),
            "monitor_links-1-monitor": str(monitors["db"].pk),
            "monitor_links-1-impact": "DOWN",
            "monitor_links-1-DELETE": "on",
            "monitor_links-2-monitor": str(monitors["web"].pk),
            "monitor_links-2-impact": "MAINTENANCE",
        }
    )
    before = set(MaintenanceEvent.objects.values_list("pk", flat=True))

    response = admin_client.post(
        reverse("admin:scheduling_maintenance_change", args=[maintenance["id"]]), form
    )

    assert response.status_code == 302, response.context["adminform"].errors
    assert _links(maintenance["id"]) == [("api", "DEGRADED"), ("web", "MAINTENANCE")]
    shown = api_client.get(f"/api/v4/maintenances/{maintenance['id']}").json()["maintenance"]
    assert shown["monitors"] == [
        {"monitor_tag": "api", "impact": "DEGRADED"},
        {"monitor_tag": "web", "impact": "MAINTENANCE"},
    ]
    # The schedule did not change: the events stay.
    assert set(MaintenanceEvent.objects.values_list("pk", flat=True)) == before


def test_a_monitor_taken_in_the_admin_gets_the_apis_message(admin_client, monitors):
    response = admin_client.post(
        reverse("admin:scheduling_monitor_add"), {"tag": "api", "name": "x", "description": ""}
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "tag": ["Monitor with tag 'api' already exists"]
    }
    assert Monitor.objects.filter(tag="api").get().name == "API"


def test_deleting_a_maintenance_in_the_admin_removes_its_events(admin_client, api_client):
    maintenance = create(api_client)

    response = admin_client.post(
        reverse("admin:scheduling_maintenance_delete", args=[maintenance["id"]]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Maintenance.objects.exists()
    assert not MaintenanceEvent.objects.exists()


def test_forgetting_a_deleted_occurrence_brings_its_event_back(admin_client, api_client):
    maintenance = create(api_client)
    first = events_of(api_client, maintenance["id"])[0]
    api_client.delete(f"/api/v4/maintenances/{maintenance['id']}/events/{first['id']}")
    deleted = DeletedOccurrence.objects.get()

    response = admin_client.post(
        reverse("admin:scheduling_deletedoccurrence_delete", args=[deleted.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not DeletedOccurrence.objects.exists()
    starts = [e["start_date_time"] for e in events_of(api_client, maintenance["id"])]
    assert first["start_date_time"] in starts and len(starts) == 3


def test_cancelling_events_reports_each_one_the_rules_refuse(admin_client, api_client):
    maintenance = create(api_client)
    first, *rest = events_of(api_client, maintenance["id"])
    api_client.patch(
        f"/api/v4/maintenances/{maintenance['id']}/events/{first['id']}",
        {"status": "CANCELLED"},
        format="json",
    )

    response = admin_client.post(
        reverse("admin:scheduling_maintenanceevent_changelist"),
        {"action": "cancel_events", "_selected_action": [first["id"], *(e["id"] for e in rest)]},
        follow=True,
    )

    page = response.content.decode()
    assert "Cannot transition event from CANCELLED to CANCELLED" in page
    assert "Cancelled 2 of 3." in page


def test_events_and_deleted_occurrences_are_not_added_or_edited_by_hand(admin_client, api_client):
    maintenance = create(api_client)
    event_id = events_of(api_client, maintenance["id"])[0]["id"]

    assert admin_client.get(reverse("admin:scheduling_maintenanceevent_add")).status_code == 403
    assert admin_client.get(reverse("admin:scheduling_deletedoccurrence_add")).status_code == 403
    change = reverse("admin:scheduling_maintenanceevent_change", args=[event_id])
    assert admin_client.post(change, {"status": "CANCELLED"}).status_code == 403
    assert MaintenanceEvent.objects.get(pk=event_id).status == "SCHEDULED"
