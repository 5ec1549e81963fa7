"""v1 endpoints: thin viewsets that validate input, call a service or selector, render output."""

from dataclasses import asdict

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from core.api.pagination import SkipLimitPagination
from core.api.permissions import actor_of
from core.api.schema import (
    SKIP_LIMIT_PARAMETERS,
    ErrorEnvelopeSerializer,
    error_responses,
    skip_limit_page,
)
from core.api.views import ServiceAPIView, ServiceViewSet
from core.errors import NotFound
from maintenance import calendars, selectors, services
from maintenance.api import serializers as s
from maintenance.api.filters import PlanFilter, TaskFilter
from maintenance.models import (
    Asset,
    CounterReading,
    HolidayCalendar,
    HolidayDate,
    Plan,
    Task,
    Technician,
)
from notifications.api.serializers import TestResultOutput

ERROR = ErrorEnvelopeSerializer  # one schema of the error envelope (core.api.schema)


class _V1ViewSet(ServiceViewSet):
    """Shared base: skip/limit paging (the 404 naming the resource and id is the base's)."""

    pagination_class = SkipLimitPagination


class _CrudViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    _V1ViewSet,
):
    """Assets and technicians: CRUD whose writes go through the services (delete: 409 when in
    use). The serializer validates and builds the spec; the service writes the row."""

    def create_object(self, spec):
        raise NotImplementedError

    def update_object(self, pk: str, spec):
        raise NotImplementedError

    def delete_object(self, pk: str) -> None:
        raise NotImplementedError

    def perform_create(self, serializer) -> None:
        serializer.instance = self.create_object(serializer.to_spec())

    def perform_update(self, serializer) -> None:
        serializer.instance = self.update_object(serializer.instance.pk, serializer.to_spec())

    def destroy(self, request, pk=None):
        self.get_object()
        self.delete_object(pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    destroy=extend_schema(responses={204: None, **error_responses(404, 409)}),
)
class AssetViewSet(_CrudViewSet):
    """Assets: equipment and places that plans maintain."""

    queryset = Asset.objects.order_by("code")
    serializer_class = s.AssetSerializer
    object_label = gettext_lazy("Asset")

    def create_object(self, spec):
        return services.asset_create(spec=spec)

    def update_object(self, pk: str, spec):
        return services.asset_update(asset_id=pk, spec=spec)

    def delete_object(self, pk: str) -> None:
        services.asset_delete(asset_id=pk)


@extend_schema_view(
    destroy=extend_schema(responses={204: None, **error_responses(404, 409)}),
)
class TechnicianViewSet(_CrudViewSet):
    """Technicians who can be assigned plans and tasks."""

    queryset = Technician.objects.order_by("name", "id")
    serializer_class = s.TechnicianSerializer
    object_label = gettext_lazy("Technician")

    def create_object(self, spec):
        return services.technician_create(spec=spec)

    def update_object(self, pk: str, spec):
        return services.technician_update(technician_id=pk, spec=spec)

    def delete_object(self, pk: str) -> None:
        services.technician_delete(technician_id=pk)


@extend_schema_view(
    list=extend_schema(summary="List plans"),
    create=extend_schema(
        request=s.PlanInput, responses={201: s.PlanSerializer, **error_responses(400)}
    ),
    retrieve=extend_schema(responses={200: s.PlanSerializer, **error_responses(404)}),
    update=extend_schema(
        request=s.PlanInput, responses={200: s.PlanSerializer, **error_responses(400, 404)}
    ),
    destroy=extend_schema(responses={204: None, **error_responses(404)}),
)
class PlanViewSet(_V1ViewSet):
    """Preventive-maintenance plans and what they generate."""

    permission_model = Plan

    serializer_class = s.PlanSerializer
    filterset_class = PlanFilter
    object_label = gettext_lazy("Plan")

    def get_queryset(self):
        return selectors.plan_queryset().order_by("-created_at", "id")

    def _render(self, plan_id: str, *, status_code: int = 200) -> Response:
        plan = selectors.plan_queryset().get(pk=plan_id)
        return Response(s.PlanSerializer(plan).data, status=status_code)

    def list(self, request):
        return self.page_of(self.filter_queryset(self.get_queryset()), s.PlanSerializer)

    def retrieve(self, request, pk=None):
        return Response(s.PlanSerializer(self.get_object()).data)

    def create(self, request):
        body = s.PlanInput(data=request.data)
        body.is_valid(raise_exception=True)
        plan = services.plan_create(spec=body.to_spec(), now=timezone.now())
        return self._render(plan.pk, status_code=status.HTTP_201_CREATED)

    def update(self, request, pk=None):
        self.get_object()
        body = s.PlanInput(data=request.data)
        body.is_valid(raise_exception=True)
        services.plan_update(plan_id=pk, spec=body.to_spec(), now=timezone.now())
        return self._render(pk)

    def destroy(self, request, pk=None):
        services.plan_delete(plan_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: s.ExecuteOutput, **error_responses(404, 409)})
    @action(detail=True, methods=["post"])
    def execute(self, request, pk=None):
        """Generate a task now (`trigger: "manual"`), and move the schedule on."""
        task = services.plan_execute(plan_id=pk, by=actor_of(request), now=timezone.now())
        body = {
            "task_id": task.pk,
            "task_code": task.code,
            "execution_id": task.execution_id,
            "next_due_at": task.plan.next_due_at,
            "next_counter_threshold": task.plan.next_counter_threshold,
        }
        return Response(s.ExecuteOutput(body).data)

    @extend_schema(responses={200: s.PreviewOutput, **error_responses(404)})
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        """The next task the plan will generate; changes nothing and reserves no code."""
        return Response(s.PreviewOutput(selectors.plan_preview(plan=self.get_object())).data)

    @extend_schema(
        request=s.SkipInput, responses={200: s.SkipOutput, **error_responses(400, 404, 409)}
    )
    @action(detail=True, methods=["post"])
    def skip(self, request, pk=None):
        """Skip the next calendar occurrence with a reason: recorded in the history as a
        skipped execution (no task) and `next_due_at` moves on. 409 for a paused plan, a
        counter plan (no dated occurrence) or a plan with no next occurrence."""
        body = s.SkipInput(data=request.data)
        body.is_valid(raise_exception=True)
        execution = services.plan_skip(
            plan_id=pk,
            reason=body.validated_data["reason"],
            by=actor_of(request),
            now=timezone.now(),
        )
        execution.task_pk = None
        output = {"execution": execution, "next_due_at": execution.plan.next_due_at}
        return Response(s.SkipOutput(output).data)

    @extend_schema(request=None, responses={200: s.PlanSerializer, **error_responses(404, 409)})
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        services.plan_pause(plan_id=pk, now=timezone.now())
        return self._render(pk)

    @extend_schema(request=None, responses={200: s.PlanSerializer, **error_responses(404, 409)})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        services.plan_resume(plan_id=pk, now=timezone.now())
        return self._render(pk)

    @extend_schema(
        request=s.CounterReadingInput,
        responses={201: s.CounterResultOutput, **error_responses(400, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def counter(self, request, pk=None):
        """Record a meter reading; executes the plan once when it reaches the threshold."""
        body = s.CounterReadingInput(data=request.data)
        body.is_valid(raise_exception=True)
        result = services.counter_record(plan_id=pk, now=timezone.now(), **body.validated_data)
        execution = None
        if result.task is not None:
            execution = result.task.execution
            execution.task_pk = result.task.pk
        body = {
            "reading": result.reading,
            "executed": result.executed,
            "execution": execution,
            "task": result.task,
            "next_counter_threshold": result.plan.next_counter_threshold,
        }
        return Response(s.CounterResultOutput(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: TestResultOutput, **error_responses(404, 409)})
    @action(detail=True, methods=["post"], url_path="test-notification")
    def test_notification(self, request, pk=None):
        """Send a `test` through the plan's notification channels now, once each (no retries)."""
        results = services.plan_test_notification(plan_id=pk, now=timezone.now())
        return Response(TestResultOutput({"deliveries": [asdict(r) for r in results]}).data)

    def _history_of(self, pk: str, queryset):
        # A deleted plan's history stays readable under its id.
        if not Plan.objects.filter(pk=pk).exists() and not queryset.exists():
            raise NotFound(gettext("Plan with id '%(pk)s' not found") % {"pk": pk})
        return queryset

    @extend_schema(
        parameters=SKIP_LIMIT_PARAMETERS,
        responses={
            200: skip_limit_page(s.CounterReadingSerializer, "CounterReadingPage"),
            **error_responses(404),
        },
    )
    @action(detail=True, methods=["get"], url_path="counter/history")
    def counter_history(self, request, pk=None):
        """Counter readings, newest first."""
        readings = self._history_of(pk, CounterReading.objects.filter(plan_id=pk))
        return self.page_of(readings, s.CounterReadingSerializer)

    @extend_schema(
        parameters=SKIP_LIMIT_PARAMETERS,
        responses={
            200: skip_limit_page(s.ExecutionSerializer, "ExecutionPage"),
            **error_responses(404),
        },
    )
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        """Executions, newest first; missed occurrences have no task."""
        executions = self._history_of(pk, selectors.execution_queryset().filter(plan_id=pk))
        return self.page_of(executions, s.ExecutionSerializer)


@extend_schema_view(
    list=extend_schema(summary="List tasks"),
    retrieve=extend_schema(responses={200: s.TaskSerializer, **error_responses(404)}),
    partial_update=extend_schema(
        request=s.TaskPatchInput,
        responses={200: s.TaskSerializer, **error_responses(400, 404, 409)},
    ),
)
class TaskViewSet(_V1ViewSet):
    """Tasks (work orders) the plans generated."""

    permission_model = Task

    serializer_class = s.TaskSerializer
    filterset_class = TaskFilter
    object_label = gettext_lazy("Task")

    def get_queryset(self):
        return selectors.task_queryset().order_by("due_at", "code")

    def _render(self, task_id: str) -> Response:
        return Response(s.TaskSerializer(selectors.task_queryset().get(pk=task_id)).data)

    def list(self, request):
        return self.page_of(self.filter_queryset(self.get_queryset()), s.TaskSerializer)

    def retrieve(self, request, pk=None):
        return Response(s.TaskSerializer(self.get_object()).data)

    def partial_update(self, request, pk=None):
        body = s.TaskPatchInput(data=request.data)
        body.is_valid(raise_exception=True)
        services.task_update(
            task_id=pk, changes=body.validated_data, by=actor_of(request), now=timezone.now()
        )
        return self._render(pk)

    @extend_schema(
        request=s.TaskCompleteInput,
        responses={200: s.TaskSerializer, **error_responses(400, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        body = s.TaskCompleteInput(data=request.data)
        body.is_valid(raise_exception=True)
        services.task_complete(
            task_id=pk, by=actor_of(request), now=timezone.now(), **body.validated_data
        )
        return self._render(pk)

    @extend_schema(
        request=s.TaskCancelInput,
        responses={200: s.TaskSerializer, **error_responses(400, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        body = s.TaskCancelInput(data=request.data)
        body.is_valid(raise_exception=True)
        services.task_cancel(task_id=pk, now=timezone.now(), **body.validated_data)
        return self._render(pk)


class CounterReadingsView(ServiceAPIView):
    """Meter readings of many counter plans in one request (gateways)."""

    # A reading changes its plan (as the single route, an action on the plan, does).
    permission_model = Plan
    permission_actions = {"post": "change"}
    serializer_class = s.CounterReadingsBatchInput  # what OPTIONS describes

    @extend_schema(
        operation_id="v1_counter_readings_batch",
        request=s.CounterReadingsBatchInput,
        responses={201: s.CounterReadingsBatchOutput, **error_responses(400, 409)},
    )
    def post(self, request):
        """Record 1 to 1,000 readings, each with exactly the rules of a plan's `counter` route.

        Readings of one plan apply in the order sent. The batch is all or nothing: a refused
        reading (400, or 409 for a lower value without `reset`, a reading older than the
        last, a calendar plan) names `readings[i].field` and nothing of the batch is stored.
        Results come in request order.
        """
        body = s.CounterReadingsBatchInput(data=request.data)
        body.is_valid(raise_exception=True)
        results = services.counter_record_many(readings=body.to_specs(), now=timezone.now())
        rows = [
            {
                "plan_id": result.plan.pk,
                "reading_id": result.reading.pk,
                "executed": result.executed,
                "task_id": result.task.pk if result.task is not None else None,
                "next_counter_threshold": result.next_counter_threshold,
            }
            for result in results
        ]
        return Response(s.CounterReadingsBatchOutput.render(rows), status=status.HTTP_201_CREATED)


class ComplianceView(ServiceAPIView):
    """Compliance metrics over the tasks and occurrences due between two dates."""

    permission_model = Task

    @extend_schema(
        parameters=[s.ComplianceQuery], responses={200: s.ComplianceOutput, **error_responses(400)}
    )
    def get(self, request):
        query = s.ComplianceQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        report = selectors.compliance_report(now=timezone.now(), **query.validated_data)
        return Response(s.ComplianceOutput(report).data)


@extend_schema_view(
    list=extend_schema(summary="List holiday calendars"),
    create=extend_schema(
        request=s.HolidayCalendarSerializer,
        responses={201: s.HolidayCalendarSerializer, **error_responses(400)},
    ),
    retrieve=extend_schema(responses={200: s.HolidayCalendarSerializer, **error_responses(404)}),
    update=extend_schema(
        request=s.HolidayCalendarSerializer,
        responses={200: s.HolidayCalendarSerializer, **error_responses(400, 404)},
    ),
    destroy=extend_schema(responses={204: None, **error_responses(404, 409)}),
)
class HolidayCalendarViewSet(_V1ViewSet):
    """Holiday calendars: dates on which a plan's scheduled tasks are not due (they shift to
    the next working day)."""

    permission_model = HolidayCalendar
    serializer_class = s.HolidayCalendarSerializer
    object_label = gettext_lazy("Holiday calendar")

    def get_queryset(self):
        return HolidayCalendar.objects.prefetch_related(
            Prefetch("dates", queryset=HolidayDate.objects.order_by("date"))
        ).order_by("name", "id")

    def _render(self, calendar_id: str, *, status_code: int = 200) -> Response:
        calendar = self.get_queryset().get(pk=calendar_id)
        return Response(s.HolidayCalendarSerializer(calendar).data, status=status_code)

    def list(self, request):
        return self.page_of(self.get_queryset(), s.HolidayCalendarSerializer)

    def retrieve(self, request, pk=None):
        return Response(s.HolidayCalendarSerializer(self.get_object()).data)

    def create(self, request):
        body = s.HolidayCalendarSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        calendar = calendars.holiday_calendar_create(spec=body.to_spec())
        return self._render(calendar.pk, status_code=status.HTTP_201_CREATED)

    def update(self, request, pk=None):
        self.get_object()
        body = s.HolidayCalendarSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        calendars.holiday_calendar_update(calendar_id=pk, spec=body.to_spec())
        return self._render(pk)

    def destroy(self, request, pk=None):
        calendars.holiday_calendar_delete(calendar_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request={"multipart/form-data": s.HolidayImportInput},
        responses={200: s.HolidayImportOutput, **error_responses(400, 404)},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser],
    )
    def import_ics(self, request, pk=None):
        """Add the all-day events of an uploaded .ics file (`file`, multipart): every day of
        each event, yearly RRULEs expanded over `horizon_years` from this year. Dates already
        in the calendar are kept; timed events and other recurrences are counted as ignored."""
        self.get_object()
        body = s.HolidayImportInput(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data["file"]
        content = upload.read(calendars.IMPORT_MAX_BYTES + 1)
        result = calendars.holiday_calendar_import(
            calendar_id=pk,
            content=content,
            horizon_years=body.validated_data["horizon_years"],
            now=timezone.now(),
        )
        calendar = self.get_queryset().get(pk=pk)
        output = {"calendar": calendar, "imported": result.imported, "ignored": result.ignored}
        return Response(s.HolidayImportOutput(output).data)
