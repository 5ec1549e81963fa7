"""The strict request serializers both API versions build on.

A request body must be a JSON object and may hold only the fields its serializer declares:
another key is a 400 naming it (the v4 request schemas say `additionalProperties: false`,
and v1 keeps the same rule). `ignored_fields` are accepted and dropped: the read-only fields
of a resource, so that a body read with GET can be sent back.

`wording` chooses the messages, for the serializer and the strict fields inside it
(`core.api.fields.Wording`): v1 keeps DRF's, v4 Kener's.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Collection, Mapping

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.settings import api_settings
from rest_framework.utils.formatting import lazy_format

from core.api.fields import V1_WORDING, V4_WORDING, Wording


def listed_errors(detail):
    """DRF reports list items' errors as {index: ...} and a non-object nested body as
    {"non_field_errors": [...]}; the envelope names fields `checklist[0].item` and `checklist`,
    so reshape them."""
    if isinstance(detail, Mapping):
        if detail and all(isinstance(key, int) for key in detail):
            items = [{} for _ in range(max(detail) + 1)]
            for index, value in detail.items():
                items[index] = listed_errors(value)
            return items
        if set(detail) == {api_settings.NON_FIELD_ERRORS_KEY}:
            return detail[api_settings.NON_FIELD_ERRORS_KEY]
        return {key: listed_errors(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [listed_errors(item) for item in detail]
    return detail


class _RefusesUnknownKeys:
    wording: Wording = V1_WORDING
    ignored_fields: Collection[str] = ()

    def _not_an_object(self) -> ValidationError:
        return ValidationError(
            {api_settings.NON_FIELD_ERRORS_KEY: [self.wording.not_an_object]}, code="invalid"
        )

    def run_validation(self, data=serializers.empty):
        if data is None and self.wording.not_an_object:  # a JSON `null` body
            raise self._not_an_object()
        return super().run_validation(data)

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            if self.wording.not_an_object:
                raise self._not_an_object()
            return super().to_internal_value(data)  # DRF's "Invalid data. Expected a dict..."
        known = set(self.fields) | set(self.ignored_fields)
        unknown = [key for key in data if key not in known]
        if self.wording.sort_unknown:
            unknown.sort()
        errors: dict = {}
        value = None
        try:
            value = super().to_internal_value(data)
        except ValidationError as exc:
            if not isinstance(exc.detail, Mapping):
                raise
            errors = dict(exc.detail)
        for key in unknown:
            errors[key] = [str(self.wording.unknown_field) % {"name": key}]
        if errors:
            raise ValidationError({key: listed_errors(value) for key, value in errors.items()})
        return value


def _fresh_field(field: serializers.Field) -> serializers.Field:
    """An unbound copy of a declared field, as DRF's `copy.deepcopy` makes it, for less.

    DRF deep-copies every declared field for every serializer it builds, which re-runs each
    field's `__init__` from its arguments (a tenth of a v4 create). A field without inner
    fields is copied shallowly instead, with its own error messages and validators (the
    containers `bind` or a caller may change); what else it holds is read-only after
    `__init__`. A field with inner fields (a list's `child`, a nested serializer) or a
    mutable default is deep-copied as DRF does, so that its inner fields are bound to the new
    copy and no request shares a default another may change."""
    if (
        isinstance(field, serializers.BaseSerializer)
        or hasattr(field, "child")
        or isinstance(getattr(field, "default", None), list | dict | set)
    ):
        return copy.deepcopy(field)
    validators = field.__dict__.get("_validators", ())
    if any(_spent(validator) for validator in validators):
        return copy.deepcopy(field)
    fresh = copy.copy(field)
    fresh.error_messages = dict(field.error_messages)
    if "_validators" in field.__dict__:
        fresh._validators = [_fresh_validator(validator) for validator in validators]
    return fresh


def _spent(validator) -> bool:
    # A lazy_format that has been worded keeps that wording and forgets its template.
    message = getattr(validator, "message", None)
    return isinstance(message, lazy_format) and message.format_string is None


def _fresh_validator(validator):
    """The validator with a message of its own: DRF words a limit's message (`min_value`,
    `max_length`) with a `lazy_format`, which keeps the first wording it makes, so a shared
    one would answer every later request in the first request's language."""
    message = getattr(validator, "message", None)
    if not isinstance(message, lazy_format):
        return validator
    fresh = copy.copy(validator)
    fresh.message = lazy_format(message.format_string, *message.args, **message.kwargs)
    return fresh


class StrictSerializer(_RefusesUnknownKeys, serializers.Serializer):
    """A request body: a JSON object with the declared fields only (v1 wording)."""

    def get_fields(self):
        return {name: _fresh_field(field) for name, field in self._declared_fields.items()}


class StrictModelSerializer(_RefusesUnknownKeys, serializers.ModelSerializer):
    """A model's request body; its `id` and timestamps may be echoed back and are dropped."""

    ignored_fields = ("id", "created_at", "updated_at")


class V4StrictSerializer(StrictSerializer):
    """A v4 request body: Kener's messages, which name the field."""

    wording = V4_WORDING


def _plain_fields(child: serializers.Serializer) -> list[tuple[str, serializers.Field]] | None:
    """The child's writable fields as (name, field) when validating an item is nothing but
    each field's own `run_validation` (no `validate_<name>`, `validate()` or serializer
    validators, every field at its own key); None otherwise."""
    if type(child).validate is not serializers.Serializer.validate or child.validators:
        return None
    fields = []
    for field in child._writable_fields:
        name = field.field_name
        if getattr(child, f"validate_{name}", None) is not None or field.source_attrs != [name]:
            return None
        fields.append((name, field))
    return fields


class FastListSerializer(serializers.ListSerializer):
    """`many=True` of a strict serializer (`Meta.list_serializer_class`) for long lists: a
    valid list is validated by the child's own fields (their rules and messages, the very
    instances the child declares) without DRF's per-item serializer machinery; the first
    refused item, or a list it cannot take this way, sends the whole list through DRF's
    validation, which reports every item's errors exactly as before."""

    def to_internal_value(self, data):
        validated = self._all_valid(data)
        return super().to_internal_value(data) if validated is None else validated

    def _all_valid(self, data) -> list[dict] | None:
        child = self.child
        if not isinstance(data, list) or not data or not isinstance(child, _RefusesUnknownKeys):
            return None
        if (self.max_length is not None and len(data) > self.max_length) or (
            self.min_length is not None and len(data) < self.min_length
        ):
            return None
        fields = _plain_fields(child)
        if fields is None:
            return None
        known = set(child.fields) | set(child.ignored_fields)
        items = []
        try:
            for item in data:
                if type(item) is not dict or not known.issuperset(item):
                    return None
                values = {}
                for name, field in fields:
                    with contextlib.suppress(serializers.SkipField):  # no value, no default
                        values[name] = field.run_validation(item.get(name, serializers.empty))
                items.append(values)
        except (ValidationError, DjangoValidationError):
            return None
        return items
