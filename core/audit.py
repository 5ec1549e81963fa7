"""The audit trail: who created, changed or deleted which object, when, and what changed.

Every service write of an audited object calls one function of this module inside the
transaction of the change, so the record commits or rolls back with it:

    before = audit.snapshot(plan)             # before changing the row
    ...
    audit.record_updated(plan, before=before)  # after saving it

`record_created`, `record_updated` and `record_deleted` take one object; `record_bulk_created`,
`record_bulk_updated` and `record_bulk_deleted` many, in one INSERT of records; `update` and
`delete` are audited versions of ``queryset.update()`` / ``queryset.delete()``. Rows generated
by the thousand (a window's events) are recorded on their parent by `record_generated`: one
record per parent and generation, naming the count, the ids and the span. Records are
rows of `core.models.AuditRecord` (django-auditlog's log entry).

Who acts comes from one context variable, set by each entry point: `AuditActorMiddleware`
(the session user in the admin, the API key or staff user on the API), `acting_as` around a
periodic job (``system:<job>``), a Celery task or a management command (`SystemCommand`).
Outside all of them the actor is ``system``.

What is recorded: the concrete fields of the object (foreign keys by id), except automatic
timestamps and the bookkeeping fields listed in `AUDITED` that only mirror rows which are
records themselves (counter readings, deliveries). Secrets are never stored: a secret field is
recorded as ``***`` (so a change still shows), and a channel target keeps only its scheme and
host. Values are JSON: instants as ISO 8601 UTC strings, decimals as strings.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand
from django.db import connection, models, transaction
from django.utils import timezone

from core import sql

logger = logging.getLogger(__name__)

SECRET = "***"
CREATE, UPDATE, DELETE = 0, 1, 2  # django-auditlog's LogEntry.Action values
ACTION_NAMES = {CREATE: "create", UPDATE: "update", DELETE: "delete"}
INSERT_BATCH = 1000


# --- the actor ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who acts: ``name`` is what records show and the API filters on."""

    name: str
    user_id: int | None = None
    api_key_id: str | None = None
    remote_addr: str | None = None


SYSTEM = Actor("system")
_actor: ContextVar[Actor | Callable[[], Actor] | None] = ContextVar("audit_actor", default=None)


def system_actor(job: str) -> Actor:
    """``system:<job>``; underscores become dashes (``execute_due_plans`` → the beat name)."""
    return Actor(f"system:{job.replace('_', '-')}")


def current_actor() -> Actor:
    value = _actor.get()
    if value is None:
        return SYSTEM
    return value() if callable(value) else value


@contextmanager
def acting_as(actor: Actor | Callable[[], Actor]):
    """Everything recorded inside the block names ``actor`` (the innermost block wins)."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def request_actor(request) -> Actor:
    """The caller of a request: its API key, else its logged-in user, else ``system``.

    DRF puts the authenticated caller on the Django request too (an `ApiKeyPrincipal` for a
    key), so this reads it the same way in the admin and on the API.
    """
    user = getattr(request, "user", None)
    remote_addr = request.META.get("REMOTE_ADDR") or None
    key_id = getattr(user, "key_id", None)
    if key_id is not None:
        return Actor(user.actor, api_key_id=key_id, remote_addr=remote_addr)
    if user is not None and getattr(user, "is_authenticated", False):
        return Actor(f"user:{user.get_username()}", user_id=user.pk, remote_addr=remote_addr)
    return Actor(SYSTEM.name, remote_addr=remote_addr)


class AuditActorMiddleware:
    """Names the request's caller in the records it writes.

    Resolved when a record is written, not when the request arrives: the API authenticates
    inside the view, after every middleware has run.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with acting_as(lambda: request_actor(request)):
            return self.get_response(request)


class SystemCommand(BaseCommand):
    """Base of our management commands: what one writes is recorded as ``system:<command>``."""

    def execute(self, *args, **options):
        command = type(self).__module__.rsplit(".", 1)[-1]
        with acting_as(system_actor(command)):
            return super().execute(*args, **options)


# --- what is audited ------------------------------------------------------------------------


def mask_target(value: str) -> str:
    """A channel target without its credentials: an email address as is; a URL's scheme and
    host for HTTP-like schemes, only the scheme for the others (Apprise keeps tokens where a
    host would be: ``tgram://<bot token>/<chat>``)."""
    if "://" not in value:
        return value
    scheme = value.split("://", 1)[0].lower()
    if scheme not in {"http", "https", "json", "jsons", "xml", "xmls", "form", "forms"}:
        return f"{scheme}://{SECRET}"
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return f"{scheme}://{SECRET}"
    rest = parts.username or parts.password or parts.path.strip("/") or parts.query
    return f"{scheme}://{host}{port}" + (f"/{SECRET}" if rest or parts.fragment else "")


@dataclass(frozen=True)
class Audited:
    """How one model is audited: its API name and the fields recorded differently."""

    object_type: str
    # Bookkeeping that only mirrors rows recorded elsewhere (readings, deliveries): not audited.
    ignored: frozenset[str] = frozenset()
    secrets: frozenset[str] = frozenset()  # recorded as "***"
    masked: Mapping[str, Callable[[str], str]] = field(default_factory=dict)
    key_field: str | None = None  # the field records name the object by (default: its pk)


# Model label → how it is audited. The object types are the API's names.
AUDITED: dict[str, Audited] = {
    "maintenance.Plan": Audited(
        "plan", ignored=frozenset({"counter_value", "counter_recorded_at", "next_run_at"})
    ),
    "maintenance.Task": Audited("task", ignored=frozenset({"overdue_notified_at"})),
    "maintenance.Asset": Audited("asset"),
    "maintenance.Technician": Audited("technician"),
    "maintenance.ReportSchedule": Audited(
        "report_schedule",
        ignored=frozenset({"next_period_start", "next_period_end", "last_report_at"}),
    ),
    "maintenance.Report": Audited("report", ignored=frozenset({"data"})),
    "maintenance.Execution": Audited("execution"),
    "maintenance.HolidayCalendar": Audited("holiday_calendar"),
    "scheduling.Maintenance": Audited("maintenance"),
    "scheduling.MaintenanceEvent": Audited("event"),
    "scheduling.Monitor": Audited("monitor"),
    "notifications.Channel": Audited(
        "channel",
        ignored=frozenset({"last_error"}),
        secrets=frozenset({"secret"}),
        masked={"target": mask_target},
    ),
    # An API key's pk is its prefix and hash together: records name it by its prefix alone.
    "core.ApiKey": Audited("api_key", secrets=frozenset({"id", "hashed_key"}), key_field="prefix"),
}
OBJECT_TYPES: dict[str, str] = {config.object_type: label for label, config in AUDITED.items()}


def _config(model: type[models.Model]) -> Audited:
    try:
        return AUDITED[model._meta.label]
    except KeyError:
        raise ValueError(f"{model._meta.label} is not audited (core.audit.AUDITED)") from None


def content_type_for(object_type: str) -> ContentType:
    return ContentType.objects.get_for_model(apps.get_model(OBJECT_TYPES[object_type]))


def object_type_of(content_type_id: int) -> str:
    model = ContentType.objects.get_for_id(content_type_id).model_class()
    return AUDITED[model._meta.label].object_type if model is not None else ""


@functools.cache
def _fields(model: type[models.Model]) -> list[models.Field]:
    # Read for every snapshot (bulk writers take hundreds a batch): worked out once per model.
    config = _config(model)
    return [
        f
        for f in model._meta.concrete_fields
        if f.name not in config.ignored and not getattr(f, "auto_now", False)
    ]


# Values kept as they are: most of a snapshot, so they skip the checks below.
_PLAIN = frozenset({str, int, float, bool, type(None)})


@functools.cache
def _names(model: type[models.Model]) -> tuple[str, ...]:
    """The attnames `_fields` audits, computed once a model: every snapshot reads them."""
    return tuple(f.attname for f in _fields(model))


def _json(value: Any) -> Any:
    if type(value) in _PLAIN:
        return value
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = value.astimezone(UTC)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [_json(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    return value


def _shown(config: Audited, name: str, value: Any) -> Any:
    """The value as the record keeps it: secrets masked."""
    if value in (None, ""):
        return value
    if name in config.secrets:
        return SECRET
    if name in config.masked:
        return config.masked[name](value)
    return value


def snapshot(obj: models.Model, **extra: Any) -> dict[str, Any]:
    """The audited values of ``obj`` now (``{attname: value}``), plus ``extra`` values that are
    not columns of its own (a plan's ``asset_ids``). Take it before changing the row.

    Fields deferred by ``.only()`` are left out rather than loaded one query each: a writer
    that loads only what it changes (the counter readings' usage tasks) is audited on those."""
    # A loaded field's value is in the instance's __dict__; a deferred one is not.
    loaded = obj.__dict__
    values = {name: _json(loaded[name]) for name in _names(type(obj)) if name in loaded}
    values.update({name: _json(value) for name, value in extra.items()})
    return values


def _diff(config: Audited, before: Mapping, after: Mapping) -> dict[str, list]:
    changes = {}
    for name in dict.fromkeys([*before, *after]):
        old, new = before.get(name), after.get(name)
        if old != new:
            changes[name] = [_shown(config, name, old), _shown(config, name, new)]
    return changes


# --- writing records ------------------------------------------------------------------------


def _record(
    model: type[models.Model],
    *,
    pk: Any,
    key: Any,
    repr_: str,
    action: int,
    changes: dict,
    actor: Actor,
    now: datetime,
):
    """One record as `_insert` writes it: a row of plain values in `_COLUMNS` order."""
    additional = {"api_key_id": actor.api_key_id} if actor.api_key_id else None
    return (
        ContentType.objects.get_for_model(model).pk,
        str(key),
        pk if isinstance(pk, int) else None,
        repr_[:200],
        action,
        changes,
        actor.user_id,
        actor.name,
        actor.remote_addr,
        additional,
        now,
    )


def _updated(model, pk, changes: dict, *, actor: Actor, now: datetime, key=None, repr_=None):
    """The record of one UPDATE of row ``pk`` (named by its pk unless ``key``/``repr_``)."""
    return _record(
        model,
        pk=pk,
        key=pk if key is None else key,
        repr_=str(pk) if repr_ is None else repr_,
        action=UPDATE,
        changes=changes,
        actor=actor,
        now=now,
    )


def _key(config: Audited, obj_or_values, pk: Any) -> Any:
    if config.key_field is None:
        return pk
    if isinstance(obj_or_values, Mapping):
        return obj_or_values[config.key_field]
    return getattr(obj_or_values, config.key_field)


# The columns a record writes (`_record`'s row); the others keep the ORM's defaults: an empty
# ``changes_text`` and null ``serialized_data``, ``remote_port``, ``actor_email`` and ``cid``.
_COLUMNS = (
    "content_type_id",
    "object_pk",
    "object_id",
    "object_repr",
    "action",
    "changes",
    "actor_id",
    "actor_name",
    "remote_addr",
    "additional_data",
    "timestamp",
)
_JSON_COLUMNS = frozenset({"changes", "additional_data"})
_ARRAY_TYPES = {
    "content_type_id": "integer[]",
    "object_pk": "varchar[]",
    "object_id": "bigint[]",
    "object_repr": "text[]",
    "action": "smallint[]",
    "changes": "jsonb[]",
    "actor_id": "integer[]",
    "actor_name": "varchar[]",
    "remote_addr": "inet[]",
    "additional_data": "jsonb[]",
    "timestamp": "timestamptz[]",
}


@functools.cache
def _unnest_sql() -> str:
    from core.models import AuditRecord

    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in (*_COLUMNS, "changes_text"))
    arrays = ", ".join(f"%s::{_ARRAY_TYPES[name]}" for name in _COLUMNS)
    return (
        f"INSERT INTO {quote(AuditRecord._meta.db_table)} ({columns}) "
        f"SELECT *, '' FROM unnest({arrays})"
    )


def _insert(records: list[tuple]) -> None:
    """Write `_record` rows, at most `INSERT_BATCH` a statement. Nobody reads a record's id
    back in the transaction that writes it.

    On PostgreSQL one ``INSERT … SELECT FROM unnest(…)`` of plain values, one array a column
    (JSON as text): every write of every request pays for its record, and the ORM's
    per-value preparation (``get_db_prep_save``, a JSON adapter per value) cost more than
    the statement. Elsewhere the same values through `core.sql.insert` (the ORM's values)."""
    if not records:
        return
    if connection.vendor != "postgresql":
        _insert_models(records)
        return
    json_at = [index for index, name in enumerate(_COLUMNS) if name in _JSON_COLUMNS]
    with connection.cursor() as cursor:
        for start in range(0, len(records), INSERT_BATCH):
            chunk = records[start : start + INSERT_BATCH]
            columns = [list(column) for column in zip(*chunk, strict=True)]
            for index in json_at:
                columns[index] = [None if v is None else json.dumps(v) for v in columns[index]]
            cursor.execute(_unnest_sql(), columns)


def _insert_models(records: list[tuple]) -> None:
    from core.models import AuditRecord

    objs = [AuditRecord(**dict(zip(_COLUMNS, row, strict=True))) for row in records]
    for start in range(0, len(objs), INSERT_BATCH):
        sql.insert(objs[start : start + INSERT_BATCH], returning=False)


def _write(obj: models.Model, action: int, changes: dict) -> None:
    config = _config(type(obj))
    _insert(
        [
            _record(
                type(obj),
                pk=obj.pk,
                key=_key(config, obj, obj.pk),
                repr_=str(obj),
                action=action,
                changes=changes,
                actor=current_actor(),
                now=timezone.now(),
            )
        ]
    )


def record_created(obj: models.Model, **extra: Any) -> None:
    """Record that ``obj`` (saved) was created, with every audited value (before: null)."""
    config = _config(type(obj))
    _write(obj, CREATE, _diff(config, {}, snapshot(obj, **extra)))


def record_updated(obj: models.Model, *, before: Mapping[str, Any], **extra: Any) -> None:
    """Record what changed on ``obj`` (saved) since the `snapshot` ``before``; nothing when
    no audited value changed. ``extra`` are the non-column values ``before`` was taken with."""
    config = _config(type(obj))
    changes = _diff(config, before, snapshot(obj, **extra))
    if changes:
        _write(obj, UPDATE, changes)


def record_deleted(obj: models.Model, *, before: Mapping[str, Any] | None = None) -> None:
    """Record that ``obj`` was deleted, with its last values (from ``before`` if given)."""
    config = _config(type(obj))
    _write(obj, DELETE, _diff(config, before or snapshot(obj), {}))


def record_bulk_created(
    model: type[models.Model],
    objs: Sequence[models.Model],
    *,
    key: Sequence[str] = (),
    extra_of: Callable[[models.Model], Mapping[str, Any]] | None = None,
) -> None:
    """Record the creation of ``objs`` (inserted by ``bulk_create``) in one INSERT;
    ``extra_of(obj)`` gives an object's values that are not its own columns (a task's
    ``asset_ids``).

    ``bulk_create(ignore_conflicts=True)`` leaves the objects without a pk: name the unique
    fields in ``key`` and the pks are read back in one query. Call it where no concurrent
    writer can insert the same keys (under the lock that made them missing), or a row another
    writer inserted would be recorded as created by this one.
    """
    objs = list(objs)
    if not objs:
        return
    pks = _pks_by_key(model, objs, key) if any(o.pk is None for o in objs) else None
    config = _config(model)
    names = _names(model)
    actor, now = current_actor(), timezone.now()
    records = []
    for obj in objs:
        pk = obj.pk if pks is None else pks.get(tuple(getattr(obj, f) for f in key))
        if pk is None:
            continue  # not inserted (a conflict): nothing was created
        obj.pk = pk
        records.append(
            _record(
                model,
                pk=pk,
                key=_key(config, obj, pk),
                repr_=str(obj),
                action=CREATE,
                changes=_created_changes(config, names, obj, extra_of(obj) if extra_of else {}),
                actor=actor,
                now=now,
            )
        )
    _insert(records)


def _created_changes(
    config: Audited, names: Sequence[str], obj: models.Model, extra: Mapping[str, Any]
) -> dict[str, list]:
    """``_diff(config, {}, snapshot(obj, **extra))``, read straight from the instance."""
    loaded = obj.__dict__
    changes = {}
    for name in (*(n for n in names if n in loaded), *(n for n in extra if n not in names)):
        value = _json(extra[name] if name in extra else loaded[name])
        if value is not None:
            changes[name] = [None, _shown(config, name, value)]
    return changes


@dataclass(frozen=True)
class Generated:
    """Rows inserted in bulk for one parent object in one statement (a window's new events):
    their ids and the span they cover (the first and the last event's start)."""

    parent: models.Model
    ids: Sequence[int]
    first: Any
    last: Any


def _id_ranges(ids: Iterable[int]) -> list[list[int]]:
    """``[[first, last], ...]`` of the runs of consecutive ids (one run when one statement
    inserted them all, so the record stays small whatever the count)."""
    ranges: list[list[int]] = []
    for pk in sorted(ids):
        if ranges and pk == ranges[-1][1] + 1:
            ranges[-1][1] = pk
        else:
            ranges.append([pk, pk])
    return ranges


def record_generated(name: str, batches: Iterable[Generated]) -> None:
    """Record rows that a service generated in bulk for their parents (a window's events)
    as one ``update`` record per parent, under ``changes[name]``: before null, after
    ``{"count", "ids": [[first, last], ...], "first", "last"}``. One INSERT for all parents.

    Generation writes thousands of rows a pass (every window's next 90 days): one record per
    row would cost more than the rows themselves. The parent's record says who generated how
    many, which ids and which span, and is found with the parent's history; each generated
    row's later changes and deletion are recorded on the row itself as usual.
    """
    actor, now = current_actor(), timezone.now()
    records = []
    for batch in batches:
        if not batch.ids:
            continue
        parent = batch.parent
        config = _config(type(parent))
        summary = {
            "count": len(batch.ids),
            "ids": _id_ranges(batch.ids),
            "first": _json(batch.first),
            "last": _json(batch.last),
        }
        records.append(
            _updated(
                type(parent),
                parent.pk,
                {name: [None, summary]},
                actor=actor,
                now=now,
                key=_key(config, parent, parent.pk),
                repr_=_repr(parent, parent.pk),
            )
        )
    _insert(records)


def _pks_by_key(model, objs, key: Sequence[str]) -> dict[tuple, Any]:
    if not key:
        raise ValueError(f"{model._meta.label} objects have no pk: name their unique key")
    first, *others = key
    rows = model._default_manager.filter(**{f"{first}__in": {getattr(o, first) for o in objs}})
    for name in others:
        values = [getattr(o, name) for o in objs]
        rows = rows.filter(**{f"{name}__range": (min(values), max(values))})
    return {tuple(row[1:]): row[0] for row in rows.values_list("pk", *key)}


def record_bulk_updated(
    model: type[models.Model], pks: Iterable[Any], changes: Mapping[str, Sequence[Any]]
) -> None:
    """Record one set-based change of the rows ``pks``: ``changes`` is
    ``{field: (before, after)}``, the same for every row (a compare-and-set UPDATE)."""
    config = _config(model)
    shown = {
        name: [_shown(config, name, _json(old)), _shown(config, name, _json(new))]
        for name, (old, new) in changes.items()
    }
    actor, now = current_actor(), timezone.now()
    _insert([_updated(model, pk, shown, actor=actor, now=now) for pk in pks])


def _deleted_records(queryset: models.QuerySet) -> list:
    model = queryset.model
    config = _config(model)
    fields = _fields(model)
    names = [f.attname for f in fields]
    if config.key_field and config.key_field not in names:
        names.append(config.key_field)
    actor, now = current_actor(), timezone.now()
    records = []
    for values in queryset.order_by().values("pk", *names):
        pk = values.pop("pk")
        before = {f.attname: _json(values[f.attname]) for f in fields}
        records.append(
            _record(
                model,
                pk=pk,
                key=_key(config, values, pk),
                repr_=_repr(model(**values), pk),
                action=DELETE,
                changes=_diff(config, before, {}),
                actor=actor,
                now=now,
            )
        )
    return records


def record_bulk_deleted(queryset: models.QuerySet) -> int:
    """Record the deletion of the rows of ``queryset`` (read now: call it before they go, e.g.
    before the delete that cascades to them); returns how many. One SELECT and one INSERT."""
    records = _deleted_records(queryset)
    _insert(records)
    return len(records)


def _repr(obj: models.Model, pk: Any) -> str:
    if obj.get_deferred_fields():
        return str(pk)  # its __str__ would load the deferred fields one query each
    try:
        return str(obj)
    except Exception:  # noqa: BLE001 - a __str__ that needs a related row: the pk will do
        return str(pk)


def update(queryset: models.QuerySet, **values: Any) -> int:
    """``queryset.update(**values)``, recording each row changed with its before and after.

    Set-based: the rows are locked and read in one query (and nothing more when none
    matches), updated by pk in one, read back in one when a value is an expression (``F()``),
    and recorded in one INSERT.
    """
    model = queryset.model
    names = [model._meta.get_field(name).attname for name in values]
    # No savepoint: this runs on hot paths (every counter reading), and nothing here is
    # expected to fail on its own; a failure fails the caller's transaction, as it should.
    with transaction.atomic(using=queryset.db, savepoint=False):
        rows = list(queryset.select_for_update().order_by().values_list("pk", *names))
        if not rows:
            return 0
        pks = [row[0] for row in rows]
        count = model._default_manager.filter(pk__in=pks).update(**values)
        if any(hasattr(value, "resolve_expression") for value in values.values()):
            after = {
                row[0]: row[1:]
                for row in model._default_manager.filter(pk__in=pks).values_list("pk", *names)
            }
        else:
            plain = tuple(values.values())
            after = dict.fromkeys(pks, plain)
        config = _config(model)
        actor, now = current_actor(), timezone.now()
        records = []
        for pk, *old in rows:
            before = {name: _json(value) for name, value in zip(names, old, strict=True)}
            new = {name: _json(value) for name, value in zip(names, after[pk], strict=True)}
            changes = _diff(config, before, new)
            if changes:
                records.append(_updated(model, pk, changes, actor=actor, now=now))
        _insert(records)
    return count


def delete(queryset: models.QuerySet) -> int:
    """``queryset.delete()``, recording each row deleted with its last values; returns how
    many rows of the queryset's model went. A refused delete (``ProtectedError``) records
    nothing."""
    with transaction.atomic(using=queryset.db):
        records = _deleted_records(queryset)
        if records:
            queryset.delete()
            _insert(records)
    return len(records)


_MISSING = object()  # a deferred field's value in a `Tracked` snapshot
_IMMUTABLE = (str, int, float, Decimal, datetime, date, time, UUID)


def _kept(value: Any) -> Any:
    # A snapshot keeps a value as is unless it can change in place (a JSON list or dict):
    # that one it copies, as `_json` does.
    return value if value is None or isinstance(value, _IMMUTABLE) else _json(value)


class Tracked:
    """Snapshots of objects about to change; `record` records what changed on each.

    Set-based: a snapshot is the plain values of the audited fields (read once from each
    instance's ``__dict__``, a deferred field left out as `snapshot` does), and `record`
    compares them to the values now, converting to JSON only those that are not the very
    same object, so bulk writers pay for what changed, not for every field of every row.
    The changes are those `_diff` of two `snapshot` calls give."""

    def __init__(self, objs: Iterable[models.Model | None]):
        self._befores = []
        for obj in objs:
            if obj is not None:
                loaded = obj.__dict__
                before = [_kept(loaded.get(name, _MISSING)) for name in _names(type(obj))]
                self._befores.append((obj, before))

    def record(self) -> None:
        """One INSERT for all of them (bulk writers track hundreds of rows)."""
        actor, now = current_actor(), timezone.now()
        records = []
        for obj, before in self._befores:
            config = _config(type(obj))
            loaded = obj.__dict__
            changes = {}
            for name, old in zip(_names(type(obj)), before, strict=True):
                new = loaded.get(name, _MISSING)
                if new is old:
                    continue
                old = None if old is _MISSING else _json(old)
                new = None if new is _MISSING else _json(new)
                if old != new:
                    changes[name] = [_shown(config, name, old), _shown(config, name, new)]
            if changes:
                records.append(
                    _updated(
                        type(obj),
                        obj.pk,
                        changes,
                        actor=actor,
                        now=now,
                        key=_key(config, obj, obj.pk),
                        repr_=_repr(obj, obj.pk),
                    )
                )
        _insert(records)


def track(*objs: models.Model | None) -> Tracked:
    """``changes = audit.track(task, plan)`` before changing them (None is skipped), then
    ``changes.record()`` once they are saved."""
    return Tracked(objs)


def record_saved(obj: models.Model, *, before: Mapping[str, Any] | None) -> None:
    """`record_created` when ``before`` is None (a new row), else `record_updated`."""
    if before is None:
        record_created(obj)
    else:
        record_updated(obj, before=before)


# --- reading and retention ------------------------------------------------------------------


def records_for(obj: models.Model) -> models.QuerySet:
    """The records of one object, newest first."""
    from core.models import AuditRecord

    config = _config(type(obj))
    return AuditRecord.objects.filter(
        content_type=ContentType.objects.get_for_model(type(obj)),
        object_pk=str(_key(config, obj, obj.pk)),
    ).order_by("-timestamp", "-id")
