"""Checklists that mean something: what a checklist item asks, and what an answer must be.

A plan's task template holds checklist *items*; each generated task copies them and records
the *answers*. An item has a ``kind``:

- ``check`` (the v1 default): ticked or not; answered by ``done``.
- ``pass_fail``: answered ``"pass"`` or ``"fail"``; a fail calls for a corrective task.
- ``number``: a JSON number, in ``unit``; outside ``[min, max]`` calls for a corrective task.
- ``text``: free text (at most `TEXT_ANSWER_MAX_LENGTH` characters).

and a ``required`` flag: a task cannot be completed while a required item is unanswered.

Stored shapes (JSON on `Plan.task_checklist` and `Task.checklist`):

- template item: ``{"item", "kind", "required", "unit", "min", "max"}``; a plain string (how
  v1 stored every item before kinds existed) reads as an optional ``check``.
- task item: the template item plus ``done``, ``value``, ``answered_by``, ``answered_at``
  (ISO 8601 UTC) and ``corrective_task_id``; ``{"item", "done"}`` (the v1 shape) reads as an
  optional ``check``.

On the wire, a checklist whose items are all optional checks keeps the v1 shapes exactly
(template: a list of strings; task: ``[{item, done}]``); any other checklist shows every item
in full. That choice is `is_plain`; the API serializers and the preview read it.

Pure functions on plain values: no ORM, no DRF. The writes (recording answers, creating the
corrective task) are `maintenance.services`'.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.utils.translation import gettext

CHECK = "check"
PASS_FAIL = "pass_fail"
NUMBER = "number"
TEXT = "text"
KINDS = (CHECK, PASS_FAIL, NUMBER, TEXT)
PASS, FAIL = "pass", "fail"

ITEM_MAX_LENGTH = 500
UNIT_MAX_LENGTH = 32
TEXT_ANSWER_MAX_LENGTH = 2000
MAX_ITEMS = 100
# Limits and answers beyond this are refused: JSON numbers past 2**53 lose precision, and no
# gauge reads a quadrillion.
NUMBER_BOUND = 1e15


@dataclass(frozen=True, kw_only=True)
class ChecklistItemSpec:
    """One item of a task template, as the services take it (`TaskTemplate.checklist`)."""

    item: str
    kind: str = CHECK
    required: bool = False
    unit: str = ""
    min: float | None = None
    max: float | None = None

    def __str__(self) -> str:
        return self.item

    @property
    def is_plain(self) -> bool:
        """An optional check: what every v1 item was, and shown in the v1 shapes."""
        return self.kind == CHECK and not self.required

    def stored(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "kind": self.kind,
            "required": self.required,
            "unit": self.unit,
            "min": self.min,
            "max": self.max,
        }


def item_spec_of(raw: str | Mapping[str, Any] | ChecklistItemSpec) -> ChecklistItemSpec:
    """A stored template or task item (or a bare string, the v1 shape) as a spec."""
    if isinstance(raw, ChecklistItemSpec):
        return raw
    if isinstance(raw, str):
        return ChecklistItemSpec(item=raw)
    return ChecklistItemSpec(
        item=raw["item"],
        kind=raw.get("kind") or CHECK,
        required=bool(raw.get("required", False)),
        unit=raw.get("unit") or "",
        min=raw.get("min"),
        max=raw.get("max"),
    )


def template_specs(raw_items: Iterable) -> list[ChecklistItemSpec]:
    return [item_spec_of(raw) for raw in raw_items]


def is_plain(items: Iterable) -> bool:
    """Whether a checklist (template or task items, stored or specs) is all optional checks."""
    return all(item_spec_of(raw).is_plain for raw in items)


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) <= NUMBER_BOUND
    )


def item_problems(spec: ChecklistItemSpec) -> dict[str, list[str]]:
    """What is wrong with one template item, keyed by its field names (`kind`, `min`, ...)."""
    problems: dict[str, list[str]] = {}
    if not spec.item.strip():
        problems["item"] = [gettext("Must not be blank.")]
    elif len(spec.item) > ITEM_MAX_LENGTH:
        problems["item"] = [
            (
                gettext("Must be at most %(ITEM_MAX_LENGTH)s characters.")
                % {"ITEM_MAX_LENGTH": ITEM_MAX_LENGTH}
            )
        ]
    if spec.kind not in KINDS:
        problems["kind"] = [(gettext("Must be one of: %(KINDS)s.") % {"KINDS": ", ".join(KINDS)})]
        return problems
    if spec.kind != NUMBER:
        for name in ("unit", "min", "max"):
            if getattr(spec, name) not in (None, ""):
                problems[name] = [(gettext("Only a number item takes %(name)s.") % {"name": name})]
        return problems
    if len(spec.unit) > UNIT_MAX_LENGTH:
        problems["unit"] = [
            (
                gettext("Must be at most %(UNIT_MAX_LENGTH)s characters.")
                % {"UNIT_MAX_LENGTH": UNIT_MAX_LENGTH}
            )
        ]
    for name in ("min", "max"):
        value = getattr(spec, name)
        if value is not None and not _is_number(value):
            problems[name] = [
                (
                    gettext("Must be a number between -%(NUMBER_BOUND)g and %(NUMBER_BOUND)g.")
                    % {"NUMBER_BOUND": NUMBER_BOUND}
                )
            ]
    limits_given = "min" not in problems and "max" not in problems
    if limits_given and spec.min is not None and spec.max is not None and spec.min > spec.max:
        problems["max"] = [gettext("Must not be less than min.")]
    return problems


def checklist_problems(specs: Sequence[ChecklistItemSpec], *, prefix: str) -> dict[str, list]:
    """Every item's problems, named `{prefix}[i].field` (e.g. `task.checklist[2].max`)."""
    problems: dict[str, list] = {}
    if len(specs) > MAX_ITEMS:
        problems[prefix] = [
            (
                gettext("Ensure this field has no more than %(MAX_ITEMS)s elements.")
                % {"MAX_ITEMS": MAX_ITEMS}
            )
        ]
    for index, spec in enumerate(specs):
        for name, messages in item_problems(spec).items():
            problems[f"{prefix}[{index}].{name}"] = messages
    return problems


def task_item_of(raw: Mapping[str, Any] | ChecklistItemSpec) -> dict[str, Any]:
    """A task item with every key (an old ``{item, done}`` reads as an unanswered or ticked
    optional check; a template item as unanswered)."""
    spec = item_spec_of(raw)
    raw = raw if isinstance(raw, Mapping) else {}
    done = bool(raw.get("done", False))
    value = raw.get("value")
    if spec.kind == CHECK:
        value = True if done else None
    return {
        **spec.stored(),
        "done": done,
        "value": value,
        "answered_by": raw.get("answered_by"),
        "answered_at": raw.get("answered_at"),
        "corrective_task_id": raw.get("corrective_task_id"),
    }


def task_items_from_template(raw_template: Iterable) -> list[dict[str, Any]]:
    """The checklist a new task starts with: the plan's items, none answered."""
    return [task_item_of(item_spec_of(raw)) for raw in raw_template]


# --- answers ------------------------------------------------------------------------------------


def _answer_problem(spec: ChecklistItemSpec, value: object) -> str | None:
    """Why `value` (not None) cannot answer an item of this kind, or None."""
    if spec.kind == CHECK:
        return (
            None if isinstance(value, bool) else gettext("A check item is answered true or false.")
        )
    if spec.kind == PASS_FAIL:
        return None if value in (PASS, FAIL) else gettext('Must be "pass" or "fail".')
    if spec.kind == NUMBER:
        if _is_number(value):
            return None
        return gettext("Must be a number between -%(NUMBER_BOUND)g and %(NUMBER_BOUND)g.") % {
            "NUMBER_BOUND": NUMBER_BOUND
        }
    if not isinstance(value, str):
        return gettext("Must be a string.")
    if len(value) > TEXT_ANSWER_MAX_LENGTH:
        return gettext("Must be at most %(TEXT_ANSWER_MAX_LENGTH)s characters.") % {
            "TEXT_ANSWER_MAX_LENGTH": TEXT_ANSWER_MAX_LENGTH
        }
    return None


def _stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def apply_answers(
    items: Sequence[Mapping[str, Any]],
    answers: Sequence[Mapping[str, Any]],
    *,
    by: str,
    now: datetime,
) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """The task's checklist with `answers` recorded, and the problems (empty when none).

    `answers` come one per item, in order, as the PATCH body gives them: ``item`` (must be the
    item's own text: items are the plan's, not the task's to rename), and ``done`` and/or
    ``value`` (omitted: unchanged; ``value: null`` clears the answer). A check is answered by
    ``done`` (or ``value`` true/false); the other kinds by ``value``, ``done`` following from
    it. An item whose answer changes is stamped with `by` and `now`; one whose answer is sent
    again unchanged keeps its stamp, so a client may send the whole list back.
    """
    current = [task_item_of(item) for item in items]
    if len(answers) != len(current):
        problem = gettext(
            "Send one entry per checklist item, in order: this task has %(count)s."
        ) % {"count": len(current)}
        return current, {"checklist": [problem]}
    problems: dict[str, list[str]] = {}
    result = []
    for index, (item, answer) in enumerate(zip(current, answers, strict=True)):
        spec = item_spec_of(item)
        name = f"checklist[{index}]"
        if answer.get("item", item["item"]) != item["item"]:
            problems[f"{name}.item"] = [
                (
                    gettext(
                        "Must be %(item)r: the task's item %(index)s (items cannot be renamed)."
                    )
                    % {"item": item["item"], "index": index}
                )
            ]
            continue
        value = item["value"]
        if "value" in answer:
            value = answer["value"]
            if value == "" and spec.kind == TEXT:
                value = None  # a blank text is no answer
            if value is not None:
                problem = _answer_problem(spec, value)
                if problem:
                    problems[f"{name}.value"] = [problem]
                    continue
            if spec.kind == CHECK:
                value = True if value else None
        if "done" in answer:
            if spec.kind == CHECK:
                if "value" in answer and bool(answer["done"]) != (value is not None):
                    problems[f"{name}.done"] = [gettext("Must agree with value.")]
                    continue
                value = True if answer["done"] else None
            elif bool(answer["done"]) != (value is not None):
                problems[f"{name}.done"] = [
                    (
                        gettext("Follows from value for a %(kind)s item: send value.")
                        % {"kind": spec.kind}
                    )
                ]
                continue
        changed = value != item["value"]
        result.append(
            {
                **item,
                "value": value,
                "done": value is not None,
                "answered_by": (by if value is not None else None)
                if changed
                else item["answered_by"],
                "answered_at": (_stamp(now) if value is not None else None)
                if changed
                else item["answered_at"],
            }
        )
    return (current if problems else result), problems


def unanswered_required(items: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """The required items still unanswered, named `checklist[i].done` (a check) or
    `checklist[i].value`: why the task cannot be completed yet."""
    problems = {}
    for index, raw in enumerate(items):
        item = task_item_of(raw)
        if item["required"] and item["value"] is None:
            field = "done" if item["kind"] == CHECK else "value"
            problems[f"checklist[{index}].{field}"] = [
                (
                    gettext("%(item)r is required: answer it before completing the task.")
                    % {"item": item["item"]}
                )
            ]
    return problems


def calls_for_corrective(item: Mapping[str, Any]) -> bool:
    """A failed pass/fail item, or a number outside its limits."""
    item = task_item_of(item)
    value = item["value"]
    if value is None:
        return False
    if item["kind"] == PASS_FAIL:
        return value == FAIL
    if item["kind"] == NUMBER:
        low, high = item["min"], item["max"]
        return (low is not None and value < low) or (high is not None and value > high)
    return False


def finding(item: Mapping[str, Any]) -> str:
    """What was found, in words: `'Vibration' read 7.2 mm/s (limits 0 to 4.5)`."""
    item = task_item_of(item)
    if item["kind"] == PASS_FAIL:
        return f"{item['item']!r} failed"
    unit = f" {item['unit']}" if item["unit"] else ""
    low = "-∞" if item["min"] is None else f"{item['min']:g}"
    high = "∞" if item["max"] is None else f"{item['max']:g}"
    return f"{item['item']!r} read {item['value']:g}{unit} (limits {low} to {high}{unit})"
