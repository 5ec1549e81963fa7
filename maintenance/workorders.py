"""Work orders that open maintenance windows: a task puts its assets' monitors under maintenance.

An asset names the v4 monitors it affects (``Asset.monitor_tags``). A plan with
``open_window`` opens a one-off window on its task's monitors when the task starts
(status → ``in_progress``): ONGOING at once, with the plan's ``window_impact``, until
completing or cancelling the task (or moving it back to ``open``) ends it. A plan with
``plan_window`` also plans a SCHEDULED window at each generated task's due time for its
estimated duration; it is cancelled (or ended, if already under way) when the task starts or
closes, since the work order's own window then says the truth.

The windows are made and ended by scheduling's services (`oneoff_window_create`,
`oneoff_window_end`), so they are audited, announced and shown by
``/api/v4/monitors/{tag}/maintenance`` like any other; scheduling knows nothing of tasks.
The task keeps the windows' ids (``window_maintenance_id``, ``planned_maintenance_id``),
written under the task's row lock: starting a task twice opens one window.

These functions run inside the caller's transaction, with the task (and its plan) locked.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils.translation import gettext

from maintenance.models import Asset, Plan, Task
from scheduling import services as scheduling
from scheduling.models import Monitor


def monitor_tags_problem(tags) -> str | None:
    """Why an asset's `monitor_tags` are not tags of existing monitors, naming the first
    unknown one; None when they all are."""
    tags = list(tags)
    if len(tags) > 100:
        return gettext("At most 100 monitor tags.")
    if len(set(tags)) != len(tags):
        return gettext("Must not contain duplicates.")
    known = set(Monitor.objects.filter(tag__in=tags).values_list("tag", flat=True))
    for index, tag in enumerate(tags):
        if tag not in known:
            return gettext("monitor_tags[%(index)s]: no monitor with tag '%(tag)s'") % {
                "index": index,
                "tag": tag,
            }
    return None


def _window_max_duration() -> timedelta:
    # A work order's window lasts until its task closes; this bounds a task never closed.
    return timedelta(hours=settings.WORKORDER_WINDOW_MAX_HOURS)


def task_monitor_tags(task: Task) -> list[str]:
    """The monitors the task's assets affect, each once, in tag order."""
    tags: set[str] = set()
    for asset_tags in Asset.objects.filter(task_links__task=task).values_list(
        "monitor_tags", flat=True
    ):
        tags.update(asset_tags)
    return sorted(tags)


def _title(task: Task) -> str:
    return f"{task.code} · {task.title}"


def _description(task: Task) -> str:
    return f"Work order {task.code} ({task.pk})"


def planned_window_create(task: Task, plan: Plan, *, now: datetime) -> None:
    """Plan a SCHEDULED window at the task's due time for its estimated duration (a plan
    with ``plan_window``); nothing when its assets name no monitor."""
    if not plan.plan_window or task.planned_maintenance_id or not task.estimated_duration_minutes:
        return
    tags = task_monitor_tags(task)
    if not tags:
        return
    maintenance = scheduling.oneoff_window_create(
        title=_title(task),
        description=_description(task),
        monitor_tags=tags,
        impact=plan.window_impact,
        start=task.due_at,
        end=task.due_at + timedelta(minutes=task.estimated_duration_minutes),
        now=now,
    )
    task.planned_maintenance_id = maintenance.pk


def task_started(task: Task, plan: Plan | None, *, now: datetime) -> None:
    """The task went in progress: the planned window gives way to an ongoing one (a plan
    with ``open_window``). Idempotent: a task that has its window keeps it."""
    if plan is None or not plan.open_window or task.window_maintenance_id:
        return
    tags = task_monitor_tags(task)
    if not tags:
        return
    _end_planned(task, now=now)
    maintenance = scheduling.oneoff_window_create(
        title=_title(task),
        description=_description(task),
        monitor_tags=tags,
        impact=plan.window_impact,
        start=now,
        end=now + _window_max_duration(),
        now=now,
    )
    task.window_maintenance_id = maintenance.pk


def task_stopped(task: Task, *, now: datetime) -> None:
    """The task closed (done, cancelled) or went back to open: its windows end now."""
    if task.window_maintenance_id:
        scheduling.oneoff_window_end(maintenance_id=task.window_maintenance_id, now=now)
        task.window_maintenance_id = None
    _end_planned(task, now=now)


def _end_planned(task: Task, *, now: datetime) -> None:
    if task.planned_maintenance_id:
        scheduling.oneoff_window_end(maintenance_id=task.planned_maintenance_id, now=now)
        task.planned_maintenance_id = None
