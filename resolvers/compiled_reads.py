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


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """What one compiled selection needs beyond the rows themselves."""

    relations: tuple[RelationRead, ...] = ()

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
