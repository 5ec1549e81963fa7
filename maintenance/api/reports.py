"""Scheduled reports over API v1: schedules (CRUD, send now), their reports, and a report's
files, which a signed link from a report message opens without an API key."""

from dataclasses import replace

from django.db.models import Prefetch
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api.authentication import (
    ApiKeyPrincipal,
    BearerApiKeyAuthentication,
    StaffSessionAuthentication,
)
from core.api.fields import NamedChoiceField, StrictBooleanField, StrictCharField
from core.api.pagination import SkipLimitPagination
from core.api.permissions import actor_of
from core.api.schema import error_responses
from core.api.serializers import StrictSerializer
from core.api.views import ServiceAPIView, ServiceViewSet
from core.errors import NotFound
from maintenance import reports
from maintenance.models import Report, ReportFile, ReportSchedule

# --- shapes ----------------------------------------------------------------------------------


class ReportScheduleInput(StrictSerializer):
    """POST, PUT and PATCH body of a report schedule."""

    ignored_fields = (
        "id",
        "next_period_start",
        "next_period_end",
        "last_report_at",
        "created_at",
        "updated_at",
    )

    name = StrictCharField(max_length=255)
    frequency = NamedChoiceField(
        enum_name="ReportFrequency", choices=ReportSchedule.Frequency.choices
    )
    timezone = StrictCharField(max_length=64, default="UTC", help_text="An IANA timezone.")
    metrics = serializers.ListField(
        child=NamedChoiceField(enum_name="ReportMetric", choices=list(reports.METRICS)),
        default=list(reports.METRICS),
        min_length=1,
        max_length=len(reports.METRICS),
        help_text="What the report holds; all of them by default.",
    )
    formats = serializers.ListField(
        child=NamedChoiceField(enum_name="ReportFormat", choices=list(reports.FORMATS)),
        default=list(reports.DEFAULT_FORMATS),
        min_length=1,
        max_length=len(reports.FORMATS),
        help_text="Files made: a CSV per metric, one XLSX, one PDF.",
    )
    channel_ids = serializers.ListField(
        child=StrictCharField(max_length=40),
        min_length=1,
        max_length=reports.MAX_CHANNELS,
        help_text="Notification channels: email gets the files attached, a webhook the "
        "figures as JSON with a download link per file.",
    )
    enabled = StrictBooleanField(default=True)

    def validate_timezone(self, value: str) -> str:
        problem = reports.timezone_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def to_changes(self) -> dict:
        changes = dict(self.validated_data)
        for name in ("metrics", "formats", "channel_ids"):
            if name in changes:
                changes[name] = tuple(changes[name])
        return changes

    def to_spec(self) -> reports.ReportScheduleSpec:
        return reports.ReportScheduleSpec(**self.to_changes())


class ReportScheduleSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    frequency = NamedChoiceField(
        enum_name="ReportFrequency", choices=ReportSchedule.Frequency.choices
    )
    timezone = serializers.CharField()
    metrics = serializers.ListField(child=serializers.CharField())
    formats = serializers.ListField(child=serializers.CharField())
    channel_ids = serializers.ListField(child=serializers.CharField())
    enabled = serializers.BooleanField()
    next_period_start = serializers.DateTimeField(
        help_text="Start of the next period to report (UTC instant of a local midnight)."
    )
    next_period_end = serializers.DateTimeField(help_text="When that period's report is sent.")
    last_report_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ReportFileSerializer(serializers.Serializer):
    name = serializers.CharField()
    format = NamedChoiceField(enum_name="ReportFormat", choices=list(reports.FORMATS))
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    path = serializers.SerializerMethodField(help_text="GET it with an API key.")

    def get_path(self, file) -> str:
        return reports.file_path(file.report_id, file.name)


class ReportSerializer(serializers.Serializer):
    id = serializers.CharField()
    schedule_id = serializers.CharField()
    trigger = NamedChoiceField(enum_name="ReportTrigger", choices=Report.Trigger.choices)
    frequency = NamedChoiceField(
        enum_name="ReportFrequency", choices=ReportSchedule.Frequency.choices
    )
    timezone = serializers.CharField()
    label = serializers.CharField(help_text="2026-10-25, 2026-W43 or 2026-10.")
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    metrics = serializers.ListField(child=serializers.CharField())
    data = serializers.DictField(help_text="The figures of each metric (maintenance.reports).")
    files = ReportFileSerializer(many=True)
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField()


class SentDeliverySerializer(serializers.Serializer):
    id = serializers.CharField()
    channel_id = serializers.CharField()
    status = serializers.CharField()


class SendNowOutput(serializers.Serializer):
    report = ReportSerializer()
    deliveries = SentDeliverySerializer(many=True)


def report_queryset():
    # The files' names and sizes, never their bytes: constant queries, small reads.
    return Report.objects.prefetch_related(
        Prefetch("files", queryset=ReportFile.objects.defer("content").order_by("id"))
    )


# --- schedules ---------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List report schedules"),
    create=extend_schema(
        request=ReportScheduleInput,
        responses={201: ReportScheduleSerializer, **error_responses(400)},
    ),
    retrieve=extend_schema(responses={200: ReportScheduleSerializer, **error_responses(404)}),
    update=extend_schema(
        request=ReportScheduleInput,
        responses={200: ReportScheduleSerializer, **error_responses(400, 404)},
    ),
    partial_update=extend_schema(
        request=ReportScheduleInput,
        responses={200: ReportScheduleSerializer, **error_responses(400, 404)},
    ),
    destroy=extend_schema(responses={204: None, **error_responses(404)}),
)
class ReportScheduleViewSet(ServiceViewSet):
    """Report schedules: what is reported, how often, in which zone, to which channels."""

    permission_model = ReportSchedule
    pagination_class = SkipLimitPagination
    serializer_class = ReportScheduleSerializer
    object_label = gettext_lazy("Report schedule")

    def get_queryset(self):
        return ReportSchedule.objects.order_by("name", "id")

    def _render(self, schedule, *, status_code: int = 200) -> Response:
        return Response(ReportScheduleSerializer(schedule).data, status=status_code)

    def list(self, request):
        return self.page_of(self.get_queryset(), ReportScheduleSerializer)

    def retrieve(self, request, pk=None):
        return self._render(self.get_object())

    def create(self, request):
        body = ReportScheduleInput(data=request.data)
        body.is_valid(raise_exception=True)
        schedule = reports.report_schedule_create(spec=body.to_spec(), now=timezone.now())
        return self._render(schedule, status_code=status.HTTP_201_CREATED)

    def update(self, request, pk=None):
        self.get_object()
        body = ReportScheduleInput(data=request.data)
        body.is_valid(raise_exception=True)
        schedule = reports.report_schedule_update(
            schedule_id=pk, spec=body.to_spec(), now=timezone.now()
        )
        return self._render(schedule)

    def partial_update(self, request, pk=None):
        stored = self.get_object()
        body = ReportScheduleInput(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        spec = replace(reports.report_schedule_spec_of(stored), **body.to_changes())
        schedule = reports.report_schedule_update(schedule_id=pk, spec=spec, now=timezone.now())
        return self._render(schedule)

    def destroy(self, request, pk=None):
        self.get_object()
        reports.report_schedule_delete(schedule_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={202: SendNowOutput, **error_responses(404)},
        summary="Send the report of the last period that ended, now",
    )
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        """A manual report of the last complete period, to every channel of the schedule (the
        deliveries go out from the workers, with their retries). The scheduled report of that
        period, sent or not, is not affected."""
        self.get_object()
        report, deliveries = reports.report_schedule_send_now(
            schedule_id=pk, by=actor_of(request), now=timezone.now()
        )
        body = {
            "report": report_queryset().get(pk=report.pk),
            "deliveries": [
                {"id": d.pk, "channel_id": d.channel_id, "status": d.status} for d in deliveries
            ],
        }
        return Response(SendNowOutput(body).data, status=status.HTTP_202_ACCEPTED)


# --- reports and their files ---------------------------------------------------------------------

SCHEDULE_FILTER = OpenApiParameter(
    "schedule_id", OpenApiTypes.STR, description="Only this schedule's reports."
)


@extend_schema_view(
    list=extend_schema(summary="List reports, newest period first", parameters=[SCHEDULE_FILTER]),
    retrieve=extend_schema(responses={200: ReportSerializer, **error_responses(404)}),
)
class ReportViewSet(ServiceViewSet):
    """Reports the schedules produced (kept RETENTION_REPORTS_DAYS after their period)."""

    permission_model = Report
    pagination_class = SkipLimitPagination
    serializer_class = ReportSerializer
    object_label = gettext_lazy("Report")

    def get_queryset(self):
        queryset = report_queryset().order_by("-period_start", "-created_at", "id")
        if getattr(self, "swagger_fake_view", False):
            return queryset
        schedule_id = self.request.query_params.get("schedule_id")
        if schedule_id:
            queryset = queryset.filter(schedule_id=schedule_id[:40])
        return queryset

    def list(self, request):
        return self.page_of(self.get_queryset(), ReportSerializer)

    def retrieve(self, request, pk=None):
        return Response(ReportSerializer(self.get_object()).data)


class ReportLinkAuthentication(BearerApiKeyAuthentication):
    """`?token=` from a report message: opens the one file it was signed for, until it
    expires (REPORTS_LINK_MAX_AGE_DAYS); read-only, like a read-only key."""

    def authenticate(self, request):
        token = request.query_params.get("token")
        if not token or request.headers.get("Authorization"):
            return None  # the header decides (BearerApiKeyAuthentication)
        kwargs = request.parser_context["kwargs"]
        if not reports.token_opens(token, report_id=kwargs["pk"], name=kwargs["name"]):
            raise exceptions.AuthenticationFailed(
                gettext(
                    "This download link is invalid or has expired: ask for the report again "
                    "(POST …/report-schedules/{id}/send) or use an API key"
                )
            )
        return ApiKeyPrincipal(key_id="", name="report-link", read_only=True), None

    def authenticate_header(self, request) -> str:
        return self.keyword


class ReportLinkScheme(OpenApiAuthenticationExtension):
    target_class = "maintenance.api.reports.ReportLinkAuthentication"
    name = "reportLinkToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "query",
            "name": "token",
            "description": "The signed token of a report message's download link; it opens "
            "that one file and expires after REPORTS_LINK_MAX_AGE_DAYS.",
        }


class ReportFileView(ServiceAPIView):
    """One file of a report, as an attachment download."""

    permission_model = Report
    authentication_classes = [
        BearerApiKeyAuthentication,
        ReportLinkAuthentication,
        StaffSessionAuthentication,
    ]

    @extend_schema(
        operation_id="v1_report_file",
        summary="Download a report file",
        parameters=[
            OpenApiParameter("token", OpenApiTypes.STR, description="A download link's token."),
        ],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The file (text/csv, XLSX or PDF), as an attachment.",
            ),
            **error_responses(401, 404),
        },
    )
    def get(self, request, pk: str, name: str):
        file = ReportFile.objects.filter(report_id=pk, name=name).first()
        if file is None:
            raise NotFound(
                gettext("Report '%(pk)s' has no file '%(name)s'") % {"pk": pk, "name": name}
            )
        response = HttpResponse(bytes(file.content), content_type=file.content_type)
        response["Content-Disposition"] = f'attachment; filename="{file.name}"'
        response["Cache-Control"] = "private, no-store"
        return response
