"""Reminders and escalation of open tasks: `task.due_soon` and `task.escalated`.

`tasks_send_reminders` (beat, every minute, `maintenance.tasks.send_task_reminders`) announces

- ``task.due_soon`` at each lead time before a task is due: the plan's
  ``due_soon_lead_times`` for each of its notification channels, or, when the plan sets none,
  the ``reminders`` of each of its channels that subscribes to ``task.due_soon`` by name (a
  channel's window reminders are not task reminders unless it asks for them);
- ``task.escalated`` at each of the plan's ``escalation_fractions`` of the way from the
  task's due time to its deadline (Rela's SLA alerts: 75 % and 90 %), to the plan's
  ``escalation_channel_ids`` (or its notification channels when it names none).

``task.overdue`` stays `services.tasks_notify_overdue`'s.

Exactly once per (task, lead or fraction, channel), however many workers sweep at once: the
delivery key names the step (``task:<id>:due_soon:<lead>:<due>``,
``task:<id>:escalated:<fraction>:<deadline>``) and deliveries are unique on (event, key,
channel), so a second sweep's insert is dropped by the database. Keys already recorded are
left out before any insert, so a quiet sweep writes nothing.

Lead times are elapsed time ("24h" is 24 hours before the due instant, whatever the wall
clock did in between: across a DST change it is 23 or 25 wall-clock hours), like the
reminders of maintenance windows. A lead whose time had already passed when the task was
created is never sent (a task generated 2 h before it is due does not say "due in 24h"); a
reminder that comes late after downtime is sent while it is still true (until the next
shorter lead's time, or the due time) and recorded as skipped after. An escalation is sent
until the next fraction's instant (or the deadline), so a task generated late is escalated
at once, once.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext

from maintenance.events import TASK_DUE_SOON, TASK_ESCALATED, task_payload
from maintenance.models import Plan, Task, TaskAsset
from notifications import services as notifications
from notifications.models import (
    MAX_REMINDER_LEAD,
    Channel,
    Delivery,
    reminder_lead,
    validate_reminders,
)

MAX_ESCALATION_FRACTIONS = 10


# --- validation of a plan's settings (the services and the API serializer share these) -------


def lead_times_problem(value: Iterable[str]) -> str | None:
    """Why `due_soon_lead_times` is not a list of lead times, naming the item; None if it is."""
    try:
        validate_reminders(list(value), field_name="due_soon_lead_times")
    except ValidationError as exc:
        return exc.messages[0]
    return None


def escalation_fractions_problem(value: Iterable[float]) -> str | None:
    """Why `escalation_fractions` is not a list of distinct fractions strictly between 0 and 1,
    naming the item; None if it is."""
    fractions = list(value)
    if len(fractions) > MAX_ESCALATION_FRACTIONS:
        return gettext("At most %(MAX_ESCALATION_FRACTIONS)s escalation fractions.") % {
            "MAX_ESCALATION_FRACTIONS": MAX_ESCALATION_FRACTIONS
        }
    for index, fraction in enumerate(fractions):
        name = f"escalation_fractions[{index}]"
        if isinstance(fraction, bool) or not isinstance(fraction, int | float):
            return gettext("%(name)s: must be a number between 0 and 1, like 0.75") % {"name": name}
        if not 0 < fraction < 1:
            return gettext("%(name)s: %(fraction)s must be greater than 0 and less than 1") % {
                "name": name,
                "fraction": fraction,
            }
        if fraction in fractions[:index]:
            return gettext("%(name)s: %(fraction)s repeats escalation_fractions[%(fraction2)s]") % {
                "name": name,
                "fraction": fraction,
                "fraction2": fractions.index(fraction),
            }
    return None


# --- the sweep --------------------------------------------------------------------------------


def _unix(instant: datetime) -> int:
    return int(instant.timestamp())


def _fraction_text(fraction: float) -> str:
    # 0.75 → "0.75", 0.9 → "0.9": the key stays the same however the float was written.
    return f"{fraction:g}"


def _due_soon_channels(plan: Plan, channels: dict[str, Channel]) -> list[tuple[Channel, list[str]]]:
    """Each of the plan's active channels that hears `task.due_soon`, with its lead times."""
    result = []
    for channel_id in plan.notification_channel_ids:
        channel = channels.get(channel_id)
        if channel is None or not channel.wants(TASK_DUE_SOON):
            continue
        if plan.due_soon_lead_times:
            leads = list(plan.due_soon_lead_times)
        elif TASK_DUE_SOON in channel.events:
            leads = list(channel.reminders)
        else:
            leads = []
        if leads:
            result.append((channel, leads))
    return result


def _escalation_channel_ids(plan: Plan) -> list[str]:
    return list(plan.escalation_channel_ids or plan.notification_channel_ids)


@dataclass(frozen=True)
class _Step:
    """One announcement that is due: an event for a task to some channels, under a key."""

    task: Task
    event: str
    key: str
    channel_ids: list[str]
    relevant_until: datetime
    extra: dict[str, Any]


def _due_soon_steps(tasks: list[Task], channels: dict[str, Channel], now: datetime) -> list[_Step]:
    steps = []
    for task in tasks:
        for channel, texts in _due_soon_channels(task.plan, channels):
            leads = {text: reminder_lead(text) for text in texts}
            for text, lead in leads.items():
                at = task.due_at - lead
                if not task.created_at <= at <= now:
                    continue
                # Late after downtime, "due in 72h" is still worth sending until the next
                # shorter lead is due (then that one says it better), or the due time.
                shorter = [other for other in leads.values() if other < lead]
                steps.append(
                    _Step(
                        task,
                        TASK_DUE_SOON,
                        f"task:{task.pk}:due_soon:{text}:{_unix(task.due_at)}",
                        [channel.pk],
                        task.due_at - max(shorter, default=timedelta(0)),
                        {"reminder": {"lead": text}},
                    )
                )
    return steps


def _escalation_steps(tasks: list[Task], now: datetime) -> list[_Step]:
    steps = []
    for task in tasks:
        plan = task.plan
        channel_ids = _escalation_channel_ids(plan)
        if not channel_ids or not plan.escalation_fractions:
            continue
        span = task.deadline_at - task.due_at
        instants = sorted(
            (task.due_at + span * fraction, fraction) for fraction in plan.escalation_fractions
        )
        for index, (at, fraction) in enumerate(instants):
            if at > now:
                break
            later = instants[index + 1][0] if index + 1 < len(instants) else task.deadline_at
            steps.append(
                _Step(
                    task,
                    TASK_ESCALATED,
                    f"task:{task.pk}:escalated:{_fraction_text(fraction)}:"
                    f"{_unix(task.deadline_at)}",
                    channel_ids,
                    later,
                    {"escalation": {"fraction": fraction, "at": at}},
                )
            )
    return steps


def _max_lead(channels: dict[str, Channel]) -> timedelta:
    """How far ahead a due-soon reminder can be: the longest lead any plan or channel sets
    (bounded by MAX_REMINDER_LEAD), so the sweep reads only tasks that close to being due."""
    leads = [
        reminder_lead(text)
        for texts in Plan.objects.exclude(due_soon_lead_times=[]).values_list(
            "due_soon_lead_times", flat=True
        )
        for text in texts
    ]
    leads += [
        reminder_lead(text)
        for channel in channels.values()
        if TASK_DUE_SOON in channel.events
        for text in channel.reminders
    ]
    return min(max(leads, default=timedelta(0)), MAX_REMINDER_LEAD)


def tasks_send_reminders(*, now: datetime) -> int:
    """Record every due `task.due_soon` and `task.escalated` not recorded yet; return how many
    deliveries this call recorded (see the module's docstring for the rules)."""
    channels = {channel.pk: channel for channel in Channel.objects.filter(active=True)}
    if not channels:
        return 0
    open_tasks = Task.objects.filter(status__in=Task.OPEN_STATUSES, plan__isnull=False)
    related = ("plan", "assignee")
    steps: list[_Step] = []
    max_lead = _max_lead(channels)
    if max_lead:
        soon = list(
            open_tasks.filter(due_at__gt=now, due_at__lte=now + max_lead)
            .select_related(*related)
            .order_by("due_at", "pk")
        )
        steps += _due_soon_steps([t for t in soon if t.plan is not None], channels, now)
    # Escalation is about the time left before the deadline; once it passed, task.overdue
    # says the rest.
    running = list(
        open_tasks.filter(due_at__lte=now, deadline_at__gt=now)
        .exclude(plan__escalation_fractions=[])
        .select_related(*related)
        .order_by("deadline_at", "pk")
    )
    steps += _escalation_steps([t for t in running if t.plan is not None], now)
    if not steps:
        return 0
    recorded = set(
        Delivery.objects.filter(
            event__in=(TASK_DUE_SOON, TASK_ESCALATED), object_key__in={s.key for s in steps}
        ).values_list("event", "object_key", "channel_id")
    )
    steps = [
        step
        for step in steps
        if any((step.event, step.key, c) not in recorded for c in step.channel_ids)
    ]
    if not steps:
        return 0
    assets: dict[str, list[str]] = {}
    for task_id, asset_id in (
        TaskAsset.objects.filter(task_id__in={step.task.pk for step in steps})
        .order_by("id")
        .values_list("task_id", "asset_id")
    ):
        assets.setdefault(task_id, []).append(asset_id)
    created = 0
    with transaction.atomic():
        for step in steps:
            payload: dict[str, Any] = {
                **task_payload(step.task, step.task.plan, asset_ids=assets.get(step.task.pk, [])),
                **step.extra,
            }
            created += len(
                notifications.notify(
                    event=step.event,
                    object_key=step.key,
                    payload=payload,
                    channel_ids=step.channel_ids,
                    relevant_until=step.relevant_until,
                    now=now,
                )
            )
    return created
