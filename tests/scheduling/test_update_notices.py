"""`maintenance.updated`: an event that was announced and then moves, or whose window's title,
monitors or impacts change, is announced again, once per change and channel, old → new."""

from datetime import timedelta

import pytest

from notifications import services as notification_services
from notifications.messages import Message
from notifications.models import Delivery
from scheduling.events import MAINTENANCE_UPDATED
from scheduling.models import MaintenanceEvent
from scheduling.services import events_advance_statuses, events_send_reminders
from tests.notifications.conftest import fast_notifications, receiver  # noqa: F401 (fixtures)
from tests.scheduling.conftest import NOW, create, events_of, ts

pytestmark = pytest.mark.usefixtures("frozen")

JAN_6 = ts(2026, 1, 6, 2, 0)  # the first event of body(): 14 hours after NOW
AT_READY = NOW + timedelta(hours=13, minutes=56)  # 01:56, four minutes before it starts


def channel(**fields):
    defaults = {"name": "ops", "kind": "email", "target": "ops@example.com"}
    return notification_services.channel_create(**{**defaults, **fields})


def updates(**filters) -> list[Delivery]:
    return list(
        Delivery.objects.filter(event=MAINTENANCE_UPDATED, **filters)
        .select_related("channel")
        .order_by("created_at", "id")
    )


def patch_event(api_client, maintenance_id, event_id, body):
    response = api_client.patch(
        f"/api/v4/maintenances/{maintenance_id}/events/{event_id}", body, format="json"
    )
    assert response.status_code == 200, response.json()
    return response.json()["event"]


def test_a_moved_event_that_was_announced_is_announced_updated_once_per_channel(
    api_client, frozen, monitors
):
    ops = channel()
    channel(name="quiet", events=["maintenance.ready"])  # told it is ready, not of changes
    channel(name="web team", monitor_tags=["web"])  # never heard of this window
    maintenance = create(api_client, monitors=[{"monitor_tag": "api"}])
    first = events_of(api_client, maintenance["id"])[0]["id"]
    frozen.move_to(AT_READY)
    events_advance_statuses(now=AT_READY)  # announced as starting soon

    later = ts(2026, 1, 6, 4, 0)
    patch_event(
        api_client,
        maintenance["id"],
        first,
        {"start_date_time": later, "end_date_time": later + 1800},
    )

    [notice] = updates()
    assert notice.channel == ops
    assert notice.object_key.startswith(f"event:{first}:updated:")
    assert notice.payload["changes"] == [
        {"field": "start_at", "old": "2026-01-06T02:00:00Z", "new": "2026-01-06T04:00:00Z"},
        {"field": "end_at", "old": "2026-01-06T03:00:00Z", "new": "2026-01-06T04:30:00Z"},
    ]
    # The occurrence as it is now: moved two hours ahead, it is no longer starting soon.
    assert notice.payload["occurrence"]["status"] == "SCHEDULED"
    assert notice.payload["occurrence"]["start_at"] == "2026-01-06T04:00:00Z"
    assert notice.relevant_until.timestamp() == later + 1800

    # Another change is another notice; the same times again change nothing.
    patch_event(
        api_client,
        maintenance["id"],
        first,
        {"start_date_time": later, "end_date_time": later + 600},
    )
    patch_event(
        api_client,
        maintenance["id"],
        first,
        {"start_date_time": later, "end_date_time": later + 600},
    )
    assert sorted(d.payload["changes"][0]["field"] for d in updates()) == ["end_at", "start_at"]
    assert len({d.object_key for d in updates()}) == 2


def test_an_event_never_announced_moves_quietly(api_client):
    channel()
    maintenance = create(api_client)
    first = events_of(api_client, maintenance["id"])[0]["id"]

    later = ts(2026, 1, 6, 4, 0)
    patch_event(
        api_client,
        maintenance["id"],
        first,
        {"start_date_time": later, "end_date_time": later + 60},
    )

    assert updates() == []


def test_a_reminder_counts_as_an_announcement_and_one_that_failed_does_not(api_client, frozen):
    reminded = channel(name="reminded", reminders=["1h"])
    gone = channel(name="gone", reminders=["1h"])
    maintenance = create(api_client)
    first = events_of(api_client, maintenance["id"])[0]["id"]
    at_one = NOW + timedelta(hours=13)
    frozen.move_to(at_one)
    events_send_reminders(now=at_one)
    # As the sender leaves a delivery that ran out of attempts: that channel heard nothing.
    Delivery.objects.filter(channel=gone).update(status="failed", next_attempt_at=None)

    later = ts(2026, 1, 6, 3, 0)
    patch_event(
        api_client,
        maintenance["id"],
        first,
        {"start_date_time": later, "end_date_time": later + 60},
    )

    assert [d.channel for d in updates()] == [reminded]


def test_extending_an_ongoing_event_announces_its_new_end(api_client, frozen):
    channel()
    maintenance = create(api_client)
    first = events_of(api_client, maintenance["id"])[0]["id"]
    started = NOW + timedelta(hours=14, minutes=10)
    frozen.move_to(started)
    events_advance_statuses(now=started)
    sequence = MaintenanceEvent.objects.get(pk=first).sequence

    event = patch_event(
        api_client, maintenance["id"], first, {"end_date_time": ts(2026, 1, 6, 4, 0)}
    )

    [notice] = updates()
    assert notice.payload["changes"] == [
        {"field": "end_at", "old": "2026-01-06T03:00:00Z", "new": "2026-01-06T04:00:00Z"}
    ]
    assert notice.payload["occurrence"]["status"] == "ONGOING"
    assert event["end_date_time"] == ts(2026, 1, 6, 4, 0)
    # Calendar subscribers see the new end as a revision too (iCalendar SEQUENCE).
    assert MaintenanceEvent.objects.get(pk=first).sequence == sequence + 1


def test_a_window_change_tells_the_announced_live_events_what_changed(api_client, frozen, monitors):
    ops = channel()
    maintenance = create(api_client, monitors=[{"monitor_tag": "api", "impact": "MAINTENANCE"}])
    first, second, _ = (e["id"] for e in events_of(api_client, maintenance["id"]))
    frozen.move_to(AT_READY)
    events_advance_statuses(now=AT_READY)  # only the first is announced

    response = api_client.patch(
        f"/api/v4/maintenances/{maintenance['id']}",
        {
            "title": "Database upgrade to 17",
            "description": "not a change anyone is told about",
            "monitors": [{"monitor_tag": "api", "impact": "DOWN"}, {"monitor_tag": "db"}],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()

    [notice] = updates()
    assert (notice.channel, notice.payload["occurrence"]["id"]) == (ops, first)
    assert notice.payload["changes"] == [
        {"field": "title", "old": "Database upgrade", "new": "Database upgrade to 17"},
        {
            "field": "monitors",
            "old": [{"monitor_tag": "api", "impact": "MAINTENANCE"}],
            "new": [
                {"monitor_tag": "api", "impact": "DOWN"},
                {"monitor_tag": "db", "impact": "MAINTENANCE"},
            ],
        },
    ]
    assert notice.payload["maintenance"]["title"] == "Database upgrade to 17"
    assert second not in {d.payload["occurrence"]["id"] for d in updates()}

    # A description alone is not news; an impact change alone is.
    api_client.patch(
        f"/api/v4/maintenances/{maintenance['id']}", {"description": "again"}, format="json"
    )
    assert len(updates()) == 1
    # Later, so that the newest notice is the last by creation time (ids are random).
    frozen.shift(60)
    api_client.patch(
        f"/api/v4/maintenances/{maintenance['id']}",
        {"monitors": [{"monitor_tag": "api", "impact": "DEGRADED"}, {"monitor_tag": "db"}]},
        format="json",
    )
    assert [c["field"] for c in updates()[-1].payload["changes"]] == ["monitors"]


def test_a_finished_event_is_not_told_of_window_changes(api_client, frozen):
    channel()
    maintenance = create(api_client, rrule="FREQ=DAILY;COUNT=1")
    frozen.move_to(AT_READY)
    events_advance_statuses(now=AT_READY)
    after = NOW + timedelta(hours=16)
    frozen.move_to(after)
    events_advance_statuses(now=after)  # completed

    api_client.patch(f"/api/v4/maintenances/{maintenance['id']}", {"title": "x"}, format="json")

    assert updates() == []


def test_a_refused_change_records_no_notice(api_client, frozen):
    channel()
    maintenance = create(api_client)
    first = events_of(api_client, maintenance["id"])[0]["id"]
    frozen.move_to(AT_READY)
    events_advance_statuses(now=AT_READY)

    response = api_client.patch(
        f"/api/v4/maintenances/{maintenance['id']}/events/{first}",
        {"start_date_time": JAN_6, "end_date_time": JAN_6 - 60},
        format="json",
    )

    assert response.status_code == 400
    assert "end_date_time" in response.json()["error"]["details"]
    assert updates() == []


def test_the_notice_reads_old_and_new_in_the_windows_zone(
    api_client,
    frozen,
    receiver,  # noqa: F811 (the imported fixture)
    eager_celery,
    django_capture_on_commit_callbacks,
):
    channel()
    hook = channel(name="hook", kind="webhook", target=receiver.url())
    receiver.secrets["/hook"] = hook.secret
    maintenance = create(api_client, timezone="Europe/Berlin")
    first = events_of(api_client, maintenance["id"])[0]["id"]
    frozen.move_to(AT_READY)
    with django_capture_on_commit_callbacks(execute=True):
        events_advance_statuses(now=AT_READY)
    later = ts(2026, 1, 6, 4, 0)

    with django_capture_on_commit_callbacks(execute=True):
        patch_event(
            api_client,
            maintenance["id"],
            first,
            {"start_date_time": later, "end_date_time": later + 3600},
        )

    email = Message(updates(channel__kind="email")[0])
    assert (
        email.subject
        == "Maintenance changed: Database upgrade, Tue 06 Jan 2026, 05:00 CET (Europe/Berlin)"
    )
    assert (
        "Start:    Tue 06 Jan 2026, 03:00 CET (Europe/Berlin) → Tue 06 Jan 2026, 05:00 CET "
        "(Europe/Berlin)" in email.text
    )
    assert "<s>Tue 06 Jan 2026, 04:00 CET (Europe/Berlin)</s>" in email.html
    heard = [r.json for r in receiver.requests if r.json["event"] == MAINTENANCE_UPDATED]
    assert len(heard) == 1 and heard[0]["data"]["changes"][0]["field"] == "start_at"
    assert all(r.signature_ok for r in receiver.requests)


def test_an_announced_event_moved_far_away_is_still_told(api_client, frozen):
    channel()
    maintenance = create(api_client)
    first = events_of(api_client, maintenance["id"])[0]["id"]
    frozen.move_to(AT_READY)
    events_advance_statuses(now=AT_READY)

    far = ts(2026, 3, 9, 2, 0)  # two months on: beyond every reminder lead
    patch_event(
        api_client, maintenance["id"], first, {"start_date_time": far, "end_date_time": far + 60}
    )

    [notice] = updates()
    assert notice.payload["occurrence"]["start_at"] == "2026-03-09T02:00:00Z"
