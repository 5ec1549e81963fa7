"""Admin for the optimisation side: failures, and a plan's suggestion drafts.

Failures are recorded through `failure_create` (the API's service). Drafts are read-only;
the actions apply or reject them through `suggestion_apply` / `suggestion_reject`, with the
API's rules (only drafts; 409-style refusal, shown as a warning, when the plan changed).
Filter the drafts list by plan (`?plan_id=...`) to see one plan's drafts.
"""

import json

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from core.api.permissions import actor_of
from core.errors import DomainError
from maintenance.optimisation import services
from maintenance.optimisation.models import Failure, SuggestionSet


@admin.register(Failure)
class FailureAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "asset", "description", "downtime_hours", "cost", "created_by")
    list_select_related = ("asset",)
    search_fields = ("id", "asset__code", "asset__name", "description")
    date_hierarchy = "occurred_at"
    autocomplete_fields = ("asset",)
    fields = ("id", "asset", "occurred_at", "description", "downtime_hours", "cost", "created_by")
    readonly_fields = ("id", "created_by")

    def has_change_permission(self, request, obj=None):
        return obj is None  # history is not rewritten; the add form still needs this

    def save_model(self, request, obj, form, change):
        try:
            created = services.failure_create(
                asset_id=obj.asset_id,
                occurred_at=obj.occurred_at,
                description=obj.description,
                downtime_hours=obj.downtime_hours,
                cost=obj.cost,
                by=actor_of(request),
                now=timezone.now(),
            )
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        obj.pk = created.pk
        obj._state.adding = False


@admin.register(SuggestionSet)
class SuggestionSetAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request):
        return False  # drafts come from POST /plans/{id}/optimize

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Plan", ordering="plan__name")
    def plan_name(self, suggestion: SuggestionSet) -> str:
        return suggestion.plan.name if suggestion.plan else f"{suggestion.plan_id} (deleted)"

    @admin.display(description="Items")
    def kinds(self, suggestion: SuggestionSet) -> str:
        return ", ".join(item["kind"] for item in suggestion.items) or "—"

    @admin.display(description="Items")
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

    @admin.display(description="Why no item")
    def reasons_display(self, suggestion: SuggestionSet) -> str:
        return "; ".join(f"{kind}: {why}" for kind, why in suggestion.reasons.items()) or "—"

    def _each(self, request, queryset, verb, call) -> None:
        done = 0
        for suggestion in queryset:
            try:
                call(suggestion)
            except DomainError as exc:
                self.message_user(request, f"{suggestion}: {exc.message}", messages.WARNING)
            else:
                done += 1
        if done:
            self.message_user(request, f"{verb} {done} draft(s).", messages.SUCCESS)

    @admin.action(description="Apply all items")
    def apply_all(self, request, queryset):
        by = actor_of(request)
        self._each(
            request,
            list(queryset),
            "Applied",
            lambda s: services.suggestion_apply(
                suggestion_id=s.pk, items=None, by=by, now=timezone.now()
            ),
        )

    @admin.action(description="Reject")
    def reject(self, request, queryset):
        by = actor_of(request)
        self._each(
            request,
            list(queryset),
            "Rejected",
            lambda s: services.suggestion_reject(suggestion_id=s.pk, by=by, now=timezone.now()),
        )
