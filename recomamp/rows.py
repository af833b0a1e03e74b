"""Written-out statements for the hottest path (a run request): the ORM spends more CPU
building a query than PostgreSQL spends answering it. These read and write a model's concrete
fields, in order, as the ORM does (its value conversions applied), with no column list kept by
hand. PostgreSQL only: callers keep the ORM for other databases."""

import enum
import functools
from collections.abc import Iterator, Sequence

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, Model


def _db():
    """This thread's connection itself: every attribute read through `django.db.connection`
    (a proxy) is a thread-local lookup, which adds up over a row's fields."""
    return connections[DEFAULT_DB_ALIAS]


@functools.cache
def select_columns(model: type[Model], alias: str) -> str:
    """The model's concrete columns, in field order, for a SELECT reading rows as `alias`."""
    quote = _db().ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields)


@functools.cache
def _row_shape(model: type[Model]) -> tuple[tuple[str, ...], tuple[tuple[int, Field], ...]]:
    """The model's field names in column order, and the fields whose values need converting."""
    fields = model._meta.concrete_fields
    return tuple(f.attname for f in fields), tuple(
        (index, f) for index, f in enumerate(fields) if hasattr(f, "from_db_value")
    )


def from_row(model: type[Model], values: Iterator):
    """A model instance from the next values of a row (its `select_columns`), as the ORM builds
    one: each field's conversion from its database value applied."""
    db = _db()
    names, converted = _row_shape(model)
    own = [next(values) for _ in names]
    for index, field in converted:
        own[index] = field.from_db_value(own[index], None, db)
    return model.from_db(db.alias, names, own)


def insert_statement(
    objs: Sequence[Model], *, fields: Sequence[Field] | None = None, as_saved: bool = False
) -> tuple[str, list]:
    """INSERT ... VALUES of the objects' `fields` (every concrete field by default) as they
    stand, one row each: (sql, params). With `as_saved`, as save() would write new objects
    (`auto_now_add` applied)."""
    db = _db()
    model = type(objs[0])
    fields = fields or model._meta.concrete_fields
    if as_saved:
        for obj in objs:
            for field in fields:
                field.pre_save(obj, True)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = f"{_insert_into(model, tuple(fields))} VALUES {', '.join([row] * len(objs))}"
    return sql, [
        plain(f.get_db_prep_save(getattr(obj, f.attname), db)) for obj in objs for f in fields
    ]


@functools.cache
def _insert_into(model: type[Model], fields: tuple[Field, ...]) -> str:
    quote = _db().ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    return f"INSERT INTO {quote(model._meta.db_table)} ({columns})"


def plain(value):
    """A choice (an enum member, e.g. a TextChoices str) as its plain value: psycopg finds the
    adapter of an unregistered subclass by walking its class hierarchy, again for every
    statement, which costs more than the rest of a value's quoting."""
    return value.value if isinstance(value, enum.Enum) else value


def insert(obj: Model) -> None:
    """INSERT the new object's row as save() would (`auto_now_add` applied; the primary key
    must come from its default), without save(): no signals, no RETURNING."""
    with _db().cursor() as cursor:
        cursor.execute(*insert_statement([obj], as_saved=True))
    saved([obj])


def saved(objs: Sequence[Model]) -> None:
    """Mark new objects written by these statements as saved ones (as save() does)."""
    alias = _db().alias
    for obj in objs:
        obj._state.adding = False
        obj._state.db = alias


def execute_together(statements: Sequence[tuple[str, list]]) -> None:
    """Several statements whose results nobody reads, sent in one round trip (client-side
    parameter binding, Django's default with psycopg 3, sends them as one simple query)."""
    with _db().cursor() as cursor:
        cursor.execute(
            "; ".join(sql for sql, _ in statements), [p for _, ps in statements for p in ps]
        )
