"""Form fields of the admin for values the API keeps as lists: typed as people type them.

`TagListField` takes "pumps, electrical" (commas or new lines) and gives the service a list
of strings; its widget shows the stored list the same way, and static/admin_ops/tags.js turns
it into removable tags as one types (the plain text box still works without JavaScript).
"""

import contextlib
import json

from django import forms
from django.utils.translation import gettext_lazy


class TagsInput(forms.TextInput):
    def __init__(self, attrs=None):
        super().__init__({"class": "ops-tags vTextField", "autocomplete": "off", **(attrs or {})})

    def format_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(str(item) for item in value)
        return super().format_value(value)

    class Media:
        css = {"all": ["admin_ops/ops.css"]}
        js = ["admin_ops/tags.js"]


class TagListField(forms.Field):
    """A list of short strings typed with commas between them; duplicates kept once."""

    widget = TagsInput
    default_error_messages = {
        "too_many": gettext_lazy("Ensure this field has no more than %(max)s elements."),
        "too_long": gettext_lazy("Ensure each item has no more than %(max)s characters: %(item)s"),
    }

    def __init__(self, *, max_items: int = 50, max_length: int = 100, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", gettext_lazy("Separate them with commas."))
        self.max_items, self.max_item_length = max_items, max_length
        super().__init__(**kwargs)

    def to_python(self, value) -> list[str]:
        if isinstance(value, str) and value.strip().startswith("["):
            # A JSON list pasted (or posted by a script written for the old JSON box).
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        if isinstance(value, list | tuple):
            parts = [str(item) for item in value]
        else:
            parts = (value or "").replace("\n", ",").split(",")
        return list(dict.fromkeys(part.strip() for part in parts if part.strip()))

    def validate(self, value) -> None:
        super().validate(value)
        if len(value) > self.max_items:
            raise forms.ValidationError(
                self.error_messages["too_many"], code="too_many", params={"max": self.max_items}
            )
        for item in value:
            if len(item) > self.max_item_length:
                raise forms.ValidationError(
                    self.error_messages["too_long"],
                    code="too_long",
                    params={"max": self.max_item_length, "item": item[:40]},
                )

    def has_changed(self, initial, data) -> bool:
        return list(initial or []) != self.to_python(data)
