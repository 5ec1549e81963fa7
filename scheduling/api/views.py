"""API v4 views: validate, call a service or selector, render the envelope.

Authentication and permissions run first (DRF's `initial`), so a caller without a valid key
never learns whether an id exists. Path ids arrive as strings: anything that is not a
positive integer is the spec's 404, not a generic one.
"""

from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from core.api.pagination import PageLimitPagination
from core.api.renderers import OrjsonRenderer
from core.api.views import ServiceAPIView
from scheduling import selectors, services
from scheduling.api.filters import EventFilter, MaintenanceFilter
from scheduling.api.serializers import (
    MaintenanceEnvelopeSerializer,
    MaintenanceEventCreateSerializer,
    MaintenanceEventEnvelopeSerializer,
    MaintenanceEventRowSerializer,
    MaintenanceEventSerializer,
    MaintenanceEventUpdateSerializer,
    MaintenanceListEnvelopeSerializer,
    MaintenanceOccurrenceSerializer,
    MaintenancePreviewResultSerializer,
    MaintenancePreviewSerializer,
    MaintenanceSerializer,
    MaintenanceWriteSerializer,
    MessageResponseSerializer,
    MonitorEnvelopeSerializer,
    MonitorListEnvelopeSerializer,
    MonitorSerializer,
    MonitorWriteSerializer,
    event_row_dicts,
    event_rows,
    maintenance_body,
    maintenance_changes,
    maintenance_spec,
)
from scheduling.models import Maintenance, MaintenanceEvent, Monitor

MAINTENANCE_ID = OpenApiParameter("maintenance_id", OpenApiTypes.INT, OpenApiParameter.PATH)
EVENT_ID = OpenApiParameter("event_id", OpenApiTypes.INT, OpenApiParameter.PATH)
TAG = OpenApiParameter("tag", OpenApiTypes.STR, OpenApiParameter.PATH)
MAINTENANCES = ["Maintenances"]
EVENTS = ["Maintenance Events"]
MONITORS = ["Monitors"]


class V4View(ServiceAPIView):
    """Fixes one `now` per request: every status in a response is true at that instant.
    Responses are DRF's JSON, encoded by orjson."""

    renderer_classes = [OrjsonRenderer]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.now = timezone.now()

    def get_serializer_context(self) -> dict:
        return {**super().get_serializer_context(), "now": self.now}

    def render(self, serializer_class, instance, *, many: bool = False):
        return serializer_class(instance, many=many, context=self.get_serializer_context()).data


def _message(text: str) -> Response:
    return Response({"message": text})


# --- maintenances ------------------------------------------------------------------------------


class MaintenanceListView(V4View):
    permission_model = Maintenance
    filterset_class = MaintenanceFilter
    serializer_class = MaintenanceSerializer

    def get_queryset(self):
        return selectors.maintenance_list()

    @extend_schema(
        operation_id="listMaintenances",
        summary="List maintenances, newest first",
        tags=MAINTENANCES,
        filters=True,
        responses={200: MaintenanceListEnvelopeSerializer},
    )
    def get(self, request):
        maintenances = self.filter_queryset(self.get_queryset())
        return Response(
            {"maintenances": self.render(MaintenanceSerializer, maintenances, many=True)}
        )

    @extend_schema(
        operation_id="createMaintenance",
        summary="Create a maintenance and generate its events",
        tags=MAINTENANCES,
        request=MaintenanceWriteSerializer,
        responses={201: MaintenanceEnvelopeSerializer},
    )
    def post(self, request):
        spec = maintenance_spec(self.validated(MaintenanceWriteSerializer))
        maintenance = services.maintenance_create(spec=spec, now=self.now)
        # Rendered from what was just written (its links are the spec's, in its order),
        # instead of reading the links back.
        monitors = [(link.monitor.tag, link.impact) for link in spec.monitors]
        return Response(
            {"maintenance": maintenance_body(maintenance, monitors)},
            status=status.HTTP_201_CREATED,
        )


class MaintenanceDetailView(V4View):
    permission_model = Maintenance
    serializer_class = MaintenanceSerializer

    @extend_schema(
        operation_id="getMaintenance",
        summary="Get a maintenance",
        tags=MAINTENANCES,
        parameters=[MAINTENANCE_ID],
        responses={200: MaintenanceEnvelopeSerializer},
    )
    def get(self, request, maintenance_id: str):
        maintenance = selectors.maintenance_get(maintenance_id=maintenance_id)
        return Response({"maintenance": self.render(MaintenanceSerializer, maintenance)})

    @extend_schema(
        operation_id="updateMaintenance",
        summary="Update a maintenance (partial; `monitors` replaces the list)",
        tags=MAINTENANCES,
        parameters=[MAINTENANCE_ID],
        request=MaintenanceWriteSerializer(partial=True),
        responses={200: MaintenanceEnvelopeSerializer},
    )
    def patch(self, request, maintenance_id: str):
        maintenance = selectors.maintenance_get(maintenance_id=maintenance_id, with_monitors=False)
        changes = maintenance_changes(self.validated(MaintenanceWriteSerializer, partial=True))
        services.maintenance_update(maintenance=maintenance, changes=changes, now=self.now)
        maintenance = selectors.maintenance_get(maintenance_id=maintenance_id)
        return Response({"maintenance": self.render(MaintenanceSerializer, maintenance)})

    @extend_schema(
        operation_id="deleteMaintenance",
        summary="Delete a maintenance with its events",
        tags=MAINTENANCES,
        parameters=[MAINTENANCE_ID],
        responses={200: MessageResponseSerializer},
    )
    def delete(self, request, maintenance_id: str):
        maintenance = selectors.maintenance_get(maintenance_id=maintenance_id, with_monitors=False)
        services.maintenance_delete(maintenance=maintenance)
        return _message(
            gettext("Maintenance with id '%(id)s' deleted successfully") % {"id": maintenance_id}
        )


class PreviewView(V4View):
    permission_model = Maintenance
    safe_methods = ("POST",)  # computes occurrences, saves nothing
    serializer_class = MaintenancePreviewSerializer

    @extend_schema(
        operation_id="previewMaintenance",
        summary="The first occurrences of a schedule, without saving anything",
        tags=MAINTENANCES,
        request=MaintenancePreviewSerializer,
        responses={200: MaintenancePreviewResultSerializer},
    )
    def post(self, request):
        preview = services.maintenance_preview(**self.validated(MaintenancePreviewSerializer))
        return Response(
            {
                "occurrences": self.render(
                    MaintenanceOccurrenceSerializer, preview.occurrences, many=True
                ),
                "description": preview.description,
                "exdates": preview.exdates,
            }
        )


# --- events ------------------------------------------------------------------------------------


class EventRowPagination(PageLimitPagination):
    """Kener's paging over plain rows: `total` counts the events alone (no join with the
    maintenances, an index-only count), the page is `selectors.event_row_values`; without
    filters (`queryset` is None) both are `selectors.not_ended_event_rows`, plain SQL."""

    def paginate_queryset(self, queryset, request, view=None):
        self.now = view.now
        return super().paginate_queryset(queryset, request, view)

    def _paginate(self, queryset, offset: int, limit: int) -> list:
        if queryset is None:
            self.total, rows = selectors.not_ended_event_rows(
                now=self.now, offset=offset, limit=limit
            )
            return rows
        self.total = queryset.count()
        return list(selectors.event_row_values(queryset)[offset : offset + limit])


class EventListView(V4View):
    """Every maintenance's events, flat rows; by default those that have not ended yet."""

    permission_model = MaintenanceEvent

    filterset_class = EventFilter
    pagination_class = EventRowPagination
    serializer_class = MaintenanceEventRowSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request
            return MaintenanceEvent.objects.none()
        return selectors.event_list(now=self.now)

    def filtered(self) -> bool:
        """Whether the request names a filter. Without one (a status page polling) the
        FilterSet would build and validate a form only to change nothing (a tenth of the
        request), and the page is the events that have not ended, read as plain SQL."""
        return any(name in self.request.query_params for name in EventFilter.base_filters)

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if not self.request.query_params.get("event_start_date_time"):
            queryset = queryset.filter(end_date_time__gt=self.now)
        return queryset

    @extend_schema(
        operation_id="listMaintenanceEvents",
        summary="List events of all maintenances",
        tags=EVENTS,
        responses={200: MaintenanceEventRowSerializer(many=True)},
    )
    def get(self, request):
        # Three queries whatever the page size: the count, the page, the monitors on it.
        if not self.filtered():
            rows = self.paginate_queryset(None)  # selectors.not_ended_event_rows
            links = selectors.monitor_links_of({row[0] for row in rows})
            return self.get_paginated_response(event_row_dicts(rows, links))
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        links = selectors.monitor_links_of({row["maintenance_id"] for row in page})
        return self.get_paginated_response(event_rows(page, links))


class MaintenanceEventListView(V4View):
    pagination_class = PageLimitPagination
    serializer_class = MaintenanceEventSerializer
    queryset = MaintenanceEvent.objects.none()  # for the schema; get() builds the real one

    @extend_schema(
        operation_id="listMaintenanceEventsByMaintenance",
        summary="List the events of one maintenance, start ascending",
        tags=EVENTS,
        parameters=[MAINTENANCE_ID],
        responses={200: MaintenanceEventSerializer(many=True)},
    )
    def get(self, request, maintenance_id: str):
        maintenance = selectors.maintenance_get(maintenance_id=maintenance_id, with_monitors=False)
        events = selectors.event_list(now=self.now).filter(maintenance=maintenance)
        page = self.paginate_queryset(events)
        return self.get_paginated_response(self.render(MaintenanceEventSerializer, page, many=True))

    @extend_schema(
        operation_id="createMaintenanceEvent",
        summary="Add a one-off extra event (like RDATE) with its own start and end",
        tags=EVENTS,
        parameters=[MAINTENANCE_ID],
        request=MaintenanceEventCreateSerializer,
        responses={201: MaintenanceEventEnvelopeSerializer},
    )
    def post(self, request, maintenance_id: str):
        maintenance = selectors.maintenance_get(maintenance_id=maintenance_id, with_monitors=False)
        data = self.validated(MaintenanceEventCreateSerializer)
        event = services.event_add(maintenance=maintenance, **data, now=self.now)
        return Response(
            {"event": self.render(MaintenanceEventSerializer, event)},
            status=status.HTTP_201_CREATED,
        )


class MaintenanceEventDetailView(V4View):
    permission_model = MaintenanceEvent
    serializer_class = MaintenanceEventSerializer

    @extend_schema(
        operation_id="getMaintenanceEvent",
        summary="Get one event",
        tags=EVENTS,
        parameters=[MAINTENANCE_ID, EVENT_ID],
        responses={200: MaintenanceEventEnvelopeSerializer},
    )
    def get(self, request, maintenance_id: str, event_id: str):
        maintenance = selectors.maintenance_get(maintenance_id=maintenance_id, with_monitors=False)
        event = selectors.event_get(maintenance=maintenance, event_id=event_id)
        return Response({"event": self.render(MaintenanceEventSerializer, event)})

    @extend_schema(
        operation_id="updateMaintenanceEvent",
        summary="Move an event's window, or complete or cancel it",
        description="Either `{start_date_time, end_date_time}`, `{end_date_time}` alone (an "
        "ONGOING event extended or shortened; the new end must be in the future) or "
        "`{status}`.",
        tags=EVENTS,
        parameters=[MAINTENANCE_ID, EVENT_ID],
        request=MaintenanceEventUpdateSerializer,
        responses={200: MaintenanceEventEnvelopeSerializer},
    )
    def patch(self, request, maintenance_id: str, event_id: str):
        maintenance = selectors.maintenance_get(maintenance_id=maintenance_id, with_monitors=False)
        event = selectors.event_get(maintenance=maintenance, event_id=event_id)
        data = self.validated(MaintenanceEventUpdateSerializer)
        if "status" in data:
            event = services.event_transition(event=event, status=data["status"], now=self.now)
        elif "start_date_time" in data:
            event = services.event_update_times(event=event, **data, now=self.now)
        else:
            event = services.event_update_end(
                event=event, end_date_time=data["end_date_time"], now=self.now
            )
        return Response({"event": self.render(MaintenanceEventSerializer, event)})

    @extend_schema(
        operation_id="deleteMaintenanceEvent",
        summary="Delete an event (its occurrence is not generated again)",
        tags=EVENTS,
        parameters=[MAINTENANCE_ID, EVENT_ID],
        responses={200: MessageResponseSerializer},
    )
    def delete(self, request, maintenance_id: str, event_id: str):
        maintenance = selectors.maintenance_get(maintenance_id=maintenance_id, with_monitors=False)
        event = selectors.event_get(maintenance=maintenance, event_id=event_id)
        services.event_delete(event=event)
        return _message(gettext("Event with id '%(id)s' deleted successfully") % {"id": event_id})


# --- monitors ----------------------------------------------------------------------------------


class MonitorListView(V4View):
    permission_model = Monitor
    serializer_class = MonitorSerializer
    conflict_actions = ("post",)  # the tag is taken

    @extend_schema(
        operation_id="listMonitors",
        summary="List monitors by tag",
        tags=MONITORS,
        responses={200: MonitorListEnvelopeSerializer},
    )
    def get(self, request):
        monitors = Monitor.objects.order_by("tag")
        return Response({"monitors": self.render(MonitorSerializer, monitors, many=True)})

    @extend_schema(
        operation_id="createMonitor",
        summary="Create a monitor",
        tags=MONITORS,
        request=MonitorWriteSerializer,
        responses={201: MonitorEnvelopeSerializer},
    )
    def post(self, request):
        monitor = services.monitor_create(**self.validated(MonitorWriteSerializer))
        return Response(
            {"monitor": self.render(MonitorSerializer, monitor)}, status=status.HTTP_201_CREATED
        )


class MonitorDetailView(V4View):
    permission_model = Monitor
    serializer_class = MonitorSerializer
    conflict_actions = ("patch", "delete")  # the new tag is taken; maintenances name it

    @extend_schema(
        operation_id="getMonitor",
        summary="Get a monitor",
        tags=MONITORS,
        parameters=[TAG],
        responses={200: MonitorEnvelopeSerializer},
    )
    def get(self, request, tag: str):
        monitor = selectors.monitor_get(tag=tag)
        return Response({"monitor": self.render(MonitorSerializer, monitor)})

    @extend_schema(
        operation_id="updateMonitor",
        summary="Update a monitor (partial)",
        tags=MONITORS,
        parameters=[TAG],
        request=MonitorWriteSerializer(partial=True),
        responses={200: MonitorEnvelopeSerializer},
    )
    def patch(self, request, tag: str):
        monitor = selectors.monitor_get(tag=tag)
        changes = self.validated(MonitorWriteSerializer, partial=True)
        monitor = services.monitor_update(monitor=monitor, changes=changes)
        return Response({"monitor": self.render(MonitorSerializer, monitor)})

    @extend_schema(
        operation_id="deleteMonitor",
        summary="Delete a monitor that no maintenance names",
        tags=MONITORS,
        parameters=[TAG],
        responses={200: MessageResponseSerializer},
    )
    def delete(self, request, tag: str):
        monitor = selectors.monitor_get(tag=tag)
        services.monitor_delete(monitor=monitor)
        return _message(gettext("Monitor with tag '%(tag)s' deleted successfully") % {"tag": tag})
