"""Compliance: how much preventive work was done on time, overall, by plan, asset,
technician or delay reason, and month by month.

On time means completed by the task's deadline plus its plan's grace (`Plan.grace`:
`grace_hours`, or `grace_fraction` of the calendar interval; none by default, which is the
v1 rule). A fixed number of queries whatever the range: the task rows, the missed
occurrences, the plans (grace and names), and for `group_by` the links and names it needs.
Corrective tasks (no plan, opened by a checklist finding) are not preventive occurrences and
count nowhere.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext

from maintenance.models import (
    Asset,
    Execution,
    Plan,
    PlanAsset,
    PlanPause,
    Task,
    TaskAsset,
    Technician,
)

GROUP_BY = ("plan", "asset", "technician", "delay_reason")
SERIES = ("month",)
# A monthly series covers at most this many months (a bounded answer).
SERIES_MAX_MONTHS = 240


def _round_half_up(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


@dataclass
class _Tally:
    on_time: int = 0
    overdue: int = 0
    pending: int = 0
    missed: int = 0
    cancelled: int = 0
    delays: list[timedelta] = field(default_factory=list)
    # Labour recorded on the tasks counted (any status: a cancelled job's time was spent too).
    time_spent_minutes: int = 0

    def as_dict(self) -> dict:
        counted = self.on_time + self.overdue
        rate = None
        if counted:
            rate = _round_half_up(Decimal(100 * self.on_time) / Decimal(counted))
        delay = 0.0
        if self.delays:
            seconds = sum(d.total_seconds() for d in self.delays) / len(self.delays)
            delay = _round_half_up(Decimal(seconds) / Decimal(3600))
        return {
            "due_count": counted + self.pending,
            "on_time_count": self.on_time,
            "overdue_count": self.overdue,
            "pending_count": self.pending,
            "missed_count": self.missed,
            "cancelled_count": self.cancelled,
            "compliance_rate": rate,
            "average_delay_hours": delay,
            "time_spent_minutes": self.time_spent_minutes,
        }


def _outside_pauses(queryset: QuerySet) -> QuerySet:
    # A row due inside one of its plan's pause spans [started_at, ended_at) is not counted.
    paused = PlanPause.objects.filter(
        plan_id=OuterRef("plan_id"), started_at__lte=OuterRef("due_at")
    ).filter(Q(ended_at__isnull=True) | Q(ended_at__gt=OuterRef("due_at")))
    return queryset.exclude(Exists(paused))


@dataclass(frozen=True)
class _Row:
    task_id: str | None  # None: a missed occurrence
    plan_id: str | None
    assignee_id: str | None
    due_at: datetime
    delay_reason: str | None


def _count(tally: _Tally, status, due_at, deadline_at, completed_at, grace, now) -> None:
    limit = deadline_at + grace if deadline_at is not None else None
    if status == Task.Status.CANCELLED:
        tally.cancelled += 1
    elif status == Task.Status.DONE:
        if limit is None or completed_at <= limit:
            tally.on_time += 1
        else:
            tally.overdue += 1
            tally.delays.append(completed_at - due_at)
    elif limit is not None and limit < now:
        tally.overdue += 1
    else:
        tally.pending += 1


def _months(start_date: date, end_date: date) -> list[str]:
    months, year, month = [], start_date.year, start_date.month
    while (year, month) <= (end_date.year, end_date.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def series_problem(start_date: date, end_date: date) -> str | None:
    if len(_months(start_date, end_date)) > SERIES_MAX_MONTHS:
        return gettext("A monthly series covers at most %(SERIES_MAX_MONTHS)s months.") % {
            "SERIES_MAX_MONTHS": SERIES_MAX_MONTHS
        }
    return None


def _names(model, ids: Iterable) -> dict:
    ids = [i for i in set(ids) if i is not None]
    return dict(model.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}


def compliance_report(
    *,
    start_date: date,
    end_date: date,
    plan_id: str | None = None,
    asset_id: str | None = None,
    group_by: str | None = None,
    series: str | None = None,
    now: datetime,
    timezone: str = "UTC",
) -> dict:
    """Compliance over what fell due in `[start_date, end_date]` (days in `timezone`, UTC
    unless a scheduled report asks for its own zone; inclusive).

    Per task: done by its deadline (plus its plan's grace) is on time; done after it, still
    open after it, or a missed occurrence (no task) is overdue; open before it is pending
    (not in the rate); cancelled tasks are counted apart and nowhere else.
    `compliance_rate` is 100 * on_time / (on_time + overdue) rounded half up to 0.1, None
    with nothing to count; `average_delay_hours` is the mean of `completed_at - due_at` over
    late completions. `time_spent_minutes` sums the labour recorded on the tasks counted
    (cancelled ones included). Anything due while its plan was paused is left out.

    With `group_by`, `groups` holds the same metrics per plan, asset, technician (a missed
    occurrence counts for its plan's current assets and assignee; a task on two assets in
    both) or delay reason, each with its id and name (None: no plan/asset/technician/
    reason). With `series="month"`, `series` holds them per UTC month of the range, empty
    months included.
    """
    zone = UTC if timezone == "UTC" else ZoneInfo(timezone)
    start = datetime.combine(start_date, time.min, tzinfo=zone)
    end = datetime.combine(end_date + timedelta(days=1), time.min, tzinfo=zone)

    tasks = _outside_pauses(
        Task.objects.filter(due_at__gte=start, due_at__lt=end, corrective_for__isnull=True).exclude(
            execution__trigger=Execution.Trigger.CORRECTIVE
        )
    )
    missed = _outside_pauses(
        Execution.objects.filter(missed=True, due_at__gte=start, due_at__lt=end)
    )
    if plan_id:
        tasks = tasks.filter(plan_id=plan_id)
        missed = missed.filter(plan_id=plan_id)
    if asset_id:
        tasks = tasks.filter(task_assets__asset_id=asset_id)
        # A missed occurrence has no task to carry assets: its plan's current assets decide.
        missed = missed.filter(plan__plan_assets__asset_id=asset_id)

    task_rows = list(
        tasks.values_list(
            "pk",
            "plan_id",
            "assignee_id",
            "status",
            "due_at",
            "deadline_at",
            "completed_at",
            "time_spent_minutes",
            "delay_reason",
        )
    )
    missed_rows = list(missed.values_list("plan_id", "due_at"))
    plan_ids = {row[1] for row in task_rows} | {row[0] for row in missed_rows}
    plans = {plan.pk: plan for plan in Plan.objects.filter(pk__in=plan_ids - {None})}
    graces = {pk: plan.grace() for pk, plan in plans.items()}

    keys_of = _group_keys(group_by, task_rows, missed_rows, plans)
    months = _months(start_date, end_date) if series else []

    total = _Tally()
    by_plan: dict[str | None, _Tally] = {}
    groups: dict = {}
    by_month: dict[str, _Tally] = {month: _Tally() for month in months}
    for row in task_rows:
        task_id, row_plan, _assignee, status, due_at, deadline_at, completed_at, minutes, _r = row
        tallies = [total, by_plan.setdefault(row_plan, _Tally())]
        tallies += [groups.setdefault(key, _Tally()) for key in keys_of(task_id)]
        if series:
            tallies.append(by_month[f"{due_at:%Y-%m}"])
        grace = graces.get(row_plan, timedelta(0))
        for tally in tallies:
            _count(tally, status, due_at, deadline_at, completed_at, grace, now)
            tally.time_spent_minutes += minutes or 0
    for index, (row_plan, due_at) in enumerate(missed_rows):
        tallies = [total, by_plan.setdefault(row_plan, _Tally())]
        tallies += [groups.setdefault(key, _Tally()) for key in keys_of(("missed", index))]
        if series:
            tallies.append(by_month[f"{due_at:%Y-%m}"])
        for tally in tallies:
            tally.overdue += 1
            tally.missed += 1

    report = {
        "start_date": start_date,
        "end_date": end_date,
        **total.as_dict(),
        "by_plan": [
            {"plan_id": key, **by_plan[key].as_dict()}
            for key in sorted(by_plan, key=lambda k: k or "")
        ],
    }
    if group_by:
        names = _group_names(group_by, groups, plans)
        report["group_by"] = group_by
        report["groups"] = [
            {"id": key, "name": names.get(key), **groups[key].as_dict()}
            for key in sorted(groups, key=lambda k: (k is None, names.get(k) or "", k or ""))
        ]
    if series:
        report["series"] = [{"month": month, **by_month[month].as_dict()} for month in months]
    return report


def _group_keys(group_by, task_rows, missed_rows, plans):
    """`keys_of(task_id)` (or `("missed", index)`): the groups a row counts in."""
    if group_by is None:
        return lambda ref: ()
    keys: dict = {}
    for task_id, plan_id, assignee_id, *_rest, reason in task_rows:
        if group_by == "plan":
            keys[task_id] = (plan_id,)
        elif group_by == "technician":
            keys[task_id] = (assignee_id,)
        elif group_by == "delay_reason":
            keys[task_id] = (reason or None,)
    for index, (plan_id, _due) in enumerate(missed_rows):
        plan = plans.get(plan_id)
        if group_by == "plan":
            keys[("missed", index)] = (plan_id,)
        elif group_by == "technician":
            keys[("missed", index)] = (plan.assignee_id if plan is not None else None,)
        elif group_by == "delay_reason":
            keys[("missed", index)] = (None,)
    if group_by == "asset":
        assets: dict = {}
        for task_id, asset in TaskAsset.objects.filter(
            task_id__in=[row[0] for row in task_rows]
        ).values_list("task_id", "asset_id"):
            assets.setdefault(task_id, []).append(asset)
        plan_assets: dict = {}
        for plan_id, asset in PlanAsset.objects.filter(
            plan_id__in={row[0] for row in missed_rows}
        ).values_list("plan_id", "asset_id"):
            plan_assets.setdefault(plan_id, []).append(asset)
        for row in task_rows:
            keys[row[0]] = tuple(assets.get(row[0], [None]))
        for index, (plan_id, _due) in enumerate(missed_rows):
            keys[("missed", index)] = tuple(plan_assets.get(plan_id, [None]))
    return lambda ref: keys.get(ref, ())


def _group_names(group_by: str, groups: dict, plans: dict) -> dict:
    if group_by == "plan":
        return {pk: plan.name for pk, plan in plans.items()}
    if group_by == "asset":
        return _names(Asset, groups)
    if group_by == "technician":
        return _names(Technician, groups)
    return dict(Task.DelayReason.choices)
