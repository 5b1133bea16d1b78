"""Core statements on a pooled connection's own asyncpg connection, without SQLAlchemy's
execution path: what a compiled read needs of a session (``execute_core``) on the compiled
lane (``gateway/compiled_lane.py``), and the statements of a ``DriverTransaction``
(``core/db/driver_transaction.py``).

Per statement, SQLAlchemy's session, connection, execution context and result cost several
times the CPU of the statement's own round trip. Here a statement is compiled once per
process by SQLAlchemy's own compiler for the engine's dialect (so the text is exactly what
the engine would send); an execution only expands its late-rendered parameters (literal
LIMITs, IN lists) and applies the types' bind processors, and asyncpg's statement cache
prepares the text once per connection. Rows come back with the columns' result processors
applied, so a read sees the values it would see through a session.

Expansions are remembered by the statement and its parameter values: a compiled document
replays the same arguments, so its statement is expanded once.

A session may carry a ``Rider``: a one-row data-modifying statement (the rate limit's spend)
that travels in the same round trip as the session's first statement, as a CTE of it, and
lets that statement run only when its gate column is true. A lane request is then one
statement, one round trip and one implicit transaction instead of two of each.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler

EXPANSIONS_KEPT: Final = 1024
_NO_PROCESSING: Final[tuple[None, ...]] = ()
_PLACEHOLDER: Final = re.compile(r"\$(\d+)")


@dataclass(frozen=True, slots=True)
class Rider:
    """A statement sent with a session's first statement (see the module docstring)."""

    # One row from ``INSERT/UPDATE ... RETURNING``, parameters ``$1..$n`` and no other "$"
    # in it: they are renumbered after the parameters of the statement it rides on.
    text: str
    arguments: tuple[Any, ...]
    columns: tuple[str, ...]  # its RETURNING's column names, in order
    gate: str  # the boolean column that lets the first statement run


class RiderStopped(Exception):
    """The rider's gate was false: its row came back and the statement it rode on did not
    run."""

    def __init__(self, row: tuple[Any, ...]) -> None:
        super().__init__("the rider's gate was closed")
        self.row = row


def riding_text(rider: Rider, text: str, offset: int) -> str:
    """``text`` with the rider as its CTE. The ridden statement is fenced in a subquery
    (``OFFSET 0``, so the planner keeps it one) whose only condition is the gate: a
    one-time filter, so it is never executed when the gate is closed; its rows keep their
    order under the one-row nested loop, and ``present`` tells them from the one row of
    NULLs that a closed gate or an empty result leaves."""
    renumbered = _PLACEHOLDER.sub(lambda found: f"${int(found[1]) + offset}", rider.text)
    # No client text in any part: statements the process compiled and its own rider.
    return (
        f"WITH rider AS ({renumbered}) "  # noqa: S608
        "SELECT rider.*, ridden.* FROM rider LEFT JOIN LATERAL "
        f"(SELECT true AS present, riding.* FROM ({text}) AS riding "
        f"WHERE rider.{rider.gate} OFFSET 0) AS ridden ON true"
    )


@dataclass(frozen=True, slots=True)
class _Compiled:
    statement: Executable  # held so that its id stays its own while it is kept here
    compiled: SQLCompiler
    keys: tuple[str, ...]
    # One per result column, or empty when no column has a processor.
    result_processors: tuple[Callable[[Any], Any] | None, ...]


@dataclass(frozen=True, slots=True)
class _Expanded:
    text: str
    arguments: tuple[Any, ...]


class DriverRow(tuple[Any, ...]):
    """A row by position, and by column name as SQLAlchemy's rows have it: as an attribute
    and through ``_mapping``."""

    _names: tuple[str, ...]

    def __new__(cls, values: Sequence[Any], names: tuple[str, ...]) -> DriverRow:
        row = super().__new__(cls, values)
        row._names = names
        return row

    @property
    def _mapping(self) -> Mapping[str, Any]:
        return dict(zip(self._names, self, strict=True))

    def __getattr__(self, name: str) -> Any:
        try:
            return self[self._names.index(name)]
        except ValueError:
            raise AttributeError(name) from None


class DriverResult:
    def __init__(self, keys: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> None:
        self._keys = keys
        self._rows = rows

    def keys(self) -> tuple[str, ...]:
        return self._keys

    def __iter__(self) -> Iterator[Sequence[Any]]:
        return iter(self._rows)

    def all(self) -> list[Sequence[Any]]:
        return list(self._rows)

    def one(self) -> DriverRow:
        if len(self._rows) != 1:
            raise ValueError(f"one row was expected, {len(self._rows)} came")
        return DriverRow(self._rows[0], self._keys)

    def first(self) -> DriverRow | None:
        return DriverRow(self._rows[0], self._keys) if self._rows else None

    def one_or_none(self) -> DriverRow | None:
        if len(self._rows) > 1:
            raise ValueError(f"at most one row was expected, {len(self._rows)} came")
        return self.first()

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None


class DriverStatements:
    """The compiled statements and their expansions, for one dialect (one per process)."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._compiled: dict[int, _Compiled] = {}
        self._expanded: dict[tuple[int, Any], _Expanded] = {}
        self._ridden: dict[tuple[str, str], str] = {}

    def compiled(self, statement: Executable) -> _Compiled:
        found = self._compiled.get(id(statement))
        if found is not None and found.statement is statement:
            return found
        compiled = statement.compile(dialect=self.dialect)  # type: ignore[attr-defined]
        # The result's columns as SQLAlchemy's own result reads them: names and types.
        columns = compiled._result_columns
        processors = tuple(
            column.type.dialect_impl(self.dialect).result_processor(self.dialect, None)
            for column in columns
        )
        found = _Compiled(
            statement,
            compiled,
            tuple(column.keyname for column in columns),
            processors if any(processors) else _NO_PROCESSING,
        )
        if len(self._compiled) >= EXPANSIONS_KEPT:
            self._compiled.clear()
            self._expanded.clear()
            self._ridden.clear()
        self._compiled[id(statement)] = found
        return found

    def expanded(self, found: _Compiled, parameters: Mapping[str, Any]) -> _Expanded:
        key = _hashable(parameters)
        if key is not None:
            kept = self._expanded.get((id(found.statement), key))
            if kept is not None:
                return kept
        state = found.compiled.construct_expanded_state(dict(parameters))
        values = state.parameters
        # The types' processors (JSON serialized, enums as their values), and those of the
        # parameters the expansion rendered (an IN list's items).
        processors: dict[str, Any] = {**found.compiled._bind_processors, **state.processors}
        arguments = []
        for name in state.positiontup or ():
            value = values[name]
            process = processors.get(name)
            arguments.append(value if process is None or value is None else process(value))
        expanded = _Expanded(state.statement, tuple(arguments))
        if key is not None:
            if len(self._expanded) >= EXPANSIONS_KEPT:
                self._expanded.clear()
            self._expanded[(id(found.statement), key)] = expanded
        return expanded

    def ridden(self, rider: Rider, expanded: _Expanded) -> str:
        """``riding_text`` of an expansion, made once (the same text is then the same key
        in asyncpg's statement cache without being built and hashed again)."""
        key = (rider.text, expanded.text)
        text = self._ridden.get(key)
        if text is None:
            if len(self._ridden) >= EXPANSIONS_KEPT:
                self._ridden.clear()
            text = self._ridden[key] = riding_text(rider, expanded.text, len(expanded.arguments))
        return text


class DriverSession:
    """``execute_core`` (and ``execute``, for a read's small lookups) on a bare asyncpg
    connection, each statement committing by itself (the lane runs only reads that need
    no transaction).

    With a ``rider``, the first statement carries it: ``rider_row`` is then its row, and
    ``RiderStopped`` is raised when its gate was closed. ``rider`` is None once it rode."""

    def __init__(
        self, connection: Any, statements: DriverStatements, rider: Rider | None = None
    ) -> None:
        self.connection = connection
        self.statements = statements
        self.rider = rider
        self.rider_row: tuple[Any, ...] | None = None

    async def execute_core(
        self, statement: Executable, parameters: Mapping[str, Any] | None = None
    ) -> DriverResult:
        found = self.statements.compiled(statement)
        expanded = self.statements.expanded(found, parameters or {})
        if self.rider is None:
            records = await self.connection.fetch(expanded.text, *expanded.arguments)
        else:
            records = await self._ride(self.rider, expanded)
        processors = found.result_processors
        if not processors:
            return DriverResult(found.keys, records)
        rows = [
            tuple(
                value if process is None or value is None else process(value)
                for process, value in zip(processors, record, strict=True)
            )
            for record in records
        ]
        return DriverResult(found.keys, rows)

    execute = execute_core

    async def _ride(self, rider: Rider, expanded: _Expanded) -> list[Sequence[Any]]:
        self.rider = None  # it rides once, whatever happens to the statement
        text = self.statements.ridden(rider, expanded)
        records = await self.connection.fetch(text, *expanded.arguments, *rider.arguments)
        width = len(rider.columns)
        # A rider's statement gives one row, so the join gives at least one.
        row = self.rider_row = tuple(records[0][:width])
        if not row[rider.columns.index(rider.gate)]:
            raise RiderStopped(row)
        return [record[width + 1 :] for record in records if record[width] is not None]


def _hashable(parameters: Mapping[str, Any]) -> Any:
    """The parameters as a key, lists as tuples; None when a value cannot be one."""
    try:
        key = tuple(
            sorted(
                (name, tuple(value) if isinstance(value, list) else value)
                for name, value in parameters.items()
            )
        )
        hash(key)
    except TypeError:
        return None
    return key
