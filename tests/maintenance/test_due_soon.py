"""`task.due_soon`: each lead time of a plan (or of a channel) once per task and channel.

Frozen clock; the sweep (`maintenance.reminders.tasks_send_reminders`) records deliveries in
the database, which is what makes them exactly once (their unique (event, key, channel));
sending them is the notifications app's business, shown end to end in
tests/integration/test_task_reminders_processes.py.
"""

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from maintenance import services, tasks
from maintenance.models import Task
from maintenance.reminders import tasks_send_reminders
from maintenance.specs import CalendarTrigger, PlanSpec, TaskTemplate
from notifications import services as notifications
from notifications.models import Delivery
from tests.conftest import at
from tests.maintenance.conftest import BASE

pytestmark = pytest.mark.django_db

# Created 4 days ahead of its first occurrence (lead_time_hours=96): the reminders' leads
# all come after the task exists.
DUE = at("2026-03-05 08:00")
CREATED = DUE - timedelta(hours=96)


def email_channel(name="ops", **fields):
    return notifications.channel_create(
        name=name, kind="email", target=f"{name}@example.com", **fields
    )


def plan_spec(channels=(), *, due=DUE, lead_time_hours=96.0, timezone="UTC", **fields):
    return PlanSpec(
        name="Lubricate pump bearings",
        task=TaskTemplate(title="Lubricate bearings"),
        trigger=CalendarTrigger(
            every=1,
            unit="week",
            start_at=due,
            timezone=timezone,
            lead_time_hours=lead_time_hours,
        ),
        notification_channel_ids=tuple(c.pk for c in channels),
        **fields,
    )


def generate(spec, *, now):
    """Create the plan and let the scheduler generate its first task at `now`."""
    with time_machine.travel(now, tick=False):
        plan = services.plan_create(spec=spec, now=now)
        services.plans_execute_due(now=now)
    return plan, Task.objects.get(plan=plan)


def due_soon(**filters):
    return Delivery.objects.filter(event="task.due_soon", **filters)


def test_it_announces_each_lead_time_once():
    channel = email_channel()
    _, task = generate(plan_spec([channel], due_soon_lead_times=("72h", "24h")), now=CREATED)

    assert tasks_send_reminders(now=DUE - timedelta(hours=72, minutes=1)) == 0
    assert tasks_send_reminders(now=DUE - timedelta(hours=72)) == 1
    assert tasks_send_reminders(now=DUE - timedelta(hours=71)) == 0  # sent already
    assert tasks_send_reminders(now=DUE - timedelta(hours=24)) == 1
    assert tasks_send_reminders(now=DUE - timedelta(minutes=1)) == 0

    deliveries = list(due_soon().order_by("created_at", "object_key"))
    assert [d.payload["reminder"]["lead"] for d in deliveries] == ["72h", "24h"]
    assert {d.status for d in deliveries} == {"pending"}
    assert deliveries[0].object_key == f"task:{task.pk}:due_soon:72h:{int(DUE.timestamp())}"
    assert deliveries[0].payload["task"]["code"] == task.code
    assert deliveries[0].channel_id == channel.pk


def test_it_sends_to_every_channel_of_the_plan_once_each():
    channels = [email_channel("ops"), email_channel("crew")]
    generate(plan_spec(channels, due_soon_lead_times=("24h",)), now=CREATED)

    assert tasks_send_reminders(now=DUE - timedelta(hours=24)) == 2
    assert tasks_send_reminders(now=DUE - timedelta(hours=23)) == 0
    assert Counter(due_soon().values_list("channel_id", flat=True)) == {c.pk: 1 for c in channels}


def test_the_beat_job_runs_the_same_sweep():
    generate(plan_spec([email_channel()], due_soon_lead_times=("24h",)), now=CREATED)
    with time_machine.travel(DUE - timedelta(hours=24), tick=False):
        assert tasks.send_task_reminders() == {"reminders": 1}
        assert tasks.send_task_reminders() == {"reminders": 0}


def test_a_lead_already_past_when_the_task_was_created_is_never_sent():
    generate(
        plan_spec([email_channel()], due_soon_lead_times=("24h", "1h"), lead_time_hours=12),
        now=DUE - timedelta(hours=12),
    )

    assert tasks_send_reminders(now=DUE - timedelta(hours=11)) == 0
    assert tasks_send_reminders(now=DUE - timedelta(hours=1)) == 1
    assert list(due_soon().values_list("payload__reminder__lead", flat=True)) == ["1h"]


def test_after_downtime_a_reminder_overtaken_by_a_shorter_one_is_recorded_not_sent():
    generate(plan_spec([email_channel()], due_soon_lead_times=("72h", "24h")), now=CREATED)

    # Down from before the 72h lead until after the 24h one.
    assert tasks_send_reminders(now=DUE - timedelta(hours=20)) == 2

    status = dict(due_soon().values_list("payload__reminder__lead", "status"))
    assert status == {"72h": "skipped", "24h": "pending"}


def test_a_closed_task_is_not_reminded():
    _, task = generate(plan_spec([email_channel()], due_soon_lead_times=("24h",)), now=CREATED)
    services.task_cancel(task_id=task.pk, notes=None, now=CREATED + timedelta(hours=1))

    assert tasks_send_reminders(now=DUE - timedelta(hours=24)) == 0


def test_without_plan_lead_times_a_channel_that_asks_for_task_reminders_uses_its_own():
    asks = email_channel("asks", events=["task.due_soon", "task.created"], reminders=["48h"])
    # Window reminders on a channel that hears every event are not task reminders.
    windows_only = email_channel("windows", reminders=["24h"])
    generate(plan_spec([asks, windows_only]), now=CREATED)

    assert tasks_send_reminders(now=DUE - timedelta(hours=48)) == 1
    assert tasks_send_reminders(now=DUE - timedelta(hours=24)) == 0
    assert list(due_soon().values_list("channel_id", flat=True)) == [asks.pk]


def test_plan_lead_times_win_over_a_channels():
    channel = email_channel(events=["task.due_soon"], reminders=["48h"])
    generate(plan_spec([channel], due_soon_lead_times=("24h",)), now=CREATED)

    assert tasks_send_reminders(now=DUE - timedelta(hours=48)) == 0
    assert tasks_send_reminders(now=DUE - timedelta(hours=24)) == 1


def test_a_channel_that_does_not_subscribe_to_due_soon_hears_nothing():
    channel = email_channel(events=["task.created"])
    generate(plan_spec([channel], due_soon_lead_times=("24h",)), now=CREATED)

    assert tasks_send_reminders(now=DUE - timedelta(hours=24)) == 0


def test_a_lead_time_is_elapsed_time_across_a_dst_change():
    # Berlin springs forward on 2026-03-29 (02:00 CET → 03:00 CEST). A task due Monday 09:00
    # CEST (07:00Z): 48 hours before is Saturday 07:00Z, which is 08:00 CET on the wall, not
    # 09:00: a lead counts hours that pass, like the reminders of maintenance windows.
    berlin = ZoneInfo("Europe/Berlin")
    due = datetime(2026, 3, 30, 9, 0, tzinfo=berlin).astimezone(UTC)
    assert due == at("2026-03-30 07:00")
    generate(
        plan_spec(
            [email_channel()],
            due=due,
            timezone="Europe/Berlin",
            due_soon_lead_times=("48h", "1d"),
        ),
        now=due - timedelta(hours=96),
    )

    assert tasks_send_reminders(now=at("2026-03-28 06:59")) == 0
    assert tasks_send_reminders(now=at("2026-03-28 07:00")) == 1  # 08:00 CET
    assert tasks_send_reminders(now=at("2026-03-29 06:59")) == 0
    assert tasks_send_reminders(now=at("2026-03-29 07:00")) == 1  # "1d": 09:00 CEST, 24 h
    reminder = due_soon().get(payload__reminder__lead="48h")
    assert reminder.payload["timezone"] == "Europe/Berlin"
    assert reminder.payload["task"]["due_at"] == "2026-03-30T07:00:00Z"


# --- the plan's settings through the API ----------------------------------------------------------


PLAN = {
    "name": "Lubricate pump bearings",
    "trigger": "calendar",
    "calendar": {"every": 1, "unit": "day", "start_at": "2026-03-02T08:00:00Z"},
}


def test_the_api_takes_and_shows_lead_times_and_escalation(api_client):
    channel = email_channel()
    body = {
        **PLAN,
        "due_soon_lead_times": ["72h", "30m"],
        "escalation_fractions": [0.5],
        "escalation_channel_ids": [channel.pk],
    }
    response = api_client.post(f"{BASE}/plans", body, format="json")
    assert response.status_code == 201, response.json()
    plan = response.json()
    assert plan["due_soon_lead_times"] == ["72h", "30m"]
    assert plan["escalation_fractions"] == [0.5]
    assert plan["escalation_channel_ids"] == [channel.pk]

    defaults = api_client.post(f"{BASE}/plans", PLAN, format="json").json()
    assert defaults["due_soon_lead_times"] == []
    assert defaults["escalation_fractions"] == [0.75, 0.9]  # Rela's SLA alerts
    assert defaults["escalation_channel_ids"] == []


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("due_soon_lead_times", ["3x"], "due_soon_lead_times[0]: '3x' is not a lead time"),
        ("due_soon_lead_times", ["24h", "1d"], "due_soon_lead_times[1]: 1d repeats"),
        ("due_soon_lead_times", ["31d"], "longer than 30 days"),
        ("due_soon_lead_times", "24h", None),
        ("escalation_fractions", [1.5], "escalation_fractions[0]: 1.5 must be greater than 0"),
        ("escalation_fractions", [0], "escalation_fractions[0]"),
        ("escalation_fractions", [0.5, 0.5], "escalation_fractions[1]: 0.5 repeats"),
        ("escalation_fractions", ["0.5"], None),
        ("escalation_channel_ids", ["chan_nope"], "Channel 'chan_nope' not found"),
    ],
)
def test_bad_settings_are_a_400_naming_the_field(api_client, field, value, words):
    response = api_client.post(f"{BASE}/plans", {**PLAN, field: value}, format="json")

    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    # The field, or its item (`escalation_fractions[0]`), names the problem.
    [(name, messages)] = error["details"].items()
    assert name.startswith(field), error
    if words:
        assert words in " ".join(messages), error


def test_the_services_refuse_bad_settings_from_any_caller():
    from core.errors import InvalidInput

    with pytest.raises(InvalidInput) as caught:
        services.plan_create(
            spec=replace(plan_spec(), due_soon_lead_times=("soon",), escalation_fractions=(2,)),
            now=CREATED,
        )
    assert set(caught.value.details) == {"due_soon_lead_times", "escalation_fractions"}
