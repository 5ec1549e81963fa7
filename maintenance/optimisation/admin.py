"""Admin for the optimisation side: failures, and a plan's suggestion drafts.

Failures are recorded and deleted through `failure_create` / `failure_delete` (the API's
rules); recorded history is not rewritten, so a failure has no change form. Drafts are
written by the optimiser only: read-only here, with actions that apply or reject them through
`suggestion_apply` / `suggestion_reject` (only drafts; a refusal, e.g. when the plan changed,
is shown as a warning). Filter the drafts list by plan (`?plan_id=...`) to see one plan's drafts.
"""

import json

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy

from core.admin import ReadOnlyModelAdmin, ServiceModelAdmin, run_each
from core.api.permissions import actor_of
from maintenance.optimisation import services
from maintenance.optimisation.models import Failure, SuggestionSet


@admin.register(Failure)
class FailureAdmin(ServiceModelAdmin):
    list_display = ("occurred_at", "asset", "description", "downtime_hours", "cost", "created_by")
    list_select_related = ("asset",)
    search_fields = ("id", "asset__code", "asset__name", "description")
    date_hierarchy = "occurred_at"
    autocomplete_fields = ("asset",)
    fields = ("id", "asset", "occurred_at", "description", "downtime_hours", "cost", "created_by")
    readonly_fields = ("id", "created_by")

    def create_through_service(self, request, form) -> Failure:
        data = form.cleaned_data
        return services.failure_create(
            asset_id=data["asset"].pk,
            occurred_at=data["occurred_at"],
            description=data.get("description", ""),
            downtime_hours=data.get("downtime_hours") or 0,
            cost=data.get("cost"),
            by=actor_of(request),
            now=timezone.now(),
        )

    def delete_through_service(self, request, obj: Failure) -> None:
        services.failure_delete(failure_id=obj.pk)


@admin.register(SuggestionSet)
class SuggestionSetAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "plan_name", "status", "kinds", "created_at", "created_by", "applied_by")
    list_filter = ("status",)
    list_select_related = ("plan",)
    search_fields = ("id", "plan__name")
    date_hierarchy = "created_at"
    actions = ("apply_all", "reject")
    fields = (
        "id",
        "plan_id",
        "status",
        "created_at",
        "created_by",
        "items_display",
        "reasons_display",
        "applied_at",
        "applied_by",
        "applied_items",
        "rejected_at",
        "rejected_by",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        plan_id = request.GET.get("plan_id")
        return queryset.filter(plan_id=plan_id) if plan_id else queryset

    def get_search_results(self, request, queryset, search_term):
        # `plan` is a soft foreign key (no `icontains`); a deleted plan's id must still match.
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if search_term.strip():
            results |= queryset.filter(plan_id=search_term.strip())
        return results, may_have_duplicates

    def lookup_allowed(self, lookup, value, request=None):
        return lookup == "plan_id" or super().lookup_allowed(lookup, value, request)

    @admin.display(description=gettext_lazy("Plan"), ordering="plan__name")
    def plan_name(self, suggestion: SuggestionSet) -> str:
        return (
            suggestion.plan.name
            if suggestion.plan
            else (gettext("%(plan_id)s (deleted)") % {"plan_id": suggestion.plan_id})
        )

    @admin.display(description=gettext_lazy("Items"))
    def kinds(self, suggestion: SuggestionSet) -> str:
        return ", ".join(item["kind"] for item in suggestion.items) or "—"

    @admin.display(description=gettext_lazy("Items"))
    def items_display(self, suggestion: SuggestionSet):
        rows = [
            format_html(
                "<li><b>#{} {}</b> (confidence {}): {}"
                "<pre>current: {}\nproposed: {}\ndata: {}</pre></li>",
                index,
                item["kind"],
                item["confidence"],
                item["rationale"],
                json.dumps(item["current"], indent=1),
                json.dumps(item["proposed"], indent=1),
                json.dumps(item["data"], indent=1)[:4000],
            )
            for index, item in enumerate(suggestion.items)
        ]
        return format_html("<ol start='0'>{}</ol>", format_html("".join(rows))) if rows else "—"

    @admin.display(description=gettext_lazy("Why no item"))
    def reasons_display(self, suggestion: SuggestionSet) -> str:
        return "; ".join(f"{kind}: {why}" for kind, why in suggestion.reasons.items()) or "—"

    @admin.action(description=gettext_lazy("Apply all items"))
    def apply_all(self, request, queryset):
        by = actor_of(request)
        run_each(
            self,
            request,
            queryset,
            gettext("Applied"),
            lambda s: services.suggestion_apply(
                suggestion_id=s.pk, items=None, by=by, now=timezone.now()
            ),
        )

    @admin.action(description=gettext_lazy("Reject"))
    def reject(self, request, queryset):
        by = actor_of(request)
        run_each(
            self,
            request,
            queryset,
            gettext("Rejected"),
            lambda s: services.suggestion_reject(suggestion_id=s.pk, by=by, now=timezone.now()),
        )
