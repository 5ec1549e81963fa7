"""Optimisation writes: record failures, draft suggestions for a plan, apply or reject a draft.

`plan_optimize` reads and creates one draft row; it changes nothing else. `suggestion_apply`
changes plans only through `maintenance.services.plan_update` with the plan's current spec
(`maintenance.specs.plan_spec_of`) and the proposed fields replaced (exactly what a client
re-sending the plan with those fields changed would do), and tasks through `task_update`
(a PATCH of the assignee). A draft records a digest of the editable state (what a PUT or
PATCH can set, and the status) of every row its items would change; if one of them (or the
plan itself) changed since, or the draft is no longer a draft, apply is a 409.

Item kinds and how they apply:

- `frequency` (calendar plans): `proposed.every` days (`unit: "day"`, stored as
  `FREQ=DAILY;INTERVAL=t*`); the plan keeps its start, timezone, anchor, lead time and
  tolerance, and its next due date is recomputed as on any PUT that changes the rule.
- `workload`: each reassignment sets `assignee_id` on a task (PATCH) or a plan (PUT).
- `route`: the group's plans get the proposed assignee; the others get `calendar.start_at`
  = the proposed due date, which puts their fixed grid on that date.
- `counter_threshold` (counter plans): `counter.interval` (the threshold is rebased by the
  PUT as for any interval change).

An item whose `proposed` equals its `current` (e.g. β ≤ 1) informs and changes nothing.

`confidence` (0..1), kept simple so a planner can reproduce it:

- `frequency`: n / (n + 10) over the failures with a known age (5 → 0.33, 20 → 0.67);
  half that for the MTBF - 1 sigma rule (3-4 failures).
- `workload`: the share of the counted work that has an estimated duration (the rest is
  assumed to take `DEFAULT_TASK_MINUTES`).
- `route`: the mean over the grouped plans of 1.0 (same location) or 0.8 (distance only).
- `counter_threshold`: R² of the usage line; with a failure-based interval, the lower of
  R² and the frequency confidence.
"""

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext, gettext_lazy

from core.errors import Conflict, InvalidInput, NotFound
from maintenance import selectors, services
from maintenance.models import Asset, Plan, PlanAsset, Task, Technician
from maintenance.optimisation import engine, inputs
from maintenance.optimisation.models import Failure, SuggestionSet
from maintenance.specs import (
    CalendarTrigger,
    CounterTrigger,
    PlanSpec,
    WhicheverFirstTrigger,
    plan_spec_of,
)
from scheduling.recurrence import RecurrenceError

CLOCK_SKEW = timedelta(minutes=5)
KINDS = ("frequency", "workload", "route", "counter_threshold")
MAX_EVERY_DAYS = 3653  # the recurrence engine's largest daily step
# A failure's bounds, the same for the API body and the admin form.
MAX_FAILURE_DESCRIPTION = 10_000
MAX_DOWNTIME_HOURS = 1_000_000
_AT_LEAST_0 = gettext_lazy(
    "Ensure this value is greater than or equal to 0."
)  # DRF's words, as in the API


# --- failures -------------------------------------------------------------------------------------


def failure_create(
    *,
    asset_id: str,
    occurred_at: datetime,
    description: str = "",
    downtime_hours: float = 0,
    cost: Decimal | None = None,
    by: str = "",
    now: datetime,
) -> Failure:
    """Record a failure of an asset (404 for an unknown asset; not in the future; the bounds
    above)."""
    if not Asset.objects.filter(pk=asset_id).exists():
        raise NotFound(gettext("Asset with id '%(asset_id)s' not found") % {"asset_id": asset_id})
    if occurred_at > now + CLOCK_SKEW:
        raise InvalidInput(gettext("occurred_at is in the future"), field="occurred_at")
    if len(description) > MAX_FAILURE_DESCRIPTION:
        raise InvalidInput(
            (
                gettext(
                    "Ensure this field has no more than %(MAX_FAILURE_DESCRIPTION)s characters."
                )
                % {"MAX_FAILURE_DESCRIPTION": MAX_FAILURE_DESCRIPTION}
            ),
            field="description",
        )
    if downtime_hours < 0:
        raise InvalidInput(_AT_LEAST_0, field="downtime_hours")
    if downtime_hours > MAX_DOWNTIME_HOURS:
        raise InvalidInput(
            (
                gettext("Ensure this value is less than or equal to %(MAX_DOWNTIME_HOURS)s.")
                % {"MAX_DOWNTIME_HOURS": MAX_DOWNTIME_HOURS}
            ),
            field="downtime_hours",
        )
    if cost is not None and cost < 0:
        raise InvalidInput(_AT_LEAST_0, field="cost")
    return Failure.objects.create(
        asset_id=asset_id,
        occurred_at=occurred_at,
        description=description,
        downtime_hours=downtime_hours,
        cost=cost,
        created_by=by,
    )


def failure_delete(*, failure_id: str) -> None:
    """Delete a failure recorded by mistake (404 when it does not exist).

    Drafts made from it keep their figures: a draft records its evidence as it was read."""
    deleted, _ = Failure.objects.filter(pk=failure_id).delete()
    if not deleted:
        raise NotFound(
            gettext("Failure with id '%(failure_id)s' not found") % {"failure_id": failure_id}
        )


# --- drafting -------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _cost(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


# What makes a draft stale: a change to what a PUT (or a task PATCH) can set, or the status.
# Scheduler progress (next_due_at, counter readings) does not: the draft does not depend on
# it being frozen, and a clock-based stamp would miss two writes within one tick.
_PLAN_STATE = (
    "status",
    "name",
    "description",
    "priority",
    "assignee_id",
    "department",
    "task_title",
    "task_description",
    "task_checklist",
    "task_estimated_duration_minutes",
    "task_code_prefix",
    "trigger",
    "anchor",
    "rrule",
    "every",
    "unit",
    "start_at",
    "end_at",
    "timezone",
    "lead_time_hours",
    "tolerance_hours",
    "counter_unit",
    "counter_interval",
    "counter_start_value",
    "counter_tolerance_units",
    "notification_channel_ids",
    "preventive_cost",
    "failure_cost",
)


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def fingerprints(keys: set[str] | list[str]) -> dict[str, str]:
    """`plan:<id>` / `task:<id>` → a digest of its editable state (absent: deleted)."""
    plan_ids = sorted(k.split(":", 1)[1] for k in keys if k.startswith("plan:"))
    task_ids = sorted(k.split(":", 1)[1] for k in keys if k.startswith("task:"))
    assets: dict[str, list[str]] = defaultdict(list)
    for plan_id, asset_id in (
        PlanAsset.objects.filter(plan_id__in=plan_ids)
        .order_by("id")
        .values_list("plan_id", "asset_id")
    ):
        assets[plan_id].append(asset_id)
    found = {}
    for row in Plan.objects.filter(pk__in=plan_ids).values("pk", *_PLAN_STATE):
        row["asset_ids"] = assets[row["pk"]]
        found[f"plan:{row['pk']}"] = _digest(row)
    for row in Task.objects.filter(pk__in=task_ids).values("pk", "status", "assignee_id"):
        found[f"task:{row['pk']}"] = _digest(row)
    return found


class _Draft:
    """Items and reasons as they are built, and the rows each item would change."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.items: list[dict] = []
        self.reasons: dict[str, str] = {}
        self.touches: list[list[str]] = []

    def add(self, kind, *, current, proposed, rationale, confidence, data, touches=()) -> None:
        self.touches.append(sorted({f"plan:{self.plan.pk}", *touches}))
        self.items.append(
            {
                "kind": kind,
                "current": current,
                "proposed": proposed,
                "rationale": rationale,
                "confidence": float(max(0.0, min(1.0, confidence))),
                "data": data,
            }
        )

    def skip(self, kind: str, reason: str) -> None:
        self.reasons[kind] = reason


def _interval_days(plan: Plan, now: datetime) -> float | None:
    """The plan's mean spacing between its next occurrences, in days (any rule)."""
    if plan.every and plan.unit == Plan.Unit.DAY:
        return float(plan.every)
    reference = plan.next_due_at or now
    try:
        upcoming = plan.recurrence().occurrences_between(
            reference, reference + timedelta(days=3 * 366), limit=7
        )
    except RecurrenceError:
        return None
    if len(upcoming) < 2:
        return None
    span = (upcoming[-1] - upcoming[0]).total_seconds() / inputs.DAY
    return round(span / (len(upcoming) - 1), 4)


def _calendar_block(plan: Plan, now: datetime) -> dict:
    return {
        "rrule": plan.rrule,
        "every": plan.every,
        "unit": plan.unit or None,
        "interval_days": _interval_days(plan, now),
    }


def _draft_frequency(draft: _Draft, now: datetime) -> None:
    plan = draft.plan
    if not plan.has_calendar:  # a whichever-first plan's calendar interval is analysed here
        draft.skip(
            "frequency",
            "a counter plan's interval is in counter units: see counter_threshold, which "
            "applies the same Weibull method to usage",
        )
        return
    renewals = inputs.renewal_ages(plan)
    result = engine.frequency_analysis(
        renewals.failures,
        renewals.suspensions,
        preventive_cost=_cost(plan.preventive_cost),
        failure_cost=_cost(plan.failure_cost),
    )
    data = {**renewals.describe(), **result.data, "failure_ids": renewals.failure_ids}
    current = _calendar_block(plan, now)
    if result.proposed is None:
        if result.method == "weibull_no_benefit":
            draft.add(
                "frequency",
                current=current,
                proposed=current,
                rationale=result.rationale,
                confidence=result.confidence,
                data=data,
            )
        else:
            draft.skip("frequency", result.rationale)
        return
    days = min(result.proposed, MAX_EVERY_DAYS)
    proposed = {
        "rrule": f"FREQ=DAILY;INTERVAL={days}",
        "every": days,
        "unit": "day",
        "interval_days": float(days),
    }
    rationale = result.rationale
    if current["rrule"] == proposed["rrule"]:
        proposed = current
        rationale += f"; the plan already runs every {days} days"
    draft.add(
        "frequency",
        current=current,
        proposed=proposed,
        rationale=rationale,
        confidence=result.confidence,
        data=data,
    )


def _draft_workload(draft: _Draft, now: datetime) -> None:
    roster = inputs.workload_roster(now=now)
    horizon = inputs.WORKLOAD_HORIZON_DAYS
    if not roster.units:
        draft.skip("workload", f"no open or upcoming assigned work in the next {horizon} days")
        return
    result = engine.balance_workload(roster.workers, roster.units, horizon_days=horizon)

    def day(index: int | None) -> str | None:
        return None if index is None else (roster.day0 + timedelta(days=index)).date().isoformat()

    names = {t.pk: t.name for t in Technician.objects.filter(pk__in=[w.id for w in roster.workers])}
    if not result.moves:
        who = names.get(result.peak_worker_before, "nobody")
        draft.skip(
            "workload",
            f"no reassignment to an eligible technician lowers the peak load "
            f"({result.peak_before:.0%} of capacity, {who} on {day(result.peak_day_before)})",
        )
        return
    reassignments = _reassignments(result, roster)
    n_items = sum(len(u.minutes_by_day) for u in roster.units)
    minutes = sum(r["minutes"] for r in reassignments)
    draft.add(
        "workload",
        current={
            "peak_load_ratio": round(result.peak_before, 4),
            "peak_technician_id": result.peak_worker_before,
            "peak_date": day(result.peak_day_before),
        },
        proposed={
            "peak_load_ratio": round(result.peak_after, 4),
            "peak_technician_id": result.peak_worker_after,
            "peak_date": day(result.peak_day_after),
            "reassignments": reassignments,
        },
        rationale=(
            f"{names.get(result.peak_worker_before)} is booked at {result.peak_before:.0%} of "
            f"capacity on {day(result.peak_day_before)}; moving {len(reassignments)} "
            f"assignment(s) ({minutes:.0f} min) to less-loaded technicians with the same skills "
            f"brings the peak to {result.peak_after:.0%}"
        ),
        confidence=1 - roster.n_without_estimate / max(n_items, 1),
        data=_workload_data(roster, result, horizon),
        touches=[move.unit_id for move in result.moves],
    )


def _reassignments(result: engine.WorkloadResult, roster: inputs.Roster) -> list[dict]:
    """Each move as the item shows it: the task or plan, its label, from whom to whom."""
    reassignments = []
    for move in result.moves:
        label = roster.labels[move.unit_id]
        key = "task_id" if "task_id" in label else "plan_id"
        reassignments.append(
            {
                key: label[key],
                "label": label.get("code") or label.get("name"),
                "from_assignee_id": move.from_id,
                "to_assignee_id": move.to_id,
                "minutes": round(move.minutes, 1),
            }
        )
    return reassignments


def _workload_data(roster: inputs.Roster, result: engine.WorkloadResult, horizon: int) -> dict:
    return {
        "method": "greedy: longest work first to the least-loaded eligible technician, "
        "kept when the peak load ratio falls",
        "eligibility": "active, capacity > 0, and every skill of the current assignee",
        "horizon_days": horizon,
        "horizon_from": roster.day0.date().isoformat(),
        "load_ratio": "estimated minutes per day / daily_capacity_minutes",
        "default_task_minutes": inputs.DEFAULT_TASK_MINUTES,
        "n_work_units": len(roster.units),
        "n_without_estimate": roster.n_without_estimate,
        "capacity_minutes": {w.id: w.capacity_minutes for w in roster.workers},
        "peak_by_technician_before": {
            k: round(v, 4) for k, v in result.worker_peaks_before.items()
        },
        "peak_by_technician_after": {k: round(v, 4) for k, v in result.worker_peaks_after.items()},
    }


def _takes_date(plan: Plan, due_at: datetime) -> bool:
    """Whether the plan's rule, started at `due_at`, has an occurrence exactly then."""
    due_at = due_at.replace(microsecond=0)  # the recurrence engine works in whole seconds
    try:
        return plan.recurrence(start=due_at).next_after(due_at - timedelta(seconds=1)) == due_at
    except RecurrenceError:
        return False


def _draft_route(draft: _Draft, now: datetime) -> None:
    plan = draft.plan
    if not plan.has_calendar or plan.next_due_at is None:
        draft.skip("route", "the plan has no next due date to group around")
        return
    candidates = inputs.route_candidates(plan)
    sites = inputs.sites_of([plan, *candidates])
    if not sites[plan.pk]:
        draft.skip("route", "the plan has no asset, so no location to group around")
        return
    due = plan.next_due_at
    by_id = {c.pk: c for c in candidates}
    matches, skipped = _route_matches(plan, candidates, sites)
    if not matches:
        draft.skip(
            "route",
            f"no other plan falls due within ±{plan.tolerance_hours:g} h at the same location "
            f"or within {engine.ROUTE_RADIUS_KM:g} km",
        )
        return
    members = [plan, *(by_id[m.plan_id] for m in matches)]
    assignee = _group_assignee(plan, members)
    current = [
        {
            "plan_id": m.pk,
            "name": m.name,
            "next_due_at": _iso(m.next_due_at),
            "assignee_id": m.assignee_id,
        }
        for m in members
    ]
    if all(m.next_due_at == due and m.assignee_id == assignee for m in members):
        draft.skip("route", "the plans due nearby are already grouped on one date and assignee")
        return
    locations = sorted({s.location for s in sites[plan.pk] if s.location})
    name = Technician.objects.filter(pk=assignee).values_list("name", flat=True).first()
    draft.add(
        "route",
        current={"plans": current},
        proposed={
            "due_at": _iso(due),
            "assignee_id": assignee,
            "plan_ids": [m.pk for m in members],
        },
        rationale=(
            f"{len(matches)} other plan(s) fall due within ±{plan.tolerance_hours:g} h at "
            f"{', '.join(locations) or 'assets'} or within {engine.ROUTE_RADIUS_KM:g} km; "
            f"doing them together on {due:%Y-%m-%d %H:%M} UTC"
            + (f" with {name}" if name else "")
            + f" saves {len(matches)} trip(s)"
        ),
        confidence=sum(1.0 if m.how == "location" else 0.8 for m in matches) / len(matches),
        data=_route_data(plan, matches, skipped),
        touches=[f"plan:{m.pk}" for m in members],
    )


def _route_matches(
    plan: Plan, candidates: list[Plan], sites: dict[str, tuple[engine.Site, ...]]
) -> tuple[list[engine.RouteMatch], list[str]]:
    """The candidates the engine groups with the plan, less those whose rule cannot take the
    plan's due date (returned apart, by id)."""
    due = plan.next_due_at
    by_id = {c.pk: c for c in candidates}
    matches = engine.route_companions(
        sites[plan.pk],
        plan.tolerance_hours,
        [
            engine.RouteCandidate(
                plan_id=c.pk,
                due_hours=(c.next_due_at - due).total_seconds() / 3600,
                sites=sites[c.pk],
            )
            for c in candidates
        ],
    )
    skipped = [m.plan_id for m in matches if not _takes_date(by_id[m.plan_id], due)]
    return [m for m in matches if m.plan_id not in skipped], skipped


def _group_assignee(plan: Plan, members: list[Plan]) -> str | None:
    """The plan's own assignee if active, else the most common active one in the group."""
    active = set(Technician.objects.filter(active=True).values_list("id", flat=True))
    if plan.assignee_id in active:
        return plan.assignee_id
    counts = Counter(m.assignee_id for m in members if m.assignee_id in active)
    return min(counts, key=lambda k: (-counts[k], k)) if counts else None


def _route_data(plan: Plan, matches: list[engine.RouteMatch], skipped: list[str]) -> dict:
    due = plan.next_due_at
    return {
        "method": "same location (case-insensitive) or haversine distance on "
        f"latitude/longitude ≤ {engine.ROUTE_RADIUS_KM:g} km",
        "tolerance_hours": plan.tolerance_hours,
        "window": [_iso(due - plan.tolerance), _iso(due + plan.tolerance)],
        "matches": [
            {
                "plan_id": m.plan_id,
                "how": m.how,
                "asset_id": m.asset_id,
                "near_asset_id": m.near_asset_id,
                "distance_km": m.distance_km,
                "offset_hours": round(m.due_hours, 4),
            }
            for m in matches
        ],
        "skipped_rule_cannot_take_date": skipped,
        "assignee_rule": "the plan's own assignee, else the most common among the group",
    }


def _threshold_with(plan: Plan, interval: Decimal) -> Decimal:
    """The next threshold a PUT with this interval would give (see plan_update)."""
    probe = Plan(
        trigger=plan.trigger,
        anchor=plan.anchor,
        counter_interval=interval,
        counter_base=plan.counter_start_value
        if interval != plan.counter_interval
        else plan.counter_base,
    )
    if plan.counter_value is None:
        return probe.counter_base + interval
    return probe.threshold_after(plan.counter_value)


def _draft_counter(draft: _Draft, now: datetime) -> None:
    plan = draft.plan
    if not plan.has_counter:
        draft.skip("counter_threshold", "a calendar plan has no counter")
        return
    history = inputs.counter_history(plan)
    if history is None:
        draft.skip(
            "counter_threshold", "fewer than two counter readings at different times: no usage rate"
        )
        return
    fit = history.fit
    unit = plan.counter_unit or "units"
    if fit.rate <= 0:
        draft.skip("counter_threshold", f"usage does not grow ({fit.rate:.4g} {unit}/day)")
        return
    renewals, result = _usage_frequency(plan, history, unit)
    last_at = plan.counter_recorded_at or history.origin + timedelta(days=float(history.days[-1]))
    last_value = plan.counter_value if plan.counter_value is not None else Decimal(0)

    def expected(threshold: Decimal) -> str:
        days = max(0.0, float(threshold - last_value) / fit.rate)
        return _iso(last_at + timedelta(days=days))

    current = _counter_block(plan.counter_interval, plan.next_counter_threshold, expected)
    interval = plan.counter_interval
    if result.proposed is not None:
        interval = Decimal(result.proposed)
    threshold = _threshold_with(plan, interval)
    proposed = _counter_block(interval, threshold, expected)
    usage = f"usage runs at {fit.rate:.4g} {unit}/day (least squares over {fit.n} readings)"
    if interval == plan.counter_interval:
        proposed = current
        rationale = (
            f"{usage}; the next threshold {float(threshold):g} {unit} is expected on "
            f"{proposed['expected_at'][:10]}; failure history: {result.rationale}"
        )
        confidence = fit.r_squared
    else:
        rationale = (
            f"{result.rationale}; {usage}, so the next threshold {float(threshold):g} {unit} "
            f"is expected on {proposed['expected_at'][:10]}"
        )
        confidence = min(fit.r_squared, result.confidence)
    draft.add(
        "counter_threshold",
        current=current,
        proposed=proposed,
        rationale=rationale,
        confidence=confidence,
        data={
            **_usage_data(history, last_value=last_value, last_at=last_at),
            "failure_method": result.method,
            **renewals.describe(),
            **result.data,
        },
    )


def _usage_frequency(
    plan: Plan, history: inputs.CounterHistory, unit: str
) -> tuple[inputs.Renewals, engine.FrequencyResult]:
    """The frequency rules on ages in counter units (usage at each renewal and failure)."""
    renewals = inputs.renewal_ages(plan, usage=history.at)
    singular = unit[:-1] if unit.endswith("s") and len(unit) > 2 else unit
    result = engine.frequency_analysis(
        renewals.failures,
        renewals.suspensions,
        preventive_cost=_cost(plan.preventive_cost),
        failure_cost=_cost(plan.failure_cost),
        unit=unit,
        per=singular,
    )
    return renewals, result


def _counter_block(
    interval: Decimal, threshold: Decimal, expected: Callable[[Decimal], str]
) -> dict:
    return {
        "interval": float(interval),
        "next_counter_threshold": float(threshold),
        "expected_at": expected(threshold),
    }


def _usage_data(history: inputs.CounterHistory, *, last_value: Decimal, last_at: datetime) -> dict:
    """How the usage rate was found, from which readings."""
    fit = history.fit
    return {
        "usage_method": "scipy.stats.linregress of cumulative usage on days",
        "usage_rate_per_day": round(fit.rate, 6),
        "intercept": round(fit.intercept, 4),
        "r_squared": round(fit.r_squared, 6),
        "n_readings": fit.n,
        "readings_from": _iso(history.origin),
        "readings_span_days": round(fit.span_days, 4),
        "last_reading": {"value": float(last_value), "recorded_at": _iso(last_at)},
    }


def plan_optimize(*, plan_id: str, by: str, now: datetime) -> SuggestionSet:
    """Analyse a plan's history and store a draft of suggestions; changes nothing else.

    Each kind adds an item or, when its data is too thin, a reason under `reasons`."""
    plan = Plan.objects.filter(pk=plan_id).first()
    if plan is None:
        raise NotFound(gettext("Plan with id '%(plan_id)s' not found") % {"plan_id": plan_id})
    draft = _Draft(plan)
    for builder in (_draft_frequency, _draft_workload, _draft_route, _draft_counter):
        builder(draft, now)
    keys = {f"plan:{plan.pk}", *(key for keys in draft.touches for key in keys)}
    return SuggestionSet.objects.create(
        plan=plan,
        items=draft.items,
        reasons=draft.reasons,
        basis={"rows": fingerprints(keys), "touches": draft.touches},
        created_at=now,
        created_by=by,
    )


# --- applying -------------------------------------------------------------------------------------


# The optimiser's only read and write of a plan's settings: the plan read back as a typed spec,
# the proposed fields replaced, and the result written through `plan_update`, which applies the
# same rules (and messages) as the API's PUT.
PlanEdit = Callable[[PlanSpec], PlanSpec]


def _edit_trigger(kind: type, **changes: Any) -> PlanEdit:
    def edit(spec: PlanSpec) -> PlanSpec:
        if isinstance(spec.trigger, WhicheverFirstTrigger):
            # Both blocks of a whichever-first plan: the proposal edits the one it is about.
            block = "calendar" if kind is CalendarTrigger else "counter"
            edited = replace(getattr(spec.trigger, block), **changes)
            return replace(spec, trigger=replace(spec.trigger, **{block: edited}))
        if not isinstance(spec.trigger, kind):
            # The plan changed trigger since the draft was made (its fingerprint would say so).
            raise Conflict(
                gettext("Plan '%(name)s' no longer has a %(name2)s; run optimize again")
                % {"name": spec.name, "name2": kind.__name__}
            )
        return replace(spec, trigger=replace(spec.trigger, **changes))

    return edit


def _edit_plan(**changes: Any) -> PlanEdit:
    return lambda spec: replace(spec, **changes)


def _lock(suggestion_id: str) -> SuggestionSet:
    suggestion = SuggestionSet.objects.select_for_update().filter(pk=suggestion_id).first()
    if suggestion is None:
        raise NotFound(
            gettext("Suggestion with id '%(suggestion_id)s' not found")
            % {"suggestion_id": suggestion_id}
        )
    if suggestion.status != SuggestionSet.Status.DRAFT:
        raise Conflict(
            gettext("Suggestion '%(suggestion_id)s' is %(status)s, not a draft")
            % {"suggestion_id": suggestion_id, "status": suggestion.status}
        )
    return suggestion


def _chosen(suggestion: SuggestionSet, items: list[int] | None) -> list[int]:
    if items is None:
        return list(range(len(suggestion.items)))
    problems = []
    if not items:
        problems.append(gettext("Choose at least one item, or leave items out to apply them all."))
    if len(set(items)) != len(items):
        problems.append(gettext("Must not contain duplicates."))
    bad = [i for i in items if not 0 <= i < len(suggestion.items)]
    if bad:
        problems.append(
            gettext("No item at index %(join)s; the draft has %(count)s.")
            % {"join": ", ".join(map(str, bad)), "count": len(suggestion.items)}
        )
    if problems:
        raise InvalidInput(problems[0], details={"items": problems})
    return sorted(items)


def _check_fresh(suggestion: SuggestionSet, chosen: list[int]) -> None:
    rows = suggestion.basis.get("rows", {})
    touches = suggestion.basis.get("touches", [])
    keys = {f"plan:{suggestion.plan_id}"}
    for index in chosen:
        keys.update(touches[index] if index < len(touches) else ())
    plan_ids = sorted(k.split(":", 1)[1] for k in keys if k.startswith("plan:"))
    # Lock the plans the items change (in id order, like every writer) before comparing.
    list(Plan.objects.select_for_update().filter(pk__in=plan_ids).order_by("pk").values("pk"))
    now_rows = fingerprints(keys)
    stale = sorted(k for k in keys if now_rows.get(k) != rows.get(k))
    if stale:
        raise Conflict(
            (
                gettext(
                    "The plan or work this draft changes was modified since it was made "
                    "(%(stale)s); run optimize again"
                )
                % {"stale": ", ".join(stale)}
            ),
            details={"stale": stale},
        )


def suggestion_apply(
    *, suggestion_id: str, items: list[int] | None, by: str, now: datetime
) -> SuggestionSet:
    """Apply all items of a draft (or the chosen indexes) and record who applied what.

    409 when the draft is not a draft or a row its items change was modified since."""
    with transaction.atomic():
        suggestion = _lock(suggestion_id)
        chosen = _chosen(suggestion, items)
        _check_fresh(suggestion, chosen)
        plan_edits: dict[str, list[PlanEdit]] = defaultdict(list)
        task_assignees: dict[str, str] = {}
        for index in chosen:
            item = suggestion.items[index]
            if item["proposed"] == item["current"]:
                continue  # informative only
            _collect_edits(suggestion.plan_id, item, plan_edits, task_assignees)
        for plan_id in sorted(plan_edits):
            spec = before = plan_spec_of(selectors.plan_queryset().get(pk=plan_id))
            for edit in plan_edits[plan_id]:
                spec = edit(spec)
            if spec != before:
                services.plan_update(plan_id=plan_id, spec=spec, now=now)
        for task_id in sorted(task_assignees):
            services.task_update(
                task_id=task_id, changes={"assignee_id": task_assignees[task_id]}, by=by, now=now
            )
        suggestion.status = SuggestionSet.Status.APPLIED
        suggestion.applied_at = now
        suggestion.applied_by = by
        suggestion.applied_items = chosen
        suggestion.save(update_fields=["status", "applied_at", "applied_by", "applied_items"])
    return suggestion


def _collect_edits(plan_id: str, item: dict, plan_edits, task_assignees) -> None:
    kind, proposed = item["kind"], item["proposed"]
    if kind == "frequency":
        plan_edits[plan_id].append(
            _edit_trigger(
                CalendarTrigger, every=proposed["every"], unit=proposed["unit"], rrule=None
            )
        )
    elif kind == "counter_threshold":
        # The API keeps an interval to 4 decimal places; the engine proposes floats.
        interval = Decimal(str(proposed["interval"])).quantize(Decimal("0.0001"))
        plan_edits[plan_id].append(_edit_trigger(CounterTrigger, interval=interval.normalize()))
    elif kind == "workload":
        for move in proposed["reassignments"]:
            if "task_id" in move:
                task_assignees[move["task_id"]] = move["to_assignee_id"]
            else:
                plan_edits[move["plan_id"]].append(_edit_plan(assignee_id=move["to_assignee_id"]))
    elif kind == "route":
        current = {row["plan_id"]: row for row in item["current"]["plans"]}
        for member in proposed["plan_ids"]:
            if proposed["assignee_id"] is not None:
                plan_edits[member].append(_edit_plan(assignee_id=proposed["assignee_id"]))
            if member != plan_id and current[member]["next_due_at"] != proposed["due_at"]:
                start = datetime.fromisoformat(proposed["due_at"]).replace(microsecond=0)
                plan_edits[member].append(_edit_trigger(CalendarTrigger, start_at=start))


def suggestion_reject(*, suggestion_id: str, by: str, now: datetime) -> SuggestionSet:
    """Discard a draft (409 when it is not a draft); it stays on record as rejected."""
    with transaction.atomic():
        suggestion = _lock(suggestion_id)
        suggestion.status = SuggestionSet.Status.REJECTED
        suggestion.rejected_at = now
        suggestion.rejected_by = by
        suggestion.save(update_fields=["status", "rejected_at", "rejected_by"])
    return suggestion
