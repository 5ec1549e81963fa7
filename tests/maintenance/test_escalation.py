"""`task.escalated`: at fractions of the time from due to deadline, once per channel.

A task due 2026-03-02 08:00 with 24 h tolerance has its deadline 2026-03-03 08:00: Rela's
75 % is 2026-03-03 02:00, 90 % is 05:36.
"""

from datetime import timedelta

import pytest

from maintenance import services
from maintenance.reminders import tasks_send_reminders
from notifications.models import Delivery
from tests.conftest import at
from tests.maintenance.test_due_soon import email_channel, generate, plan_spec

pytestmark = pytest.mark.django_db

DUE = at("2026-03-02 08:00")
AT_75 = at("2026-03-03 02:00")
AT_90 = at("2026-03-03 05:36")


def escalations(**filters):
    return Delivery.objects.filter(event="task.escalated", **filters)


def test_it_escalates_at_75_and_90_percent_to_the_escalation_channels_only():
    crew, managers = email_channel("crew"), email_channel("managers")
    _, task = generate(
        plan_spec([crew], due=DUE, lead_time_hours=0, escalation_channel_ids=(managers.pk,)),
        now=DUE,
    )

    assert tasks_send_reminders(now=AT_75 - timedelta(seconds=1)) == 0
    assert tasks_send_reminders(now=AT_75) == 1
    assert tasks_send_reminders(now=AT_75 + timedelta(minutes=1)) == 0
    assert tasks_send_reminders(now=AT_90) == 1
    assert tasks_send_reminders(now=AT_90 + timedelta(minutes=1)) == 0

    sent = list(escalations().order_by("created_at", "object_key"))
    assert [d.payload["escalation"]["fraction"] for d in sent] == [0.75, 0.9]
    assert [d.payload["escalation"]["at"] for d in sent] == [
        "2026-03-03T02:00:00Z",
        "2026-03-03T05:36:00Z",
    ]
    assert {d.channel_id for d in sent} == {managers.pk}
    assert (
        sent[0].object_key == f"task:{task.pk}:escalated:0.75:{int(task.deadline_at.timestamp())}"
    )
    assert {d.status for d in sent} == {"pending"}


def test_without_escalation_channels_the_plans_channels_hear_it():
    crew = email_channel("crew")
    generate(plan_spec([crew], due=DUE, lead_time_hours=0), now=DUE)

    assert tasks_send_reminders(now=AT_75) == 1
    assert escalations().get().channel_id == crew.pk


def test_fractions_are_the_plans_and_none_means_never():
    half = at("2026-03-02 20:00")
    generate(
        plan_spec([email_channel("a")], due=DUE, lead_time_hours=0, escalation_fractions=(0.5,)),
        now=DUE,
    )
    generate(
        plan_spec([email_channel("b")], due=DUE, lead_time_hours=0, escalation_fractions=()),
        now=DUE,
    )

    assert tasks_send_reminders(now=half) == 1
    assert tasks_send_reminders(now=AT_90) == 0
    assert escalations().get().payload["escalation"]["fraction"] == 0.5


def test_a_task_done_in_time_is_not_escalated_and_overdue_takes_over_after_the_deadline():
    _, done = generate(plan_spec([email_channel("a")], due=DUE, lead_time_hours=0), now=DUE)
    services.task_complete(task_id=done.pk, completed_at=None, notes=None, by="ada", now=DUE)

    assert tasks_send_reminders(now=AT_75) == 0
    _, late = generate(plan_spec([email_channel("b")], due=DUE, lead_time_hours=0), now=DUE)
    # Swept first after its deadline: nothing is escalated any more; task.overdue says it.
    after = late.deadline_at + timedelta(minutes=1)
    assert tasks_send_reminders(now=after) == 0
    assert services.tasks_notify_overdue(now=after) == 1


def test_after_downtime_an_escalation_overtaken_by_the_next_is_recorded_not_sent():
    generate(plan_spec([email_channel()], due=DUE, lead_time_hours=0), now=DUE)

    assert tasks_send_reminders(now=AT_90 + timedelta(minutes=5)) == 2

    status = dict(escalations().values_list("payload__escalation__fraction", "status"))
    assert status == {0.75: "skipped", 0.9: "pending"}
