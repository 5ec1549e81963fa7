"""Typed inputs of the scheduling services, built alike by the API serializers and the admin.

A create takes a whole `MaintenanceSpec`; an update takes `MaintenanceChanges`, where a field
left `UNSET` keeps its stored value (so two partial updates of different fields, each applied
to the locked row, never undo one another). `Schedule` is the part of a maintenance whose
change replaces the events that have not started.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from enum import Enum
from typing import Any

from scheduling.models import Impact, Maintenance, Monitor


class _Unset(Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


# Not None: `description` may be set to None (JSON null).
UNSET = _Unset.UNSET


@dataclass(frozen=True)
class MonitorLink:
    """One entry of a maintenance's `monitors`: a resolved monitor and its impact."""

    monitor: Monitor
    impact: str = Impact.MAINTENANCE


@dataclass(frozen=True)
class Schedule:
    """When a maintenance happens. Saving a different one replaces the events that have not
    started (see `scheduling.selectors.events_replaced_by`)."""

    start_date_time: datetime
    rrule: str
    duration_seconds: int
    timezone: str = "UTC"

    @classmethod
    def of(cls, maintenance: Maintenance) -> Schedule:
        """The schedule a maintenance has (as stored, or as its attributes say now)."""
        return cls(**{name: getattr(maintenance, name) for name in SCHEDULE_FIELDS})


SCHEDULE_FIELDS = tuple(field.name for field in fields(Schedule))


@dataclass(frozen=True)
class MaintenanceSpec:
    """A new maintenance: its text, status, schedule and monitors (in the client's order)."""

    title: str
    start_date_time: datetime
    rrule: str
    duration_seconds: int
    description: str | None = None
    timezone: str = "UTC"
    status: str = Maintenance.Status.ACTIVE
    monitors: Sequence[MonitorLink] = ()
    # Occurrence starts to skip (EXDATE), aware datetimes; each must be one of the rule's.
    exdates: Sequence[datetime] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "monitors", tuple(self.monitors))
        object.__setattr__(self, "exdates", tuple(self.exdates))


@dataclass(frozen=True)
class MaintenanceChanges:
    """A partial update: only the fields given change; `monitors`, when given, replaces the
    whole list."""

    title: str | _Unset = UNSET
    description: str | _Unset | None = UNSET
    status: str | _Unset = UNSET
    start_date_time: datetime | _Unset = UNSET
    rrule: str | _Unset = UNSET
    duration_seconds: int | _Unset = UNSET
    timezone: str | _Unset = UNSET
    monitors: Sequence[MonitorLink] | _Unset = UNSET
    # Replaces the whole list, like `monitors`.
    exdates: Sequence[datetime] | _Unset = UNSET

    def __post_init__(self) -> None:
        for name in ("monitors", "exdates"):
            if getattr(self, name) is not UNSET:
                object.__setattr__(self, name, tuple(getattr(self, name)))

    def given(self) -> dict[str, Any]:
        """The maintenance's own columns that change, by name (`monitors` and `exdates`,
        which need more than a column write, aside)."""
        return {
            field.name: getattr(self, field.name)
            for field in fields(self)
            if field.name not in ("monitors", "exdates") and getattr(self, field.name) is not UNSET
        }
