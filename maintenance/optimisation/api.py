"""v1 optimisation endpoints: failures per asset, optimize a plan, list/read/apply/reject drafts.

Routes (under /api/v1/maintenance/):

- `GET/POST assets/{asset_id}/failures`
- `POST plans/{plan_id}/optimize` → 201 draft
- `GET plans/{plan_id}/suggestions` (skip/limit)
- `GET suggestions/{id}`, `POST suggestions/{id}/apply` (`{"items": [indexes]}` optional),
  `POST suggestions/{id}/reject`
"""

from decimal import Decimal

from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from core.api.fields import (
    NamedChoiceField,
    StrictCharField,
    StrictDateTimeField,
    StrictDecimalField,
    StrictFloatField,
    StrictIntegerField,
)
from core.api.pagination import SkipLimitPagination
from core.api.permissions import actor_of
from core.api.schema import SKIP_LIMIT_PARAMETERS, error_responses, skip_limit_page
from core.api.serializers import StrictSerializer
from core.api.views import ServiceAPIView
from core.errors import NotFound
from maintenance.models import Asset, Plan
from maintenance.optimisation import services
from maintenance.optimisation.models import Failure, SuggestionSet
from maintenance.optimisation.services import KINDS

# --- serializers ----------------------------------------------------------------------------------


class FailureInput(StrictSerializer):
    occurred_at = StrictDateTimeField()
    description = StrictCharField(
        allow_blank=True, default="", max_length=services.MAX_FAILURE_DESCRIPTION
    )
    downtime_hours = StrictFloatField(min_value=0, max_value=services.MAX_DOWNTIME_HOURS, default=0)
    cost = StrictDecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal(0), allow_null=True, default=None
    )


class FailureSerializer(serializers.Serializer):
    id = serializers.CharField()
    asset_id = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    description = serializers.CharField()
    downtime_hours = serializers.FloatField()
    cost = StrictDecimalField(max_digits=14, decimal_places=2, allow_null=True)
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField()


class SuggestionItemSerializer(serializers.Serializer):
    kind = NamedChoiceField(enum_name="SuggestionKind", choices=KINDS)
    current = serializers.JSONField(help_text="The plan's setting now (shape per kind).")
    proposed = serializers.JSONField(
        help_text="The engine's proposal; equal to `current` when the item only informs."
    )
    rationale = serializers.CharField()
    confidence = serializers.FloatField(min_value=0, max_value=1)
    data = serializers.DictField(
        child=serializers.JSONField(), help_text="Inputs, parameters and method names."
    )


class SuggestionSetSerializer(serializers.Serializer):
    id = serializers.CharField()
    plan_id = serializers.CharField(allow_null=True)
    status = NamedChoiceField(enum_name="SuggestionStatus", choices=SuggestionSet.Status.choices)
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField()
    items = SuggestionItemSerializer(many=True)
    reasons = serializers.DictField(
        child=serializers.CharField(), help_text="Per kind without an item: why not."
    )
    applied_at = serializers.DateTimeField(allow_null=True)
    applied_by = serializers.CharField()
    applied_items = serializers.ListField(child=serializers.IntegerField(), allow_null=True)
    rejected_at = serializers.DateTimeField(allow_null=True)
    rejected_by = serializers.CharField()


class ApplyInput(StrictSerializer):
    items = serializers.ListField(
        child=StrictIntegerField(),
        required=False,
        allow_null=True,
        default=None,
        max_length=100,
        help_text="Indexes of the items to apply; all of them when left out.",
    )


# --- views ----------------------------------------------------------------------------------------


class _View(ServiceAPIView):
    # Paging is done by hand (the same SkipLimitPagination), so the schema is the explicit one.
    pagination_class = None

    def _page(self, queryset, serializer_class) -> Response:
        paginator = SkipLimitPagination()
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        return paginator.get_paginated_response(serializer_class(page, many=True).data)


class AssetFailuresView(_View):
    """Failures of an asset: the evidence the optimisation engine reads."""

    permission_model = Failure

    serializer_class = FailureSerializer

    def _asset(self, asset_id: str) -> None:
        if not Asset.objects.filter(pk=asset_id).exists():
            raise NotFound(
                gettext("Asset with id '%(asset_id)s' not found") % {"asset_id": asset_id}
            )

    @extend_schema(
        operation_id="v1_maintenance_assets_failures_list",
        parameters=SKIP_LIMIT_PARAMETERS,
        responses={
            200: skip_limit_page(FailureSerializer, "FailurePage"),
            **error_responses(400, 404),
        },
    )
    def get(self, request, asset_id: str):
        """Failures of the asset, newest first."""
        self._asset(asset_id)
        return self._page(Failure.objects.filter(asset_id=asset_id), FailureSerializer)

    @extend_schema(
        request=FailureInput, responses={201: FailureSerializer, **error_responses(400, 404)}
    )
    def post(self, request, asset_id: str):
        """Record a failure of the asset."""
        self._asset(asset_id)
        body = FailureInput(data=request.data)
        body.is_valid(raise_exception=True)
        failure = services.failure_create(
            asset_id=asset_id, by=actor_of(request), now=timezone.now(), **body.validated_data
        )
        return Response(FailureSerializer(failure).data, status=status.HTTP_201_CREATED)


class PlanOptimizeView(_View):
    permission_model = SuggestionSet
    serializer_class = SuggestionSetSerializer

    @extend_schema(request=None, responses={201: SuggestionSetSerializer, **error_responses(404)})
    def post(self, request, plan_id: str):
        """Draft suggestions from the plan's history; nothing changes until one is applied."""
        suggestion = services.plan_optimize(
            plan_id=plan_id, by=actor_of(request), now=timezone.now()
        )
        return Response(SuggestionSetSerializer(suggestion).data, status=status.HTTP_201_CREATED)


class PlanSuggestionsView(_View):
    permission_model = SuggestionSet
    serializer_class = SuggestionSetSerializer

    @extend_schema(
        operation_id="v1_maintenance_plans_suggestions_list",
        parameters=SKIP_LIMIT_PARAMETERS,
        responses={
            200: skip_limit_page(SuggestionSetSerializer, "SuggestionSetPage"),
            **error_responses(400, 404),
        },
    )
    def get(self, request, plan_id: str):
        """The plan's drafts and decided suggestions, newest first."""
        suggestions = SuggestionSet.objects.filter(plan_id=plan_id).order_by("-created_at", "-id")
        # A deleted plan's suggestions stay readable under its id.
        if not Plan.objects.filter(pk=plan_id).exists() and not suggestions.exists():
            raise NotFound(gettext("Plan with id '%(plan_id)s' not found") % {"plan_id": plan_id})
        return self._page(suggestions, SuggestionSetSerializer)


class SuggestionView(_View):
    permission_model = SuggestionSet
    serializer_class = SuggestionSetSerializer

    @extend_schema(responses={200: SuggestionSetSerializer, **error_responses(404)})
    def get(self, request, suggestion_id: str):
        suggestion = SuggestionSet.objects.filter(pk=suggestion_id).first()
        if suggestion is None:
            raise NotFound(
                gettext("Suggestion with id '%(suggestion_id)s' not found")
                % {"suggestion_id": suggestion_id}
            )
        return Response(SuggestionSetSerializer(suggestion).data)


class SuggestionApplyView(_View):
    permission_model = SuggestionSet
    permission_actions = {"post": "change"}
    serializer_class = SuggestionSetSerializer

    @extend_schema(
        request=ApplyInput,
        responses={200: SuggestionSetSerializer, **error_responses(400, 404, 409)},
    )
    def post(self, request, suggestion_id: str):
        """Apply the draft (all items, or the chosen indexes) through the plan services.

        409 when the draft is not a draft, or the plan (or work it moves) changed since."""
        body = ApplyInput(data=request.data if request.data else {})
        body.is_valid(raise_exception=True)
        suggestion = services.suggestion_apply(
            suggestion_id=suggestion_id,
            items=body.validated_data.get("items"),
            by=actor_of(request),
            now=timezone.now(),
        )
        return Response(SuggestionSetSerializer(suggestion).data)


class SuggestionRejectView(_View):
    permission_model = SuggestionSet
    permission_actions = {"post": "change"}
    serializer_class = SuggestionSetSerializer

    @extend_schema(
        request=None, responses={200: SuggestionSetSerializer, **error_responses(404, 409)}
    )
    def post(self, request, suggestion_id: str):
        """Discard the draft (it stays on record as rejected)."""
        suggestion = services.suggestion_reject(
            suggestion_id=suggestion_id, by=actor_of(request), now=timezone.now()
        )
        return Response(SuggestionSetSerializer(suggestion).data)


urlpatterns = [
    path("assets/<str:asset_id>/failures", AssetFailuresView.as_view(), name="v1-asset-failures"),
    path("plans/<str:plan_id>/optimize", PlanOptimizeView.as_view(), name="v1-plan-optimize"),
    path(
        "plans/<str:plan_id>/suggestions",
        PlanSuggestionsView.as_view(),
        name="v1-plan-suggestions",
    ),
    path("suggestions/<str:suggestion_id>", SuggestionView.as_view(), name="v1-suggestion"),
    path(
        "suggestions/<str:suggestion_id>/apply",
        SuggestionApplyView.as_view(),
        name="v1-suggestion-apply",
    ),
    path(
        "suggestions/<str:suggestion_id>/reject",
        SuggestionRejectView.as_view(),
        name="v1-suggestion-reject",
    ),
]
