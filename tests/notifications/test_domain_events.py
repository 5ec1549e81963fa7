"""The domain apps say what happened: tasks and windows notify real endpoints, once per cause.

The clock is frozen; deliveries are recorded in the domain transaction and sent after commit
by the Celery task (run inline), to the local HTTP receiver that checks each signature.
"""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection, transaction

from maintenance import services as maintenance_services
from maintenance import tasks as maintenance_tasks
from maintenance.models import Task
from notifications.models import Delivery
from scheduling import services as scheduling_services
from scheduling import tasks as scheduling_tasks
from scheduling.models import MaintenanceEvent, Monitor
from tests.conftest import at
from tests.maintenance.test_concurrency import run_in_threads

V1 = "/api/v1/maintenance"
V4 = "/api/v4/maintenances"
T0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def sent(eager_celery, django_capture_on_commit_callbacks):
    """`with sent(): ...` runs the block and then what it left for after commit (the sends)."""

    def block():
        return django_capture_on_commit_callbacks(execute=True)

    return block


def posts(receiver, path: str | None = None) -> list:
    requests = [r for r in receiver.requests if path is None or r.path == path]
    assert all(r.signature_ok for r in requests), "every webhook POST is signed"
    return requests


def events_heard(receiver, path: str | None = None) -> Counter:
    return Counter(r.json["event"] for r in posts(receiver, path))


def make_plan(api_client, channels=(), **overrides) -> dict:
    body = {
        "name": "Lubricate pump bearings",
        "trigger": "calendar",
        "task": {"title": "Lubricate bearings"},
        "calendar": {
            "every": 1,
            "unit": "day",
            "start_at": "2026-03-02T08:00:00Z",
            "timezone": "Europe/Berlin",
        },
        "notification_channel_ids": [c.pk for c in channels],
        **overrides,
    }
    response = api_client.post(f"{V1}/plans", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


# --- task.created ------------------------------------------------------------------------------


def test_the_scheduler_announces_a_new_task_once_even_when_it_runs_twice(
    api_client, clock, receiver, webhook, sent
):
    channel = webhook()
    plan = make_plan(api_client, [channel])
    clock.move_to(at("2026-03-02 08:00"))

    with sent():
        assert maintenance_services.plans_execute_due(now=at("2026-03-02 08:00")) == 1
    with sent():
        assert maintenance_services.plans_execute_due(now=at("2026-03-02 08:00")) == 0
        maintenance_tasks.execute_due_plans()  # the beat path: fan out, nothing due any more

    [request] = posts(receiver)
    task = Task.objects.get()
    body = request.json
    assert body["event"] == "task.created"
    assert body["data"]["task"]["id"] == task.pk
    assert body["data"]["task"]["code"] == task.code
    assert body["data"]["task"]["due_at"] == "2026-03-02T08:00:00Z"
    assert body["data"]["task"]["deadline_at"] == "2026-03-03T08:00:00Z"
    assert body["data"]["plan"] == {"id": plan["id"], "name": "Lubricate pump bearings"}
    assert body["data"]["timezone"] == "Europe/Berlin"
    [delivery] = Delivery.objects.all()
    assert (delivery.event, delivery.object_key, delivery.status) == (
        "task.created",
        f"task:{task.pk}",
        "sent",
    )
    assert delivery.relevant_until == task.deadline_at


def test_a_task_created_in_a_transaction_that_rolls_back_is_never_announced(
    api_client, clock, receiver, webhook, sent, monkeypatch
):
    plan = make_plan(api_client, [webhook()])
    clock.move_to(at("2026-03-02 08:00"))

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    # The plan's save after generation fails: the task and its delivery go together.
    monkeypatch.setattr("maintenance.models.Plan.save", broken)
    with sent(), pytest.raises(RuntimeError):
        maintenance_services.plan_execute_if_due(plan_id=plan["id"], now=at("2026-03-02 08:00"))

    assert not Task.objects.exists()
    assert not Delivery.objects.exists()
    assert receiver.requests == []


def test_a_catch_up_task_past_its_deadline_is_recorded_not_announced_as_new(
    api_client, clock, receiver, webhook, sent
):
    make_plan(api_client, [webhook()])
    clock.move_to(at("2026-03-05 09:00"))  # down for three days: the latest missed is 03-05 08:00

    with sent():
        maintenance_services.plans_execute_due(now=at("2026-03-05 09:00"))

    [task] = Task.objects.all()
    assert task.due_at == at("2026-03-05 08:00")
    assert events_heard(receiver) == {"task.created": 1}  # its deadline has not passed

    clock.move_to(at("2026-03-10 09:00"))
    with sent():
        maintenance_services.plans_execute_due(now=at("2026-03-10 09:00"))
    assert events_heard(receiver) == {"task.created": 2}  # 03-10 08:00 is still within tolerance


def test_counter_and_manual_execution_announce_their_task(
    api_client, clock, receiver, webhook, sent
):
    channel = webhook()
    counter_plan = make_plan(
        api_client,
        [channel],
        name="Oil change",
        trigger="counter",
        calendar=None,
        counter={"unit": "hours", "interval": 500},
    )
    calendar_plan = make_plan(api_client, [channel])

    with sent():
        reading = api_client.post(
            f"{V1}/plans/{counter_plan['id']}/counter",
            {"value": 510, "source": "plc"},
            format="json",
        )
        assert reading.json()["executed"] is True
        api_client.post(  # below the next threshold: no task, no notification
            f"{V1}/plans/{counter_plan['id']}/counter", {"value": 600, "source": "plc"}
        )
    with sent():
        executed = api_client.post(f"{V1}/plans/{calendar_plan['id']}/execute")
        assert executed.status_code == 200

    requests = posts(receiver)
    assert [r.json["event"] for r in requests] == ["task.created", "task.created"]
    assert [r.json["data"]["task"]["id"] for r in requests] == [
        reading.json()["task"]["id"],
        executed.json()["task_id"],
    ]
    assert requests[0].json["data"]["task"]["deadline_at"] is None  # usage-based, not yet late


def test_a_plan_without_channels_records_no_delivery(api_client, clock, webhook, sent):
    webhook()  # a channel exists, but the plan names none
    plan = make_plan(api_client)

    with sent():
        api_client.post(f"{V1}/plans/{plan['id']}/execute")

    assert not Delivery.objects.exists()


# --- task.overdue ------------------------------------------------------------------------------


def test_an_overdue_task_is_announced_once_across_sweeps(
    api_client, clock, receiver, webhook, sent
):
    channel = webhook()
    plan = make_plan(api_client, [channel])
    quiet = make_plan(api_client, name="No channels")
    clock.move_to(at("2026-03-02 08:00"))
    with sent():
        maintenance_services.plans_execute_due(now=at("2026-03-02 08:00"))
    done = api_client.post(f"{V1}/plans/{plan['id']}/execute").json()["task_id"]
    maintenance_services.task_complete(
        task_id=done, completed_at=None, notes=None, by="ada", now=at("2026-03-02 08:00")
    )
    receiver.requests.clear()

    with sent():  # before the deadline (due 08:00 + 24 h tolerance): nothing
        assert maintenance_services.tasks_notify_overdue(now=at("2026-03-03 07:59")) == 0
    clock.move_to(at("2026-03-03 08:30"))
    with sent():
        assert maintenance_services.tasks_notify_overdue(now=at("2026-03-03 08:30")) == 2
    with sent():
        assert maintenance_services.tasks_notify_overdue(now=at("2026-03-03 08:31")) == 0
        assert maintenance_tasks.notify_overdue_tasks() == {"announced": 0}  # the beat task

    [request] = posts(receiver)
    overdue = Task.objects.get(plan_id=plan["id"], status="open")
    assert request.json["event"] == "task.overdue"
    assert request.json["data"]["task"]["id"] == overdue.pk
    assert Delivery.objects.get(event="task.overdue").object_key == f"task:{overdue.pk}"
    # The task of the plan without channels is marked too (a channel added later stays quiet).
    assert Task.objects.get(plan_id=quiet["id"]).overdue_notified_at == at("2026-03-03 08:30")
    assert Task.objects.get(pk=done).overdue_notified_at is None


def test_a_task_overdue_since_long_ago_is_still_announced_after_downtime(
    api_client, clock, receiver, webhook, sent
):
    plan = make_plan(api_client, [webhook()])
    with sent():
        api_client.post(f"{V1}/plans/{plan['id']}/execute")
    receiver.requests.clear()
    clock.move_to(at("2026-04-02 08:00"))  # a month later

    with sent():
        assert maintenance_services.tasks_notify_overdue(now=at("2026-04-02 08:00")) == 1

    assert events_heard(receiver) == {"task.overdue": 1}


# --- maintenance windows -------------------------------------------------------------------------


@pytest.fixture
def subscribers(webhook):
    """Three channels: one hears the `api` monitor, one the `db` monitor, one every window."""
    for tag in ("api", "db"):
        Monitor.objects.create(tag=tag, name=tag.upper())
    return {
        "api": webhook("api hook", "/api", monitor_tags=["api"]),
        "db": webhook("db hook", "/db", monitor_tags=["db"]),
        "all": webhook("all windows", "/all"),
    }


def make_window(api_client, *, start: datetime, monitors=("api",), minutes: int = 60) -> int:
    response = api_client.post(
        V4,
        {
            "title": "Database upgrade",
            "start_date_time": int(start.timestamp()),
            "rrule": "FREQ=DAILY;COUNT=1",
            "duration_seconds": minutes * 60,
            "timezone": "America/New_York",
            "monitors": [{"monitor_tag": tag, "impact": "MAINTENANCE"} for tag in monitors],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()["maintenance"]["id"]


def advance(now: datetime, times: int = 2) -> None:
    for _ in range(times):
        scheduling_services.events_advance_statuses(now=now)


def test_a_window_announces_ready_started_and_completed_once_each_to_its_subscribers(
    api_client, clock, receiver, subscribers, sent
):
    make_window(api_client, start=at("2026-03-02 10:00"))
    [event] = MaintenanceEvent.objects.all()

    for when in ("2026-03-02 09:56", "2026-03-02 10:00", "2026-03-02 11:00", "2026-03-02 11:01"):
        clock.move_to(at(when))
        with sent():
            advance(at(when))
            scheduling_tasks.advance_event_statuses()  # the beat task too: nothing left to do

    expected = ["maintenance.ready", "maintenance.started", "maintenance.completed"]
    for path in ("/api", "/all"):
        assert [r.json["event"] for r in posts(receiver, path)] == expected, path
    assert posts(receiver, "/db") == []
    first = posts(receiver, "/api")[0].json["data"]
    assert first == {
        "timezone": "America/New_York",
        "maintenance": {
            "id": event.maintenance_id,
            "title": "Database upgrade",
            "description": None,
        },
        "occurrence": {
            "id": event.pk,
            "start_at": "2026-03-02T10:00:00Z",
            "end_at": "2026-03-02T11:00:00Z",
            "status": "READY",
        },
        "monitors": [{"monitor_tag": "api", "impact": "MAINTENANCE"}],
    }
    keys = sorted(set(Delivery.objects.values_list("object_key", flat=True)))
    assert keys == [f"event:{event.pk}:{s}" for s in ("COMPLETED", "ONGOING", "READY")]


def test_a_window_without_monitors_is_heard_only_by_channels_of_all_windows(
    api_client, clock, receiver, subscribers, sent
):
    make_window(api_client, start=at("2026-03-02 07:03"), monitors=())

    with sent():
        advance(at("2026-03-02 07:00"))

    assert events_heard(receiver, "/all") == {"maintenance.ready": 1}
    assert posts(receiver, "/api") == posts(receiver, "/db") == []


def test_after_downtime_only_what_is_still_relevant_is_sent(
    api_client, clock, receiver, subscribers, sent
):
    make_window(api_client, start=at("2026-03-02 08:00"))  # ended at 09:00
    make_window(api_client, start=at("2026-03-02 07:30"), monitors=("db",), minutes=30)
    clock.move_to(at("2026-03-02 09:20"))  # the scheduler was down since 07:00

    with sent():
        moved = scheduling_services.events_advance_statuses(now=at("2026-03-02 09:20"))
        advance(at("2026-03-02 09:20"))

    assert len(moved["COMPLETED"]) == 2
    # Nobody hears "starting soon" or "started" about windows that are over; the one that
    # ended 20 minutes ago is reported completed, the one that ended 80 minutes ago is not.
    assert events_heard(receiver) == {"maintenance.completed": 2}  # /api and /all
    statuses = Counter(Delivery.objects.values_list("event", "status"))
    assert statuses == {
        ("maintenance.ready", "skipped"): 4,
        ("maintenance.started", "skipped"): 4,
        ("maintenance.completed", "sent"): 2,
        ("maintenance.completed", "skipped"): 2,
    }
    assert all(d.last_error.startswith("stale") for d in Delivery.objects.filter(status="skipped"))


def test_a_window_the_scheduler_reaches_late_but_still_under_way_announces_started_only(
    api_client, clock, receiver, subscribers, sent
):
    make_window(api_client, start=at("2026-03-02 07:10"))
    clock.move_to(at("2026-03-02 07:30"))

    with sent():
        advance(at("2026-03-02 07:30"))

    assert events_heard(receiver, "/api") == {"maintenance.started": 1}


def test_cancelling_a_window_by_patch_announces_it_once(
    api_client, clock, receiver, subscribers, sent
):
    maintenance_id = make_window(api_client, start=at("2026-03-02 07:03"))
    [event] = MaintenanceEvent.objects.all()
    url = f"{V4}/{maintenance_id}/events/{event.pk}"
    with sent():
        advance(at("2026-03-02 07:00"))

    with sent():
        assert api_client.patch(url, {"status": "CANCELLED"}, format="json").status_code == 200
        assert api_client.patch(url, {"status": "CANCELLED"}, format="json").status_code == 400
    clock.move_to(at("2026-03-02 08:30"))
    with sent():
        advance(at("2026-03-02 08:30"))

    assert [r.json["event"] for r in posts(receiver, "/api")] == [
        "maintenance.ready",
        "maintenance.cancelled",
    ]
    cancelled = posts(receiver, "/api")[1].json["data"]["occurrence"]
    assert cancelled["status"] == "CANCELLED"


def test_completing_a_window_by_hand_announces_it_once(
    api_client, clock, receiver, subscribers, sent
):
    maintenance_id = make_window(api_client, start=at("2026-03-02 07:00"))
    [event] = MaintenanceEvent.objects.all()
    clock.move_to(at("2026-03-02 07:20"))
    with sent():
        advance(at("2026-03-02 07:20"))
        response = api_client.patch(
            f"{V4}/{maintenance_id}/events/{event.pk}", {"status": "COMPLETED"}, format="json"
        )
        assert response.status_code == 200
        advance(at("2026-03-02 08:30"))

    assert [r.json["event"] for r in posts(receiver, "/api")] == [
        "maintenance.started",
        "maintenance.completed",
    ]


def test_deactivating_a_maintenance_ends_its_windows_with_one_notification_each(
    api_client, clock, receiver, subscribers, sent
):
    ongoing = make_window(api_client, start=at("2026-03-02 06:30"))
    soon = make_window(api_client, start=at("2026-03-02 07:04"))
    later = make_window(api_client, start=at("2026-03-03 07:04"))
    with sent():
        advance(at("2026-03-02 07:00"))
    receiver.requests.clear()

    with sent():
        for maintenance_id in (ongoing, soon, later):
            response = api_client.patch(
                f"{V4}/{maintenance_id}", {"status": "INACTIVE"}, format="json"
            )
            assert response.status_code == 200, response.json()

    heard = [
        (r.json["event"], r.json["data"]["maintenance"]["id"]) for r in posts(receiver, "/api")
    ]
    # The one under way is completed; the one announced as starting soon is called off; the
    # one nobody was told about goes quietly.
    assert heard == [("maintenance.completed", ongoing), ("maintenance.cancelled", soon)]


# --- test-notification ---------------------------------------------------------------------------


def test_test_notification_sends_through_the_plans_channels_and_reports_each(
    api_client, clock, receiver, webhook
):
    ok, broken, gone, off = (
        webhook("ok", "/ok"),
        webhook("broken", "/broken"),
        webhook("gone", "/gone"),
        webhook("off", "/off"),
    )
    plan = make_plan(api_client, [ok, broken, gone, off])
    off.active = False
    off.save()
    receiver.respond_at("/broken", 500)  # the channels are tested at the same time
    receiver.respond_at("/gone", 410)

    response = api_client.post(f"{V1}/plans/{plan['id']}/test-notification")

    assert response.status_code == 200, response.json()
    results = response.json()["deliveries"]
    assert [(r["channel_id"], r["status"]) for r in results] == [
        (ok.pk, "sent"),
        (broken.pk, "failed"),
        (gone.pk, "failed"),
        (off.pk, "skipped"),
    ]
    assert results[0]["error"] is None
    assert "500" in results[1]["error"]
    assert "410" in results[2]["error"]
    assert results[3]["error"] == "the channel is inactive"
    assert sorted(r.path for r in posts(receiver)) == ["/broken", "/gone", "/ok"]
    assert {r.json["event"] for r in posts(receiver)} == {"test"}


def test_test_notification_is_a_conflict_without_channels_and_404_for_no_plan(api_client):
    plan = make_plan(api_client)

    response = api_client.post(f"{V1}/plans/{plan['id']}/test-notification")

    assert response.status_code == 409
    error = response.json()["error"]
    assert (error["code"], error["message"]) == (
        "CONFLICT",
        f"Plan '{plan['id']}' has no notification channels",
    )
    missing = api_client.post(f"{V1}/plans/plan_nope/test-notification")
    assert missing.status_code == 404


def test_test_notification_reaches_an_email_channel(api_client, smtp):
    from notifications import services

    channel = services.channel_create(name="ops", kind="email", target="ops@example.com")
    plan = make_plan(api_client, [channel])

    response = api_client.post(f"{V1}/plans/{plan['id']}/test-notification")

    assert response.json()["deliveries"] == [
        {"channel_id": channel.pk, "status": "sent", "error": None}
    ]
    [mail] = smtp.messages
    assert mail["To"] == "ops@example.com"


def test_window_notifications_read_events_and_monitors_in_a_constant_number_of_queries(
    api_client, clock, subscribers, django_assert_num_queries, eager_celery
):
    for minute in range(6):
        make_window(api_client, start=at("2026-03-02 07:03") + timedelta(minutes=minute))
    # The idle probe ("anything to move?", one EXISTS so that an idle tick costs one query),
    # claim, update, audit records, savepoint pair; "any active channel?", events +
    # maintenances, monitor links + monitors; then notify's own three (channels, insert, read
    # back) per event.
    with django_assert_num_queries(1 + 8 + 3 * 3):
        moved = scheduling_services.events_advance_statuses(now=at("2026-03-02 07:00"))
    assert len(moved["READY"]) == 3


def test_window_transitions_without_any_active_channel_cost_one_query(
    api_client, clock, django_assert_num_queries
):
    make_window(api_client, start=at("2026-03-02 07:03"), monitors=())
    # the idle probe, claim, update, audit records, savepoint pair, "any active channel?"
    with django_assert_num_queries(1 + 6):
        scheduling_services.events_advance_statuses(now=at("2026-03-02 07:00"))
    assert not Delivery.objects.exists()


# --- real concurrency (PostgreSQL) -------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_schedulers_at_once_announce_each_transition_once(
    api_client, clock, receiver, subscribers, eager_celery
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (row locks and concurrent writers)")
    for minute in range(5):
        make_window(api_client, start=at("2026-03-02 07:01") + timedelta(minutes=minute))
    plan = make_plan(api_client, [subscribers["all"]])
    with transaction.atomic():
        maintenance_services.plan_execute(plan_id=plan["id"], by="ada", now=T0)
    receiver.requests.clear()

    for when in (at("2026-03-02 07:00"), at("2026-03-02 07:06"), at("2026-03-02 08:10")):
        clock.move_to(when)
        run_in_threads(4, lambda _, now=when: scheduling_services.events_advance_statuses(now=now))
    clock.move_to(at("2026-03-04 08:00"))
    run_in_threads(
        4, lambda _: maintenance_services.tasks_notify_overdue(now=at("2026-03-04 08:00"))
    )

    heard = Counter((r.path, r.json["event"]) for r in posts(receiver))
    for path in ("/api", "/all"):
        for name in ("maintenance.ready", "maintenance.started", "maintenance.completed"):
            assert heard[(path, name)] == 5, (path, name)
    assert heard[("/all", "task.overdue")] == 1
    assert sum(heard.values()) == 2 * 3 * 5 + 1


def test_task_and_window_messages_render_for_people_by_email(api_client, clock, smtp, sent):
    from notifications import services

    channel = services.channel_create(name="ops", kind="email", target="ops@example.com")
    Monitor.objects.create(tag="api", name="API")
    plan = make_plan(api_client, [channel])
    make_window(api_client, start=at("2026-03-02 07:03"))

    with sent():
        task_id = api_client.post(f"{V1}/plans/{plan['id']}/execute").json()["task_id"]
        advance(at("2026-03-02 07:00"))
    clock.move_to(at("2026-03-04 08:00"))
    with sent():
        maintenance_services.tasks_notify_overdue(now=at("2026-03-04 08:00"))

    assert Counter(Delivery.objects.values_list("event", "status")) == {
        ("task.created", "sent"): 1,
        ("maintenance.ready", "sent"): 1,
        ("task.overdue", "sent"): 1,
    }
    code = Task.objects.get(pk=task_id).code
    subjects = [mail["Subject"] for mail in smtp.messages]
    assert len(subjects) == 3
    assert code in subjects[0] and code in subjects[2], subjects
    assert "Database upgrade" in subjects[1], subjects
    for mail in smtp.messages:
        assert mail.get_body(("plain",)).get_content().strip()


def test_a_window_announced_as_starting_soon_and_then_removed_is_announced_cancelled(
    api_client, clock, receiver, subscribers, sent
):
    rescheduled = make_window(api_client, start=at("2026-03-02 07:03"))
    deleted = make_window(api_client, start=at("2026-03-02 07:04"))
    quiet = make_window(api_client, start=at("2026-03-02 09:00"))  # never announced
    with sent():
        advance(at("2026-03-02 07:00"))
    receiver.requests.clear()

    with sent():
        moved = api_client.patch(
            f"{V4}/{rescheduled}",
            {"start_date_time": int(at("2026-03-03 07:03").timestamp())},
            format="json",
        )
        assert moved.status_code == 200, moved.json()
        [event] = MaintenanceEvent.objects.filter(maintenance_id=deleted)
        assert api_client.delete(f"{V4}/{deleted}/events/{event.pk}").status_code == 200
        [event] = MaintenanceEvent.objects.filter(maintenance_id=quiet)
        assert api_client.delete(f"{V4}/{quiet}/events/{event.pk}").status_code == 200

    heard = [
        (r.json["event"], r.json["data"]["maintenance"]["id"]) for r in posts(receiver, "/api")
    ]
    assert heard == [("maintenance.cancelled", rescheduled), ("maintenance.cancelled", deleted)]
