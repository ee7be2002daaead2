"""Statements built from a model's own field definitions, for the hot paths that write several
rows in one round trip (the checkout's stages): the same column names, conversions and defaults
the ORM would use, without its one statement per save."""

from __future__ import annotations

from django.db import connections
from django.db.models.fields import AutoFieldMixin


def insert_sql(instance, *, using: str) -> tuple[str, list]:
    """The INSERT of an unsaved `instance` (every concrete field but an automatic key)."""
    connection = connections[using]
    model = type(instance)
    fields = [
        field
        for field in model._meta.concrete_fields
        if not (field.primary_key and isinstance(field, AutoFieldMixin))
    ]
    values = [
        field.get_db_prep_save(field.pre_save(instance, add=True), connection) for field in fields
    ]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    marks = ", ".join(["%s"] * len(fields))
    table = connection.ops.quote_name(model._meta.db_table)
    return f"INSERT INTO {table} ({columns}) VALUES ({marks})", values


def update_sql(model, pk, *, using: str, **changes) -> tuple[str, list]:
    """The UPDATE of row `pk` of `model` that sets `changes` (field names to values)."""
    connection = connections[using]
    fields = [model._meta.get_field(name) for name in changes]
    assignments = ", ".join(f"{connection.ops.quote_name(field.column)} = %s" for field in fields)
    values = [
        field.get_db_prep_save(value, connection)
        for field, value in zip(fields, changes.values(), strict=True)
    ]
    table = connection.ops.quote_name(model._meta.db_table)
    pk_column = connection.ops.quote_name(model._meta.pk.column)
    return f"UPDATE {table} SET {assignments} WHERE {pk_column} = %s", [*values, pk]


def write_together(*writes: tuple[str, list], using: str) -> None:
    """Independent writes (`insert_sql`, `update_sql`) in one statement on PostgreSQL, where
    each data-modifying part of a WITH runs exactly once, whatever the query reads: one round
    trip instead of one per write. Elsewhere they run one after the other. Call inside the
    transaction that needs them."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            for sql, params in writes:
                cursor.execute(sql, params)
            return
        parts = ", ".join(f"write{index} AS ({sql})" for index, (sql, _) in enumerate(writes))
        cursor.execute(
            f"WITH {parts} SELECT 1", [value for _, params in writes for value in params]
        )
