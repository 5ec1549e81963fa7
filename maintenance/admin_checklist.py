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
from django.utils.html import format_html
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
