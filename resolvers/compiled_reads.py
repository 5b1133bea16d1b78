"""What a compiled read asks of the database: the plain plan the schema's compiler hands over.

A compiled read answers a whole selection from one statement and hands the finished value
to GraphQL without value completion (``schema.compiled``). The schema decides *what* is
selected; the statement is built here, in resolvers, from this plan: the schema never
sees SQL. A domain opts in by offering a read function that takes a ``ReadPlan`` and
returns records (``resolvers.catalog_sql.compiled_course_page`` is the first).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

# Marks every compiled read's statement in its SQL text: visible in pg_stat_statements,
# and the only way a test can tell which path answered without looking at timings.
COMPILED_READ_MARK: Final = "/* compiled read */"


@dataclass(frozen=True, slots=True)
class RelationRead:
    """A related list the selection asks for, with its arguments (Python names)."""

    name: str
    arguments: tuple[tuple[str, Any], ...] = ()

    def argument(self, name: str) -> Any:
        return dict(self.arguments)[name]


class LeafKind(StrEnum):
    """How a leaf's value is written in the answer, as the schema's scalar serializes it."""

    PLAIN = "plain"  # a string, an integer or a boolean, as it is
    INTEGER_TEXT = "integer_text"  # an integer written as a string (Rupiah)
    DATETIME = "datetime"  # ISO 8601 as Python's isoformat writes a UTC time
    ENUM = "enum"  # the GraphQL name of the stored value (``JsonLeaf.names``)
    GLOBAL_ID = "global_id"  # the Relay id of ``type_name`` and the value


@dataclass(frozen=True, slots=True)
class JsonLeaf:
    key: str  # the response key
    attribute: str  # the record's attribute it is read from
    kind: LeafKind
    type_name: str | None = None  # GLOBAL_ID: the node type
    names: tuple[tuple[str, str], ...] = ()  # ENUM: (stored value, GraphQL name)


@dataclass(frozen=True, slots=True)
class JsonConstant:
    key: str
    value: str  # __typename


@dataclass(frozen=True, slots=True)
class JsonNested:
    key: str
    attribute: str  # the record's attribute holding the nested record
    shape: JsonObject


@dataclass(frozen=True, slots=True)
class JsonRelated:
    key: str
    relation: str  # a ``RelationRead`` name of the same plan
    shape: JsonObject


@dataclass(frozen=True, slots=True)
class JsonObject:
    """A selection on a record type, to be written as JSON by the database: the same keys in
    the same order, each value serialized as the schema's scalar would serialize it."""

    fields: tuple[JsonLeaf | JsonConstant | JsonNested | JsonRelated, ...]


@dataclass(frozen=True, slots=True)
class JsonNode:
    """A row whose node the database wrote as JSON (``ReadPlan.node``): the compiled plan
    puts ``json`` into the answer as it is. A read's subclass adds what its connection
    needs of the row (the keyset's values for the cursors)."""

    json: str


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """What one compiled selection needs beyond the rows themselves."""

    relations: tuple[RelationRead, ...] = ()
    # The selection of the page's node (its outermost record type), when every field of it
    # can be written by the database; a read may answer with ``JsonNode`` rows for it, or
    # ignore it and return records (the plan renders either).
    node: JsonObject | None = None

    def relation(self, name: str) -> RelationRead | None:
        for relation in self.relations:
            if relation.name == name:
                return relation
        return None


class CompiledReadRefused(Exception):
    """The plan asks for something this read cannot answer like the normal path would
    (for instance an argument the normal path refuses with its own error): the caller
    takes the normal path. ``reason`` is a short stable word for the fallback counter."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class CompiledRows:
    """A compiled read's answer: the rows, and each related list by the key of its row."""

    records: Sequence[Any]
    related: dict[str, Mapping[Any, Sequence[Any]]] = field(default_factory=dict)
