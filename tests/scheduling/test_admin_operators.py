"""The operators' window page: events edited inline through the services, the live preview
with the events a schedule change would replace, and lists in a fixed number of queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from scheduling import services
from scheduling.models import DeletedOccurrence, Maintenance, MaintenanceEvent
from tests.scheduling.conftest import NOW, create, events_of, ts

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser(username="root", password="root-pass-123")
    client.force_login(user)
    return client


def _change_url(maintenance_id) -> str:
    return reverse("admin:scheduling_maintenance_change", args=[maintenance_id])


def _window_form(maintenance: Maintenance, events: list[MaintenanceEvent], **event_fields):
    """The change form as the browser posts it, with the events inline untouched unless
    `event_fields` (e.g. {"events-0-operation": "cancel"}) says otherwise."""
    start = maintenance.start_date_time
    data = {
        "title": maintenance.title,
        "description": maintenance.description or "",
        "status": maintenance.status,
        "start_date_time_0": f"{start:%Y-%m-%d}",
        "start_date_time_1": f"{start:%H:%M:%S}",
        "rrule": maintenance.rrule,
        "duration": str(maintenance.duration_seconds // 60),
        "duration_unit": "minutes",
        "timezone": maintenance.timezone,
        "monitor_links-TOTAL_FORMS": "0",
        "monitor_links-INITIAL_FORMS": "0",
        "events-TOTAL_FORMS": str(len(events)),
        "events-INITIAL_FORMS": str(len(events)),
        "_continue": "1",
    }
    for i, event in enumerate(events):
        data.update(
            {
                f"events-{i}-id": str(event.pk),
                f"events-{i}-maintenance": str(maintenance.pk),
                f"events-{i}-start_date_time_0": f"{event.start_date_time:%Y-%m-%d}",
                f"events-{i}-start_date_time_1": f"{event.start_date_time:%H:%M:%S}",
                f"events-{i}-end_date_time_0": f"{event.end_date_time:%Y-%m-%d}",
                f"events-{i}-end_date_time_1": f"{event.end_date_time:%H:%M:%S}",
                f"events-{i}-operation": "",
            }
        )
    data.update(event_fields)
    return data


def _events(maintenance_id) -> list[MaintenanceEvent]:
    return list(MaintenanceEvent.objects.filter(maintenance_id=maintenance_id))


def test_the_window_page_lists_its_upcoming_events_inline(admin_client, api_client):
    maintenance = create(api_client)
    page = admin_client.get(_change_url(maintenance["id"]))
    assert page.status_code == 200
    formset = next(f for f in page.context["inline_admin_formsets"] if f.formset.prefix == "events")
    assert len(formset.formset.forms) == 3
    assert 'id="ops-preview"' in page.content.decode()


def test_it_moves_cancels_and_deletes_events_and_generation_keeps_them(admin_client, api_client):
    maintenance = Maintenance.objects.get(pk=create(api_client)["id"])
    moved, cancelled, deleted = _events(maintenance.pk)
    response = admin_client.post(
        _change_url(maintenance.pk),
        _window_form(
            maintenance,
            [moved, cancelled, deleted],
            **{
                "events-0-start_date_time_1": "04:00:00",
                "events-0-end_date_time_1": "05:30:00",
                "events-1-operation": "cancel",
                "events-2-DELETE": "on",
            },
        ),
    )
    assert response.status_code == 302

    by_id = {e["id"]: e for e in events_of(api_client, maintenance.pk)}
    assert by_id[moved.pk]["start_date_time"] == ts(2026, 1, 6, 4, 0)
    assert by_id[moved.pk]["end_date_time"] == ts(2026, 1, 6, 5, 30)
    assert by_id[cancelled.pk]["status"] == "CANCELLED"
    assert deleted.pk not in by_id
    assert DeletedOccurrence.objects.filter(occurrence=deleted.occurrence).exists()

    assert services.events_extend_horizon(now=NOW) == 0
    assert {e["id"] for e in events_of(api_client, maintenance.pk)} == set(by_id)


def test_it_ends_an_ongoing_event_now(admin_client, api_client, frozen):
    maintenance = Maintenance.objects.get(pk=create(api_client)["id"])
    frozen.move_to(NOW + timedelta(hours=14, minutes=30))  # 02:30 on the 6th: first is on
    ongoing, *rest = _events(maintenance.pk)
    admin_client.post(
        _change_url(maintenance.pk),
        _window_form(maintenance, [ongoing, *rest], **{"events-0-operation": "end_now"}),
    )
    ongoing.refresh_from_db()
    assert ongoing.status == "COMPLETED"
    assert ongoing.end_date_time == NOW + timedelta(hours=14, minutes=30)


def test_it_reports_a_refused_event_change_with_the_apis_message(admin_client, api_client):
    maintenance = Maintenance.objects.get(pk=create(api_client)["id"])
    first, *rest = _events(maintenance.pk)
    response = admin_client.post(
        _change_url(maintenance.pk),
        _window_form(maintenance, [first, *rest], **{"events-0-operation": "end_now"}),
        follow=True,
    )
    assert "Cannot transition event from SCHEDULED to COMPLETED" in response.content.decode()
    first.refresh_from_db()
    assert first.status == "SCHEDULED"


def test_a_schedule_change_replaces_edited_events_and_ignores_event_edits(admin_client, api_client):
    maintenance = Maintenance.objects.get(pk=create(api_client)["id"])
    events = _events(maintenance.pk)
    services.event_update_times(
        event=events[0],
        start_date_time=events[0].start_date_time + timedelta(hours=1),
        end_date_time=events[0].end_date_time + timedelta(hours=1),
        now=NOW,
    )
    form = _window_form(maintenance, _events(maintenance.pk), **{"events-1-operation": "cancel"})
    form["rrule"] = "FREQ=DAILY;COUNT=5"
    response = admin_client.post(_change_url(maintenance.pk), form, follow=True)
    assert "were not applied" in response.content.decode()
    after = _events(maintenance.pk)
    assert len(after) == 5
    assert not {e.pk for e in events} & {e.pk for e in after}
    assert {e.status for e in after} == {"SCHEDULED"}


def test_the_preview_lists_the_events_a_schedule_change_would_replace(admin_client, api_client):
    maintenance = create(api_client)
    url = reverse("admin_schedule_preview")
    params = {
        "start": "2026-01-06T02:00",
        "rrule": "FREQ=DAILY;COUNT=3",
        "timezone": "UTC",
        "duration_seconds": "3600",
        "maintenance_id": maintenance["id"],
    }
    same = admin_client.get(url, params).json()
    assert same["replaced"] == []
    assert len(same["occurrences"]) == 3
    assert same["occurrences"][0] == {
        "start": "2026-01-06T02:00:00Z",
        "end": "2026-01-06T03:00:00Z",
        "shown": "2026-01-06 02:00 UTC",
        "end_shown": "2026-01-06 03:00 UTC",
    }

    changed = admin_client.get(url, {**params, "rrule": "FREQ=WEEKLY;COUNT=3"}).json()
    assert [e["id"] for e in changed["replaced"]] == [
        e["id"] for e in events_of(api_client, maintenance["id"])
    ]
    assert changed["description"]


def test_the_preview_refuses_a_bad_rule_with_the_apis_message(admin_client, api_client):
    url = reverse("admin_schedule_preview")
    api = api_client.post(
        "/api/v4/maintenances/preview",
        {"start_date_time": ts(2026, 1, 6, 2, 0), "rrule": "FREQ=SECONDLY", "duration_seconds": 60},
        format="json",
    ).json()["error"]
    response = admin_client.get(url, {"start": "2026-01-06T02:00", "rrule": "FREQ=SECONDLY"})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == api["message"]
    assert response.json()["error"]["details"] == api["details"]


def _windows(api_client, n: int) -> None:
    for i in range(n):
        maintenance = create(
            api_client,
            title=f"W{i}",
            monitors=[{"monitor_tag": "api"}, {"monitor_tag": "db", "impact": "DOWN"}],
        )
        first = events_of(api_client, maintenance["id"])[0]
        api_client.delete(f"/api/v4/maintenances/{maintenance['id']}/events/{first['id']}")


@pytest.mark.parametrize("model", ["maintenance", "maintenanceevent", "deletedoccurrence"])
def test_its_lists_cost_a_fixed_number_of_queries(admin_client, api_client, monitors, model):
    url = reverse(f"admin:scheduling_{model}_changelist")
    _windows(api_client, 3)
    with CaptureQueriesContext(connection) as small:
        assert admin_client.get(url).status_code == 200
    _windows(api_client, 30)
    with CaptureQueriesContext(connection) as large:
        response = admin_client.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count > 30
    assert len(large.captured_queries) == len(small.captured_queries)


def test_the_window_page_costs_a_fixed_number_of_queries(admin_client, api_client, monitors):
    few = create(api_client, monitors=[{"monitor_tag": "api"}])
    many = create(
        api_client,
        rrule="FREQ=HOURLY",
        monitors=[{"monitor_tag": "api"}, {"monitor_tag": "db"}, {"monitor_tag": "web"}],
    )
    with CaptureQueriesContext(connection) as small:
        assert admin_client.get(_change_url(few["id"])).status_code == 200
    with CaptureQueriesContext(connection) as large:
        response = admin_client.get(_change_url(many["id"]))
    events = next(
        f for f in response.context["inline_admin_formsets"] if f.formset.prefix == "events"
    )
    assert len(events.formset.forms) == 20  # the next 20 of ~2,000
    # The monitors inline's select widgets cost one query per row (the choice list); the
    # events inline costs nothing per row.
    assert len(large.captured_queries) <= len(small.captured_queries) + 2 * 2
