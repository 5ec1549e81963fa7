"""Query-parameter filters of the v1 lists; a bad value is a 400 naming the parameter."""

from datetime import UTC

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext
from django_filters.fields import IsoDateTimeField

from maintenance.models import Plan, Task


class ChoiceInFilter(django_filters.BaseInFilter, django_filters.ChoiceFilter):
    """`?status=open,in_progress`: one or more choices, each validated."""


class PlanFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Plan.Status.choices)
    trigger = django_filters.ChoiceFilter(choices=Plan.Trigger.choices)
    asset_id = django_filters.CharFilter(method="filter_asset", max_length=40)
    assignee_id = django_filters.CharFilter(field_name="assignee_id", max_length=40)
    q = django_filters.CharFilter(
        method="filter_q",
        max_length=200,
        help_text="Words in the name, description or department (case-insensitive).",
    )

    class Meta:
        model = Plan
        fields = ("status", "trigger", "asset_id", "assignee_id", "q")

    def filter_asset(self, queryset, name, value):
        return queryset.filter(plan_assets__asset_id=value)

    def filter_q(self, queryset, name, value):
        for word in value.split():
            queryset = queryset.filter(
                Q(name__icontains=word)
                | Q(description__icontains=word)
                | Q(department__icontains=word)
            )
        return queryset


class _BoundedIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 instant between 1970 and 2200, read as UTC: PostgreSQL refuses far years
    and offsets beyond ±15:59 (Python accepts up to ±23:59), which would be a 500."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        parsed = parsed.astimezone(UTC)
        if not 1970 <= parsed.year < 2200:
            raise forms.ValidationError(gettext("must be between 1970 and 2200"))
        return parsed


class BoundedIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = _BoundedIsoDateTimeField


class TaskFilter(django_filters.FilterSet):
    plan_id = django_filters.CharFilter(field_name="plan_id", max_length=40)
    status = ChoiceInFilter(
        choices=Task.Status.choices, help_text="One status, or several separated by commas."
    )
    assignee_id = django_filters.CharFilter(field_name="assignee_id", max_length=40)
    due_before = BoundedIsoDateTimeFilter(
        field_name="due_at", lookup_expr="lte", help_text="Due at or before (ISO 8601)."
    )
    due_after = BoundedIsoDateTimeFilter(
        field_name="due_at", lookup_expr="gte", help_text="Due at or after (ISO 8601)."
    )

    class Meta:
        model = Task
        fields = ("plan_id", "status", "assignee_id", "due_before", "due_after")
