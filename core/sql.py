"""Plain-SQL writes for the hot paths, with the ORM's values: rows the ORM would insert,
without its per-statement query compilation (which cost several times the INSERT itself for
the one or two rows a request writes: the v4 create, the audit records of every write).

`insert(objs)` is `Model.save()` of new objects (or `bulk_create`): each concrete field's
`pre_save` (`auto_now_add`, `auto_now`) and `get_db_prep_save` as the ORM calls them, the
same columns, then `obj.pk` from `RETURNING`, and `_state` as after a save. No signals are
sent (none of the models written this way has a receiver) and no `save()` override runs:
only for models whose `save()` is the ORM's.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models


def _columns(model: type[models.Model]) -> list[models.Field]:
    # The fields an INSERT writes: every concrete one but an auto-generated primary key.
    return [
        field
        for field in model._meta.concrete_fields
        if not (field.primary_key and isinstance(field, models.AutoField))
    ]


def _values(obj: models.Model, fields: Sequence[models.Field]) -> list:
    return [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]


def insert(objs: Sequence[models.Model], *, returning: bool = True) -> None:
    """INSERT `objs` (new instances of one model) in one statement and set their pks;
    `returning=False` skips reading the pks back (rows nobody reads again in this request).
    The caller keeps a statement under the database's parameter limit (SQLite: 32,766)."""
    if not objs:
        return
    model = type(objs[0])
    fields = _columns(model)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES "
    params = [value for obj in objs for value in _values(obj, fields)]
    sql += ", ".join([row] * len(objs))
    pk = model._meta.pk
    with connection.cursor() as cursor:
        if not returning:
            cursor.execute(sql, params)
        else:
            cursor.execute(f"{sql} RETURNING {quote(pk.column)}", params)
            # One row back per row in, in the order given (SQLite and PostgreSQL keep a
            # multi-row VALUES list's order for a plain INSERT; `bulk_create` relies on it too).
            for obj, (value,) in zip(objs, cursor.fetchall(), strict=True):
                setattr(obj, pk.attname, value)
                obj._state.adding = False
                obj._state.db = connection.alias
