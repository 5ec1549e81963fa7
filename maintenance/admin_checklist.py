"""The plan form's checklist editor: typed items (kind, required, unit and limits) edited as
rows, not one item per line, so saving a plan keeps what the API stored.

The rows are drawn by static/admin_ops/checklist.js; what the form posts is one hidden input
holding the items as JSON (the template items' stored shape, `ChecklistItemSpec.stored`). The
field checks each item with `checklists.checklist_problems`, the function the services run, and
names the item in every message. An optional check goes to the services as a bare string, the
shape `plan_spec_of` reads back, so a plain plan keeps the v1 wire shape.
"""

import json
from dataclasses import replace

from django import forms
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from maintenance import checklists
from maintenance.checklists import ChecklistItemSpec


def _stored(value) -> list[dict]:
    """The items of a field value (specs, strings or stored dicts) in the stored shape."""
    return [checklists.item_spec_of(item).stored() for item in value or ()]


class ChecklistEditor(forms.Widget):
    """A hidden input with the items as JSON; checklist.js draws the editable rows."""

    # Rendered here, not from a template: the form renderer sees only the apps' templates.

    class Media:
        js = ["admin_ops/checklist.js"]

    def format_value(self, value):
        if isinstance(value, str):
            return value  # a bound form shows back what was posted
        return json.dumps(_stored(value))

    def render(self, name, value, attrs=None, renderer=None):
        field_id = (attrs or {}).get("id", f"id_{name}")
        return format_html(
            '<div class="ops-checklist-editor" data-for="{}">'
            '<input type="hidden" name="{}" id="{}" value="{}">'
            "<noscript><p>{}</p></noscript></div>",
            field_id,
            name,
            field_id,
            self.format_value(value),
            _("The checklist editor needs JavaScript."),
        )


def _item_problem_messages(specs: list[ChecklistItemSpec]) -> list[str]:
    problems = checklists.checklist_problems(specs, prefix="items")
    messages = []
    for key, texts in problems.items():
        if key == "items":
            messages.extend(texts)
            continue
        index = int(key[len("items[") : key.index("]")])
        field = key.rsplit(".", 1)[1]
        label = specs[index].item.strip() or _("(blank)")
        messages.extend(
            _("Item %(number)d %(item)r, %(field)s: %(problem)s")
            % {"number": index + 1, "item": label, "field": field, "problem": text}
            for text in texts
        )
    return messages


class ChecklistField(forms.Field):
    """A task template's checklist: a JSON list of items (strings or objects with ``item``,
    ``kind``, ``required``, ``unit``, ``min``, ``max``) → a tuple for `TaskTemplate.checklist`."""

    widget = ChecklistEditor
    default_error_messages = {
        "invalid": gettext_lazy("Send the checklist as a JSON list of items."),
    }

    def to_python(self, value):
        if value in (None, ""):
            return []
        if not isinstance(value, str):
            return list(value)
        try:
            items = json.loads(value)
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if not isinstance(items, list) or not all(
            isinstance(item, str) or (isinstance(item, dict) and isinstance(item.get("item"), str))
            for item in items
        ):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return items

    def validate(self, value):
        super().validate(value)
        try:
            specs = checklists.template_specs(value)
        except (TypeError, ValueError, AttributeError):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        messages = _item_problem_messages(specs)
        if messages:
            raise forms.ValidationError(messages)

    def clean(self, value):
        items = super().clean(value)
        specs = [replace(spec, item=spec.item.strip()) for spec in checklists.template_specs(items)]
        return tuple(spec.item if spec.is_plain else spec for spec in specs)

    def has_changed(self, initial, data):
        try:
            return _stored(self.to_python(data)) != _stored(initial)
        except forms.ValidationError:
            return True


# --- the task page: answering each item --------------------------------------------------------

_ANSWER_KEYS = ("done", "value", "answered_by", "answered_at", "corrective_task_id")


def _task_items(value) -> list[dict]:
    if isinstance(value, str):
        try:
            value = json.loads(value or "[]")
        except ValueError:
            return []
    return [checklists.task_item_of(item) for item in value or [] if isinstance(item, dict)]


def _limits(item: dict) -> str:
    unit = f" {item['unit']}" if item["unit"] else ""
    if item["min"] is None and item["max"] is None:
        return unit.strip()
    low = "" if item["min"] is None else f"{item['min']:g}"
    high = "" if item["max"] is None else f"{item['max']:g}"
    words = {"low": low or "-∞", "high": high or "∞", "unit": unit}
    return _("%(low)s to %(high)s%(unit)s") % words


def _corrective_link(item: dict):
    task_id = item.get("corrective_task_id")
    if not task_id:
        return ""
    url = reverse("admin:maintenance_task_change", args=[quote(task_id)])
    return format_html(
        ' <a class="ops-corrective" href="{}">{}</a>', url, _("corrective task opened")
    )


def _answered(item: dict):
    if not item.get("answered_by"):
        return ""
    return format_html(
        ' <small class="ops-answered">{}</small>',
        _("by %(who)s at %(when)s") % {"who": item["answered_by"], "when": item["answered_at"]},
    )


def answer_text(item: dict) -> str:
    """An answered item's value, in words (the read-only page and the change history)."""
    value = item["value"]
    if value is None:
        return "—"
    if item["kind"] == checklists.CHECK:
        return "✓"
    if item["kind"] == checklists.PASS_FAIL:
        return _("pass") if value == checklists.PASS else _("fail")
    if item["kind"] == checklists.NUMBER:
        return f"{value:g} {item['unit']}".strip()
    return str(value)


class ChecklistAnswers(forms.Widget):
    """A task's checklist answered on its page: a box to tick (check), pass/fail radios, a
    number box with its unit and limits, or a text box. The items travel as JSON in a hidden
    input (without their answers) and each control posts its item's answer, so the service
    receives one answer per item, in order: the API's PATCH body."""

    # Rendered here, not from a template: the form renderer sees only the apps' templates.

    def _control(self, name: str, index: int, item: dict):
        field = f"{name}__{index}"
        kind, value = item["kind"], item["value"]
        if kind == checklists.CHECK:
            return format_html(
                '<input type="checkbox" name="{}" value="1" id="{}"{}>',
                field,
                f"id_{field}",
                mark_safe(" checked") if value else "",
            )
        if kind == checklists.PASS_FAIL:
            chosen = "" if value is None else value
            return format_html_join(
                "",
                '<label class="ops-choice"><input type="radio" name="{}" value="{}"{}> {}</label>',
                (
                    (field, choice, mark_safe(" checked") if chosen == choice else "", label)
                    for choice, label in (
                        (checklists.PASS, _("pass")),
                        (checklists.FAIL, _("fail")),
                        ("", _("not yet")),
                    )
                ),
            )
        if kind == checklists.NUMBER:
            return format_html(
                '<input type="text" inputmode="decimal" name="{}" id="{}" value="{}" size="8">'
                ' <span class="ops-limits">{}</span>',
                field,
                f"id_{field}",
                "" if value is None else (f"{value:g}" if not isinstance(value, str) else value),
                _limits(item),
            )
        return format_html(
            '<input type="text" class="vTextField" name="{}" id="{}" value="{}" maxlength="{}">',
            field,
            f"id_{field}",
            value or "",
            checklists.TEXT_ANSWER_MAX_LENGTH,
        )

    def render(self, name, value, attrs=None, renderer=None):
        items = _task_items(value)
        questions = [
            {key: val for key, val in item.items() if key not in _ANSWER_KEYS} for item in items
        ]
        rows = format_html_join(
            "",
            '<div class="ops-tick ops-answer-{}" data-index="{}"><span class="ops-item">{}{}</span>'
            " {}{}{}</div>",
            (
                (
                    item["kind"],
                    index,
                    item["item"],
                    format_html(' <em class="ops-required">{}</em>', _("required"))
                    if item["required"]
                    else "",
                    self._control(name, index, item),
                    _answered(item),
                    _corrective_link(item),
                )
                for index, item in enumerate(items)
            ),
        )
        return format_html(
            '<div class="ops-checklist-ticks" id="{}"><input type="hidden" name="{}" value="{}">'
            "{}</div>",
            (attrs or {}).get("id", f"id_{name}"),
            name,
            json.dumps(questions),
            rows or format_html("<p>{}</p>", _("No checklist.")),
        )

    def value_from_datadict(self, data, files, name):
        if name not in data:
            return None
        answers = []
        for index, item in enumerate(_task_items(data.get(name))):
            raw = data.get(f"{name}__{index}", "")
            question = {key: val for key, val in item.items() if key not in _ANSWER_KEYS}
            if item["kind"] == checklists.CHECK:
                answers.append({**question, "done": raw == "1"})
                continue
            value = raw.strip() or None
            if value is not None and item["kind"] == checklists.NUMBER:
                try:
                    value = float(value)
                except ValueError:
                    pass  # sent as typed: the service refuses it naming the item
                else:
                    value = int(value) if value.is_integer() else value
            answers.append({**question, "value": value})
        return json.dumps(answers)


def answered_items(raw_items) -> str:
    """A checklist that can no longer change: each item with its answer, who gave it, and the
    corrective task it opened."""
    items = _task_items(raw_items)
    if not items:
        return "—"
    return format_html(
        '<ul class="ops-checklist" id="checklist-items">{}</ul>',
        format_html_join(
            "",
            '<li class="{}">{} {}{}{}{}</li>',
            (
                (
                    "done" if item["done"] else "open",
                    "☑" if item["done"] else "☐",
                    item["item"],
                    ""
                    if item["kind"] == checklists.CHECK
                    else format_html(": <strong>{}</strong>", answer_text(item)),
                    _answered(item),
                    _corrective_link(item),
                )
                for item in items
            ),
        ),
    )
