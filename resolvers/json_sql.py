"""A compiled node written as JSON by PostgreSQL (``ReadPlan.node``), from a read's columns.

The schema's compiler describes the node's selection as a ``JsonObject``: the response keys
in order, and for each leaf the record attribute and how the schema's scalar serializes it
(``LeafKind``). A read that can name the column behind each attribute gets here one
``json_build_object`` expression, which writes the node exactly as the plan would render
it: ``json_build_object`` keeps the keys in order, and each kind is written as its scalar
writes it (the two that need a function of their own are in migration 0022).

Whatever this cannot write (an attribute the read has no column for, a relation it does not
join, an object of more than 50 keys) raises ``Unwritable``: the read then returns its
records and the plan renders them in Python.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from sqlalchemy import ColumnElement, Text, case, cast, func, literal_column

from resolvers.compiled_reads import (
    JsonConstant,
    JsonLeaf,
    JsonNested,
    JsonObject,
    JsonRelated,
    LeafKind,
)

# json_build_object takes at most 100 arguments: 50 keys and their values.
MAX_KEYS: Final = 50

# The column behind a record attribute (raises ``Unwritable`` when there is none).
ColumnOf = Callable[[str], ColumnElement[Any]]


class Unwritable(Exception):
    """The node needs Python's rendering; the message says why (for the fallback counter)."""


class NodeColumns:
    """What a read offers: its columns by attribute, its nested records' columns, and a
    writer for each relation it joins."""

    def __init__(
        self,
        column_of: ColumnOf,
        nested: dict[str, ColumnOf] | None = None,
        related: dict[str, Callable[[JsonObject], ColumnElement[Any]]] | None = None,
    ) -> None:
        self.column_of = column_of
        self.nested = nested or {}
        self.related = related or {}


def json_object(shape: JsonObject, columns: NodeColumns) -> ColumnElement[Any]:
    """``json_build_object(...)`` of ``shape`` over ``columns``."""
    if len(shape.fields) > MAX_KEYS:
        raise Unwritable(f"{len(shape.fields)} keys")
    arguments: list[Any] = []
    for item in shape.fields:
        arguments.append(_string(item.key))
        arguments.append(_value(item, columns))
    return func.json_build_object(*arguments)


def _value(
    item: JsonLeaf | JsonConstant | JsonNested | JsonRelated, columns: NodeColumns
) -> ColumnElement[Any]:
    if isinstance(item, JsonConstant):
        return _string(item.value)
    if isinstance(item, JsonLeaf):
        return leaf(item, columns.column_of(item.attribute))
    if isinstance(item, JsonNested):
        nested = columns.nested.get(item.attribute)
        if nested is None:
            raise Unwritable(f"no columns for {item.attribute}")
        return json_object(item.shape, NodeColumns(nested))
    write = columns.related.get(item.relation)
    if write is None:
        raise Unwritable(f"relation {item.relation} not joined")
    return write(item.shape)


def leaf(item: JsonLeaf, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The value of one leaf as its scalar serializes it."""
    match item.kind:
        case LeafKind.PLAIN:
            return column
        case LeafKind.INTEGER_TEXT:
            return cast(column, Text)
        case LeafKind.DATETIME:
            return func.prakerja_isoformat(column)
        case LeafKind.GLOBAL_ID:
            assert item.type_name is not None
            return func.prakerja_global_id(_string(item.type_name), column)
        case LeafKind.ENUM:
            if all(value == name for value, name in item.names):
                return column
            return case(*((column == _string(value), _string(name)) for value, name in item.names))
    raise Unwritable(f"kind {item.kind}")


def _string(value: str) -> ColumnElement[Any]:
    # Response keys are GraphQL names and the rest are the schema's own names: quoted as SQL
    # literals all the same, never trusted to be free of quotes.
    return literal_column("'" + value.replace("'", "''") + "'", Text)
