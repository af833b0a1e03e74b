"""Written-out statements for the hottest path (a run request): the ORM spends more CPU
building a query than PostgreSQL spends answering it. These read and write a model's concrete
fields, in order, as the ORM does (its value conversions applied), with no column list kept by
hand. PostgreSQL only: callers keep the ORM for other databases."""

from collections.abc import Iterator

from django.db import connection
from django.db.models import Model


def select_columns(model: type[Model], alias: str) -> str:
    """The model's concrete columns, in field order, for a SELECT reading rows as `alias`."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields)


def from_row(model: type[Model], values: Iterator):
    """A model instance from the next values of a row (its `select_columns`), as the ORM builds
    one: each field's conversion from its database value applied."""
    fields = model._meta.concrete_fields
    own = [next(values) for _ in fields]
    converted = [
        field.from_db_value(value, None, connection) if hasattr(field, "from_db_value") else value
        for field, value in zip(fields, own, strict=True)
    ]
    return model.from_db(connection.alias, [f.attname for f in fields], converted)


def insert(obj: Model) -> None:
    """INSERT the new object's row (its fields' defaults and `auto_now_add` applied), without
    the ORM's save(): no signals, no RETURNING. The primary key must be set by its default."""
    fields = obj._meta.concrete_fields
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(obj._meta.db_table)}"
            f" ({', '.join(quote(f.column) for f in fields)})"
            f" VALUES ({', '.join(['%s'] * len(fields))})",
            [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields],
        )
    obj._state.adding = False
    obj._state.db = connection.alias
