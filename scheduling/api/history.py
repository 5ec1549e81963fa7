"""When monitors are under maintenance: `monitors/{tag}/maintenance` and, for many monitors in
one call, `monitors/maintenance?tags=`.

Without parameters the answer is the spec's (Beyond Kener item 3): under maintenance now, the
worst impact, the ongoing events. `?at=` gives the same shape for another instant; `?from=&to=`
gives the intervals in that range instead (`{"monitor_tag", "intervals"}`), for SLA reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from core.errors import InvalidInput
from scheduling import history, selectors
from scheduling.api.serializers import (
    MAX_UNIX_SECONDS,
    MIN_UNIX_SECONDS,
    SLUG,
    ImpactField,
    MonitorMaintenanceSerializer,
    UnixSecondsOutputField,
)
from scheduling.api.views import MONITORS, TAG, V4View
from scheduling.models import Monitor

MAX_RANGE = timedelta(days=366)
MAX_TAGS = 100


# --- query -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryQuery:
    """`at` (an instant, default now) or `since`/`until` (a range)."""

    at: datetime | None = None
    since: datetime | None = None
    until: datetime | None = None

    @property
    def is_range(self) -> bool:
        return self.since is not None


def _instant(params: Mapping[str, str], name: str) -> datetime | None:
    raw = params.get(name)
    if raw is None:
        return None
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()) or not (
        MIN_UNIX_SECONDS <= int(raw) <= MAX_UNIX_SECONDS
    ):
        raise InvalidInput(
            gettext("%(field)s must be an integer (Unix seconds) after 1970 and before 2200")
            % {"field": name},
            field=name,
        )
    return datetime.fromtimestamp(int(raw), tz=UTC)


def history_query(params: Mapping[str, str]) -> HistoryQuery:
    """Read `at`, `from` and `to`; a 400 naming the parameter for any bad value or mix."""
    at, since, until = _instant(params, "at"), _instant(params, "from"), _instant(params, "to")
    if at is not None and (since is not None or until is not None):
        raise InvalidInput(gettext("at cannot be combined with from and to"), field="at")
    if since is None and until is not None:
        raise InvalidInput(gettext("from is required with to"), field="from")
    if since is not None and until is None:
        raise InvalidInput(gettext("to is required with from"), field="to")
    if since is not None and until is not None:
        if until <= since:
            raise InvalidInput(gettext("to must be after from"), field="to")
        if until - since > MAX_RANGE:
            raise InvalidInput(gettext("to must be at most 366 days after from"), field="to")
    return HistoryQuery(at=at, since=since, until=until)


def monitors_named(raw: str | None) -> list[Monitor]:
    """The monitors `?tags=a,b,c` names, in that order and once each; a 400 naming `tags`."""
    tags = list(dict.fromkeys(tag.strip() for tag in (raw or "").split(",") if tag.strip()))
    if not tags:
        raise InvalidInput(gettext("tags is required: comma-separated monitor tags"), field="tags")
    if len(tags) > MAX_TAGS:
        raise InvalidInput(
            gettext("tags may name at most %(maximum)s monitors") % {"maximum": MAX_TAGS},
            field="tags",
        )
    # A value that is not a slug names no monitor (and never reaches the database).
    found = {m.tag: m for m in Monitor.objects.filter(tag__in=[t for t in tags if SLUG.match(t)])}
    unknown = [tag for tag in tags if tag not in found]
    if unknown:
        raise InvalidInput(
            gettext("Monitor with tag '%(tag)s' not found") % {"tag": unknown[0]}, field="tags"
        )
    return [found[tag] for tag in tags]


# --- output ------------------------------------------------------------------------------------


class MaintenanceIntervalSerializer(serializers.Serializer):
    start_date_time = UnixSecondsOutputField(source="start")
    end_date_time = UnixSecondsOutputField(source="end")
    impact = ImpactField(help_text="The worst impact of the events covering the interval.")
    event_ids = serializers.ListField(child=serializers.IntegerField())


class MonitorMaintenanceHistorySerializer(serializers.Serializer):
    monitor_tag = serializers.CharField()
    intervals = MaintenanceIntervalSerializer(
        many=True,
        help_text="Start ascending, clipped to [from, to); overlapping or touching events "
        "merged, split where the worst impact changes.",
    )


MONITOR_MAINTENANCE = PolymorphicProxySerializer(
    component_name="MonitorMaintenanceAnswer",
    serializers=[MonitorMaintenanceSerializer, MonitorMaintenanceHistorySerializer],
    resource_type_field_name=None,
)


class MonitorsMaintenanceSerializer(serializers.Serializer):
    monitors = PolymorphicProxySerializer(
        component_name="MonitorMaintenanceAnswer",
        serializers=[MonitorMaintenanceSerializer, MonitorMaintenanceHistorySerializer],
        resource_type_field_name=None,
        many=True,
    )


HISTORY_PARAMETERS = [
    OpenApiParameter(
        "at",
        OpenApiTypes.INT,
        description="Answer for this instant (Unix seconds) instead of now; not with from/to.",
    ),
    OpenApiParameter(
        "from",
        OpenApiTypes.INT,
        description="With `to` (Unix seconds, at most 366 days apart): answer "
        '`{"monitor_tag", "intervals"}`, the intervals under maintenance in [from, to).',
    ),
    OpenApiParameter("to", OpenApiTypes.INT, description="End of the range (exclusive)."),
]
HISTORY_DESCRIPTION = (
    "Without parameters: whether the monitor is under maintenance now (the worst impact of its "
    "ongoing events wins: DOWN > MAINTENANCE > DEGRADED > UP). `at`: the same for another "
    'instant. `from` and `to`: `{"monitor_tag", "intervals": [{"start_date_time", '
    '"end_date_time", "impact", "event_ids"}]}`, the intervals the monitor was or will be '
    "under maintenance in the range, clipped to it, overlapping events merged and split where "
    "the worst impact changes. Events cancelled before they started do not count; one stopped "
    "while under way counts until it stopped."
)


class HistoryView(V4View):
    permission_model = Monitor

    def answer(self, monitors: list[Monitor]) -> list[dict]:
        query = history_query(self.request.query_params)
        if query.is_range:
            intervals = history.monitors_maintenance_intervals(
                monitors=monitors, since=query.since, until=query.until
            )
            results = [{"monitor_tag": tag, "intervals": found} for tag, found in intervals.items()]
            return self.render(MonitorMaintenanceHistorySerializer, results, many=True)
        statuses = history.monitors_under_maintenance_at(
            monitors=monitors, at=query.at or self.now, now=self.now
        )
        return self.render(MonitorMaintenanceSerializer, statuses, many=True)


class MonitorMaintenanceView(HistoryView):
    serializer_class = MonitorMaintenanceSerializer

    @extend_schema(
        operation_id="getMonitorMaintenance",
        summary="Whether a monitor is under maintenance (now, at an instant, or over a range)",
        description=HISTORY_DESCRIPTION,
        tags=MONITORS,
        parameters=[TAG, *HISTORY_PARAMETERS],
        responses={200: MONITOR_MAINTENANCE},
    )
    def get(self, request, tag: str):
        monitor = selectors.monitor_get(tag=tag)
        return Response(self.answer([monitor])[0])


class MonitorsMaintenanceView(HistoryView):
    serializer_class = MonitorsMaintenanceSerializer

    @extend_schema(
        operation_id="getMonitorsMaintenance",
        summary="The same for many monitors in one call",
        description=HISTORY_DESCRIPTION
        + f" `tags`: up to {MAX_TAGS} comma-separated tags; answers in that order.",
        tags=MONITORS,
        parameters=[
            OpenApiParameter(
                "tags", OpenApiTypes.STR, required=True, description="Comma-separated tags."
            ),
            *HISTORY_PARAMETERS,
        ],
        responses={200: MonitorsMaintenanceSerializer},
    )
    def get(self, request):
        monitors = monitors_named(request.query_params.get("tags"))
        return Response({"monitors": self.answer(monitors)})
