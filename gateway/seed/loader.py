"""Writing rows with PostgreSQL's COPY (asyncpg's binary ``copy_records_to_table``).

COPY is what makes a million participants take seconds instead of minutes: one round trip per
batch of rows, no per-row statement parsing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.seed.tables import Row, Table


class RowBuffer:
    """Rows waiting to be copied, per table; flushed in the order the caller gives."""

    def __init__(self, tables: Sequence[Table]) -> None:
        self._rows: dict[Table, list[Row]] = {table: [] for table in tables}

    def add(self, table: Table, row: Row) -> None:
        self._rows[table].append(row)

    def rows(self, table: Table) -> list[Row]:
        return self._rows[table]

    def __len__(self) -> int:
        return sum(len(rows) for rows in self._rows.values())

    async def flush(self, loader: Loader) -> None:
        for table, rows in self._rows.items():
            await loader.copy(table, rows)
            rows.clear()


class Loader:
    """Copies rows into one connection (inside the caller's transaction) and counts them."""

    def __init__(self, connection: Any, tables: Sequence[Table]) -> None:
        self._connection = connection
        self.counts: dict[str, int] = {table.name: 0 for table in tables}

    async def copy(self, table: Table, rows: Sequence[Row]) -> None:
        if rows:
            await self._connection.copy_records_to_table(
                table.name, records=rows, columns=table.columns
            )
        self.counts[table.name] = self.counts.get(table.name, 0) + len(rows)

    async def advance_id_sequences(self, tables: Sequence[Table]) -> None:
        """Rows were given explicit ids: move each id sequence past them.

        Without this the application's first INSERT into such a table would be handed id 1
        by the sequence and fail on the primary key.
        """
        for table in tables:
            if "id" not in table.columns:
                continue
            sequence = await self._connection.fetchval(
                "SELECT pg_get_serial_sequence($1, 'id')", table.name
            )
            if sequence is None:
                continue
            # setval is STRICT: on an empty table max(id) is NULL and the sequence stays as is.
            await self._connection.execute(
                f"SELECT setval($1::regclass, max(id)) FROM {table.name}",  # noqa: S608 (our names)
                sequence,
            )
