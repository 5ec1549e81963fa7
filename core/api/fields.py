"""The strict fields both API versions use.

A strict field checks the JSON type of its value itself: DRF would turn `5` into `"5"` for a
string field, `"5"` or `5.0` into `5` for an integer one, `"yes"` into `True`. Every refusal
is a 400 naming the field.

The two versions word their refusals differently, and clients read the words: v1 keeps
DRF's messages ("Not a valid string."), v4 repeats Kener's, which name the field
("title must be a string"). The type checks are written once; the serializer a field sits
in carries the `Wording` (`core.api.serializers.StrictSerializer.wording`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import ROUND_HALF_UP

from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from core.limits import LONG_TEXT_MAX_LENGTH  # noqa: F401 - the serializers' limit, re-exported


@dataclass(frozen=True)
class Wording:
    """How strict fields and serializers word a refusal."""

    # Fields say "title must be a string" (True) or keep DRF's message (False).
    names_fields: bool
    # What a key the serializer does not declare gets; `%(name)s` is the key (lazy: worded in
    # the language of the request that sends it).
    unknown_field: str | Promise
    # Unknown keys in sorted order (True) or in the body's order (False).
    sort_unknown: bool
    # What a body that is not a JSON object gets; None keeps DRF's "Invalid data..." message.
    not_an_object: str | Promise | None


V1_WORDING = Wording(
    names_fields=False,
    unknown_field=gettext_lazy("Unknown field."),
    sort_unknown=False,
    not_an_object=None,
)
V4_WORDING = Wording(
    names_fields=True,
    unknown_field=gettext_lazy("Unknown field '%(name)s'"),
    sort_unknown=True,
    not_an_object=gettext_lazy("Request body must be a JSON object"),
)


def wording_of(field: serializers.Field) -> Wording:
    """The wording of the nearest serializer above `field` that declares one (v1 by default).

    Looked up when a value is refused, not when the field is bound: a ListField binds its
    child before the ListField itself has a parent.
    """
    node = field
    while node is not None:
        wording = getattr(node, "wording", None)
        if isinstance(wording, Wording):
            return wording
        node = getattr(node, "parent", None)
    return V1_WORDING


def shown(value: object) -> str:
    """A rejected value as it looked in the JSON body."""
    return value if isinstance(value, str) else json.dumps(value)


def is_json_type(value: object, types: tuple[type, ...]) -> bool:
    # bool is an int in Python, never a number in a strict JSON API.
    return (bool in types) if isinstance(value, bool) else isinstance(value, types)


class StrictField:
    """Mixin: refuses a JSON value of the wrong type instead of coercing it.

    With a wording that names fields, `required`, `null`, `invalid` (the wrong type), `blank`,
    `max_length`, `min_value` and `max_value` are worded by the attributes below (lazy
    translations, so each refusal speaks the request's language), `%(field)s` standing for the
    field's name; any other refusal keeps DRF's message.
    """

    json_types: tuple[type, ...] = ()
    type_message = gettext_lazy("%(field)s has the wrong type")
    too_small = gettext_lazy("%(field)s must be at least %(min_value)s")
    too_large = gettext_lazy("%(field)s must be at most %(max_value)s")

    def names_fields(self) -> bool:
        return wording_of(self).names_fields

    def named_message(self, key: str, **kwargs) -> str | None:
        messages = {
            "required": gettext_lazy("%(field)s is required"),
            "null": self.type_message,
            "invalid": self.type_message,
            "blank": gettext_lazy("%(field)s must not be empty"),
            "max_length": gettext_lazy("%(field)s must be at most %(max_length)s characters"),
            "min_value": self.too_small,
            "max_value": self.too_large,
        }
        template = messages.get(key)
        if template is None:
            return None
        return str(template) % {**kwargs, "field": self.field_name}

    def fail(self, key, **kwargs):
        if self.names_fields():
            message = self.named_message(key, **kwargs)
            if message is not None:
                raise ValidationError(message, code=key)
        super().fail(key, **kwargs)

    def check_type(self, data) -> None:
        if not is_json_type(data, self.json_types):
            self.fail("invalid")

    def check_bounds(self, value) -> None:
        """Named wording only: the bounds, before DRF's validators (whose messages do not name
        the field) see the value."""
        min_value, max_value = getattr(self, "min_value", None), getattr(self, "max_value", None)
        if min_value is not None and value < min_value:
            self.fail("min_value", min_value=min_value)
        if max_value is not None and value > max_value:
            self.fail("max_value", max_value=max_value)


class StrictCharField(StrictField, serializers.CharField):
    """A JSON string, surrounding whitespace trimmed (unless `trim_whitespace=False`)."""

    json_types = (str,)
    type_message = gettext_lazy("%(field)s must be a string")

    def to_internal_value(self, data):
        self.check_type(data)
        value = super().to_internal_value(data)
        if self.names_fields():
            if not value and not self.allow_blank:
                self.fail("blank")
            if self.max_length is not None and len(value) > self.max_length:
                self.fail("max_length", max_length=self.max_length)
        return value


class StrictEmailField(StrictCharField, serializers.EmailField):
    """A JSON string that is an email address."""


class StrictIntegerField(StrictField, serializers.IntegerField):
    """A JSON integer (not a bool, a float or a string) within [min_value, max_value]."""

    json_types = (int,)
    type_message = gettext_lazy("%(field)s must be an integer")

    def to_internal_value(self, data):
        self.check_type(data)
        if self.names_fields():
            self.check_bounds(data)
        return super().to_internal_value(data)


class StrictFloatField(StrictField, serializers.FloatField):
    """A JSON number (an integer or a float, not a bool or a string)."""

    json_types = (int, float)
    type_message = gettext_lazy("%(field)s must be a number")

    def to_internal_value(self, data):
        self.check_type(data)
        if self.names_fields():
            self.check_bounds(data)
        return super().to_internal_value(data)


class StrictBooleanField(StrictField, serializers.BooleanField):
    """true or false only (DRF would accept "yes", 1, "on")."""

    json_types = (bool,)
    type_message = gettext_lazy("%(field)s must be a boolean")

    def to_internal_value(self, data):
        self.check_type(data)
        return data


class StrictDecimalField(StrictField, serializers.DecimalField):
    """A JSON number, kept exact as a Decimal (rounded half up to the field's places).

    Rendered as a JSON number, not a string.
    """

    json_types = (int, float)
    type_message = gettext_lazy("%(field)s must be a number")

    def __init__(self, *, max_digits: int = 20, decimal_places: int = 4, **kwargs):
        kwargs.setdefault("coerce_to_string", False)
        super().__init__(
            max_digits=max_digits,
            decimal_places=decimal_places,
            rounding=ROUND_HALF_UP,
            **kwargs,
        )

    def to_internal_value(self, data):
        self.check_type(data)
        # str() first: Decimal(0.1) would carry the binary float's error.
        value = super().to_internal_value(str(data))
        if self.names_fields():
            self.check_bounds(value)
        return value


class StrictDateTimeField(StrictField, serializers.DateTimeField):
    """An ISO 8601 string with any offset (none means UTC), between 1970 and 2200."""

    json_types = (str,)
    type_message = gettext_lazy("%(field)s must be an ISO 8601 date-time string")

    def check_type(self, data) -> None:
        if not isinstance(data, str):
            self.fail("invalid", format="ISO 8601, e.g. 2026-04-24T10:00:00Z")

    def to_internal_value(self, value):
        self.check_type(value)
        parsed = super().to_internal_value(value)
        if not 1970 <= parsed.year < 2200:
            if self.names_fields():
                raise ValidationError(
                    gettext("%(field)s must be between 1970 and 2200") % {"field": self.field_name}
                )
            raise ValidationError(gettext("Must be between 1970 and 2200."))
        return parsed


class BoundedDateField(serializers.DateField):
    """A date (`YYYY-MM-DD`, e.g. a query parameter) between 1970 and 2200: a date at the edge
    of Python's range (9999-12-31) would overflow when the day's end is computed."""

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        if not 1970 <= parsed.year < 2200:
            raise ValidationError(
                gettext("%(field)s must be between 1970 and 2200") % {"field": self.field_name}
            )
        return parsed


class StrictChoiceField(StrictField, serializers.ChoiceField):
    """One of the choices, exactly (case matters, as in Kener); only a JSON string.

    `accept` widens what passes this check beyond the documented choices, for values that a
    later step refuses with a better message. Named wording: "Invalid status 'x'. Must be
    one of: A, B" (the wrong type and null alike).
    """

    json_types = (str,)

    def __init__(self, *, accept: list[str] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.accept = set(accept or ()) | set(self.choice_strings_to_values)

    def named_message(self, key: str, **kwargs) -> str | None:
        if key in {"null", "invalid", "invalid_choice"}:
            allowed = ", ".join(str(choice) for choice in self.choices)
            value = "null" if key == "null" else shown(kwargs.get("input"))
            return gettext("Invalid %(field)s '%(value)s'. Must be one of: %(allowed)s") % {
                "field": self.field_name,
                "value": value,
                "allowed": allowed,
            }
        return super().named_message(key, **kwargs)

    def to_internal_value(self, data):
        if data == "" and self.allow_blank:
            return ""
        if not isinstance(data, str) or data not in self.accept:
            self.fail("invalid_choice", input=data)
        return self.choice_strings_to_values.get(data, data)


class NamedChoiceField(serializers.ChoiceField):
    """A choice field whose OpenAPI enum is its own named component (`PlanStatus`, ...).

    `status` and `trigger` name different sets on plans, tasks, executions (and v4 windows);
    left to drf-spectacular, one enum name per field name would make them collide.
    """

    def __init__(self, *, enum_name: str, **kwargs):
        super().__init__(**kwargs)
        self.enum_name = enum_name


class NamedChoiceFieldExtension(OpenApiSerializerFieldExtension):
    target_class = NamedChoiceField

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        component = ResolvedComponent(
            name=field.enum_name,
            type=ResolvedComponent.SCHEMA,
            object=field.enum_name,
            schema={"type": "string", "enum": list(field.choices)},
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref
